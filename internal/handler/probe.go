package handler

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"time"

	"github.com/eni-failover/eni-failover/internal/probe"
)

// Probe checks every group's license ports on a schedule and writes the
// reachability metric that the probe alarms watch.
type Probe struct {
	Prober    *probe.Prober
	Targets   []probe.Target
	Metrics   io.Writer
	Namespace string
	Log       *slog.Logger
	Now       func() time.Time
}

// ProbeResult is the probe function's JSON summary.
type ProbeResult struct {
	Results []probe.Result `json:"results"`
}

// Handle probes once; the event (the schedule's) carries nothing needed.
// Unreachable groups are not errors: the alarm decides what they mean.
func (h *Probe) Handle(ctx context.Context, _ json.RawMessage) (*ProbeResult, error) {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	res := h.Prober.Probe(ctx, h.Targets)
	log := orDiscard(h.Log)
	for _, r := range res {
		if r.Reachable {
			log.DebugContext(ctx, "license ports answer", "group", r.Group, "address", r.Address)
			continue
		}
		log.WarnContext(ctx, "license ports do not answer", "group", r.Group, "address", r.Address, "ports", r.Ports)
	}
	if err := probe.WriteMetrics(h.Metrics, h.Namespace, now(), res); err != nil {
		return nil, err
	}
	return &ProbeResult{Results: res}, nil
}
