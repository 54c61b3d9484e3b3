package model

import (
	"strings"
	"testing"
	"time"
)

func TestHealthNoticesJournal(t *testing.T) {
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	n := HealthNotice{Instances: []string{"i-0123456789abcdef0", "i-0bbbbbbbbbbbbbbb2"}, Start: now.Add(time.Hour), End: now.Add(3 * time.Hour)}
	v, changed := WithHealthNotice("", n, now)
	if !changed || v != "i-0123456789abcdef0,i-0bbbbbbbbbbbbbbb2@1795687200-1795694400" {
		t.Fatalf("journal %q", v)
	}
	if _, again := WithHealthNotice(v, n, now); again {
		t.Fatal("the same change recorded twice")
	}
	if got, ok := PendingNotice(v, "i-0bbbbbbbbbbbbbbb2", now); !ok || !got.Start.Equal(n.Start) {
		t.Fatalf("pending %+v %v", got, ok)
	}
	if _, ok := PendingNotice(v, "i-0bbbbbbbbbbbbbbb2", n.End); ok {
		t.Fatal("a change that ended is still pending")
	}
	// Ended changes are dropped, and the value stays within a tag's 256
	// characters, the soonest changes kept.
	for i := range 20 {
		later := HealthNotice{Instances: []string{"i-0ccccccccccccccc3"}, Start: now.Add(time.Duration(i+2) * time.Hour), End: now.Add(48 * time.Hour)}
		v, _ = WithHealthNotice(v, later, now)
	}
	if len(v) > 256 || !strings.HasPrefix(v, "i-0123456789abcdef0,") {
		t.Fatalf("journal of %d characters: %q", len(v), v)
	}
	if v, _ = WithHealthNotice(v, HealthNotice{Instances: []string{"i-0ddddddddddddddd4"}, Start: now, End: now.Add(time.Minute)}, n.End); strings.Contains(v, "i-0123456789abcdef0") {
		t.Fatalf("ended change kept: %q", v)
	}
	if got := ParseHealthNotices("garbage i-1@x-y i-0123456789abcdef0@1-2"); len(got) != 1 {
		t.Fatalf("parsed %+v", got)
	}
}
