package model

import (
	"testing"
	"time"
)

func TestPauseJournal(t *testing.T) {
	until := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	p := Pause{Until: until, By: "arn:aws:sts::1:assumed-role/Admin/jo smith", Reason: "patching the primary"}
	got, ok := ParsePause(p.String())
	if !ok || !got.Until.Equal(until) || got.By != "arn:aws:sts::1:assumed-role/Admin/jo_smith" || got.Reason != "patching the primary" {
		t.Fatalf("round trip of %q: %+v %v", p.String(), got, ok)
	}
	if !got.Active(until.Add(-time.Second)) || got.Active(until) {
		t.Fatal("a pause holds until its time, not after")
	}
	if got, ok := ParsePause(Pause{Until: until}.String()); !ok || got.By != "" || got.Reason != "" {
		t.Fatalf("no by, no reason: %+v %v", got, ok)
	}
	for _, bad := range []string{"", "soon", "tomorrow ops why"} {
		if _, ok := ParsePause(bad); ok {
			t.Errorf("%q read as a pause", bad)
		}
	}
}
