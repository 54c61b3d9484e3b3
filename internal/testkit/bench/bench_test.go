package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/eni-failover/eni-failover/events"
	"github.com/eni-failover/eni-failover/internal/clock"
	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/handler"
	"github.com/eni-failover/eni-failover/internal/report"
	"github.com/eni-failover/eni-failover/internal/testkit/fakeec2"
	"github.com/eni-failover/eni-failover/internal/testkit/sim"
	"github.com/eni-failover/eni-failover/internal/testkit/simclock"
)

// timings are the realistic ones, scaled by BENCH_CALL_SCALE (API round
// trips) and BENCH_TRANSITION_SCALE (EC2's attach and detach).
func timings(b *testing.B) fakeec2.Timings {
	scale := func(name string) float64 {
		v, err := strconv.ParseFloat(os.Getenv(name), 64)
		if err != nil || v <= 0 {
			return 1
		}
		return v
	}
	return fakeec2.RealisticTimings().Scaled(scale("BENCH_CALL_SCALE"), scale("BENCH_TRANSITION_SCALE"))
}

type scenario struct {
	name  string
	event string
	fail  func(r *sim.Region)
}

var scenarios = []scenario{
	{"stopping", "ec2-state-stopping.json", func(r *sim.Region) { r.EC2.StopInstance(sim.Primary) }},
	{"stopped", "ec2-state-stopped.json", func(r *sim.Region) { r.EC2.StopInstance(sim.Primary); r.Settle(time.Minute) }},
	{"status-alarm", "alarm-status-check.json", func(r *sim.Region) { r.EC2.SetStatus(sim.Primary, "impaired") }},
}

// ec2Time is EC2's own share of a move, as the fake drew it: the round
// trips of the accepted detach and attach calls and the transitions they
// started. Everything else is the engine's overhead.
func ec2Time(f *fakeec2.Fake, withAttachTransition bool) time.Duration {
	var d time.Duration
	for _, c := range f.Calls() {
		if c.Err != nil {
			continue
		}
		switch c.Op {
		case fakeec2.OpDetachNetworkInterface:
			d += c.Latency + c.Transition
		case fakeec2.OpAttachNetworkInterface:
			d += c.Latency
			if withAttachTransition {
				d += c.Transition
			}
		}
	}
	return d
}

// newRegion is the demo group on a discrete-event clock, with latencies
// spread ±20% from a seed that differs per iteration.
func newRegion(tm fakeec2.Timings, seed int) (*sim.Region, *simclock.Sim) {
	tm.Spread = 0.2
	clk := simclock.NewSim(sim.Start)
	r := sim.NewRegionOn(clk, tm, int64(seed))
	r.AddGroup(sim.Mosek())
	return r, clk
}

// BenchmarkFailover plays one event through the failover handler and
// reports how long it took beyond EC2's own time, and its API calls. A
// cold sandbox handles the event first; a warm one has run the scheduled
// reconcile before (as the deployed function does every few minutes) and
// so knows each member's group.
func BenchmarkFailover(b *testing.B) {
	tm := timings(b)
	for _, sc := range scenarios {
		for _, warm := range []bool{false, true} {
			name := sc.name
			if warm {
				name += "-warm"
			}
			b.Run(name, func(b *testing.B) {
				var overhead, elapsed time.Duration
				var calls, mutating int
				for i := 0; i < b.N; i++ {
					r, clk := newRegion(tm, i)
					h := &handler.Failover{Deps: r.Deps(engine.Options{}, nil, nil)}
					if warm {
						if _, err := h.Handle(r.Context(60*time.Second), events.MustSample("scheduled-reconcile.json")); err != nil {
							b.Fatalf("reconcile: %v", err)
						}
					}
					sc.fail(r)
					r.EC2.ResetCalls()
					start := clk.Now()
					res, err := h.Handle(r.Context(60*time.Second), events.MustSample(sc.event))
					if err != nil || len(res.Reports) != 1 || res.Reports[0].Outcome != report.Moved {
						b.Fatalf("failover: %+v %v", res, err)
					}
					// Until the ENI is in place: the history written after
					// it costs the clients nothing.
					took := clk.Now().Sub(start) - time.Duration(res.Reports[0].StepMS("history"))*time.Millisecond
					elapsed += took
					overhead += took - ec2Time(r.EC2, true)
					calls += r.EC2.TotalCalls()
					mutating += r.EC2.MutatingCalls()
				}
				n := float64(b.N)
				b.ReportMetric(float64(elapsed.Milliseconds())/n, "failover-ms/op")
				b.ReportMetric(float64(overhead.Milliseconds())/n, "overhead-ms/op")
				b.ReportMetric(float64(calls)/n, "api-calls/op")
				b.ReportMetric(float64(mutating)/n, "mutating-calls/op")
			})
		}
	}
}

// waiterMove is the move as a user would write it with the SDK: read the
// attachment, detach, wait with the SDK's NetworkInterfaceAvailable waiter
// (first check at once, then every 20 s: its minimum delay), attach. It
// does not even wait for "attached". The waiter's timing is reproduced on
// the simulated clock, as the SDK's own waiter sleeps on the wall clock.
func waiterMove(ctx context.Context, api *fakeec2.Fake, clk clock.Clock, eniID, target string) error {
	read := func() (*types.NetworkInterface, error) {
		out, err := api.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{eniID}})
		if err != nil {
			return nil, err
		}
		return &out.NetworkInterfaces[0], nil
	}
	n, err := read()
	if err != nil {
		return err
	}
	if _, err := api.DetachNetworkInterface(ctx, &ec2.DetachNetworkInterfaceInput{AttachmentId: n.Attachment.AttachmentId}); err != nil {
		return err
	}
	const minDelay = 20 * time.Second // ec2.NetworkInterfaceAvailableWaiterOptions.MinDelay
	for {
		n, err := read()
		if err != nil {
			return err
		}
		if n.Status == types.NetworkInterfaceStatusAvailable {
			break
		}
		if err := clk.Sleep(ctx, minDelay); err != nil {
			return err
		}
	}
	_, err = api.AttachNetworkInterface(ctx, &ec2.AttachNetworkInterfaceInput{NetworkInterfaceId: aws.String(eniID), InstanceId: aws.String(target), DeviceIndex: aws.Int32(1)})
	return err
}

// BenchmarkWaiterBaseline compares the engine's waiting (time beyond
// EC2's own) with the SDK-waiter script's, on the same stopping holder.
func BenchmarkWaiterBaseline(b *testing.B) {
	tm := timings(b)
	sc := scenarios[0]
	var ours, theirs time.Duration
	for i := 0; i < b.N; i++ {
		for _, baseline := range []bool{false, true} {
			r, clk := newRegion(tm, i)
			sc.fail(r)
			start := clk.Now()
			ctx := r.Context(5 * time.Minute)
			if baseline {
				if err := waiterMove(ctx, r.EC2, clk, sim.ENIID, sim.Standby); err != nil {
					b.Fatal(err)
				}
				// The script ends at the attach call: EC2's time for it is
				// the call alone.
				theirs += clk.Now().Sub(start) - ec2Time(r.EC2, false)
				continue
			}
			h := &handler.Failover{Deps: r.Deps(engine.Options{}, nil, nil)}
			res, err := h.Handle(ctx, events.MustSample(sc.event))
			if err != nil || len(res.Reports) != 1 {
				b.Fatalf("failover: %+v %v", res, err)
			}
			// Until the ENI is in place, as for the script (the history
			// is written after).
			ours += clk.Now().Sub(start) - ec2Time(r.EC2, true) - time.Duration(res.Reports[0].StepMS("history"))*time.Millisecond
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(ours.Milliseconds())/n, "engine-waiting-ms/op")
	b.ReportMetric(float64(theirs.Milliseconds())/n, "sdk-waiter-waiting-ms/op")
	b.ReportMetric(float64(theirs)/float64(ours), "waiting-ratio")
}

// BenchmarkReconcile200Groups is one scheduled reconcile over 200 healthy
// groups of three members each.
func BenchmarkReconcile200Groups(b *testing.B) {
	tm := timings(b)
	var describes int
	var took time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		clk := simclock.NewSim(sim.Start)
		r := sim.NewRegionOn(clk, tm, 1)
		for g := 0; g < 200; g++ {
			spec := sim.GroupSpec{Name: fmt.Sprintf("lic-%03d", g), ENIID: fmt.Sprintf("eni-%017x", g), AZ: sim.AZ, Holder: fmt.Sprintf("i-%017x", g*3)}
			for m := 0; m < 3; m++ {
				spec.Members = append(spec.Members, sim.MemberSpec{ID: fmt.Sprintf("i-%017x", g*3+m), Priority: m + 1})
			}
			r.AddGroup(spec)
		}
		h := &handler.Failover{Deps: r.Deps(engine.Options{}, nil, nil)}
		b.StartTimer()
		start := clk.Now()
		res, err := h.Handle(r.Context(60*time.Second), events.MustSample("scheduled-reconcile.json"))
		if err != nil || len(res.Reports) != 200 {
			b.Fatalf("reconcile: %d reports, %v", len(res.Reports), err)
		}
		took += clk.Now().Sub(start)
		describes += r.EC2.TotalCalls()
		if r.EC2.MutatingCalls() != 0 {
			b.Fatalf("reconcile of healthy groups mutated")
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(describes)/n, "describe-calls/op")
	b.ReportMetric(float64(took.Milliseconds())/n, "simulated-ms/op")
}

// BenchmarkWaiterBaselineWallClock runs the baseline with the SDK's own
// NetworkInterfaceAvailable waiter on the wall clock (it takes 20 s and
// more per iteration, so it runs only with BENCH_WALL_CLOCK=1). It checks
// that BenchmarkWaiterBaseline's replay of the waiter's delays is faithful.
func BenchmarkWaiterBaselineWallClock(b *testing.B) {
	if os.Getenv("BENCH_WALL_CLOCK") != "1" {
		b.Skip("set BENCH_WALL_CLOCK=1 to wait on the wall clock with the SDK's waiter")
	}
	tm := timings(b)
	var theirs time.Duration
	for i := 0; i < b.N; i++ {
		r := sim.NewRegionOn(wallClock{}, tm, int64(i))
		r.AddGroup(sim.Mosek())
		r.EC2.StopInstance(sim.Primary)
		ctx := context.Background()
		start := time.Now()
		out, err := r.EC2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{sim.ENIID}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.EC2.DetachNetworkInterface(ctx, &ec2.DetachNetworkInterfaceInput{AttachmentId: out.NetworkInterfaces[0].Attachment.AttachmentId}); err != nil {
			b.Fatal(err)
		}
		w := ec2.NewNetworkInterfaceAvailableWaiter(r.EC2)
		if err := w.Wait(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{sim.ENIID}}, 5*time.Minute); err != nil {
			b.Fatal(err)
		}
		if _, err := r.EC2.AttachNetworkInterface(ctx, &ec2.AttachNetworkInterfaceInput{NetworkInterfaceId: aws.String(sim.ENIID), InstanceId: aws.String(sim.Standby), DeviceIndex: aws.Int32(1)}); err != nil {
			b.Fatal(err)
		}
		theirs += time.Since(start) - ec2Time(r.EC2, false)
	}
	b.ReportMetric(float64(theirs.Milliseconds())/float64(b.N), "sdk-waiter-waiting-ms/op")
}

// wallClock is clock.Real with a no-op Advance, for a region on wall time.
type wallClock struct{ clock.Real }

func (wallClock) Advance(time.Duration) {}
