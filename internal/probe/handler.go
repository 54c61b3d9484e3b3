package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/eni-failover/eni-failover/internal/clock"
	"github.com/eni-failover/eni-failover/internal/emf"
	"github.com/eni-failover/eni-failover/internal/findings"
	"github.com/eni-failover/eni-failover/internal/probeconfig"
)

// Handler is the probe function. Each invocation watches every group for
// one round (Watch, until the next scheduled invocation is due), checking
// every Interval on a grid of the wall clock, and returns early with its
// findings as soon as it has any, so that they reach the failover
// function within about a second.
type Handler struct {
	Prober    *Prober
	Targets   []probeconfig.Target
	Witnesses []string
	// Interval between rounds of checks; Watch is how long one invocation
	// watches (Interval >= Watch: one round per invocation).
	Interval, Watch time.Duration
	// StopBefore is kept free before the invocation's deadline.
	StopBefore time.Duration
	Detector   *Detector
	Metrics    io.Writer
	Namespace  string
	Log        *slog.Logger
	Clock      clock.Clock

	// One watch at a time per sandbox: Lambda never overlaps invocations
	// in a sandbox, tests may.
	mu sync.Mutex
}

// input is what an invocation may receive: the schedule's event (its time
// is when it was due) or a previous invocation's findings (resume).
type input struct {
	Kind       string             `json:"kind"`
	Time       string             `json:"time"`
	WatchUntil time.Time          `json:"watch_until"`
	State      []findings.Episode `json:"state"`
}

// Handle watches until the round ends or something is found.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (*findings.Findings, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	clk := h.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	log := h.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if h.Detector == nil {
		h.Detector = &Detector{}
	}
	var in input
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, fmt.Errorf("probe input is neither a scheduled event nor a probe's findings: %w", err)
		}
	}
	start := clk.Now()
	until := start.Add(h.Watch)
	switch {
	case in.Kind == findings.FindingsKind:
		// A resumed watch ends when the round it continues would have.
		until = in.WatchUntil
		h.Detector.Restore(in.State)
	case in.Time != "":
		if due, err := time.Parse(time.RFC3339, in.Time); err == nil && due.Add(h.Watch).Before(until) && due.Add(h.Watch).After(start) {
			until = due.Add(h.Watch)
		}
	}
	if dl, ok := clk.Deadline(ctx); ok && dl.Add(-h.StopBefore).Before(until) {
		until = dl.Add(-h.StopBefore)
	}
	out := &findings.Findings{Kind: findings.FindingsKind, WatchUntil: until.UTC()}
	// Rounds run on a grid of the wall clock, so that two probes watching
	// at once see the same failures begin at the same instant and send the
	// same request id.
	first := ceil(start, h.Interval)
	if h.Interval >= h.Watch {
		// One round per invocation: at once, not after a wait billed
		// by the millisecond.
		first = start
	}
	for tick := first; ; {
		if out.Checks > 0 && !tick.Before(until) {
			// The next invocation's round.
			break
		}
		if err := clk.Sleep(ctx, tick.Sub(clk.Now())); err != nil {
			break
		}
		// A round that starts late (a busy machine) is labelled with the
		// grid point it runs in, never with one before it.
		at := maxTime(tick, clk.Now().Truncate(h.Interval))
		out.Results = h.round(ctx, log, at, out)
		out.Checks++
		if len(out.Findings) > 0 {
			break
		}
		// A round that overran (timeouts) skips the ticks it missed.
		tick = maxTime(tick.Add(h.Interval), ceil(clk.Now(), h.Interval))
	}
	out.State = h.Detector.State()
	if len(out.Findings) > 0 {
		log.InfoContext(ctx, "probe findings", "findings", out.Findings, "triggers", len(out.Failures), "restored", len(out.Restored))
	}
	return out, nil
}

// round checks every group once, asks the witness when one failed, and
// feeds the detector.
func (h *Handler) round(ctx context.Context, log *slog.Logger, at time.Time, out *findings.Findings) []findings.Result {
	res := h.Prober.Probe(ctx, h.Targets)
	failed := slices.ContainsFunc(res, func(r findings.Result) bool { return !r.Reachable })
	witnessOK := true
	if failed {
		// Another group answering shows the probe's network works as well
		// as a witness does.
		witnessOK = slices.ContainsFunc(res, func(r findings.Result) bool { return r.Reachable }) ||
			len(h.Witnesses) == 0 || h.Prober.Witness(ctx, h.Witnesses)
		if err := writeRecord(h.Metrics, h.Namespace, at, "", []emf.Metric{{Name: findings.MetricWitness, Unit: "None"}},
			map[string]any{findings.MetricWitness: boolMetric(witnessOK)}); err != nil {
			log.ErrorContext(ctx, "metrics not written", "error", err.Error())
		}
	}
	skip := map[string]bool{}
	for _, r := range res {
		if r.Reachable {
			log.DebugContext(ctx, "license ports answer", "group", r.Group, "address", r.Address)
		} else if witnessOK {
			log.WarnContext(ctx, "license ports do not answer", "group", r.Group, "address", r.Address, "ports", r.Ports)
		} else {
			skip[r.Group] = true
			log.WarnContext(ctx, "probe's own network is down: failed check not counted", "group", r.Group, "address", r.Address, "witnesses", h.Witnesses)
		}
		trig, restored := h.Detector.Observe(r, at, witnessOK)
		if trig != nil {
			out.Failures = append(out.Failures, *trig)
			addFinding(out, findings.FindingFailure)
			log.WarnContext(ctx, "license failure confirmed", "group", trig.Group, "address", trig.Address,
				"failing_since", trig.FailingSince.UTC().Format(time.RFC3339Nano), "checks", trig.Checks, "reason", trig.Reason, "request_id", trig.RequestID)
		}
		if restored != nil {
			out.Restored = append(out.Restored, *restored)
			addFinding(out, findings.FindingRestored)
			log.InfoContext(ctx, "license answers again", "group", restored.Group, "address", restored.Address,
				"down_since", restored.DownSince.UTC().Format(time.RFC3339Nano), "outage_ms", restored.OutageMS)
			if err := writeRecord(h.Metrics, h.Namespace, at, restored.Group, []emf.Metric{{Name: findings.MetricOutage, Unit: "Seconds"}},
				map[string]any{findings.MetricOutage: float64(restored.OutageMS) / 1000}); err != nil {
				log.ErrorContext(ctx, "metrics not written", "error", err.Error())
			}
		}
	}
	if err := WriteMetrics(h.Metrics, h.Namespace, at, res, skip); err != nil {
		log.ErrorContext(ctx, "metrics not written", "error", err.Error())
	}
	return res
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// ceil is the first multiple of d at or after t.
func ceil(t time.Time, d time.Duration) time.Time {
	tr := t.Truncate(d)
	if tr.Before(t) {
		tr = tr.Add(d)
	}
	return tr
}

func addFinding(out *findings.Findings, kind string) {
	if !slices.Contains(out.Findings, kind) {
		out.Findings = append(out.Findings, kind)
	}
}

func boolMetric(b bool) int {
	if b {
		return 1
	}
	return 0
}
