package engine

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/eni-failover/eni-failover/internal/report"
)

// confirm handles the license answering again: it reports the clients'
// outage, with the holder that serves now, and records it on the history's
// move when one was made during the outage.
func (e *Engine) confirm(ctx context.Context, t Trigger, dryRun bool) (*report.Report, error) {
	start := e.clk.Now()
	unlock, err := e.lock(ctx, t.Group)
	if err != nil {
		return failedRun(t.Group, t, start, err), err
	}
	defer unlock()
	g, err := e.ReadGroup(ctx, t.Group)
	if err != nil {
		return failedRun(t.Group, t, start, err), err
	}
	r := e.newReport(g, t)
	r.StartedAt, r.HolderAfter, r.Outcome = start, g.ENI.InstanceID, report.Confirmed
	r.OutageMS = t.At.Sub(t.Since).Milliseconds()
	outage := (time.Duration(r.OutageMS) * time.Millisecond).Round(100 * time.Millisecond)
	r.Reason = fmt.Sprintf("the license answers again on %s (%s): clients saw an outage of %s, from %s", g.ENI.PrivateIP, cmp.Or(g.ENI.InstanceID, "no holder"),
		outage, t.Since.UTC().Format(time.RFC3339))
	r.Names = names(g, r.HolderAfter)
	log := e.log.With("group", g.Name, "eni_id", g.ENI.ID, "trigger", string(t.Kind))
	if set, m, ok := e.tags.WithOutage(g.ENI.Tags, t.Since, t.At); ok {
		r.Reason += fmt.Sprintf("; the move at %s (%s>%s) took %s of it", m.At.Format(time.RFC3339), m.From, m.To, time.Duration(m.DurationMS)*time.Millisecond)
		if !dryRun {
			took, err := e.tagENI(ctx, g.ENI.ID, set)
			step := report.Step{Name: report.StepHistory, DurationMS: took.Milliseconds()}
			if err != nil {
				step.Error = err.Error()
				log.WarnContext(ctx, "outage not added to the history", "error", err.Error())
			}
			r.Steps = append(r.Steps, step)
		}
	} else if t.Brief {
		// A blip the probe never confirmed, with no move in it: logged,
		// not announced.
		r.Outcome = report.NothingToDo
		r.Reason = fmt.Sprintf("a brief outage of %s on %s (not confirmed by the probe), with no move during it", outage, g.ENI.PrivateIP)
	} else {
		r.Reason += "; no move was made during it"
	}
	r.DurationMS = e.clk.Now().Sub(start).Milliseconds()
	log.InfoContext(ctx, "license confirmed", "outcome", string(r.Outcome), "instance_id", g.ENI.InstanceID, "outage_ms", r.OutageMS)
	return r, nil
}
