package engine_test

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/report"
	"github.com/eni-failover/eni-failover/internal/testkit/fakeec2"
)

// probeTrigger is what the probe's finding becomes: the group, when its
// failures began, and the request id every probe that saw them shares.
func probeTrigger(since time.Time) engine.Trigger {
	return engine.Trigger{Kind: report.Impaired, Group: group, Since: since, At: since.Add(10 * time.Second),
		RequestID: "probe:" + itoa(since.Unix()) + ":" + group, Reason: "probe: license port 27007 refused 3 checks in a row"}
}

// A trigger whose failures began before the holder got the ENI is about an
// earlier holder: it moves nothing. One that began while the holder held
// it moves it, once, however often it arrives.
func TestProbeTriggerMovesOnlyTheHolderItSaw(t *testing.T) {
	w := newWorld(t, engine.Options{})
	w.clk.Advance(time.Minute)
	since := w.clk.Now()
	tr := probeTrigger(since)
	if r := w.mustRun(tr); r.Outcome != report.Moved || r.HolderAfter != "i-b" {
		t.Fatalf("first: %+v", r)
	}
	mutations := w.ec2.MutatingCalls()
	// The same finding again (two probes, or a retried delivery): answered
	// from the journal.
	if r := w.mustRun(tr); r.Outcome != report.Repeated {
		t.Fatalf("repeat: %s %s", r.Outcome, r.Reason)
	}
	// Another probe's finding about the same failures (its own request
	// id): i-b got the ENI after they began.
	stale := tr
	stale.RequestID = "probe:other"
	if r := w.mustRun(stale); r.Outcome == report.Moved || r.HolderAfter != "i-b" {
		t.Fatalf("stale: %s %s", r.Outcome, r.Reason)
	}
	if got := w.ec2.MutatingCalls(); got != mutations {
		t.Fatalf("%d mutating calls after the move, want none", got-mutations)
	}
	w.assertHolder("i-b")
	// Failures that began after i-b got it move it on.
	w.clk.Advance(2 * time.Minute)
	if r := w.mustRun(probeTrigger(w.clk.Now())); r.Outcome != report.Moved || r.HolderBefore != "i-b" {
		t.Fatalf("new failure: %+v", r)
	}
}

// Three automatic moves off healthy holders within an hour use up the
// automation: the fourth only notifies (outcome capped) until an operator
// acts. A holder that stops is still moved off.
func TestAutomaticMovesAreCapped(t *testing.T) {
	w := newWorld(t, engine.Options{MaxAutomaticMoves: 3})
	holders := []string{"i-a"}
	for i := 0; i < 3; i++ {
		w.clk.Advance(10 * time.Minute)
		r := w.mustRun(probeTrigger(w.clk.Now()))
		if r.Outcome != report.Moved {
			t.Fatalf("move %d: %s %s", i+1, r.Outcome, r.Reason)
		}
		holders = append(holders, r.HolderAfter)
	}
	w.clk.Advance(10 * time.Minute)
	before := w.ec2.MutatingCalls()
	r := w.mustRun(probeTrigger(w.clk.Now()))
	if r.Outcome != report.Capped || !strings.Contains(r.Reason, "3 automatic moves within an hour") || r.HolderAfter != holders[3] {
		t.Fatalf("fourth: %s %s", r.Outcome, r.Reason)
	}
	if got := w.ec2.MutatingCalls(); got != before {
		t.Fatalf("capped run made %d mutating calls", got-before)
	}
	// Hours later it is still capped: only an operator lifts it.
	w.clk.Advance(5 * time.Hour)
	if r := w.mustRun(probeTrigger(w.clk.Now())); r.Outcome != report.Capped {
		t.Fatalf("hours later: %s", r.Outcome)
	}
	// A holder that stops is moved off all the same.
	w.ec2.StopInstance(holders[3])
	if r := w.mustRun(down(holders[3])); r.Outcome != report.Moved {
		t.Fatalf("stopped holder: %s %s", r.Outcome, r.Reason)
	}
	w.ec2.StartInstance(holders[3])
	w.settle()
	// An operator resumes: the automation moves again.
	if _, err := w.eng.SetPause(w.ctx(), group, model.Pause{Until: w.clk.Now(), By: "ops"}); err != nil {
		t.Fatal(err)
	}
	w.clk.Advance(time.Minute)
	if r := w.mustRun(probeTrigger(w.clk.Now())); r.Outcome != report.Moved {
		t.Fatalf("after resume: %s %s", r.Outcome, r.Reason)
	}
	// DeleteOnTermination set on a capped group's attachment is still
	// cleared: the cap holds back moves, never the repair that keeps the
	// holder's termination from deleting the licensed MAC (the fuzzer's
	// seed capped-loses-repairs).
	w.clk.Advance(time.Minute)
	for i := 0; i < 3; i++ {
		w.clk.Advance(time.Minute)
		w.mustRun(probeTrigger(w.clk.Now()))
	}
	w.ec2.SetDeleteOnTermination(eniID, true)
	if r := w.mustRun(probeTrigger(w.clk.Now())); r.Outcome != report.Capped || !strings.Contains(r.Reason, "DeleteOnTermination is true") {
		t.Fatalf("capped with DeleteOnTermination: %s %s", r.Outcome, r.Reason)
	}
	if w.ec2.ENI(eniID).DeleteOnTermination {
		t.Fatal("a capped run left DeleteOnTermination true")
	}
	// A cap of -1 never caps.
	w = newWorld(t, engine.Options{})
	for i := 0; i < 5; i++ {
		w.clk.Advance(5 * time.Minute)
		if r := w.mustRun(probeTrigger(w.clk.Now())); r.Outcome != report.Moved {
			t.Fatalf("uncapped move %d: %s", i+1, r.Outcome)
		}
	}
}

// The probe's "license answers again" reports the clients' outage and adds
// it to the history's move made during it.
func TestLicenseConfirmedRecordsTheOutage(t *testing.T) {
	w := newWorld(t, engine.Options{})
	w.clk.Advance(time.Minute)
	since := w.clk.Now().Add(-15 * time.Second)
	if r := w.mustRun(probeTrigger(since)); r.Outcome != report.Moved {
		t.Fatalf("move: %+v", r)
	}
	answered := w.clk.Now().Add(4 * time.Second)
	r := w.mustRun(engine.Trigger{Kind: report.LicenseRestored, Group: group, Since: since, At: answered})
	want := answered.Sub(since).Milliseconds()
	if r.Outcome != report.Confirmed || r.OutageMS != want || r.HolderAfter != "i-b" || !strings.Contains(r.Reason, "took") {
		t.Fatalf("confirmed: %+v", r)
	}
	_, moves, err := w.eng.History(w.ctx(), group)
	if err != nil || len(moves) != 1 || moves[0].OutageMS != want {
		t.Fatalf("history %+v %v", moves, err)
	}
	// A daemon that came back by itself: reported, no history to mend.
	w.clk.Advance(time.Hour)
	since = w.clk.Now().Add(-20 * time.Second)
	r = w.mustRun(engine.Trigger{Kind: report.LicenseRestored, Group: group, Since: since, At: w.clk.Now()})
	if r.Outcome != report.Confirmed || r.OutageMS != 20000 || !strings.Contains(r.Reason, "no move was made") || len(r.Steps) != 0 {
		t.Fatalf("no move: %+v", r)
	}
}

// scriptedCheck answers the deep check from a script of SSM statuses,
// each "Status" or "Status/StatusDetails".
type scriptedCheck struct {
	statuses []string
	ran      []string // instances, in order
}

func (c *scriptedCheck) Run(_ context.Context, instanceID string, _ bool) report.CommandResult {
	script := "Success"
	if len(c.statuses) > 0 {
		script, c.statuses = c.statuses[0], c.statuses[1:]
	}
	status, details, _ := strings.Cut(script, "/")
	c.ran = append(c.ran, instanceID)
	a := report.CommandResult{InstanceID: instanceID, Status: report.CommandStatus(status), Details: cmp.Or(details, status), CommandID: "cmd-" + itoa(int64(len(c.ran)))}
	switch {
	case a.Details != status:
		a.ExitCode, a.Error = -1, "command ended "+script+", exit code -1"
	case status == "Failed":
		a.ExitCode, a.Error, a.Output = 1, "command ended Failed, exit code 1", "lmgrd is not running: Cannot connect to license server system."
	}
	return a
}

// A deep check that fails on the holder the reconcile read, after another
// run moved the ENI between that read and the check, moves nothing: the
// new holder was never checked (make fuzz found the new holder moved).
func TestDeepCheckOfAFormerHolderMovesNothing(t *testing.T) {
	check := &scriptedCheck{statuses: []string{"Failed", "Failed"}}
	w := newWorld(t, engine.Options{DeepCheck: check})
	w.clk.Advance(time.Minute)
	var once sync.Once
	w.ec2.AfterCall(func(op string, _ any, _ error) {
		if op != "DescribeNetworkInterfaces" {
			return
		}
		once.Do(func() {
			// Another run's move, once the reconcile has read the fleet.
			w.ec2.DetachNow(eniID)
			w.clk.Advance(2 * time.Second)
			if _, err := w.ec2.AttachNetworkInterface(context.Background(), &ec2.AttachNetworkInterfaceInput{
				NetworkInterfaceId: aws.String(eniID), InstanceId: aws.String("i-b"), DeviceIndex: aws.Int32(1)}); err != nil {
				t.Error(err)
			}
			w.clk.Advance(3 * time.Second)
		})
	})
	reps, err := w.run(engine.Trigger{Kind: report.Reconcile})
	w.ec2.AfterCall(nil)
	if err != nil || len(reps) != 1 || len(check.ran) != 2 || check.ran[1] != "i-a" {
		t.Fatalf("reconcile: %+v %v, checks on %v", reps, err, check.ran)
	}
	if r := reps[0]; r.Outcome == report.Moved || r.HolderAfter != "i-b" {
		t.Fatalf("the deep check of i-a moved the ENI off i-b: %s %s", r.Outcome, r.Reason)
	}
	w.assertHolder("i-b")
}

// The deep check (lmutil lmstat on the holder through SSM) fails the holder
// over only when its command ran and failed twice; a command that could
// not run, or that passes the second time, moves nothing.
func TestDeepCheck(t *testing.T) {
	cases := []struct {
		name     string
		statuses []string
		moved    bool
		runs     int
	}{
		{"passes", []string{"Success"}, false, 1},
		{"fails twice", []string{"Failed", "Failed"}, true, 2},
		{"fails once", []string{"Failed", "Success"}, false, 2},
		// SSM's statuses of a command that never ran ("Understanding
		// command statuses", SSM User Guide): Failed or TimedOut with
		// these StatusDetails and ResponseCode -1.
		{"agent unreachable", []string{"Failed/Undeliverable"}, false, 1},
		{"agent unreachable the second time", []string{"Failed", "Failed/Undeliverable"}, false, 2},
		{"instance terminated", []string{"Failed/Terminated"}, false, 1},
		{"wrong platform", []string{"Failed/InvalidPlatform"}, false, 1},
		{"access denied", []string{"Failed/AccessDenied"}, false, 1},
		{"delivery timed out", []string{"TimedOut/DeliveryTimedOut"}, false, 1},
		{"SSM timed out", []string{"Failed", "TimedOut"}, false, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			check := &scriptedCheck{statuses: tc.statuses}
			w := newWorld(t, engine.Options{DeepCheck: check})
			w.clk.Advance(time.Minute)
			reps, err := w.run(engine.Trigger{Kind: report.Reconcile})
			if err != nil || len(reps) != 1 {
				t.Fatalf("reconcile: %v %v", reps, err)
			}
			r := reps[0]
			if len(check.ran) != tc.runs || check.ran[0] != "i-a" {
				t.Fatalf("deep check ran on %v, want %d runs on i-a", check.ran, tc.runs)
			}
			if moved := r.Outcome == report.Moved; moved != tc.moved {
				t.Fatalf("outcome %s (%s), moved want %v", r.Outcome, r.Reason, tc.moved)
			}
			if tc.moved && (!strings.Contains(r.Reason, "deep check: command cmd-") || !strings.Contains(r.Reason, "exited 1 twice") ||
				strings.Contains(r.Reason, "Cannot connect") || r.HolderAfter != "i-b") {
				t.Fatalf("move: %+v", r)
			}
		})
	}
	// A holder that is not running is the reconcile's to move, not the
	// deep check's to look at.
	check := &scriptedCheck{}
	w := newWorld(t, engine.Options{DeepCheck: check})
	w.ec2.StopInstance("i-a")
	w.settle()
	if reps, err := w.run(engine.Trigger{Kind: report.Reconcile}); err != nil || reps[0].Outcome != report.Moved || len(check.ran) != 0 {
		t.Fatalf("stopped holder: %v %v, deep check ran on %v", reps, err, check.ran)
	}
}

// With HolderTag, the instance holding the ENI carries the license-holder
// tag (FIS finds the holder by it) and no other member does; the
// reconcile mends it; another group's tag on a shared member stays.
func TestHolderTag(t *testing.T) {
	const key = "eni-failover:license-holder"
	w := newWorld(t, engine.Options{HolderTag: true})
	w.ec2.CreateTags(w.ctx(), &ec2.CreateTagsInput{Resources: []string{"i-c"}, Tags: []types.Tag{{Key: aws.String(key), Value: aws.String("other-group")}}})
	// The first reconcile marks the holder.
	reps, err := w.run(engine.Trigger{Kind: report.Reconcile})
	if err != nil || reps[0].Outcome != report.Repaired || w.ec2.Tags("i-a")[key] != group {
		t.Fatalf("reconcile: %+v %v, i-a tags %v", reps, err, w.ec2.Tags("i-a"))
	}
	before := w.ec2.MutatingCalls()
	if reps, _ := w.run(engine.Trigger{Kind: report.Reconcile}); reps[0].Outcome != report.NothingToDo || w.ec2.MutatingCalls() != before {
		t.Fatalf("second reconcile: %+v, %d mutating calls", reps[0], w.ec2.MutatingCalls()-before)
	}
	w.ec2.StopInstance("i-a")
	r := w.mustRun(down("i-a"))
	if r.Outcome != report.Moved || !slices.ContainsFunc(r.Steps, func(s report.Step) bool { return s.Name == "holder-tag" && s.Detail == "removed from i-a" }) ||
		w.ec2.Tags("i-b")[key] != group {
		t.Fatalf("move: %+v, i-b tags %v", r, w.ec2.Tags("i-b"))
	}
	if _, still := w.ec2.Tags("i-a")[key]; still {
		t.Fatalf("the former holder keeps the tag: %v", w.ec2.Tags("i-a"))
	}
	if w.ec2.Tags("i-c")[key] != "other-group" {
		t.Fatalf("another group's tag was touched: %v", w.ec2.Tags("i-c"))
	}
	// Off (the default), no instance is ever tagged.
	w = newWorld(t, engine.Options{})
	w.ec2.StopInstance("i-a")
	w.mustRun(down("i-a"))
	w.mustRun(engine.Trigger{Kind: report.Reconcile})
	if _, ok := w.ec2.Tags("i-b")[key]; ok {
		t.Fatal("tagged without HolderTag")
	}
}

// A run that cannot move the ENI (no standby, or a pause) still puts the
// license-holder tag on the holder it leaves it on: the storms' seed 267
// found a stopped holder untagged after the move's tag write failed.
func TestHolderTagMendedWhenNoMoveIsPossible(t *testing.T) {
	const key = "eni-failover:license-holder"
	w := newWorld(t, engine.Options{HolderTag: true}, member{"i-a", az, "running", "1"}, member{"i-b", az, "stopped", "2"})
	w.ec2.StopInstance("i-a")
	w.settle()
	reps, err := w.run(engine.Trigger{Kind: report.Reconcile})
	if err == nil || reps[0].Outcome != report.Failed || w.ec2.Tags("i-a")[key] != group || !strings.Contains(reps[0].Reason, "license-holder tag mended") {
		t.Fatalf("no standby: %+v %v, i-a tags %v", reps[0], err, w.ec2.Tags("i-a"))
	}
	w = newWorld(t, engine.Options{HolderTag: true})
	if _, err := w.eng.SetPause(w.ctx(), group, model.Pause{Until: w.clk.Now().Add(time.Hour), By: "ops"}); err != nil {
		t.Fatal(err)
	}
	w.ec2.StopInstance("i-a")
	if r := w.mustRun(down("i-a")); r.Outcome != report.Paused || w.ec2.Tags("i-a")[key] != group {
		t.Fatalf("paused: %+v, i-a tags %v", r, w.ec2.Tags("i-a"))
	}
	before := w.ec2.MutatingCalls()
	if r := w.mustRun(down("i-a")); r.Outcome != report.Paused || w.ec2.MutatingCalls() != before {
		t.Fatalf("paused again: %+v, %d mutating calls for a tag already right", r, w.ec2.MutatingCalls()-before)
	}
}

// A brief outage the probe never confirmed is recorded on a move made
// during it (a planned move's), and otherwise only logged.
func TestBriefOutage(t *testing.T) {
	w := newWorld(t, engine.Options{})
	w.clk.Advance(time.Minute)
	since := w.clk.Now()
	if r := w.mustRun(engine.Trigger{Kind: report.Move, Group: group, Reason: "planned"}); r.Outcome != report.Moved {
		t.Fatalf("move: %+v", r)
	}
	r := w.mustRun(engine.Trigger{Kind: report.LicenseRestored, Group: group, Since: since, At: w.clk.Now().Add(3 * time.Second), Brief: true})
	if r.Outcome != report.Confirmed || r.OutageMS <= 0 {
		t.Fatalf("brief outage with a move: %+v", r)
	}
	w.clk.Advance(time.Hour)
	before := w.ec2.MutatingCalls()
	r = w.mustRun(engine.Trigger{Kind: report.LicenseRestored, Group: group, Since: w.clk.Now().Add(-5 * time.Second), At: w.clk.Now(), Brief: true})
	if r.Outcome != report.NothingToDo || !strings.Contains(r.Reason, "brief outage of 5s") || w.ec2.MutatingCalls() != before {
		t.Fatalf("blip: %+v", r)
	}
}

// A fresh finding about a holder EC2 shows stopping leaves the move to the
// fleet function (whose sweep takes every holder EC2 shows down): two
// processes moving one group would race to attach. The same failure sent
// again a minute on moves it, in case the fleet function never did.
func TestFindingAboutAStoppingHolderIsTheFleetsTurn(t *testing.T) {
	w := newWorld(t, engine.Options{})
	w.clk.Advance(time.Minute)
	since := w.clk.Now()
	w.ec2.StopInstance("i-a")
	before := w.ec2.MutatingCalls()
	r := w.mustRun(probeTrigger(since))
	if r.Outcome != report.NothingToDo || !strings.Contains(r.Reason, "left to the fleet function") || w.ec2.MutatingCalls() != before {
		t.Fatalf("fresh finding: %s %s (%d mutating calls)", r.Outcome, r.Reason, w.ec2.MutatingCalls()-before)
	}
	resent := probeTrigger(since)
	resent.At, resent.RequestID = since.Add(2*time.Minute), resent.RequestID+":2"
	if r := w.mustRun(resent); r.Outcome != report.Moved {
		t.Fatalf("finding sent again: %s %s", r.Outcome, r.Reason)
	}
	w.assertHolder("i-b")
}

// A move split between two runs (the first dies after its detach, a
// reconcile attaches the ENI it left on no instance) counts toward the cap:
// with a cap of one, the next finding about a healthy holder only
// notifies (the storms' seed 1815 moved twice).
func TestCapCountsAMoveAnotherRunFinished(t *testing.T) {
	w := newWorld(t, engine.Options{MaxAutomaticMoves: 1})
	w.clk.Advance(10 * time.Minute)
	ctx, cancel := context.WithCancel(w.ctx())
	defer cancel()
	w.ec2.AfterCall(func(op string, _ any, err error) {
		if op == fakeec2.OpDetachNetworkInterface && err == nil {
			cancel() // the Lambda dies here
		}
	})
	if _, err := w.eng.Run(ctx, probeTrigger(w.clk.Now()), false); err == nil {
		t.Fatal("the killed run reported no error")
	}
	w.ec2.AfterCall(nil)
	w.settle()
	if st := w.ec2.ENI(eniID); st.AttachmentStatus != "" {
		t.Fatalf("after the killed run: %+v", st)
	}
	if r := w.mustRun(engine.Trigger{Kind: report.Reconcile}); r.Outcome != report.Attached {
		t.Fatalf("reconcile: %s %s", r.Outcome, r.Reason)
	}
	w.clk.Advance(10 * time.Minute)
	before := w.ec2.MutatingCalls()
	if r := w.mustRun(probeTrigger(w.clk.Now())); r.Outcome != report.Capped || w.ec2.MutatingCalls() != before {
		t.Fatalf("second finding: %s %s (%d mutating calls)", r.Outcome, r.Reason, w.ec2.MutatingCalls()-before)
	}
}

// A reconcile that finds a fresh attachment the journal does not name
// (another run's, whose journal write is still to come) records it as a
// move, not a mere repair of the journal's holder: with a cap of one, the
// next finding about a healthy holder only notifies (make fuzz found the
// repair hiding the move from the cap).
func TestRepairRecordsAFreshMove(t *testing.T) {
	w := newWorld(t, engine.Options{MaxAutomaticMoves: 1})
	w.clk.Advance(10 * time.Minute)
	w.ec2.DetachNow(eniID)
	if _, err := w.ec2.AttachNetworkInterface(context.Background(), &ec2.AttachNetworkInterfaceInput{
		NetworkInterfaceId: aws.String(eniID), InstanceId: aws.String("i-b"), DeviceIndex: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	w.clk.Advance(5 * time.Second)
	if r := w.mustRun(engine.Trigger{Kind: report.Reconcile}); r.Outcome != report.Repaired {
		t.Fatalf("reconcile: %s %s", r.Outcome, r.Reason)
	}
	tags := w.ec2.ENI(eniID).Tags
	if tags["eni-failover:holder"] != "i-b" || tags["eni-failover:previous-holder"] != "i-a" || tags["eni-failover:moved-at"] == "" {
		t.Fatalf("journal after the repair: %v", tags)
	}
	w.clk.Advance(time.Minute)
	if r := w.mustRun(probeTrigger(w.clk.Now())); r.Outcome != report.Capped {
		t.Fatalf("finding after the unjournalled move: %s %s", r.Outcome, r.Reason)
	}
	// An attachment older than a run could still be journaling is only
	// the journal's holder to mend.
	w = newWorld(t, engine.Options{MaxAutomaticMoves: 1})
	w.ec2.DetachNow(eniID)
	if _, err := w.ec2.AttachNetworkInterface(context.Background(), &ec2.AttachNetworkInterfaceInput{
		NetworkInterfaceId: aws.String(eniID), InstanceId: aws.String("i-b"), DeviceIndex: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	w.clk.Advance(time.Hour)
	w.mustRun(engine.Trigger{Kind: report.Reconcile})
	if tags := w.ec2.ENI(eniID).Tags; tags["eni-failover:holder"] != "i-b" || tags["eni-failover:moved-at"] != "" {
		t.Fatalf("journal after mending an old attachment: %v", tags)
	}
}

// A capped group whose ENI is still detaching (an operator's move that
// died after its detach) is finished, not held back: the cap is about
// moves off a healthy holder, and this one would leave the ENI on no
// instance (the fuzzer's input 080b50ccef9184f9).
func TestCappedGroupFinishesADetachUnderWay(t *testing.T) {
	w := newWorld(t, engine.Options{MaxAutomaticMoves: 3})
	for i := 0; i < 3; i++ {
		w.clk.Advance(time.Minute)
		if r := w.mustRun(probeTrigger(w.clk.Now())); r.Outcome != report.Moved {
			t.Fatalf("move %d: %s %s", i+1, r.Outcome, r.Reason)
		}
	}
	st := w.ec2.ENI(eniID)
	holder := st.InstanceID
	if _, err := w.ec2.DetachNetworkInterface(w.ctx(), &ec2.DetachNetworkInterfaceInput{AttachmentId: aws.String(st.AttachmentID)}); err != nil {
		t.Fatal(err)
	}
	if got := w.ec2.ENI(eniID).AttachmentStatus; got != "detaching" {
		t.Fatalf("attachment %q, want detaching", got)
	}
	r := w.mustRun(engine.Trigger{Kind: report.Reconcile})
	if r.Outcome == report.Capped {
		t.Fatalf("reconcile capped a detach under way: %s", r.Reason)
	}
	w.settle()
	if got := w.ec2.ENI(eniID); got.AttachmentStatus != "attached" || got.InstanceID == holder {
		t.Fatalf("ENI %s on %q after the reconcile (%s %s), want attached to another member", got.AttachmentStatus, got.InstanceID, r.Outcome, r.Reason)
	}
}
