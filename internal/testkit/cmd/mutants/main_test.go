package main

import (
	"strings"
	"testing"
)

// Each mutator swaps the operator gremlins names, at the position it
// names, and nothing else.
func TestMutate(t *testing.T) {
	src := []byte("package p\n\nfunc f(a, b int) bool {\n\ta++\n\treturn a-b < -1 && a == b\n}\n")
	for _, c := range []struct {
		typ       string
		line, col int
		want      string
	}{
		{"CONDITIONALS_NEGATION", 5, 13, "return a-b >= -1 && a == b"},
		{"CONDITIONALS_BOUNDARY", 5, 13, "return a-b <= -1 && a == b"},
		{"CONDITIONALS_NEGATION", 5, 23, "return a-b < -1 && a != b"},
		{"ARITHMETIC_BASE", 5, 10, "return a+b < -1 && a == b"},
		{"INVERT_NEGATIVES", 5, 15, "return a-b <  1 && a == b"},
		{"INCREMENT_DECREMENT", 4, 3, "a--"},
	} {
		got, ok := mutate(src, c.typ, c.line, c.col)
		if !ok || !contains(string(got), c.want) {
			t.Errorf("%s at %d:%d: %q", c.typ, c.line, c.col, got)
		}
	}
	if _, ok := mutate(src, "CONDITIONALS_NEGATION", 5, 9); ok {
		t.Error("a mutator applied to an operand")
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
