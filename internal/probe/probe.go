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
)

// Target is one group's license ENI address.
type Target struct {
	Group   string
	Address string
}

// PortResult is one port's check.
type PortResult struct {
	Port      int     `json:"port"`
	OK        bool    `json:"ok"`
	LatencyMS float64 `json:"latency_ms"`
	Error     string  `json:"error,omitempty"`
}

// Result is one group's check: reachable when every port answered.
type Result struct {
	Group     string       `json:"group"`
	Address   string       `json:"address"`
	Reachable bool         `json:"reachable"`
	Ports     []PortResult `json:"ports"`
}

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
func (p *Prober) Probe(ctx context.Context, targets []Target) []Result {
	clk := p.clock()
	results := make([]Result, len(targets))
	var waits []func()
	for i, t := range targets {
		results[i] = Result{Group: t.Group, Address: t.Address, Ports: make([]PortResult, len(p.Ports))}
		for j, port := range p.Ports {
			waits = append(waits, clk.Go(func() {
				start := clk.Now()
				err := p.Checker.Check(ctx, t.Address, port, p.Answer && j == 0)
				pr := PortResult{Port: port, OK: err == nil, LatencyMS: float64(clk.Now().Sub(start).Microseconds()) / 1000}
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

// Metric names of the probe.
const (
	MetricReachable = "LicensePortReachable"
	MetricLatency   = "LicensePortLatency"
	// MetricWitness is 1 when the probe's witness answered, 0 when it did
	// not (the probe's own network trouble: its failed checks are not
	// counted and no LicensePortReachable is written for them).
	MetricWitness = "ProbeWitnessReachable"
	// MetricOutage is the clients' outage in seconds, written when a
	// group's license answers again after a confirmed failure.
	MetricOutage = "LicenseOutageSeconds"
)

// WriteMetrics writes one embedded-metric-format line per group:
// LicensePortReachable 1 or 0, and the slowest port's latency. Groups in
// skip (failed while the witness did too) get none.
func WriteMetrics(w io.Writer, namespace string, at time.Time, results []Result, skip map[string]bool) error {
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
			[]emf.Metric{{Name: MetricReachable, Unit: "None"}, {Name: MetricLatency, Unit: "Milliseconds"}},
			map[string]any{"Address": r.Address, MetricReachable: reachable, MetricLatency: slowest}); err != nil {
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
		fields["Group"] = group
	}
	b, err := emf.Record(namespace, at, dims, metrics, fields)
	if err != nil {
		return fmt.Errorf("encoding probe metrics of group %q: %w", group, err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
