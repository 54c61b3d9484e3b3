package handler

import (
	"context"
	"log/slog"

	"github.com/eni-failover/eni-failover/internal/doctor"
	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/metrics"
	"github.com/eni-failover/eni-failover/internal/moveapi"
	"github.com/eni-failover/eni-failover/internal/notify"
	"github.com/eni-failover/eni-failover/internal/report"
)

// Deps are what both handlers use.
type Deps struct {
	Engine   *engine.Engine
	Notifier *notify.Notifier // nil: no notifications
	Metrics  *metrics.Emitter // nil: no metrics
	Log      *slog.Logger
	// Doctor is what a failover needs of EC2 and SSM, with this function's
	// role: the failover function's DryRuns for the move function's
	// checkup, and the readiness count at each reconcile (nil: none).
	Doctor *doctor.Doctor
	// Checkup runs every check (internal/doctor/account): the move
	// function's doctor action and drill preflight (nil: none). An
	// interface, so that the failover function links none of its
	// clients.
	Checkup Checkup
}

// Checkup checks, changing nothing, that a failover of the group (every
// group when "") would succeed.
type Checkup interface {
	Run(ctx context.Context, group string) ([]moveapi.Check, error)
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
func (d Deps) record(ctx context.Context, r *report.Report, event string, notifyOnly bool) {
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
