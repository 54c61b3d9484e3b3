package probe

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"time"
)

// Handler is the probe function: it checks every group's license ports on
// a schedule and writes the reachability metric that the probe alarms
// watch.
type Handler struct {
	Prober    *Prober
	Targets   []Target
	Metrics   io.Writer
	Namespace string
	Log       *slog.Logger
	Now       func() time.Time
}

// HandlerResult is the probe function's JSON summary.
type HandlerResult struct {
	Results []Result `json:"results"`
}

// Handle probes once; the event (the schedule's) carries nothing needed.
// Unreachable groups are not errors: the alarm decides what they mean.
func (h *Handler) Handle(ctx context.Context, _ json.RawMessage) (*HandlerResult, error) {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	res := h.Prober.Probe(ctx, h.Targets)
	log := h.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, r := range res {
		if r.Reachable {
			log.DebugContext(ctx, "license ports answer", "group", r.Group, "address", r.Address)
			continue
		}
		log.WarnContext(ctx, "license ports do not answer", "group", r.Group, "address", r.Address, "ports", r.Ports)
	}
	if err := WriteMetrics(h.Metrics, h.Namespace, now(), res); err != nil {
		return nil, err
	}
	return &HandlerResult{Results: res}, nil
}
