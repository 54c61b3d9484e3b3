package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/eni-failover/eni-failover/internal/testkit/sim"
)

func TestStory(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out, false); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	want := []string{
		"Holders of " + sim.ENIID + ": " + strings.Join([]string{sim.Primary, sim.Standby, sim.Second, sim.Primary}, " -> "),
		"SNS notifications: 3.",
		"does not hold", // the duplicate and late events
		"already home",
		"plan: move",
		"activate",
	}
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("demo output lacks %q", w)
		}
	}
	if strings.Count(s, "MOVED:") != 3 {
		t.Errorf("demo shows %d moves, want 3:\n%s", strings.Count(s, "MOVED:"), s)
	}
}
