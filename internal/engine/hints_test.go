package engine_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/report"
	"github.com/eni-failover/eni-failover/internal/testkit/fakeec2"
)

// lookupsOf counts DescribeInstances calls that asked for this one
// instance (by its id in a filter, for the larger bucket): the lookup of
// an event's group.
func lookupsOf(calls []fakeec2.Call, id string) int {
	n := 0
	for _, c := range calls {
		in, ok := c.Input.(ec2.DescribeInstancesInput)
		if !ok || c.Op != fakeec2.OpDescribeInstances || len(in.Filters) != 1 {
			continue
		}
		if f := in.Filters[0]; aws.ToString(f.Name) == "instance-id" && slices.Equal(f.Values, []string{id}) {
			n++
		}
	}
	return n
}

func TestEventAfterReconcileSkipsTheGroupLookup(t *testing.T) {
	cold := newWorld(t, engine.Options{})
	cold.ec2.StopInstance("i-a")
	if r := cold.mustRun(down("i-a")); r.Outcome != report.Moved {
		t.Fatalf("cold: outcome %s (%s)", r.Outcome, r.Error)
	}
	if n := lookupsOf(cold.ec2.Calls(), "i-a"); n != 1 {
		t.Fatalf("cold sandbox: %d lookups of i-a, want 1", n)
	}

	warm := newWorld(t, engine.Options{})
	warm.mustRun(engine.Trigger{Kind: report.Reconcile})
	warm.ec2.ResetCalls()
	warm.ec2.StopInstance("i-a")
	if r := warm.mustRun(down("i-a")); r.Outcome != report.Moved {
		t.Fatalf("warm: outcome %s (%s)", r.Outcome, r.Error)
	}
	if n := lookupsOf(warm.ec2.Calls(), "i-a"); n != 0 {
		t.Fatalf("warm sandbox: %d lookups of i-a, want 0: %v", n, opsOf(warm.ec2.Calls()))
	}
	warm.assertHolder("i-b")
	warm.assertMutations(4)
}

// An operator moved i-c into another group after the reconcile that
// remembered it in "license": the event must reach the group it is in now.
func TestStaleHintFallsBackToTheInstanceTags(t *testing.T) {
	w := newWorld(t, engine.Options{},
		member{"i-a", az, "running", "1"}, member{"i-b", az, "running", "2"}, member{"i-c", az, "running", "3"})
	for _, id := range []string{"i-d", "i-e"} {
		w.ec2.AddInstance(fakeec2.InstanceSpec{ID: id, AZ: az, Tags: map[string]string{"eni-failover:group": "other"}})
	}
	const otherENI = "eni-0other0000000002"
	w.ec2.AddENI(fakeec2.ENISpec{ID: otherENI, AZ: az, Tags: map[string]string{"eni-failover:group": "other"}, AttachTo: "i-d", DeviceIndex: 1})
	if reps, err := w.run(engine.Trigger{Kind: report.Reconcile}); err != nil || len(reps) != 2 {
		t.Fatalf("reconcile: %d reports, %v", len(reps), err)
	}

	w.ec2.DetachNow(otherENI)
	w.ec2.AttachNow(otherENI, "i-c", 1)
	if _, err := w.ec2.CreateTags(context.Background(), &ec2.CreateTagsInput{Resources: []string{"i-c"},
		Tags: []types.Tag{{Key: aws.String("eni-failover:group"), Value: aws.String("other")}}}); err != nil {
		t.Fatal(err)
	}
	w.ec2.ResetCalls()
	w.ec2.StopInstance("i-c")

	r := w.mustRun(down("i-c"))
	if r.Group != "other" || r.Outcome != report.Moved || r.HolderBefore != "i-c" {
		t.Fatalf("report: group %s, outcome %s, holder before %s (%s)", r.Group, r.Outcome, r.HolderBefore, r.Error)
	}
	if n := lookupsOf(w.ec2.Calls(), "i-c"); n != 1 {
		t.Fatalf("%d lookups of i-c, want 1 (the stale hint's fallback)", n)
	}
	w.settle()
	if st := w.ec2.ENI(otherENI); st.InstanceID != "i-d" && st.InstanceID != "i-e" {
		t.Fatalf("other's ENI on %q", st.InstanceID)
	}
	if st := w.ec2.ENI(eniID); st.InstanceID != "i-a" {
		t.Fatalf("license ENI on %q, want it left on i-a", st.InstanceID)
	}
}

// An instance untagged after the reconcile is in no group: ignored, as a
// cold sandbox would.
func TestHintForAnUntaggedInstanceIsDropped(t *testing.T) {
	w := newWorld(t, engine.Options{})
	w.mustRun(engine.Trigger{Kind: report.Reconcile})
	if _, err := w.ec2.CreateTags(context.Background(), &ec2.CreateTagsInput{Resources: []string{"i-b"},
		Tags: []types.Tag{{Key: aws.String("eni-failover:group"), Value: aws.String("")}}}); err != nil {
		t.Fatal(err)
	}
	w.ec2.ResetCalls()
	w.ec2.StopInstance("i-b")
	reps, err := w.run(down("i-b"))
	if err != nil || len(reps) != 0 {
		t.Fatalf("%d reports, %v: want none", len(reps), err)
	}
	w.assertMutations(0)
	w.assertHolder("i-a")
}

// A remembered group that no longer exists (its ENI untagged) is dropped:
// the event gets the answer a cold sandbox gives.
func TestHintForAVanishedGroupIsDropped(t *testing.T) {
	w := newWorld(t, engine.Options{})
	w.mustRun(engine.Trigger{Kind: report.Reconcile})
	if _, err := w.ec2.CreateTags(context.Background(), &ec2.CreateTagsInput{Resources: []string{eniID},
		Tags: []types.Tag{{Key: aws.String("eni-failover:group"), Value: aws.String("retired")}}}); err != nil {
		t.Fatal(err)
	}
	w.ec2.ResetCalls()
	w.ec2.StopInstance("i-a")
	_, err := w.run(down("i-a"))
	if !errors.Is(err, engine.ErrBadRequest) || !strings.Contains(err.Error(), `"license"`) {
		t.Fatalf("error %v, want the group-not-found error a cold sandbox gives", err)
	}
	if n := lookupsOf(w.ec2.Calls(), "i-a"); n != 1 {
		t.Fatalf("%d lookups of i-a, want 1", n)
	}
	w.assertMutations(0)
}
