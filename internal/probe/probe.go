// Package probe watches each group's token server from inside the VPC: it
// checks the license ENI's private IP on each license port (lmgrd and the
// vendor daemon) every few seconds, confirms a failure over several checks
// and against a witness (so that its own network trouble moves nothing),
// and reports a confirmed failure, and the license answering again, as
// findings that reach the failover function without leaving the VPC (the
// invocation's result, through its Lambda destination).
package probe

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/eni-failover/eni-failover/internal/clock"
	"github.com/eni-failover/eni-failover/internal/emf"
	"github.com/eni-failover/eni-failover/internal/findings"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/probeconfig"
)

// Prober checks targets.
type Prober struct {
	Ports []int
	// Answer: lmgrd's port (the first) must answer a request, not only
	// accept a connection (PROBE_CHECK=answer).
	Answer  bool
	Checker Checker
	// Clock runs the checks at once and times them (clock.Real unless set).
	Clock clock.Clock
}

func (p *Prober) clock() clock.Clock {
	if p.Clock == nil {
		return clock.Real{}
	}
	return p.Clock
}

// Probe checks every target's ports at once and returns results in target
// order.
func (p *Prober) Probe(ctx context.Context, targets []probeconfig.Target) []findings.Result {
	clk := p.clock()
	results := make([]findings.Result, len(targets))
	var waits []func()
	for i, t := range targets {
		results[i] = findings.Result{Group: t.Group, Address: t.Address, Ports: make([]findings.PortResult, len(p.Ports))}
		for j, port := range p.Ports {
			waits = append(waits, clk.Go(func() {
				start := clk.Now()
				err := p.Checker.Check(ctx, t.Address, port, p.Answer && j == 0)
				pr := findings.PortResult{Port: port, OK: err == nil, LatencyMS: float64(clk.Now().Sub(start).Microseconds()) / 1000}
				if err != nil {
					pr.Error = err.Error()
				}
				results[i].Ports[j] = pr
			}))
		}
	}
	for _, wait := range waits {
		wait()
	}
	for i := range results {
		results[i].Reachable = len(results[i].Ports) > 0
		for _, pr := range results[i].Ports {
			results[i].Reachable = results[i].Reachable && pr.OK
		}
	}
	return results
}

// Witness reports whether any witness is reachable: the probe's own
// network works.
func (p *Prober) Witness(ctx context.Context, witnesses []string) bool {
	clk := p.clock()
	ok := make([]bool, len(witnesses))
	var waits []func()
	for i, w := range witnesses {
		waits = append(waits, clk.Go(func() { ok[i] = p.Checker.Reach(ctx, w) }))
	}
	for _, wait := range waits {
		wait()
	}
	for _, o := range ok {
		if o {
			return true
		}
	}
	return false
}

// WriteMetrics writes one embedded-metric-format line per group:
// LicensePortReachable 1 or 0, and the slowest port's latency. Groups in
// skip (failed while the witness did too) get none.
func WriteMetrics(w io.Writer, namespace string, at time.Time, results []findings.Result, skip map[string]bool) error {
	for _, r := range results {
		if skip[r.Group] {
			continue
		}
		reachable, slowest := 0, 0.0
		if r.Reachable {
			reachable = 1
		}
		for _, p := range r.Ports {
			slowest = max(slowest, p.LatencyMS)
		}
		if err := writeRecord(w, namespace, at, r.Group,
			[]emf.Metric{{Name: findings.MetricReachable, Unit: "None"}, {Name: findings.MetricLatency, Unit: "Milliseconds"}},
			map[string]any{"Address": r.Address, findings.MetricReachable: reachable, findings.MetricLatency: slowest}); err != nil {
			return err
		}
	}
	return nil
}

func writeRecord(w io.Writer, namespace string, at time.Time, group string, metrics []emf.Metric, fields map[string]any) error {
	dims := [][]string{{"Group"}}
	if group == "" {
		dims = [][]string{{}}
	} else {
		fields["Group"] = model.SafeName(group) // dimension values are ASCII (model.SafeName)
	}
	b, err := emf.Record(namespace, at, dims, metrics, fields)
	if err != nil {
		return fmt.Errorf("encoding probe metrics of group %q: %w", group, err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
