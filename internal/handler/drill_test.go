package handler_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/eni-failover/eni-failover/internal/config"
	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/handler"
	"github.com/eni-failover/eni-failover/internal/moveapi"
	"github.com/eni-failover/eni-failover/internal/report"
	"github.com/eni-failover/eni-failover/internal/testkit/fakeec2"
	"github.com/eni-failover/eni-failover/internal/testkit/sim"
	"github.com/eni-failover/eni-failover/internal/testkit/simclock"
)

// A drill waits for the probe's measurement of the clients' outage (the
// failover function writes it on the history's move when the probe's
// "license answers again" arrives) and reports it with its moves; without
// a measurement it gives up after OutageWait. The probe here is a stand-in
// that writes a known outage; bench.TestDrillReportsWhatTheProbeMeasured
// runs the real probe and failover function beside a drill.
func TestDrillReportsTheProbesOutage(t *testing.T) {
	for _, probeRuns := range []bool{true, false} {
		clk := simclock.NewSim(sim.Start)
		r := sim.NewRegionOn(clk, fakeec2.RealisticTimings(), 1)
		r.AddGroup(sim.Mosek())
		deps := r.Deps(engine.Options{}, nil, nil)
		m := &handler.Move{Deps: deps, OutageWait: 45 * time.Second}
		ctx := simclock.WithDeadline(context.Background(), clk.Now().Add(2*time.Minute))
		start := clk.Now()
		var wait func()
		var answeredAt time.Time // when the license answered again
		if probeRuns {
			// The stand-in probe: once the ENI is back home, the license
			// answers again, 3 s after the drill's history shows both moves.
			wait = clk.Go(func() {
				for {
					if clk.Sleep(ctx, time.Second) != nil {
						return
					}
					if _, h, err := deps.Engine.History(ctx, ""); err == nil && len(h) == 2 {
						break
					}
				}
				_ = clk.Sleep(ctx, 3*time.Second)
				answeredAt = clk.Now()
				if _, err := deps.Engine.Run(ctx, engine.Trigger{Kind: report.LicenseRestored, Group: "mosek", Since: start.Add(time.Second), At: answeredAt, Brief: true}, false); err != nil {
					t.Error(err)
				}
			})
		}
		resp, err := m.Handle(ctx, json.RawMessage(`{"action":"drill","reason":"game day"}`))
		if wait != nil {
			wait()
		}
		if err != nil || len(resp.Drill) != 2 || resp.Drill[1].Outcome != report.Moved {
			t.Fatalf("probe %v: drill %+v %v", probeRuns, resp, err)
		}
		took := clk.Now().Sub(start)
		// The outage is exactly what the probe measured: its first failed
		// check (a second into the drill) to the license answering again.
		if want := answeredAt.Sub(start.Add(time.Second)).Milliseconds(); probeRuns && (resp.Drill[1].OutageMS != want || want <= 0 || took > 45*time.Second) {
			t.Fatalf("with the probe: outage %d ms (want %d) after %s, want it reported as soon as written", resp.Drill[1].OutageMS, want, took)
		}
		if !probeRuns && (resp.Drill[1].OutageMS != 0 || took < 45*time.Second) {
			t.Fatalf("without the probe: outage %d ms after %s, want none after the whole wait", resp.Drill[1].OutageMS, took)
		}
	}
}

// A drill that cannot finish within the invocation (two moves, two
// activations, the outage wait) is refused before it moves anything,
// saying what to change; with the time it needs it runs.
func TestDrillThatCannotFinishIsRefused(t *testing.T) {
	for _, left := range []time.Duration{100 * time.Second, 110 * time.Second} {
		clk := simclock.NewSim(sim.Start)
		r := sim.NewRegionOn(clk, fakeec2.RealisticTimings(), 1)
		r.AddGroup(sim.Mosek())
		m := &handler.Move{Deps: r.Deps(engine.Options{}, nil, nil), DrillTime: config.DrillTime(0, 45*time.Second)}
		ctx := simclock.WithDeadline(context.Background(), clk.Now().Add(left))
		resp, err := m.Handle(ctx, json.RawMessage(`{"action":"drill"}`))
		fits := left >= m.DrillTime
		var bad *moveapi.BadRequestError
		switch {
		case fits && (err != nil || len(resp.Drill) != 2):
			t.Fatalf("%s left for a drill of %s: %+v %v", left, m.DrillTime, resp, err)
		case !fits && (!errors.As(err, &bad) || !strings.Contains(err.Error(), "1m45s") || !strings.Contains(err.Error(), "1m40s left")):
			t.Fatalf("%s left for a drill of %s: %+v %v", left, m.DrillTime, resp, err)
		case !fits && r.EC2.MutatingCalls() != 0:
			t.Fatalf("a refused drill made %d mutating calls", r.EC2.MutatingCalls())
		}
	}
}
