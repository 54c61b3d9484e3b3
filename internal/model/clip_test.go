package model_test

import (
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/eni-failover/eni-failover/internal/model"
)

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"longer text", 6, "lon..."},
		// "é" is two bytes: a cut inside it moves back to its start.
		{"café au lait", 7, "caf..."},
		{"café au lait", 8, "café..."},
		{strings.Repeat("ü", 200), 256, strings.Repeat("ü", 126) + "..."},
	} {
		got := model.Clip(tc.in, tc.n)
		if got != tc.want || !utf8.ValidString(got) || len(got) > max(tc.n, 4) {
			t.Errorf("Clip(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

// The pause's journal value fits EC2's 256 characters at the longest
// inputs (a 200-byte reason, a long SSO identity), keeping the reason.
func TestPauseFitsATagValue(t *testing.T) {
	for _, reason := range []string{strings.Repeat("x", 200), strings.Repeat("ü", 100), "short"} {
		p := model.Pause{Until: time.Date(2286, 1, 1, 0, 0, 0, 0, time.UTC), Reason: reason,
			By: "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/jane.doe@example.com"}
		v := p.String()
		got, ok := model.ParsePause(v)
		if utf8.RuneCountInString(v) > model.MaxTagValue || len(v) > model.MaxTagValue || !ok || got.Reason != reason || len(got.By) < 40 {
			t.Errorf("%d characters: %q -> %+v", utf8.RuneCountInString(v), v, got)
		}
	}
}

// SafeName renders any group name as CloudWatch and EC2 descriptions take
// it: ASCII from the allowed set, 1-64 characters, not blank, stable, and
// different for different names.
func TestSafeName(t *testing.T) {
	allowed := regexp.MustCompile(`^[a-zA-Z0-9. _\-:/()#,@\[\]+=&;{}!$*]{1,64}$`)
	seen := map[string]string{}
	for _, g := range []string{"mosek", "R&D (prod) #1", "Lizenz München", "Lizenz Munchen", "Lizenz Mönchen", "   ", "a\u00a0b",
		strings.Repeat("x", 64), strings.Repeat("x", 65), strings.Repeat("ü", 256), "グループ", "tab\there"} {
		s := model.SafeName(g)
		if !allowed.MatchString(s) || strings.TrimSpace(s) == "" || s != model.SafeName(g) {
			t.Errorf("SafeName(%q) = %q", g, s)
		}
		if other, ok := seen[s]; ok {
			t.Errorf("%q and %q share %q", g, other, s)
		}
		seen[s] = g
	}
	for _, g := range []string{"mosek", "R&D (prod) #1", strings.Repeat("x", 64)} {
		if model.SafeName(g) != g {
			t.Errorf("a safe name changed: %q -> %q", g, model.SafeName(g))
		}
	}
	if got := model.SafeName("Lizenz München"); !strings.HasPrefix(got, "Lizenz M_nchen#") {
		t.Errorf("Lizenz München -> %q", got)
	}
}
