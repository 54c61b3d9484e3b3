package model

import (
	"fmt"
	"testing"
	"time"
)

func TestHistoryJournal(t *testing.T) {
	tg := NewTags("")
	tags := map[string]string{}
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	for i := range 30 {
		m := Move{At: t0.Add(time.Duration(i) * time.Hour), From: "i-0123456789abcdef0", To: fmt.Sprintf("i-0bbbbbbbbbbbbbb%02d", i),
			Trigger: "instance-down", Outcome: "moved", DurationMS: int64(5000 + i)}
		for k, v := range tg.WithMove(tags, m) {
			tags[k] = v
		}
		for k, v := range tags {
			if len(v) > 256 {
				t.Fatalf("after %d moves %s has %d characters", i+1, k, len(v))
			}
		}
	}
	h := tg.History(tags)
	if len(h) < 10 || h[0].To != "i-0bbbbbbbbbbbbbb29" || h[0].DurationMS != 5029 || !h[0].At.Equal(t0.Add(29*time.Hour)) {
		t.Fatalf("history %d entries, newest %+v", len(h), h[0])
	}
	for i := 1; i < len(h); i++ {
		if !h[i].At.Before(h[i-1].At) {
			t.Fatalf("entry %d is not older than the one before", i)
		}
	}
	if got := tg.History(map[string]string{tg.HistoryKey(0): "garbage;1 ->i-b reconcile attached 3"}); len(got) != 1 || got[0].From != "" || got[0].To != "i-b" {
		t.Fatalf("parsed %+v", got)
	}
}

// The probe's outage goes on the newest move made during it that has none
// yet: a failover begins after the failures, a planned move (a drill's)
// before them, since its detach is what the probe sees fail; a move that
// ended before the failures, or began after the answer, is not it.
func TestWithOutage(t *testing.T) {
	tg := NewTags("")
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	history := func(moves ...Move) map[string]string {
		tags := map[string]string{}
		for _, m := range moves {
			tags = tg.WithMove(tags, m)
		}
		return tags
	}
	planned := Move{At: t0, From: "i-a", To: "i-b", Trigger: "move", Outcome: "moved", DurationMS: 9000}
	failover := Move{At: t0.Add(20 * time.Second), From: "i-b", To: "i-a", Trigger: "impaired", Outcome: "moved", DurationMS: 8000}
	cases := []struct {
		name          string
		tags          map[string]string
		since, answer time.Duration
		want          Move // zero: none recorded
	}{
		{"planned move, failures after its start", history(planned), 3 * time.Second, 8 * time.Second, planned},
		{"failover after the failures", history(planned, failover), 12 * time.Second, 30 * time.Second, failover},
		{"the older of two moves", history(planned, failover), 2 * time.Second, 7 * time.Second, planned},
		{"failures after the move ended", history(planned), 15 * time.Second, 20 * time.Second, Move{}},
		{"answered before the move began", history(failover), 2 * time.Second, 10 * time.Second, Move{}},
	}
	for _, c := range cases {
		set, m, ok := tg.WithOutage(c.tags, t0.Add(c.since), t0.Add(c.answer))
		if ok != (c.want != Move{}) || ok && (m.At != c.want.At || m.OutageMS != (c.answer-c.since).Milliseconds()) {
			t.Fatalf("%s: %+v %v, want %+v", c.name, m, ok, c.want)
		}
		if !ok {
			continue
		}
		if _, _, again := tg.WithOutage(set, t0.Add(c.since), t0.Add(c.answer)); again {
			t.Fatalf("%s: the outage was recorded twice", c.name)
		}
	}
}

// The journal's move counts as one more when the history does not hold it
// yet (its run writes the history last), and not when the history's newest
// entry is that move; an operator's move is one by its reason.
func TestUnrecorded(t *testing.T) {
	tg := NewTags("")
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	recorded := Move{At: t0, From: "i-a", To: "i-b", Trigger: "impaired", Outcome: "moved", DurationMS: 8000}
	journal := func(at time.Time, from, to, reason string) map[string]string {
		tags := tg.WithMove(map[string]string{}, recorded)
		tags[tg.MovedAt()], tags[tg.PreviousHolder()], tags[tg.Holder()], tags[tg.Reason()] = at.Format(time.RFC3339), from, to, reason
		return tags
	}
	cases := []struct {
		name   string
		tags   map[string]string
		want   bool
		manual bool
	}{
		{"the newest entry's own journal", journal(t0.Add(3*time.Second), "i-a", "i-b", "holder i-a: probe"), false, false},
		{"a later move, history not written yet", journal(t0.Add(20*time.Second), "i-b", "i-c", "holder i-b: probe"), true, false},
		{"a later move to the same instance", journal(t0.Add(time.Minute), "i-c", "i-b", "holder i-c: probe"), true, false},
		{"an operator's move in flight", journal(t0.Add(20*time.Second), "i-b", "i-c", ManualReason+"move"), true, true},
		{"a journal older than the history", journal(t0.Add(-time.Minute), "i-c", "i-a", "holder i-c: probe"), false, false},
		{"no journal", tg.WithMove(map[string]string{}, recorded), false, false},
	}
	for _, c := range cases {
		m, ok := tg.Unrecorded(c.tags, tg.History(c.tags))
		if ok != c.want || ok && m.Manual() != c.manual {
			t.Fatalf("%s: %+v %v, want %v (manual %v)", c.name, m, ok, c.want, c.manual)
		}
	}
}

// The cap counts every automatic change of holder: moved, attached to an
// ENI on no instance, and a run that failed after its attach; not a run
// that failed before the ENI left, nor a return to the former holder. An
// operator's move ends the count.
func TestAutomaticMovesCapped(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	counted := []Move{
		{At: at(30), From: "i-a", To: "i-b", Trigger: "impaired", Outcome: "moved"},
		{At: at(20), To: "i-a", Trigger: "reconcile", Outcome: "attached"},
		{At: at(10), From: "i-c", To: "i-a", Trigger: "instance-up", Outcome: "failed"},
	}
	if capped, moves := AutomaticMovesCapped(counted, time.Time{}, 3); !capped || len(moves) != 3 {
		t.Fatalf("three automatic changes of holder within the hour: capped %v %v", capped, moves)
	}
	notCounted := []Move{counted[0], counted[1],
		{At: at(12), From: "i-c", To: "i-c", Trigger: "impaired", Outcome: "failed"},
		{At: at(11), From: "i-c", To: "i-c", Trigger: "impaired", Outcome: "returned-to-former-holder"},
		{At: at(10), From: "i-c", To: "i-a", Trigger: "move", Outcome: "moved"},
		{At: at(5), From: "i-a", To: "i-c", Trigger: "impaired", Outcome: "moved"},
	}
	if capped, moves := AutomaticMovesCapped(notCounted, time.Time{}, 3); capped {
		t.Fatalf("a failed run that left the ENI, a return, and moves before an operator's counted: %v", moves)
	}
}

// An attachment newer than the journal and the history, on an instance the
// journal does not name, is a move whose run has not written the journal
// yet; an old one (a deployment's first holder), or one the journal names,
// is not.
func TestUnjournalled(t *testing.T) {
	tg := NewTags("")
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	recorded := tg.WithMove(map[string]string{}, Move{At: now.Add(-10 * time.Minute), From: "i-a", To: "i-b", Trigger: "impaired", Outcome: "moved", DurationMS: 8000})
	journal := func(holder string, movedAt time.Time) map[string]string {
		tags := map[string]string{tg.Holder(): holder}
		for k, v := range recorded {
			tags[k] = v
		}
		if !movedAt.IsZero() {
			tags[tg.MovedAt()] = movedAt.Format(time.RFC3339)
		}
		return tags
	}
	eni := func(on string, attached time.Time, tags map[string]string) Interface {
		return Interface{InstanceID: on, AttachTime: attached, Tags: tags}
	}
	cases := []struct {
		name string
		eni  Interface
		want bool
	}{
		{"attached a minute ago, journal still names i-b", eni("i-c", now.Add(-time.Minute), journal("i-b", now.Add(-10*time.Minute))), true},
		{"the journal names it", eni("i-c", now.Add(-time.Minute), journal("i-c", now.Add(-time.Minute))), false},
		{"older than the history's newest move", eni("i-c", now.Add(-11*time.Minute), journal("i-b", time.Time{})), false},
		{"a deployment's first holder, no journal", eni("i-a", now.Add(-30*24*time.Hour), map[string]string{}), false},
		{"on no instance", eni("", time.Time{}, journal("i-b", time.Time{})), false},
	}
	for _, c := range cases {
		m, ok := tg.Unjournalled(c.eni, tg.History(c.eni.Tags), now)
		if ok != c.want || ok && (m.To != c.eni.InstanceID || m.Manual() || m.Outcome != "attached") {
			t.Fatalf("%s: %+v %v, want %v", c.name, m, ok, c.want)
		}
	}
}
