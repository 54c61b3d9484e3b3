package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/report"
)

// Anyone allowed ec2:CreateTags on the ENI can write its journal. Values
// no function could have written are ignored, and the run says so (its
// warnings are notified): a pause beyond the 7-day limit does not stop a
// failover, a future move time does not make a probe finding look stale,
// and future history entries do not use up the cap.
func TestForgedJournalValuesAreHarmlessAndLoud(t *testing.T) {
	forge := func(w *world, key, value string) {
		w.t.Helper()
		// What any principal allowed ec2:CreateTags on the ENI can do.
		if _, err := w.ec2.CreateTags(context.Background(), &ec2.CreateTagsInput{Resources: []string{eniID},
			Tags: []types.Tag{{Key: aws.String(key), Value: aws.String(value)}}}); err != nil {
			w.t.Fatal(err)
		}
	}
	t.Run("a pause for a year", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		forge(w, "eni-failover:paused", itoa(w.clk.Now().Add(365*24*time.Hour).Unix())+" admin maintenance")
		w.ec2.StopInstance("i-a")
		r := w.mustRun(engine.Trigger{Kind: report.InstanceDown, InstanceID: "i-a"})
		if r.Outcome != report.Moved || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "beyond the 168h0m0s a pause may last") {
			t.Fatalf("stop under a forged pause: %s %v", r.Outcome, r.Warnings)
		}
	})
	t.Run("a move time in the future", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		forge(w, "eni-failover:moved-at", w.clk.Now().Add(24*time.Hour).UTC().Format(time.RFC3339))
		w.clk.Advance(time.Minute)
		r := w.mustRun(probeTrigger(w.clk.Now().Add(-20 * time.Second)))
		if r.Outcome != report.Moved || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "in the future") {
			t.Fatalf("finding under a forged move time: %s %v (%s)", r.Outcome, r.Warnings, r.Reason)
		}
	})
	t.Run("three moves from the future", func(t *testing.T) {
		w := newWorld(t, engine.Options{MaxAutomaticMoves: 3})
		future := w.clk.Now().Add(30 * time.Minute).Unix()
		var entries []string
		for i := range 3 {
			entries = append(entries, itoa(future+int64(i))+" i-b>i-a impaired moved 5000")
		}
		forge(w, "eni-failover:history", strings.Join(entries, ";"))
		w.clk.Advance(time.Minute)
		r := w.mustRun(probeTrigger(w.clk.Now().Add(-20 * time.Second)))
		if r.Outcome != report.Moved || len(r.Warnings) != 3 {
			t.Fatalf("finding under a forged history: %s %v (%s)", r.Outcome, r.Warnings, r.Reason)
		}
	})
	t.Run("a pause within the limit holds", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		forge(w, "eni-failover:paused", itoa(w.clk.Now().Add(6*24*time.Hour).Unix())+" admin maintenance")
		w.ec2.StopInstance("i-a")
		r := w.mustRun(engine.Trigger{Kind: report.InstanceDown, InstanceID: "i-a"})
		if r.Outcome != report.Paused || len(r.Warnings) != 0 {
			t.Fatalf("stop under a 6-day pause: %s %v", r.Outcome, r.Warnings)
		}
	})
}
