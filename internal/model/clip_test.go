package model_test

import (
	"strings"
	"testing"
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
