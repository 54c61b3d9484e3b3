package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"sync"
	"time"

	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/eni-failover/eni-failover/events"
	"github.com/eni-failover/eni-failover/internal/config"
	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/eventparse"
	"github.com/eni-failover/eni-failover/internal/handler"
	"github.com/eni-failover/eni-failover/internal/probe"
	"github.com/eni-failover/eni-failover/internal/probeconfig"
	"github.com/eni-failover/eni-failover/internal/ssmcommand"
	"github.com/eni-failover/eni-failover/internal/testkit/fakeec2"
	"github.com/eni-failover/eni-failover/internal/testkit/fakessm"
	"github.com/eni-failover/eni-failover/internal/testkit/sim"
	"github.com/eni-failover/eni-failover/internal/testkit/simclock"
)

// Latencies outside EC2 that a failover's end-to-end time depends on. AWS
// documents none of them as a figure; these are what is commonly seen
// in-region, and docs/benchmarks.md says how the result moves when each
// doubles (BENCH_DELIVERY_SCALE).
type Latencies struct {
	// ProbeDelivery: a probe invocation's result through its Lambda
	// destination, EventBridge's rule and an asynchronous invoke of the
	// failover function.
	ProbeDelivery time.Duration
	// EventDelivery: an EC2 event (state change, Spot warning) from the
	// instance's change to the failover function.
	EventDelivery time.Duration
	// SSMDelivery: SendCommand until the SSM agent on the new holder runs
	// the activation commands.
	SSMDelivery time.Duration
	// DaemonStart: lmgrd (and its vendor daemon) from start to answering.
	DaemonStart time.Duration
	// CheckRTT: one probe check that gets an answer (accept or refusal).
	CheckRTT time.Duration
}

// RealisticLatencies are the latencies the restore benchmarks assume.
func RealisticLatencies() Latencies {
	return Latencies{ProbeDelivery: time.Second, EventDelivery: 2 * time.Second, SSMDelivery: time.Second,
		DaemonStart: 3 * time.Second, CheckRTT: time.Millisecond}
}

// Scaled multiplies the deliveries (probe, events, SSM) by f.
func (l Latencies) Scaled(f float64) Latencies {
	sc := func(d time.Duration) time.Duration { return time.Duration(float64(d) * f) }
	l.ProbeDelivery, l.EventDelivery, l.SSMDelivery = sc(l.ProbeDelivery), sc(l.EventDelivery), sc(l.SSMDelivery)
	return l
}

// Failure is what goes wrong on the holder.
type Failure string

// The failures of the restore scenarios.
const (
	// DaemonKilled: lmgrd dies; its port refuses connections.
	DaemonKilled Failure = "daemon-killed"
	// DaemonHung: lmgrd hangs; the kernel still accepts on its socket,
	// only the answer check (PROBE_CHECK=answer) sees it.
	DaemonHung Failure = "daemon-hung"
	// Unreachable: the holder stops answering on the network (a kernel
	// hang): EC2 still says running and its status checks pass for minutes;
	// a graceful detach hangs until forced.
	Unreachable Failure = "instance-unreachable"
	// Stopped: the holder is stopped; EC2's state-change event arrives.
	Stopped Failure = "instance-stopped"
	// SpotNotice: a Spot interruption warning for the holder; it runs two
	// more minutes, so the license moves before it goes.
	SpotNotice Failure = "spot-notice"
	// ProbeNetworkDown: the probe's own network fails (the license ENI and
	// the witness both time out); the token server is fine.
	ProbeNetworkDown Failure = "probe-network-down"
)

// Failures lists the scenarios in the order docs/benchmarks.md shows them.
var Failures = []Failure{DaemonKilled, DaemonHung, Unreachable, Stopped, SpotNotice, ProbeNetworkDown}

// RestoreTargets are docs/benchmarks.md's targets for the license to
// answer again, from the failure (modelled at RealisticLatencies). A
// failure without one (the Spot notice, the probe's own network) is held
// by its own check.
var RestoreTargets = map[Failure]time.Duration{
	DaemonKilled: 30 * time.Second,
	DaemonHung:   45 * time.Second,
	Unreachable:  45 * time.Second,
	Stopped:      15 * time.Second,
}

// Restore is one played failure: its times from the failure on.
type Restore struct {
	Failure Failure
	// Restored: the license answered again (false: it never stopped, or
	// never came back within the run).
	Restored bool
	// LicenseRestored: failure to the license answering again on the
	// ENI's holder; Outage: the part of it the clients saw (from the
	// failure, or for a Spot notice from the detach).
	LicenseRestored, Outage time.Duration
	// Detected: failure to the trigger leaving (the probe's finding, or
	// the EC2 event); Delivered: to the failover function starting on it;
	// Attached: to the ENI attached to the new holder.
	Detected, Delivered, Attached time.Duration
	// Moves: automatic moves made.
	Moves int
}

// licenseWorld is one group on the discrete-event clock: the simulated
// EC2, a token server per instance, the probe watching the ENI's address,
// and the failover function handling one event at a time.
type licenseWorld struct {
	clk     *simclock.Sim
	region  *sim.Region
	servers *sim.TokenServers
	lat     Latencies
	rng     *rand.Rand

	mu         sync.Mutex
	queue      []queued
	firstEvent time.Time // first trigger leaving for the function
	firstRun   time.Time // the function starting on a trigger
	done       bool
}

type queued struct {
	at    time.Time
	event []byte
}

// activator is the real activation (ssmcommand.Runner: send, poll the
// result, read it) against the simulated SSM: the command reaches the new
// holder's agent after SSMDelivery, lmgrd answers DaemonStart later, and
// the command reports success once its port check passed, half a second
// after that. Those three figures are assumptions (Latencies); the
// polling is the production code's.
func (w *licenseWorld) activator() *ssmcommand.Runner {
	fake := fakessm.New(w.clk)
	took := w.lat.SSMDelivery + w.lat.DaemonStart + 500*time.Millisecond
	for _, m := range sim.Mosek().Members {
		fake.Outcomes[m.ID] = fakessm.Outcome{Status: ssmtypes.CommandInvocationStatusSuccess, After: took, Output: "lmgrd restarted\n"}
	}
	fake.OnSend = func(instanceID string) {
		w.servers.Set(instanceID, sim.Daemon{State: sim.Serving, ServeAt: w.clk.Now().Add(w.lat.SSMDelivery + w.lat.DaemonStart)})
	}
	return &ssmcommand.Runner{SSM: fake, Commands: []string{"systemctl restart lmgrd", "sleep 0.5; ss -ltn | grep -q ':27007 '"}, Timeout: time.Minute, Clock: w.clk}
}

// probeTimeout is the probe's PROBE_TIMEOUT.
const probeTimeout = 2 * time.Second

func (w *licenseWorld) send(at time.Time, event []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.firstEvent.IsZero() {
		w.firstEvent = w.clk.Now()
	}
	w.queue = append(w.queue, queued{at: at, event: event})
}

// failoverFunction handles queued events one at a time (reserved
// concurrency 1), each once it has been delivered.
func (w *licenseWorld) failoverFunction(h *handler.Failover) {
	ctx := context.Background()
	for {
		w.mu.Lock()
		var next []byte
		if len(w.queue) > 0 && !w.clk.Now().Before(w.queue[0].at) {
			next, w.queue = w.queue[0].event, w.queue[1:]
			if w.firstRun.IsZero() {
				w.firstRun = w.clk.Now()
			}
		}
		done := w.done && len(w.queue) == 0
		w.mu.Unlock()
		if done {
			return
		}
		if next == nil {
			_ = w.clk.Sleep(ctx, 20*time.Millisecond)
			continue
		}
		_, _ = h.Handle(simclock.WithDeadline(ctx, w.clk.Now().Add(60*time.Second)), next)
	}
}

// probeFunction is the probe's invocations: one per minute, each watching
// the minute; findings go to the failover function (send) and resume the
// watch at once, as the stack's rule makes them. delivery is the
// destination's and the rule's latency.
func probeFunction(ctx context.Context, clk *simclock.Sim, h *probe.Handler, start time.Time, delivery time.Duration, send func(event []byte)) {
	scheduled := func(at time.Time) []byte {
		b, _ := json.Marshal(map[string]string{"source": eventparse.SourceEvents, "detail-type": eventparse.DetailScheduled, "time": at.Format(time.RFC3339)})
		return b
	}
	in, due := scheduled(start), start
	for ctx.Err() == nil {
		out, err := h.Handle(simclock.WithDeadline(ctx, clk.Now().Add(75*time.Second)), in)
		if err != nil || ctx.Err() != nil {
			return
		}
		if len(out.Findings) == 0 {
			due = due.Add(time.Minute)
			in = scheduled(due)
			if clk.Sleep(ctx, due.Sub(clk.Now())) != nil {
				return
			}
			continue
		}
		findings, _ := json.Marshal(out)
		send(sim.FindingsEvent(clk.Now(), in, findings))
		in = findings
		if clk.Sleep(ctx, delivery) != nil {
			return
		}
	}
}

// newLicenseWorld builds the demo group on the discrete-event clock: lmgrd
// serving on the holder only (a standby's starts with the activation), the
// failover function's handler with the real activation, and the probe's
// handler watching the ENI's address (answer: PROBE_CHECK=answer).
func newLicenseWorld(tm fakeec2.Timings, lat Latencies, seed int64, answer bool) (*licenseWorld, *handler.Failover, *probe.Handler) {
	clk := simclock.NewSim(sim.Start)
	tm.Spread = 0.2
	region := sim.NewRegionOn(clk, tm, seed)
	w := &licenseWorld{clk: clk, region: region, lat: lat, rng: rand.New(rand.NewSource(seed)),
		servers: &sim.TokenServers{Region: region, Timeout: probeTimeout, RTT: lat.CheckRTT}}
	w.region.AddGroup(sim.Mosek())
	w.servers.Set(sim.Standby, sim.Daemon{State: sim.Killed})
	w.servers.Set(sim.Second, sim.Daemon{State: sim.Killed})
	deps := w.region.Deps(engine.Options{Activator: w.activator(), MaxAutomaticMoves: config.DefaultMaxAutomaticMoves}, io.Discard, nil)
	ph := &probe.Handler{
		Prober:  &probe.Prober{Ports: probeconfig.DefaultPorts, Answer: answer, Checker: w.servers, Clock: clk},
		Targets: []probeconfig.Target{{Group: events.GroupPlaceholder, Address: "10.0.1.27"}}, Witnesses: []string{probeconfig.DefaultWitness},
		Interval: 5 * time.Second, Watch: time.Minute, StopBefore: 3 * time.Second,
		Detector: &probe.Detector{Confirmations: 3}, Metrics: io.Discard, Namespace: "sim", Clock: clk,
	}
	return w, &handler.Failover{Deps: deps}, ph
}

// PlayRestore plays one failure of the demo group on the discrete-event
// clock and measures it. seed varies EC2's latencies and when in the
// probe's round the failure falls.
func PlayRestore(f Failure, tm fakeec2.Timings, lat Latencies, seed int64) Restore {
	w, fo, ph := newLicenseWorld(tm, lat, seed, f == DaemonHung)
	clk := w.clk
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := clk.Now()
	waitProbe := clk.Go(func() {
		probeFunction(ctx, clk, ph, start, lat.ProbeDelivery, func(event []byte) { w.send(clk.Now().Add(lat.ProbeDelivery), event) })
	})
	waitFailover := clk.Go(func() { w.failoverFunction(fo) })

	// The failure falls anywhere in the second minute of watching.
	_ = clk.Sleep(ctx, time.Minute+time.Duration(w.rng.Int63n(int64(time.Minute))))
	failedAt := clk.Now()
	event := func(name string) []byte {
		return events.MustSample(name, "2026-11-26T12:00:00Z", failedAt.Format(time.RFC3339))
	}
	switch f {
	case DaemonKilled:
		w.servers.Set(sim.Primary, sim.Daemon{State: sim.Killed})
	case DaemonHung:
		w.servers.Set(sim.Primary, sim.Daemon{State: sim.Hung})
	case Unreachable:
		w.servers.SetUnreachable(sim.Primary)
		w.region.EC2.SetStuckDetaching(sim.ENIID, true)
	case Stopped:
		w.region.EC2.StopInstance(sim.Primary)
		w.send(failedAt.Add(lat.EventDelivery), event("ec2-state-stopping.json"))
	case SpotNotice:
		w.send(failedAt.Add(lat.EventDelivery), event("spot-interruption.json"))
	case ProbeNetworkDown:
		w.servers.SetProbeNetworkDown()
	}
	res := Restore{Failure: f}
	var outageFrom time.Time
	if f != SpotNotice {
		outageFrom = failedAt
	}
	// Watch the license until it answers again (or three minutes pass).
	for clk.Now().Sub(failedAt) < 3*time.Minute {
		up := w.servers.Answering()
		st := w.region.EC2.ENI(sim.ENIID)
		if outageFrom.IsZero() && !up {
			outageFrom = clk.Now()
		}
		if res.Attached == 0 && st.InstanceID != "" && st.InstanceID != sim.Primary && st.AttachmentStatus == "attached" {
			res.Attached = clk.Now().Sub(failedAt)
		}
		if up && !outageFrom.IsZero() && st.InstanceID != sim.Primary {
			res.Restored, res.LicenseRestored, res.Outage = true, clk.Now().Sub(failedAt), clk.Now().Sub(outageFrom)
			break
		}
		_ = clk.Sleep(ctx, 10*time.Millisecond)
	}
	// Let the run that moved it finish (activation, history), then stop.
	_ = clk.Sleep(ctx, 30*time.Second)
	cancel()
	w.mu.Lock()
	w.done = true
	if !w.firstEvent.IsZero() {
		res.Detected = w.firstEvent.Sub(failedAt)
	}
	if !w.firstRun.IsZero() {
		res.Delivered = w.firstRun.Sub(failedAt)
	}
	w.mu.Unlock()
	waitProbe()
	waitFailover()
	for _, m := range w.region.EC2.Calls() {
		if m.Op == fakeec2.OpAttachNetworkInterface && m.Err == nil {
			res.Moves++
		}
	}
	return res
}

// String is one line for logs.
func (r Restore) String() string {
	return fmt.Sprintf("%s: restored=%v in %.1fs (outage %.1fs; detected %.1fs, delivered %.1fs, attached %.1fs), %d moves",
		r.Failure, r.Restored, r.LicenseRestored.Seconds(), r.Outage.Seconds(), r.Detected.Seconds(), r.Delivered.Seconds(), r.Attached.Seconds(), r.Moves)
}
