package handler

import (
	"context"
	"strings"
)

// readiness counts each group's ready standbys (the doctor's cheap
// checks) and writes the metrics the readiness alarm watches. alarmed:
// that alarm fired, so people are told, per group without a ready
// standby, why each standby is not ready. Failures are logged: the ENI is
// where it is either way.
func (h *Failover) readiness(ctx context.Context, alarmed bool) {
	if h.Doctor == nil {
		return
	}
	log := h.logger()
	statuses, err := h.Engine.Statuses(ctx, "")
	if err != nil {
		log.WarnContext(ctx, "readiness: some groups could not be read", "error", err.Error())
	}
	if len(statuses) == 0 {
		return
	}
	ready := map[string]int{}
	for _, r := range h.Doctor.Readiness(ctx, statuses) {
		ready[r.Group] = r.Ready
		switch {
		case r.Ready == 0:
			log.ErrorContext(ctx, "no standby ready for a failover", "group", r.Group, "standbys", r.Standbys, "reasons", strings.Join(r.NotReady, "; "))
			if alarmed {
				if err := h.Notifier.PublishReadiness(ctx, r.Group, r.Standbys, r.NotReady); err != nil {
					log.ErrorContext(ctx, "readiness notification not sent", "group", r.Group, "error", err.Error())
				}
			}
		case len(r.NotReady) > 0:
			log.WarnContext(ctx, "standbys not ready", "group", r.Group, "ready", r.Ready, "standbys", r.Standbys, "reasons", strings.Join(r.NotReady, "; "))
		default:
			log.InfoContext(ctx, "standbys ready", "group", r.Group, "ready", r.Ready, "standbys", r.Standbys)
		}
	}
	if err := h.Metrics.Readiness(ready); err != nil {
		log.WarnContext(ctx, "readiness metrics not written", "error", err.Error())
	}
}
