package handler_test

import (
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/handler"
	"github.com/eni-failover/eni-failover/internal/probe"
	"github.com/eni-failover/eni-failover/internal/probeconfig"
	"github.com/eni-failover/eni-failover/internal/report"
	"github.com/eni-failover/eni-failover/internal/testkit/fakeec2"
	"github.com/eni-failover/eni-failover/internal/testkit/sim"
	"github.com/eni-failover/eni-failover/internal/testkit/simclock"
)

// Two probe invocations that overlap (two sandboxes, each with its own
// memory, started 1.7 s apart) see the same dead lmgrd; their findings,
// delivered as the destination and rule would, move the ENI once: the
// second is answered as a repeat of the first's request.
func TestOverlappingProbesMoveOnce(t *testing.T) {
	clk := simclock.NewSim(sim.Start)
	r := sim.NewRegionOn(clk, fakeec2.RealisticTimings(), 1)
	r.AddGroup(sim.Mosek())
	ctx := simclock.WithDeadline(context.Background(), clk.Now().Add(5*time.Minute))
	checker := &sim.TokenServers{Region: r, Timeout: 2 * time.Second, RTT: time.Millisecond}
	findings := make([][]byte, 2)
	// lmgrd dies on the holder 7 s in.
	waits := []func(){clk.Go(func() {
		_ = clk.Sleep(ctx, 7*time.Second)
		checker.Set(sim.Primary, sim.Daemon{State: sim.Killed})
	})}
	for i, offset := range []time.Duration{300 * time.Millisecond, 2 * time.Second} {
		h := &probe.Handler{
			Prober:  &probe.Prober{Ports: probeconfig.DefaultPorts, Checker: checker, Clock: clk},
			Targets: []probeconfig.Target{{Group: "mosek", Address: "10.0.1.27"}}, Witnesses: []string{probeconfig.DefaultWitness},
			Interval: 5 * time.Second, Watch: time.Minute, StopBefore: 3 * time.Second,
			Detector: &probe.Detector{Confirmations: 3}, Metrics: io.Discard, Clock: clk,
		}
		waits = append(waits, clk.Go(func() {
			_ = clk.Sleep(ctx, offset)
			out, err := h.Handle(simclock.WithDeadline(ctx, clk.Now().Add(75*time.Second)), json.RawMessage(`{"source":"aws.events"}`))
			if err != nil || len(out.Failures) != 1 {
				t.Errorf("probe %d: %+v %v", i, out, err)
				return
			}
			b, _ := json.Marshal(out)
			findings[i] = sim.FindingsEvent(clk.Now(), nil, b)
		}))
	}
	for _, wait := range waits {
		wait()
	}
	if t.Failed() {
		return
	}
	fo := &handler.Failover{Deps: r.Deps(engine.Options{}, nil, nil)}
	var outcomes []report.Outcome
	for _, f := range findings {
		res, err := fo.Handle(simclock.WithDeadline(ctx, clk.Now().Add(time.Minute)), f)
		if err != nil || len(res.Reports) != 1 {
			t.Fatalf("failover: %+v %v", res, err)
		}
		outcomes = append(outcomes, res.Reports[0].Outcome)
	}
	if outcomes[0] != report.Moved || outcomes[1] != report.Repeated || r.EC2.AcceptedMutations()[fakeec2.OpAttachNetworkInterface] != 1 {
		t.Fatalf("outcomes %v, %d attaches: want one move and a repeat", outcomes, r.EC2.AcceptedMutations()[fakeec2.OpAttachNetworkInterface])
	}
}
