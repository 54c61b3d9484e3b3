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
