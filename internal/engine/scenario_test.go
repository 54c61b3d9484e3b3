package engine_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/report"
	"github.com/eni-failover/eni-failover/internal/testkit/fakeec2"
	"github.com/eni-failover/eni-failover/internal/testkit/simclock"
)

func TestHolderGoesDown(t *testing.T) {
	cases := []struct {
		name      string
		fail      func(w *world)
		mutations int
		detaches  int
	}{
		// detach, journal, attach, history
		{"holder stopping", func(w *world) { w.ec2.StopInstance("i-a") }, 4, 1},
		{"holder stopped", func(w *world) { w.ec2.StopInstance("i-a"); w.settle() }, 4, 1},
		{"holder shutting-down", func(w *world) { w.ec2.TerminateInstance("i-a") }, 4, 1},
		// Termination releases a DeleteOnTermination=false ENI by itself.
		{"holder terminated", func(w *world) { w.ec2.TerminateInstance("i-a"); w.settle() }, 3, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, engine.Options{})
			tc.fail(w)
			r := w.mustRun(down("i-a"))
			w.assertHolder("i-b")
			w.assertMutations(tc.mutations)
			if got := w.ec2.CallCount(fakeec2.OpDetachNetworkInterface); got != tc.detaches {
				t.Fatalf("%d detach calls, want %d", got, tc.detaches)
			}
			if r.HolderBefore != "i-a" && tc.detaches > 0 || r.HolderAfter != "i-b" {
				t.Fatalf("report holders %q -> %q", r.HolderBefore, r.HolderAfter)
			}
			if r.MAC != "02:4c:69:63:65:6e" || r.PrivateIP != "10.0.1.50" || r.ENIID != eniID {
				t.Fatalf("report identifies %s %s %s", r.ENIID, r.MAC, r.PrivateIP)
			}
			if len(r.Steps) < 3 {
				t.Fatalf("report has %d steps: %+v", len(r.Steps), r.Steps)
			}
			st := w.ec2.ENI(eniID)
			if st.Tags["eni-failover:holder"] != "i-b" || st.Tags["eni-failover:moved-at"] == "" || !strings.Contains(st.Tags["eni-failover:failed"], "i-a@") {
				t.Fatalf("journal tags %v", st.Tags)
			}
		})
	}
}

func TestNothingToDo(t *testing.T) {
	t.Run("stale stopped event after the move", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		w.ec2.StopInstance("i-a")
		w.mustRun(down("i-a"))
		w.settle()
		w.ec2.ResetCalls()
		r := w.mustRun(down("i-a"))
		w.assertHolder("i-b")
		w.assertMutations(0)
		if r.Outcome != report.NothingToDo || !strings.Contains(r.Reason, "does not hold") {
			t.Fatalf("outcome %s: %s", r.Outcome, r.Reason)
		}
	})
	t.Run("duplicate stopping events", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		w.ec2.StopInstance("i-a")
		first := w.mustRun(down("i-a"))
		second := w.mustRun(down("i-a"))
		w.assertHolder("i-b")
		w.assertMutations(4)
		if first.Outcome != report.Moved || second.Outcome != report.NothingToDo {
			t.Fatalf("outcomes %s, %s", first.Outcome, second.Outcome)
		}
	})
	t.Run("failure of a non-holder", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		w.ec2.StopInstance("i-c")
		r := w.mustRun(down("i-c"))
		w.assertHolder("i-a")
		w.assertMutations(0)
		if r.Outcome != report.NothingToDo {
			t.Fatalf("outcome %s", r.Outcome)
		}
	})
	t.Run("alarm on a non-holder", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		r := w.mustRun(engine.Trigger{Kind: report.Impaired, InstanceID: "i-b"})
		w.assertHolder("i-a")
		w.assertMutations(0)
		if r.Outcome != report.NothingToDo {
			t.Fatalf("outcome %s", r.Outcome)
		}
	})
	t.Run("instance in no group", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		w.ec2.AddInstance(fakeec2.InstanceSpec{ID: "i-stranger", AZ: az})
		reps, err := w.run(down("i-stranger"))
		if err != nil || len(reps) != 0 {
			t.Fatalf("reports %v, err %v", reps, err)
		}
		reps, err = w.run(down("i-0doesnotexist"))
		if err != nil || len(reps) != 0 {
			t.Fatalf("unknown instance: reports %v, err %v", reps, err)
		}
		w.assertMutations(0)
	})
	t.Run("reconcile of a healthy group", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		reps, err := w.run(engine.Trigger{Kind: report.Reconcile})
		if err != nil || len(reps) != 1 || reps[0].Outcome != report.NothingToDo {
			t.Fatalf("reports %+v, err %v", reps, err)
		}
		w.assertMutations(0)
	})
}

func TestNoViableStandby(t *testing.T) {
	cases := []struct {
		name    string
		members []member
		setup   func(w *world)
		want    string
	}{
		{"all standbys stopped", []member{{"i-a", az, "running", "1"}, {"i-b", az, "stopped", "2"}, {"i-c", az, "stopped", "3"}}, nil, "stopped"},
		{"standbys in another AZ", []member{{"i-a", az, "running", "1"}, {"i-b", otherAZ, "running", "2"}, {"i-c", otherAZ, "running", "3"}}, nil, "cannot leave its AZ"},
		{"no free device index", nil, func(w *world) {
			for i, id := range []string{"i-b", "i-c"} {
				w.ec2.AddENI(fakeec2.ENISpec{ID: "eni-other" + string(rune('0'+i)), AZ: az, AttachTo: id, DeviceIndex: 1})
			}
		}, "device index 1 in use"},
		{"standbys impaired", nil, func(w *world) { w.ec2.SetStatus("i-b", "impaired"); w.ec2.SetStatus("i-c", "impaired") }, "impaired"},
		{"no standby at all", []member{{"i-a", az, "running", "1"}}, nil, "no other member"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, engine.Options{}, tc.members...)
			if tc.setup != nil {
				tc.setup(w)
			}
			w.ec2.StopInstance("i-a")
			w.settle()
			reps, err := w.run(down("i-a"))
			var nt *engine.NoTargetError
			if !errors.As(err, &nt) {
				t.Fatalf("error %v, want NoTargetError", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, `"license"`) || !strings.Contains(msg, az) || !strings.Contains(msg, tc.want) {
				t.Fatalf("error %q should name the group, the AZ and %q", msg, tc.want)
			}
			if !engine.Retryable(err) {
				t.Fatalf("no standby yet should be retryable")
			}
			if reps[0].Outcome != report.Failed {
				t.Fatalf("outcome %s", reps[0].Outcome)
			}
			if w.ec2.CallCount(fakeec2.OpDetachNetworkInterface) != 0 {
				t.Fatalf("ENI was detached with nowhere to go")
			}
			st := w.ec2.ENI(eniID)
			if st.InstanceID != "i-a" || st.AttachmentStatus != "attached" {
				t.Fatalf("ENI moved: %+v", st)
			}
			w.assertMutations(0)
		})
	}
}

func TestStoppedStandby(t *testing.T) {
	members := []member{{"i-a", az, "running", "1"}, {"i-b", az, "stopped", "2"}}
	t.Run("started when configured", func(t *testing.T) {
		w := newWorld(t, engine.Options{AllowStartStopped: true}, members...)
		w.ec2.StopInstance("i-a")
		w.settle()
		r := w.mustRun(down("i-a"))
		w.assertHolder("i-b")
		if got := w.ec2.InstanceState("i-b"); got != "running" {
			t.Fatalf("standby %s, want running", got)
		}
		if w.ec2.CallCount(fakeec2.OpStartInstances) != 1 || r.Steps[1].Name != "start-instance" || r.Steps[1].InstanceID != "i-b" {
			t.Fatalf("start calls %d, steps %+v", w.ec2.CallCount(fakeec2.OpStartInstances), r.Steps)
		}
		w.assertMutations(5) // start, force detach, journal, attach, history
		var order []string
		for _, c := range w.ec2.Calls() {
			if fakeec2.MutatingOps[c.Op] {
				order = append(order, c.Op)
			}
		}
		if order[0] != fakeec2.OpStartInstances || order[1] != fakeec2.OpDetachNetworkInterface {
			t.Fatalf("mutations in order %v: the standby must run before the ENI leaves", order)
		}
		if r.StepMS("wait-running") < (15 * time.Second).Milliseconds() {
			t.Fatalf("did not wait for the standby to run: %+v", r.Steps)
		}
	})
	t.Run("a standby that will not start is skipped", func(t *testing.T) {
		w := newWorld(t, engine.Options{AllowStartStopped: true}, member{"i-a", az, "running", "1"}, member{"i-b", az, "stopped", "2"}, member{"i-c", az, "stopped", "3"})
		w.ec2.AddFault(fakeec2.Fault{Op: fakeec2.OpStartInstances, Code: "InsufficientInstanceCapacity", Times: 1})
		w.ec2.StopInstance("i-a")
		w.settle()
		w.mustRun(down("i-a"))
		w.assertHolder("i-c")
	})
	t.Run("skipped otherwise", func(t *testing.T) {
		w := newWorld(t, engine.Options{}, members...)
		w.ec2.StopInstance("i-a")
		w.settle()
		_, err := w.run(down("i-a"))
		var nt *engine.NoTargetError
		if !errors.As(err, &nt) || !strings.Contains(err.Error(), "starting standbys is off") {
			t.Fatalf("error %v", err)
		}
		w.assertMutations(0)
		if got := w.ec2.InstanceState("i-b"); got != "stopped" {
			t.Fatalf("standby %s, want stopped", got)
		}
	})
	t.Run("running standby preferred over a stopped one", func(t *testing.T) {
		w := newWorld(t, engine.Options{AllowStartStopped: true},
			member{"i-a", az, "running", "1"}, member{"i-b", az, "stopped", "2"}, member{"i-c", az, "running", "3"})
		w.ec2.StopInstance("i-a")
		w.mustRun(down("i-a"))
		w.assertHolder("i-c")
		if w.ec2.CallCount(fakeec2.OpStartInstances) != 0 {
			t.Fatalf("a stopped standby was started while a running one was free")
		}
	})
}

func TestStuckDetachingEscalatesToForce(t *testing.T) {
	w := newWorld(t, engine.Options{})
	w.ec2.SetStuckDetaching(eniID, true)
	// The alarm says the token server is dead; EC2 still calls it healthy,
	// so the first detach is graceful.
	r := w.mustRun(engine.Trigger{Kind: report.Impaired, InstanceID: "i-a"})
	w.assertHolder("i-b")
	var graceful, forced int
	for _, c := range w.ec2.Calls() {
		if in, ok := c.Input.(ec2.DetachNetworkInterfaceInput); ok {
			if aws.ToBool(in.Force) {
				forced++
			} else {
				graceful++
			}
		}
	}
	if graceful != 1 || forced != 1 {
		t.Fatalf("graceful %d, forced %d; want 1 and 1", graceful, forced)
	}
	if r.StepMS("wait-available") < (8 * time.Second).Milliseconds() {
		t.Fatalf("escalated before the graceful wait: %+v", r.Steps)
	}
	w.assertMutations(5)
}

func TestImpairedHolderIsForceDetachedAtOnce(t *testing.T) {
	w := newWorld(t, engine.Options{})
	w.ec2.SetStatus("i-a", "impaired")
	r := w.mustRun(engine.Trigger{Kind: report.Reconcile})
	w.assertHolder("i-b")
	for _, st := range r.Steps {
		if strings.Contains(string(st.Name), "detach") {
			if st.Name != "force-detach" {
				t.Fatalf("first detach is %s: %+v", st.Name, r.Steps)
			}
			break
		}
	}
	w.assertMutations(4)
}

func TestAttachRefusedNextStandbyWins(t *testing.T) {
	// UnauthorizedOperation: IAM denies attaching to that instance (for
	// example one outside a policy's list); it strands the ENI no less.
	for _, code := range []string{"IncorrectState", "InvalidParameterValue", "IncorrectInstanceState", "UnauthorizedOperation", "OperationNotPermitted"} {
		t.Run(code, func(t *testing.T) {
			w := newWorld(t, engine.Options{})
			w.ec2.AddFault(fakeec2.Fault{Op: fakeec2.OpAttachNetworkInterface, Code: code, Message: "refused",
				Match: func(in any) bool { return aws.ToString(in.(ec2.AttachNetworkInterfaceInput).InstanceId) == "i-b" }})
			w.ec2.StopInstance("i-a")
			r := w.mustRun(down("i-a"))
			w.assertHolder("i-c")
			if got := w.ec2.CallCount(fakeec2.OpAttachNetworkInterface); got != 2 {
				t.Fatalf("%d attach calls, want 2", got)
			}
			if r.Outcome != report.Moved {
				t.Fatalf("outcome %s", r.Outcome)
			}
		})
	}
	t.Run("every standby refuses: back to the former holder", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		w.ec2.AddFault(fakeec2.Fault{Op: fakeec2.OpAttachNetworkInterface, Code: "UnauthorizedOperation",
			Match: func(in any) bool { return aws.ToString(in.(ec2.AttachNetworkInterfaceInput).InstanceId) != "i-a" }})
		w.ec2.StopInstance("i-a")
		w.settle()
		reps, err := w.run(down("i-a"))
		var nt *engine.NoTargetError
		if !errors.As(err, &nt) || reps[0].Outcome != report.ReturnedToFormer {
			t.Fatalf("outcome %s, err %v", reps[0].Outcome, err)
		}
		w.assertHolder("i-a")
	})
}

func TestThrottlingAndServerErrors(t *testing.T) {
	for seed := int64(1); seed <= 20; seed++ {
		w := newSeededWorld(t, engine.Options{}, seed)
		w.ec2.Throttle(0.30)
		w.ec2.AddFault(fakeec2.Fault{Code: "InternalError", Message: "An internal error has occurred", HTTPStatus: 500, Probability: 0.05})
		w.ec2.StopInstance("i-a")
		reps, err := w.run(down("i-a"))
		if err != nil {
			t.Fatalf("seed %d: %v (%v)", seed, err, opsOf(w.ec2.Calls()))
		}
		w.ec2.ClearFaults()
		w.assertHolder("i-b")
		if reps[0].Outcome != report.Moved {
			t.Fatalf("seed %d: outcome %s", seed, reps[0].Outcome)
		}
		acc := w.ec2.AcceptedMutations()
		if acc[fakeec2.OpAttachNetworkInterface] != 1 {
			t.Fatalf("seed %d: %d accepted attaches", seed, acc[fakeec2.OpAttachNetworkInterface])
		}
		if countErrors(w.ec2.Calls()) == 0 {
			t.Fatalf("seed %d: no fault fired", seed)
		}
	}
}

func countErrors(calls []fakeec2.Call) int {
	n := 0
	for _, c := range calls {
		if c.Err != nil {
			n++
		}
	}
	return n
}

func TestAvailableENI(t *testing.T) {
	t.Run("attach only", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		w.ec2.TerminateInstance("i-a")
		w.settle()
		r := w.mustRun(engine.Trigger{Kind: report.InstanceUp, InstanceID: "i-c"})
		w.assertHolder("i-b")
		if r.Outcome != report.Attached || w.ec2.CallCount(fakeec2.OpDetachNetworkInterface) != 0 {
			t.Fatalf("outcome %s", r.Outcome)
		}
		w.assertMutations(3)
	})
	t.Run("attached elsewhere by someone else meanwhile", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		w.ec2.StopInstance("i-a")
		w.settle()
		done := false
		w.ec2.AfterCall(func(op string, _ any, err error) {
			if op == fakeec2.OpDescribeNetworkInterfaces && !done && w.ec2.ENI(eniID).Status == "available" {
				done = true
				w.ec2.AttachNow(eniID, "i-c", 1) // an operator in the console
			}
		})
		r := w.mustRun(down("i-a"))
		w.assertHolder("i-c")
		if r.Outcome != report.AttachedByOther || r.HolderAfter != "i-c" {
			t.Fatalf("outcome %s holder %s", r.Outcome, r.HolderAfter)
		}
		// Journal, detach, one refused attach; nothing after the verify.
		w.assertMutations(3)
		if calls := w.ec2.Calls(); calls[len(calls)-1].Op != fakeec2.OpDescribeNetworkInterfaces {
			t.Fatalf("last call %s, want the verifying read", calls[len(calls)-1].Op)
		}
		// The journal named the intended target; the reconcile corrects it.
		w.ec2.AfterCall(nil)
		r = w.mustRun(engine.Trigger{Kind: report.Reconcile})
		if r.Outcome != report.Repaired || w.ec2.ENI(eniID).Tags["eni-failover:holder"] != "i-c" {
			t.Fatalf("reconcile %s, journal %v", r.Outcome, w.ec2.ENI(eniID).Tags)
		}
	})
	t.Run("ENI not found", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		w.ec2.StopInstance("i-a")
		w.settle()
		// Deleted once the group read has listed it: whatever the order of
		// the group's other reads, the move then meets a missing ENI.
		deleted := false
		w.ec2.AfterCall(func(op string, _ any, err error) {
			if op == fakeec2.OpDescribeNetworkInterfaces && !deleted {
				deleted = true
				w.ec2.DeleteENI(eniID)
			}
		})
		_, err := w.run(down("i-a"))
		if !errors.Is(err, engine.ErrENINotFound) || !strings.Contains(err.Error(), eniID) || engine.Retryable(err) {
			t.Fatalf("error %v", err)
		}
	})
}

func TestDeleteOnTerminationRepaired(t *testing.T) {
	w := newWorld(t, engine.Options{})
	w.ec2.DeleteENI(eniID)
	w.ec2.AddENI(fakeec2.ENISpec{ID: eniID, AZ: az, Tags: map[string]string{"eni-failover:group": group, "eni-failover:holder": "i-a"},
		AttachTo: "i-a", DeviceIndex: 1, DeleteOnTermination: true})
	r := w.mustRun(engine.Trigger{Kind: report.Reconcile})
	w.assertHolder("i-a")
	if r.Outcome != report.Repaired || w.ec2.CallCount(fakeec2.OpModifyNetworkInterfaceAttribute) != 1 {
		t.Fatalf("outcome %s", r.Outcome)
	}
	w.assertMutations(1)
}

func TestAntiFlap(t *testing.T) {
	recent := func(w *world) {
		w.ec2.CreateTags(w.ctx(), &ec2.CreateTagsInput{Resources: []string{eniID}, Tags: tagsOf(map[string]string{
			"eni-failover:failed": "i-b@" + itoa(t0.Add(-5*time.Minute).Unix()),
		})})
		w.ec2.ResetCalls()
	}
	t.Run("recently failed member is skipped", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		recent(w)
		w.ec2.StopInstance("i-a")
		r := w.mustRun(down("i-a"))
		w.assertHolder("i-c")
		w.assertMutations(4)
		if !r.Plan.Candidates[len(r.Plan.Candidates)-1].Cooldown {
			t.Fatalf("cooled-down member not last: %+v", r.Plan.Candidates)
		}
	})
	t.Run("unless it is the last option", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		recent(w)
		w.ec2.StopInstance("i-c")
		w.ec2.StopInstance("i-a")
		w.mustRun(down("i-a"))
		w.assertHolder("i-b")
		w.assertMutations(4)
	})
	t.Run("after the cooldown it is preferred again", func(t *testing.T) {
		w := newWorld(t, engine.Options{Cooldown: time.Minute})
		recent(w)
		w.ec2.StopInstance("i-a")
		w.mustRun(down("i-a"))
		w.assertHolder("i-b")
		w.assertMutations(4)
	})
	t.Run("an operator may choose it", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		recent(w)
		w.mustRun(engine.Trigger{Kind: report.Move, Target: "i-b"})
		w.assertHolder("i-b")
		w.assertMutations(4)
	})
	t.Run("a failed holder's return does not pull the ENI back", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		w.ec2.StopInstance("i-a")
		w.mustRun(down("i-a"))
		w.settle()
		w.ec2.StartInstance("i-a")
		w.settle()
		w.ec2.ResetCalls()
		w.mustRun(engine.Trigger{Kind: report.InstanceUp, InstanceID: "i-a"})
		w.mustRun(engine.Trigger{Kind: report.Reconcile})
		w.assertHolder("i-b")
		w.assertMutations(0)
	})
}

func TestPlannedAndManualMoves(t *testing.T) {
	t.Run("spot interruption on the holder: graceful move", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		r := w.mustRun(engine.Trigger{Kind: report.Evacuate, InstanceID: "i-a"})
		w.assertHolder("i-b")
		if r.Plan.Force || !r.Plan.Planned || w.ec2.CallCount(fakeec2.OpDetachNetworkInterface) != 1 {
			t.Fatalf("plan %+v", r.Plan)
		}
		w.assertMutations(4)
	})
	t.Run("evacuation notice for a standby", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		w.mustRun(engine.Trigger{Kind: report.Evacuate, InstanceID: "i-c"})
		w.assertHolder("i-a")
		w.assertMutations(0)
	})
	t.Run("manual move to the best standby", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		r := w.mustRun(engine.Trigger{Kind: report.Move, Reason: "patching i-a"})
		w.assertHolder("i-b")
		if r.Outcome != report.Moved || !strings.Contains(w.ec2.ENI(eniID).Tags["eni-failover:reason"], "patching i-a") {
			t.Fatalf("outcome %s tags %v", r.Outcome, w.ec2.ENI(eniID).Tags)
		}
		if strings.Contains(w.ec2.ENI(eniID).Tags["eni-failover:failed"], "i-a") {
			t.Fatalf("a planned move recorded the holder as failed")
		}
	})
	t.Run("manual move to a named target", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		w.mustRun(engine.Trigger{Kind: report.Move, Target: "i-c", Group: group})
		w.assertHolder("i-c")
		w.assertMutations(4)
	})
	t.Run("manual move to the holder", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		r := w.mustRun(engine.Trigger{Kind: report.Move, Target: "i-a"})
		w.assertHolder("i-a")
		w.assertMutations(0)
		if r.Outcome != report.NothingToDo {
			t.Fatalf("outcome %s", r.Outcome)
		}
	})
	t.Run("failback to the home member", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		w.ec2.StopInstance("i-a")
		w.mustRun(down("i-a"))
		w.settle()
		w.ec2.StartInstance("i-a")
		w.settle()
		r := w.mustRun(engine.Trigger{Kind: report.Failback})
		w.assertHolder("i-a")
		if r.HolderBefore != "i-b" || r.HolderAfter != "i-a" || r.Outcome != report.Moved {
			t.Fatalf("report %+v", r)
		}
	})
	t.Run("already home", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		r := w.mustRun(engine.Trigger{Kind: report.Failback})
		w.assertHolder("i-a")
		w.assertMutations(0)
		if r.Outcome != report.NothingToDo || !strings.Contains(r.Reason, "already home") {
			t.Fatalf("outcome %s: %s", r.Outcome, r.Reason)
		}
	})
	t.Run("bad requests change nothing", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		w.ec2.AddInstance(fakeec2.InstanceSpec{ID: "i-outsider", AZ: az})
		for _, tr := range []engine.Trigger{
			{Kind: report.Move, Target: "i-outsider"},
			{Kind: report.Move, Group: "nope"},
			{Kind: report.Failback, Group: "nope"},
			{Kind: report.InstanceDown},
		} {
			_, err := w.run(tr)
			if !errors.Is(err, engine.ErrBadRequest) || engine.Retryable(err) {
				t.Fatalf("%+v: error %v", tr, err)
			}
		}
		w.assertMutations(0)
	})
	t.Run("target that cannot take the ENI", func(t *testing.T) {
		w := newWorld(t, engine.Options{}, member{"i-a", az, "running", "1"}, member{"i-b", az, "stopped", "2"})
		_, err := w.run(engine.Trigger{Kind: report.Move, Target: "i-b"})
		var nt *engine.NoTargetError
		if !errors.As(err, &nt) || !strings.Contains(err.Error(), "i-b: stopped") {
			t.Fatalf("error %v", err)
		}
		w.assertMutations(0)
	})
	t.Run("dry run plans without mutating", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		reps, err := w.eng.Run(w.ctx(), engine.Trigger{Kind: report.Move}, true)
		if err != nil || reps[0].Outcome != report.Planned || reps[0].Plan.Candidates[0].InstanceID != "i-b" {
			t.Fatalf("reports %+v err %v", reps, err)
		}
		w.assertMutations(0)
		w.assertHolder("i-a")
	})
}

func TestDeadline(t *testing.T) {
	w := newWorld(t, engine.Options{})
	w.ec2.SetStuckDetaching(eniID, true)
	w.ec2.StopInstance("i-a")
	// Five seconds left: not enough for the graceful wait.
	ctx := clockDeadline(w, 5*time.Second)
	reps, err := w.eng.Run(ctx, down("i-a"), false)
	var dl *engine.DeadlineError
	if !errors.As(err, &dl) || !engine.Retryable(err) {
		t.Fatalf("error %v, want a retryable DeadlineError", err)
	}
	if reps[0].Outcome != report.Failed || w.clk.Now().After(t0.Add(5*time.Second)) {
		t.Fatalf("outcome %s, stopped at %s", reps[0].Outcome, w.clk.Now().Sub(t0))
	}
	// The retry (Lambda's async retry) finishes the move: graceful
	// detach and journal, the first run's history (failed), then force
	// detach, attach and the move's history.
	w.mustRun(down("i-a"))
	w.assertHolder("i-b")
	w.assertMutations(6)
	if _, h, err := w.eng.History(w.ctx(), group); err != nil || len(h) != 2 || h[0].Outcome != "moved" || h[1].Outcome != "failed" || h[0].To != "i-b" {
		t.Fatalf("history %+v (%v), want the move and, before it, the failed run", h, err)
	}
}

func TestTwoGroups(t *testing.T) {
	w := newWorld(t, engine.Options{})
	for _, id := range []string{"i-x", "i-y"} {
		w.ec2.AddInstance(fakeec2.InstanceSpec{ID: id, AZ: otherAZ, Tags: map[string]string{"eni-failover:group": "other"}})
	}
	w.ec2.AddENI(fakeec2.ENISpec{ID: "eni-other", AZ: otherAZ, Tags: map[string]string{"eni-failover:group": "other", "eni-failover:holder": "i-x"}, AttachTo: "i-x", DeviceIndex: 1})
	w.ec2.StopInstance("i-a")
	reps, err := w.run(engine.Trigger{Kind: report.Reconcile})
	if err != nil || len(reps) != 2 {
		t.Fatalf("reports %d err %v", len(reps), err)
	}
	w.assertHolder("i-b")
	w.assertMutations(4)
	if st := w.ec2.ENI("eni-other"); st.InstanceID != "i-x" {
		t.Fatalf("other group's ENI moved to %s", st.InstanceID)
	}
	for _, c := range w.ec2.Calls() {
		if in, ok := c.Input.(ec2.AttachNetworkInterfaceInput); ok && aws.ToString(in.NetworkInterfaceId) != eniID {
			t.Fatalf("mutation on the other group: %+v", in)
		}
	}
	_, err = w.run(engine.Trigger{Kind: report.Move})
	if !errors.Is(err, engine.ErrBadRequest) || !strings.Contains(err.Error(), "2 groups") {
		t.Fatalf("move without group among two: %v", err)
	}
}

func TestNoTargetStillClearsDeleteOnTermination(t *testing.T) {
	w := newWorld(t, engine.Options{}, member{"i-a", az, "running", "1"}, member{"i-b", az, "stopped", "2"})
	w.ec2.SetDeleteOnTermination(eniID, true)
	w.ec2.TerminateInstance("i-a")
	_, err := w.run(down("i-a"))
	var nt *engine.NoTargetError
	if !errors.As(err, &nt) {
		t.Fatalf("error %v", err)
	}
	w.assertMutations(1) // DeleteOnTermination; the journal already names i-a
	w.settle()
	if st := w.ec2.ENI(eniID); !st.Exists || st.Status != "available" {
		t.Fatalf("ENI after the holder's termination: %+v", st)
	}
}

// TestProbeAlarmAboutAnEarlierHolder is the regression test for storm seed
// 1691: a probe alarm handled just after an operator attached the orphaned
// ENI, before any journal was written, moved it off its healthy new holder.
func TestProbeAlarmAboutAnEarlierHolder(t *testing.T) {
	w := newWorld(t, engine.Options{})
	w.ec2.DetachNow(eniID)
	w.clk.Advance(time.Minute)
	w.ec2.AttachNow(eniID, "i-c", 1) // by hand: no journal
	attachedAt := w.clk.Now()
	probe := func(since time.Time) *report.Report {
		return w.mustRun(engine.Trigger{Kind: report.Impaired, Group: group, Since: since})
	}
	if r := probe(attachedAt.Add(-2 * time.Minute)); r.Outcome != report.NothingToDo && r.Outcome != report.Repaired {
		t.Fatalf("outcome %s: %s", r.Outcome, r.Reason)
	}
	w.assertHolder("i-c")
	if w.ec2.CallCount(fakeec2.OpDetachNetworkInterface) != 0 {
		t.Fatal("detached the new holder for probes about the orphaned ENI")
	}
	// Probes that failed after the attach are about i-c.
	if r := probe(w.clk.Now().Add(time.Second)); r.Outcome != report.Moved {
		t.Fatalf("outcome %s: %s", r.Outcome, r.Reason)
	}
	w.assertHolder("i-a")
}

// TestPrimaryInterfaceIsReportedBeforeAnyMutation: MOSEK's recipe may leave
// the license ENI as the token server's primary interface (device index 0).
// EC2 never detaches a primary interface ("You can't detach a primary
// network interface": Amazon EC2 User Guide, Elastic network interfaces,
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-eni.html), so
// neither an event nor an operator may start a move that would be refused
// half-way: the run says what to change and makes no mutating call.
func TestPrimaryInterfaceIsReportedBeforeAnyMutation(t *testing.T) {
	for name, trig := range map[string]engine.Trigger{
		"holder stopping": down("i-a"),
		"status alarm":    {Kind: report.Impaired, InstanceID: "i-a"},
		"manual move":     {Kind: report.Move, Group: group},
		"reconcile":       {Kind: report.Reconcile},
	} {
		t.Run(name, func(t *testing.T) {
			clk := simclock.NewVirtual(t0)
			f := fakeec2.New(clk, fakeec2.RealisticTimings(), 1)
			for i, id := range []string{"i-a", "i-b"} {
				f.AddInstance(fakeec2.InstanceSpec{ID: id, AZ: az, Tags: map[string]string{"eni-failover:group": group, "eni-failover:priority": itoa(int64(i + 1))}})
			}
			f.AddENI(fakeec2.ENISpec{ID: eniID, AZ: az, AttachTo: "i-a", DeviceIndex: 0,
				Tags: map[string]string{"eni-failover:group": group, "eni-failover:holder": "i-a"}})
			if trig.Kind == report.InstanceDown {
				f.StopInstance("i-a")
			}
			eng := engine.New(f, clk, nil, engine.Options{})
			reps, err := eng.Run(simclock.WithDeadline(context.Background(), t0.Add(time.Minute)), trig, false)
			var primary *engine.PrimaryInterfaceError
			if !errors.As(err, &primary) || engine.Retryable(err) || !strings.Contains(err.Error(), "secondary interface") {
				t.Fatalf("error %v: want a PrimaryInterfaceError that no retry repeats", err)
			}
			if n := f.MutatingCalls(); n != 0 {
				t.Fatalf("%d mutating calls: %v", n, opsOf(f.Calls()))
			}
			if len(reps) != 1 || reps[0].Outcome != report.Failed || reps[0].HolderAfter != "i-a" {
				t.Fatalf("reports %+v", reps)
			}
		})
	}
}

// TestRefusedDetachBacksOffThenReports: EC2 refuses to release an
// attachment (OperationNotPermitted). The run must not hammer the API with
// the same call; it pauses between tries, then reports, and the ENI stays
// on its holder.
func TestRefusedDetachBacksOffThenReports(t *testing.T) {
	w := newWorld(t, engine.Options{})
	w.ec2.AddFault(fakeec2.Fault{Op: fakeec2.OpDetachNetworkInterface, Code: "OperationNotPermitted", Message: "refused"})
	w.ec2.SetStatus("i-a", "impaired")
	reps, err := w.run(engine.Trigger{Kind: report.Impaired, InstanceID: "i-a"})
	if err == nil || !strings.Contains(err.Error(), "refused 4 times") || !strings.Contains(err.Error(), "OperationNotPermitted") {
		t.Fatalf("error %v: want the refusals reported", err)
	}
	if reps[0].Outcome != report.Failed || reps[0].HolderAfter != "i-a" {
		t.Fatalf("outcome %s, holder after %q", reps[0].Outcome, reps[0].HolderAfter)
	}
	var detaches []time.Time
	for _, c := range w.ec2.Calls() {
		if c.Op == fakeec2.OpDetachNetworkInterface {
			detaches = append(detaches, c.At)
		}
	}
	if len(detaches) != 4 {
		t.Fatalf("%d detach calls, want 4: %v", len(detaches), opsOf(w.ec2.Calls()))
	}
	// RefusalBackoff (500 ms), doubling: 0.5 s, 1 s, 2 s between tries,
	// plus the re-read and the call's own round trips (well under 1 s).
	for i := 1; i < len(detaches); i++ {
		want := 500 * time.Millisecond << (i - 1)
		if gap := detaches[i].Sub(detaches[i-1]); gap < want || gap > want+time.Second {
			t.Fatalf("detach %d sent %s after the one before, want %s (doubling) and the round trips", i+1, gap, want)
		}
	}
	st := w.ec2.ENI(eniID)
	if st.InstanceID != "i-a" || st.AttachmentStatus != "attached" {
		t.Fatalf("ENI on %q (%s), want still on i-a", st.InstanceID, st.AttachmentStatus)
	}
}

// TestPinnedMembership: anyone who may tag an instance can join a group;
// with priority 0 a stranger would become the home and receive the
// licensed MAC. With the token servers listed, it never does.
func TestPinnedMembership(t *testing.T) {
	pinned := engine.Options{Allowed: []string{"i-a", "i-b", "i-c"}}
	withStranger := func(opts engine.Options) *world {
		return newWorld(t, opts, member{"i-a", az, "running", "1"}, member{"i-b", az, "running", "2"},
			member{"i-c", az, "running", "3"}, member{"i-s", az, "running", "0"})
	}
	t.Run("without the list the stranger wins (the attack)", func(t *testing.T) {
		w := withStranger(engine.Options{})
		w.ec2.StopInstance("i-a")
		w.mustRun(down("i-a"))
		w.assertHolder("i-s")
	})
	t.Run("failover skips the stranger", func(t *testing.T) {
		w := withStranger(pinned)
		w.ec2.StopInstance("i-a")
		r := w.mustRun(down("i-a"))
		w.assertHolder("i-b")
		if !slices.Contains(r.Plan.Skipped, "i-s: "+engine.NotAllowed) {
			t.Fatalf("skipped %v: the stranger is not named as not allowed", r.Plan.Skipped)
		}
	})
	t.Run("failback goes to the allowed home", func(t *testing.T) {
		w := withStranger(pinned)
		w.mustRun(engine.Trigger{Kind: report.Move, Group: group, Target: "i-c"})
		w.settle()
		w.mustRun(engine.Trigger{Kind: report.Failback, Group: group})
		w.assertHolder("i-a")
	})
	t.Run("a manual move to the stranger is refused", func(t *testing.T) {
		w := withStranger(pinned)
		_, err := w.run(engine.Trigger{Kind: report.Move, Group: group, Target: "i-s"})
		if !errors.Is(err, engine.ErrBadRequest) || !strings.Contains(err.Error(), "not allowed") {
			t.Fatalf("error %v", err)
		}
		w.assertMutations(0)
	})
	t.Run("an ENI someone attached to the stranger is left alone", func(t *testing.T) {
		w := withStranger(pinned)
		w.ec2.DetachNow(eniID)
		w.ec2.AttachNow(eniID, "i-s", 1)
		w.ec2.ResetCalls()
		r := w.mustRun(engine.Trigger{Kind: report.Reconcile})
		if r.Outcome != report.NothingToDo || !strings.Contains(r.Reason, "not allowed") {
			t.Fatalf("outcome %s: %s", r.Outcome, r.Reason)
		}
		w.assertMutations(0)
	})
}

// TestMaintenanceMode: while a group is paused no automatic trigger moves
// its ENI (each is reported as skipped), manual actions still work, and
// the pause ends with resume or by itself.
func TestMaintenanceMode(t *testing.T) {
	pause := func(w *world, d time.Duration) {
		w.t.Helper()
		if _, err := w.eng.SetPause(w.ctx(), group, model.Pause{Until: w.clk.Now().Add(d), By: "arn:aws:iam::123456789012:user/ops", Reason: "patching i-a"}); err != nil {
			w.t.Fatal(err)
		}
	}
	t.Run("a stop is skipped, a manual move is not", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		pause(w, time.Hour)
		w.ec2.StopInstance("i-a")
		w.ec2.ResetCalls()
		r := w.mustRun(down("i-a"))
		if r.Outcome != report.Paused || !strings.Contains(r.Reason, "patching i-a") || !strings.Contains(r.Reason, "user/ops") {
			t.Fatalf("outcome %s: %s", r.Outcome, r.Reason)
		}
		w.assertMutations(0)
		if r := w.mustRun(engine.Trigger{Kind: report.Reconcile}); r.Outcome != report.Paused {
			t.Fatalf("reconcile: %s", r.Outcome)
		}
		w.mustRun(engine.Trigger{Kind: report.Move, Group: group, Target: "i-c"})
		w.assertHolder("i-c")
	})
	t.Run("resume", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		pause(w, time.Hour)
		r, err := w.eng.SetPause(w.ctx(), group, model.Pause{Until: w.clk.Now(), By: "ops"})
		if err != nil || r.Outcome != report.Resumed {
			t.Fatalf("resume: %+v %v", r, err)
		}
		w.ec2.StopInstance("i-a")
		w.mustRun(down("i-a"))
		w.assertHolder("i-b")
	})
	t.Run("expiry", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		pause(w, 10*time.Minute)
		w.ec2.StopInstance("i-a")
		if r := w.mustRun(down("i-a")); r.Outcome != report.Paused {
			t.Fatalf("during the pause: %s", r.Outcome)
		}
		w.clk.Advance(11 * time.Minute)
		if r := w.mustRun(engine.Trigger{Kind: report.Reconcile}); r.Outcome != report.Moved {
			t.Fatalf("after the pause expired: %s (%s)", r.Outcome, r.Reason)
		}
		w.assertHolder("i-b")
	})
	t.Run("an unattached ENI is left alone, DeleteOnTermination is still mended", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		w.ec2.SetDeleteOnTermination(eniID, true)
		pause(w, time.Hour)
		if r := w.mustRun(engine.Trigger{Kind: report.Reconcile}); r.Outcome != report.Repaired {
			t.Fatalf("repair while paused: %s", r.Outcome)
		}
		w.ec2.DetachNow(eniID)
		if r := w.mustRun(engine.Trigger{Kind: report.Reconcile}); r.Outcome != report.Paused || w.ec2.ENI(eniID).InstanceID != "" {
			t.Fatalf("an operator's detach during maintenance was undone: %s", r.Outcome)
		}
	})
}
