package bench

import (
	"context"
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/findings"
	"github.com/eni-failover/eni-failover/internal/handler"
	"github.com/eni-failover/eni-failover/internal/moveapi"
	"github.com/eni-failover/eni-failover/internal/testkit/fakeec2"
	"github.com/eni-failover/eni-failover/internal/testkit/simclock"
)

// Drill is an operator's drill played with the real probe watching the
// license and the real failover function receiving its findings.
type Drill struct {
	Response *moveapi.Response
	Err      error
	// Measured are the clients' outages the probe reported, in order (its
	// findings' "restored").
	Measured []findings.Restored
	// Attaches counts the attaches EC2 accepted: a drill's two, unless the
	// automation moved the license too.
	Attaches int
}

// drillTimeout is the move function's timeout as the stack sizes it for a
// drill (two moves, their activations, the outage wait).
const drillTimeout = 3 * time.Minute

// PlayDrill runs the move function's drill (its own engine and activation,
// as the move function has) in the probe's second minute of watching, and
// lets the probe's findings reach the failover function, which records
// each outage on the move made during it: the drill reads them back.
func PlayDrill(lat Latencies, seed int64) Drill {
	w, fo, ph := newLicenseWorld(fakeec2.RealisticTimings(), lat, seed, false)
	clk := w.clk
	mv := &handler.Move{Deps: w.region.Deps(engine.Options{Activator: w.activator()}, io.Discard, nil), OutageWait: 45 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var d Drill
	measure := func(event []byte) {
		var e struct {
			Detail struct {
				ResponsePayload findings.Findings `json:"responsePayload"`
			} `json:"detail"`
		}
		if json.Unmarshal(event, &e) == nil {
			mu.Lock()
			d.Measured = append(d.Measured, e.Detail.ResponsePayload.Restored...)
			mu.Unlock()
		}
	}
	start := clk.Now()
	waitProbe := clk.Go(func() {
		probeFunction(ctx, clk, ph, start, lat.ProbeDelivery, func(event []byte) {
			measure(event)
			w.send(clk.Now().Add(lat.ProbeDelivery), event)
		})
	})
	waitFailover := clk.Go(func() { w.failoverFunction(fo) })
	_ = clk.Sleep(ctx, 70*time.Second)
	d.Response, d.Err = mv.Handle(simclock.WithDeadline(ctx, clk.Now().Add(drillTimeout)), json.RawMessage(`{"action":"drill","reason":"game day"}`))
	cancel()
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
	waitProbe()
	waitFailover()
	for _, c := range w.region.EC2.Calls() {
		if c.Op == fakeec2.OpAttachNetworkInterface && c.Err == nil && !c.DryRun {
			d.Attaches++
		}
	}
	mu.Lock()
	defer mu.Unlock()
	return d
}
