// Package handler holds the Lambda handlers: the event-driven failover and
// the manual actions. They translate payloads to engine triggers and engine
// reports to responses, metrics and notifications; the functions' main
// packages only wire them up.
package handler

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/eventparse"
	"github.com/eni-failover/eni-failover/internal/moveapi"
	"github.com/eni-failover/eni-failover/internal/report"
)

// Failover handles EventBridge events.
type Failover struct {
	Deps
	// HealthNotifyOnly: AWS Health events only notify.
	HealthNotifyOnly bool
	// MetricsNamespace is the probe's namespace (METRICS_NAMESPACE): a
	// probe alarm on another is not acted on.
	MetricsNamespace string
	// StackAlarms are the only alarms acted on (nil: any the rule brings).
	StackAlarms *eventparse.StackAlarms
}

// FailoverResult is the JSON summary of one event.
type FailoverResult struct {
	eventparse.Parsed
	Reports []*report.Report `json:"reports"`
	Errors  []string         `json:"errors,omitempty"`
	// Doctor answers a doctor request (the move function's).
	Doctor *moveapi.RoleChecks `json:"doctor,omitempty"`
}

// Handle parses the event, runs each trigger and returns a summary. It
// returns an error only when a retry can help (throttling, a deadline, no
// standby yet), so Lambda's retries and the on-failure destination get it.
func (h *Failover) Handle(ctx context.Context, raw json.RawMessage) (*FailoverResult, error) {
	log := h.logger()
	if eventparse.IsReadinessRequest(raw) {
		h.readiness(ctx, false)
		return &FailoverResult{Reports: []*report.Report{}}, nil
	}
	if isDirectRequest(raw) {
		return h.roleChecks(ctx, raw)
	}
	p := eventparse.Parse(raw, eventparse.Options{HealthNotifyOnly: h.HealthNotifyOnly, MetricsNamespace: h.MetricsNamespace, StackAlarms: h.StackAlarms})
	res := &FailoverResult{Parsed: p, Reports: []*report.Report{}}
	switch {
	case p.Readiness:
		h.readiness(ctx, true)
		return res, nil
	case p.Malformed:
		log.WarnContext(ctx, "event ignored: malformed", "source", p.Source, "detail_type", p.DetailType, "reason", p.Ignored)
		return res, nil
	case len(p.Triggers) == 0:
		log.DebugContext(ctx, "event ignored", "source", p.Source, "detail_type", p.DetailType, "reason", p.Ignored)
		return res, nil
	}
	run := h.Engine.RunAll
	if Conducts(p.Triggers) {
		run = h.Engine.Conduct
	}
	reports, err := run(ctx, p.Triggers, p.NotifyOnly)
	for _, r := range reports {
		h.record(ctx, r, p.DetailType, p.NotifyOnly)
	}
	res.Reports = append(res.Reports, reports...)
	var retry []error
	for _, err := range unjoin(err) {
		res.Errors = append(res.Errors, err.Error())
		if engine.Retryable(err) {
			retry = append(retry, err)
		} else {
			log.ErrorContext(ctx, "trigger failed; a retry would not help", "source", p.Source, "detail_type", p.DetailType, "error", err.Error())
		}
	}
	if len(retry) > 0 {
		return res, &RetryableError{Err: errors.Join(retry...)}
	}
	return res, nil
}

// RetryableError tells Lambda (errorType "RetryableError") that running the
// event again may succeed: its async retries and the on-failure
// destination take it from there.
type RetryableError struct{ Err error }

func (e *RetryableError) Error() string { return e.Err.Error() }

// Unwrap exposes the engine's errors.
func (e *RetryableError) Unwrap() error { return e.Err }

// Conducts reports whether an event's news is one EC2 itself shows (a
// state change, the scheduled reconcile): its run then sweeps the fleet
// while it works (engine.Conduct), so that the events it makes redundant
// find nothing left to do.
func Conducts(ts []engine.Trigger) bool {
	for _, t := range ts {
		switch t.Kind {
		case report.InstanceDown, report.InstanceUp, report.Reconcile:
		default:
			return false
		}
	}
	return len(ts) > 0
}

// unjoin lists the errors of an errors.Join (nil: none).
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}
