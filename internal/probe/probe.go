// Package probe checks that each group's token server answers: a TCP
// connection to the license ENI's private IP on each license port (lmgrd
// and the vendor daemon), with short timeouts. A hung lmgrd on a healthy
// instance is a failure no EC2 event reports; the probe's metric, through
// an alarm, turns it into one.
package probe

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

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
	Ports   []int
	Timeout time.Duration
	// Dial is net.Dialer.DialContext unless set (tests).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	Now  func() time.Time
}

// Probe checks every target's ports at once and returns results in target
// order.
func (p *Prober) Probe(ctx context.Context, targets []Target) []Result {
	dial := p.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	now := p.Now
	if now == nil {
		now = time.Now
	}
	results := make([]Result, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		results[i] = Result{Group: t.Group, Address: t.Address, Ports: make([]PortResult, len(p.Ports))}
		for j, port := range p.Ports {
			wg.Add(1)
			go func(i, j int, addr string, port int) {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(ctx, p.Timeout)
				defer cancel()
				start := now()
				conn, err := dial(ctx, "tcp", net.JoinHostPort(addr, strconv.Itoa(port)))
				pr := PortResult{Port: port, LatencyMS: float64(now().Sub(start).Microseconds()) / 1000}
				if err != nil {
					pr.Error = err.Error()
				} else {
					pr.OK = true
					conn.Close()
				}
				results[i].Ports[j] = pr
			}(i, j, t.Address, port)
		}
	}
	wg.Wait()
	for i := range results {
		results[i].Reachable = len(results[i].Ports) > 0
		for _, pr := range results[i].Ports {
			results[i].Reachable = results[i].Reachable && pr.OK
		}
	}
	return results
}

// Metric names of the probe.
const (
	MetricReachable = "LicensePortReachable"
	MetricLatency   = "LicensePortLatency"
)

// WriteMetrics writes one embedded-metric-format line per group:
// LicensePortReachable 1 or 0, and the slowest port's latency.
func WriteMetrics(w io.Writer, namespace string, at time.Time, results []Result) error {
	for _, r := range results {
		reachable, slowest := 0, 0.0
		if r.Reachable {
			reachable = 1
		}
		for _, p := range r.Ports {
			slowest = max(slowest, p.LatencyMS)
		}
		b, err := emf.Record(namespace, at, [][]string{{"Group"}},
			[]emf.Metric{{Name: MetricReachable, Unit: "None"}, {Name: MetricLatency, Unit: "Milliseconds"}},
			map[string]any{"Group": r.Group, "Address": r.Address, MetricReachable: reachable, MetricLatency: slowest})
		if err != nil {
			return fmt.Errorf("encoding probe metrics of group %s: %w", r.Group, err)
		}
		if _, err := fmt.Fprintf(w, "%s\n", b); err != nil {
			return err
		}
	}
	return nil
}
