package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestStory(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out, false); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	want := []string{
		"primary -> standby -> second -> primary -> standby -> second -> primary",
		"SNS notifications: 9.",
		"does not hold", // the duplicate and late events
		"already home",
		"plan: move",
		"activate",
		"3 rounds refused",                  // lmgrd killed: the probe confirms it
		"daemon is not",                     // and the move says why
		"clients were without it for 20.0s", // the outage the probe measured
		"clients without a license 20.0s, as the probe measured", // and the timeline shows it
		"license answers again on i-0bbbbbbbbbbbbbbb2",
		"ACTIVATION FAILED",                                       // a token server that will not start
		"lmgrd NOT started",                                       // and the timeline says so
		"paused: group paused until",                              // a stop skipped during maintenance
		"What to do: no member can take",                          // no viable standby
		"ENI away 5.1s (T+0.640s - T+5.760s), served at T+7.760s", // a step's start and end on the clock
		"doctor: pass (8 checks; exit code 0)",                    // the doctor before anything fails
	}
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("demo output lacks %q", w)
		}
	}
	if n := strings.Count(s, "MOVED:"); n != 6 {
		t.Errorf("demo shows %d moves, want 6:\n%s", n, s)
	}
	for i, line := range strings.Split(s, "\n") {
		if len(line) > 100 {
			t.Errorf("line %d has %d columns: %q", i+1, len(line), line)
		}
		if strings.Contains(line, "\033[") {
			t.Errorf("line %d has a terminal colour code outside a terminal", i+1)
		}
	}
}
