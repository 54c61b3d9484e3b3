package engine_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/report"
	"github.com/eni-failover/eni-failover/internal/testkit/fakeec2"
	"github.com/eni-failover/eni-failover/internal/testkit/simclock"
)

// TestCrashResume interrupts a failover after every single API call (a
// Lambda killed at each step boundary) and runs again: the ENI must always
// end on the healthy standby, once, with DeleteOnTermination false and the
// journal naming it.
func TestCrashResume(t *testing.T) {
	failures := map[string]func(w *world){
		"stopping holder": func(w *world) { w.ec2.StopInstance("i-a") },
		"stopped holder":  func(w *world) { w.ec2.StopInstance("i-a"); w.settle() },
		"stuck detach":    func(w *world) { w.ec2.SetStuckDetaching(eniID, true); w.ec2.SetStatus("i-a", "impaired") },
		// Only a stopped standby: the run starts it, waits, then moves.
		"stopped standby": func(w *world) {
			w.ec2.StopInstance("i-b")
			w.ec2.TerminateInstance("i-c")
			w.settle()
			w.ec2.StopInstance("i-a")
		},
	}
	for name, fail := range failures {
		t.Run(name, func(t *testing.T) {
			newWorld := func(t *testing.T, opts engine.Options) *world {
				return newWorld(t, engine.Options{AllowStartStopped: true})
			}
			ref := newWorld(t, engine.Options{})
			fail(ref)
			ref.mustRun(down("i-a"))
			total := ref.ec2.TotalCalls()
			if total < 5 {
				t.Fatalf("reference run made only %d calls", total)
			}
			for k := 1; k <= total; k++ {
				w := newWorld(t, engine.Options{})
				fail(w)
				ctx, cancel := context.WithCancel(w.ctx())
				var calls atomic.Int32
				w.ec2.AfterCall(func(string, any, error) {
					if calls.Add(1) == int32(k) {
						cancel()
					}
				})
				_, _ = w.eng.Run(ctx, down("i-a"), false)
				cancel()
				w.ec2.AfterCall(nil)
				if n := w.ec2.AttachmentsOf(eniID); n > 1 {
					t.Fatalf("crash after call %d: %d attachments", k, n)
				}
				// The retry: Lambda's own for odd k, the reconcile for even k.
				retry := down("i-a")
				if k%2 == 0 {
					retry = engine.Trigger{Kind: report.Reconcile}
				}
				if _, err := w.run(retry); err != nil {
					t.Fatalf("crash after call %d (%s): rerun: %v", k, w.ec2.Calls()[k-1].Op, err)
				}
				w.assertHolder("i-b")
				if acc := w.ec2.AcceptedMutations(); acc[fakeec2.OpAttachNetworkInterface] != 1 || acc[fakeec2.OpDetachNetworkInterface] > 2 {
					t.Fatalf("crash after call %d: accepted mutations %v", k, acc)
				}
				if got := w.ec2.ENI(eniID).Tags["eni-failover:holder"]; got != "i-b" {
					t.Fatalf("crash after call %d: journal holder %q", k, got)
				}
			}
		})
	}
}

// TestConcurrentFailovers runs the same failover 20 times at once.
func TestConcurrentFailovers(t *testing.T) {
	t.Run("one sandbox", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		w.ec2.StopInstance("i-a")
		outcomes := runConcurrently(t, w, func(int) *engine.Engine { return w.eng })
		w.assertHolder("i-b")
		if d, a := w.ec2.CallCount(fakeec2.OpDetachNetworkInterface), w.ec2.CallCount(fakeec2.OpAttachNetworkInterface); d != 1 || a != 1 {
			t.Fatalf("%d detach and %d attach calls, want 1 and 1", d, a)
		}
		if outcomes[report.Moved] != 1 || outcomes[report.NothingToDo] != 19 {
			t.Fatalf("outcomes %v", outcomes)
		}
	})
	t.Run("separate sandboxes", func(t *testing.T) {
		w := newWorld(t, engine.Options{})
		w.ec2.StopInstance("i-a")
		engines := make([]*engine.Engine, 20)
		for i := range engines {
			engines[i] = engine.New(w.ec2, w.clk, nil, engine.Options{})
		}
		outcomes := runConcurrently(t, w, func(i int) *engine.Engine { return engines[i] })
		w.assertHolder("i-b")
		if acc := w.ec2.AcceptedMutations(); acc[fakeec2.OpAttachNetworkInterface] != 1 {
			t.Fatalf("%d attaches accepted, want 1", acc[fakeec2.OpAttachNetworkInterface])
		}
		for o := range outcomes {
			if o == report.Failed || o == report.ReturnedToFormer {
				t.Fatalf("outcomes %v", outcomes)
			}
		}
		// One attach was accepted, so one caller reports the move (and one
		// notification goes out), not every caller that tried.
		if outcomes[report.Moved]+outcomes[report.Attached] != 1 {
			t.Fatalf("outcomes %v: want exactly one move reported", outcomes)
		}
	})
}

func runConcurrently(t *testing.T, w *world, eng func(int) *engine.Engine) map[report.Outcome]int {
	t.Helper()
	ctx := simclock.WithDeadline(context.Background(), w.clk.Now().Add(time.Hour))
	var mu sync.Mutex
	outcomes := map[report.Outcome]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			reps, err := eng(i).Run(ctx, down("i-a"), false)
			if err != nil {
				errs <- fmt.Errorf("caller %d: %w", i, err)
				return
			}
			mu.Lock()
			outcomes[reps[0].Outcome]++
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return outcomes
}

// TestAntiFlapRecordSurvivesACrash is the regression test for storm seed
// 419: the failed holder's record used to be written after the attach, so
// a run that died in between, followed by a notice for the new holder,
// sent the ENI straight back to the failed member.
func TestAntiFlapRecordSurvivesACrash(t *testing.T) {
	w := newWorld(t, engine.Options{})
	ctx, cancel := context.WithCancel(w.ctx())
	w.ec2.AfterCall(func(op string, _ any, err error) {
		if op == fakeec2.OpAttachNetworkInterface && err == nil {
			cancel() // the Lambda dies right after the attach
		}
	})
	_, _ = w.eng.Run(ctx, engine.Trigger{Kind: report.Impaired, InstanceID: "i-a"}, false)
	w.ec2.AfterCall(nil)
	w.settle()
	if got := w.ec2.ENI(eniID).InstanceID; got != "i-b" {
		t.Fatalf("ENI on %s after the interrupted move", got)
	}
	w.mustRun(engine.Trigger{Kind: report.Evacuate, InstanceID: "i-b"})
	w.assertHolder("i-c")
}
