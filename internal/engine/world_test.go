package engine_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/report"
	"github.com/eni-failover/eni-failover/internal/testkit/fakeec2"
	"github.com/eni-failover/eni-failover/internal/testkit/simclock"
)

const (
	az      = "us-east-1a"
	otherAZ = "us-east-1b"
	eniID   = "eni-0license000000001"
	group   = "license"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// world is one simulated region: a group "license" whose ENI is on i-a
// (priority 1), with standbys i-b (2) and i-c (3), all running and healthy.
type world struct {
	t   *testing.T
	clk *simclock.Virtual
	ec2 *fakeec2.Fake
	eng *engine.Engine
}

type member struct {
	id, az, state string
	prio          string
}

func newWorld(t *testing.T, opts engine.Options, members ...member) *world {
	t.Helper()
	return newSeededWorld(t, opts, 1, members...)
}

// newSeededWorld seeds the fake's probabilistic faults.
func newSeededWorld(t *testing.T, opts engine.Options, seed int64, members ...member) *world {
	t.Helper()
	clk := simclock.NewVirtual(t0)
	f := fakeec2.New(clk, fakeec2.RealisticTimings(), seed)
	if members == nil {
		members = []member{{"i-a", az, "running", "1"}, {"i-b", az, "running", "2"}, {"i-c", az, "running", "3"}}
	}
	for _, m := range members {
		tags := map[string]string{"eni-failover:group": group, "Name": "token-" + m.id}
		if m.prio != "" {
			tags["eni-failover:priority"] = m.prio
		}
		f.AddInstance(fakeec2.InstanceSpec{ID: m.id, AZ: m.az, State: m.state, Tags: tags})
	}
	f.AddENI(fakeec2.ENISpec{
		ID: eniID, AZ: az, MAC: "02:4c:69:63:65:6e", PrivateIP: "10.0.1.50",
		Tags: map[string]string{"eni-failover:group": group, "eni-failover:holder": members[0].id}, AttachTo: members[0].id, DeviceIndex: 1,
	})
	w := &world{t: t, clk: clk, ec2: f}
	w.eng = engine.New(f, clk, nil, opts)
	return w
}

// ctx is a Lambda-like context: 60 s of virtual time.
func (w *world) ctx() context.Context {
	return simclock.WithDeadline(context.Background(), w.clk.Now().Add(60*time.Second))
}

func (w *world) run(t engine.Trigger) ([]*report.Report, error) {
	w.t.Helper()
	return w.eng.Run(w.ctx(), t, false)
}

func (w *world) mustRun(t engine.Trigger) *report.Report {
	w.t.Helper()
	reps, err := w.run(t)
	if err != nil {
		w.t.Fatalf("run %+v: %v", t, err)
	}
	if len(reps) != 1 {
		w.t.Fatalf("run %+v: %d reports, want 1", t, len(reps))
	}
	return reps[0]
}

// settle lets EC2 finish its transitions.
func (w *world) settle() {
	w.clk.Advance(time.Minute)
	w.ec2.Advance()
}

// assertHolder checks where the ENI ends: attached (not in transition) to
// want, exactly one attachment, DeleteOnTermination false.
func (w *world) assertHolder(want string) {
	w.t.Helper()
	w.settle()
	st := w.ec2.ENI(eniID)
	if !st.Exists {
		w.t.Fatalf("license ENI is gone")
	}
	if st.InstanceID != want || st.AttachmentStatus != "attached" {
		w.t.Fatalf("ENI on %q (%s), want attached to %q", st.InstanceID, st.AttachmentStatus, want)
	}
	if n := w.ec2.AttachmentsOf(eniID); n != 1 {
		w.t.Fatalf("ENI has %d attachments, want 1", n)
	}
	if st.DeleteOnTermination {
		w.t.Fatalf("DeleteOnTermination is true on %s", st.AttachmentID)
	}
	if st.DeviceIndex != 1 {
		w.t.Fatalf("device index %d, want 1", st.DeviceIndex)
	}
}

func (w *world) assertMutations(want int) {
	w.t.Helper()
	if got := w.ec2.MutatingCalls(); got != want {
		w.t.Fatalf("%d mutating calls, want %d: %v", got, want, opsOf(w.ec2.Calls()))
	}
}

func opsOf(calls []fakeec2.Call) []string {
	var ops []string
	for _, c := range calls {
		s := c.Op
		if c.Err != nil {
			s += "!"
		}
		ops = append(ops, s)
	}
	return ops
}

func down(id string) engine.Trigger { return engine.Trigger{Kind: report.InstanceDown, InstanceID: id} }

func clockDeadline(w *world, d time.Duration) context.Context {
	return simclock.WithDeadline(context.Background(), w.clk.Now().Add(d))
}

func tagsOf(m map[string]string) []types.Tag {
	var out []types.Tag
	for k, v := range m {
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
