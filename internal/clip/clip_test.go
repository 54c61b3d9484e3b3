package clip

import (
	"testing"
	"unicode/utf8"
)

func TestText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"longer text", 6, "longer..."},
		// "é" is two bytes: a cut inside it moves back to its start.
		{"café au lait", 4, "caf..."},
	} {
		got := Text(tc.in, tc.n)
		if got != tc.want || !utf8.ValidString(got) {
			t.Errorf("Text(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
