// Package handler holds the Lambda handlers: the event-driven failover and
// the manual actions. They translate payloads to engine triggers and engine
// reports to responses, metrics and notifications; the functions' main
// packages only wire them up.
package handler

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/eventparse"
	"github.com/eni-failover/eni-failover/internal/metrics"
	"github.com/eni-failover/eni-failover/internal/notify"
)

// Deps are what both handlers use.
type Deps struct {
	Engine   *engine.Engine
	Notifier *notify.Notifier // nil: no notifications
	Metrics  *metrics.Emitter // nil: no metrics
	Log      *slog.Logger
}

func (d Deps) logger() *slog.Logger { return orDiscard(d.Log) }

// orDiscard is log, or a logger that drops everything when log is nil.
func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}

// record emits metrics and the notification of one report. Their failures
// are logged, not returned: the ENI is where it is either way, and a retry
// of the event would find nothing to do.
func (d Deps) record(ctx context.Context, r *engine.Report, event string, notifyOnly bool) {
	log := d.logger()
	if !notifyOnly {
		if err := d.Metrics.Report(r); err != nil {
			log.WarnContext(ctx, "metrics not written", "group", r.Group, "error", err.Error())
		}
	}
	if err := d.Notifier.Publish(ctx, r, event, notifyOnly); err != nil {
		log.ErrorContext(ctx, "notification not sent", "group", r.Group, "eni_id", r.ENIID, "error", err.Error())
	}
}

// Failover handles EventBridge events.
type Failover struct {
	Deps
	// HealthNotifyOnly: AWS Health events only notify.
	HealthNotifyOnly bool
}

// FailoverResult is the JSON summary of one event.
type FailoverResult struct {
	eventparse.Parsed
	Reports []*engine.Report `json:"reports"`
	Errors  []string         `json:"errors,omitempty"`
}

// Handle parses the event, runs each trigger and returns a summary. It
// returns an error only when a retry can help (throttling, a deadline, no
// standby yet), so Lambda's retries and the on-failure destination get it.
func (h *Failover) Handle(ctx context.Context, raw json.RawMessage) (*FailoverResult, error) {
	log := h.logger()
	p := eventparse.Parse(raw, eventparse.Options{HealthNotifyOnly: h.HealthNotifyOnly})
	res := &FailoverResult{Parsed: p, Reports: []*engine.Report{}}
	switch {
	case p.Malformed:
		log.WarnContext(ctx, "event ignored: malformed", "source", p.Source, "detail_type", p.DetailType, "reason", p.Ignored)
		return res, nil
	case len(p.Triggers) == 0:
		log.DebugContext(ctx, "event ignored", "source", p.Source, "detail_type", p.DetailType, "reason", p.Ignored)
		return res, nil
	}
	var retry []error
	for _, t := range p.Triggers {
		reports, err := h.Engine.Run(ctx, t, p.NotifyOnly)
		for _, r := range reports {
			h.record(ctx, r, p.DetailType, p.NotifyOnly)
		}
		res.Reports = append(res.Reports, reports...)
		if err != nil {
			res.Errors = append(res.Errors, err.Error())
			if engine.Retryable(err) {
				retry = append(retry, err)
			} else {
				log.ErrorContext(ctx, "trigger failed; a retry would not help", "trigger", string(t.Kind), "instance_id", t.InstanceID, "error", err.Error())
			}
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
