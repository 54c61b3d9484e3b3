package e2e

import (
	"testing"
	"time"
)

// tagDelay is how long the strict layer keeps a tag write from
// DescribeNetworkInterfaces: "Eventual consistency in the Amazon EC2 API"
// (Amazon EC2 Developer Guide) says a Describe right after CreateTags may
// not show the tag, for a short while.
const tagDelay = 3 * time.Second

// Read after write, through the real bootstraps: with tag writes hidden
// for a few seconds, a pause that has been answered holds against a stop
// at once, and a move request sent twice in a row acts once.
func TestReadAfterWrite(t *testing.T) {
	t.Run("a pause holds as soon as it is answered", func(t *testing.T) {
		w := newWorld(t)
		strict.SetTagDelay(tagDelay)
		if resp, ferr := w.manual(`{"action":"pause","reason":"patching","minutes":30}`); ferr != nil || resp.Outcome != "paused" {
			t.Fatalf("pause: %+v %v", resp, ferr)
		}
		w.stop(w.primary)
		res := w.failover("ec2-state-stopped.json")
		if len(res.Reports) != 1 || res.Reports[0].Outcome != "paused" || w.holder() != w.primary {
			t.Fatalf("stop right after the pause: %+v, ENI on %s", res, w.holder())
		}
	})
	t.Run("a repeated request acts once", func(t *testing.T) {
		w := newWorld(t)
		strict.SetTagDelay(tagDelay)
		first, ferr := w.manual(`{"action":"move","request_id":"read-after-write-1"}`)
		if ferr != nil || first.Outcome != "moved" {
			t.Fatalf("move: %+v %v", first, ferr)
		}
		again, ferr := w.manual(`{"action":"move","request_id":"read-after-write-1"}`)
		if ferr != nil || again.Outcome != "repeat" || w.holder() != first.HolderAfter {
			t.Fatalf("the same request again: %+v %v, ENI on %s (first moved it to %s)", again, ferr, w.holder(), first.HolderAfter)
		}
	})
}
