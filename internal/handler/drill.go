package handler

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/moveapi"
	"github.com/eni-failover/eni-failover/internal/report"
)

// drill is a planned failover exercise for a maintenance window: a planned
// move to the best standby, then back to the holder it left, each timed.
// It stops after the first move when that one did not succeed.
func (h *Move) drill(ctx context.Context, req moveapi.Request) (*moveapi.Response, error) {
	reason := strings.TrimSpace("drill " + req.Reason)
	if dl, ok := h.Engine.Clock().Deadline(ctx); ok && h.DrillTime > 0 && dl.Sub(h.Engine.Now()) < h.DrillTime {
		return nil, moveapi.BadRequest("drill refused, nothing moved: it may need %s (two moves, each with its activation, and the wait for the probe's "+
			"measurement) and this invocation has %s left; deploy the stack again (it sizes the move function's timeout for a drill), "+
			"lower activationTimeoutSeconds, or move and fail back with two invocations",
			h.DrillTime.Round(time.Second), dl.Sub(h.Engine.Now()).Round(time.Second))
	}
	if req.RequestID != "" {
		// The journal keeps the last request id: a repeat of a finished
		// drill finds its "-back" and is answered, not run again.
		st, err := h.Engine.Status(ctx, req.Group)
		if g := st.Group; err == nil && st.LastRequest == req.RequestID+"-back" {
			return &moveapi.Response{Action: moveapi.ActionDrill, Holder: g.ENI.InstanceID,
				Report: report.Report{Group: g.Name, ENIID: g.ENI.ID, MAC: g.ENI.MAC, PrivateIP: g.ENI.PrivateIP, AZ: g.ENI.AZ, Outcome: report.Repeated,
					Reason: fmt.Sprintf("drill %s was already carried out; not repeated", req.RequestID)}}, nil
		}
		if bad := badRequestFrom(err); bad != nil {
			return nil, bad
		}
	}
	if refused := h.preflight(ctx, req); refused != nil {
		h.logger().WarnContext(ctx, "drill refused by the doctor", "group", req.Group, "error", refused.Error)
		return refused, nil
	}
	there := engine.Trigger{Kind: report.Move, Group: req.Group, Reason: reason, RequestID: req.RequestID}
	reports, err := h.Engine.Run(ctx, there, false)
	if bad := badRequestFrom(err); bad != nil {
		return nil, bad
	}
	if len(reports) == 0 {
		return nil, fmt.Errorf("drill: %w", err)
	}
	first := reports[0]
	h.record(ctx, first, "manual drill", false)
	resp := &moveapi.Response{Action: moveapi.ActionDrill, Report: *first, Drill: []moveapi.DrillMove{drillMove(first)}}
	if err != nil || (first.Outcome != report.Moved && first.Outcome != report.Repeated) {
		if err != nil {
			resp.Error = err.Error()
		}
		return resp, nil
	}
	back := engine.Trigger{Kind: report.Move, Group: first.Group, Target: first.HolderBefore, Reason: reason + " (back)"}
	if req.RequestID != "" {
		back.RequestID = req.RequestID + "-back"
	}
	reports, err = h.Engine.Run(ctx, back, false)
	if len(reports) == 0 {
		resp.Error = fmt.Sprintf("drill: moving back to %s: %v", first.HolderBefore, err)
		resp.Outcome = report.Failed
		return resp, nil
	}
	second := reports[0]
	h.record(ctx, second, "manual drill", false)
	resp.Report = *second
	resp.HolderBefore = first.HolderBefore
	resp.Drill = append(resp.Drill, drillMove(second))
	if err != nil {
		resp.Error = err.Error()
		return resp, nil
	}
	h.awaitOutage(ctx, resp, first, second)
	return resp, nil
}

// awaitOutage waits, up to OutageWait, for the probe's measurement of the
// clients' outage to be written on the drill's moves in the history, and
// adds it to the response.
func (h *Move) awaitOutage(ctx context.Context, resp *moveapi.Response, moves ...*report.Report) {
	if h.OutageWait <= 0 || len(moves) == 0 {
		return
	}
	clk := h.Engine.Clock()
	deadline := clk.Now().Add(h.OutageWait)
	if dl, ok := clk.Deadline(ctx); ok && dl.Add(-2*time.Second).Before(deadline) {
		deadline = dl.Add(-2 * time.Second)
	}
	last := moves[len(moves)-1]
	for clk.Now().Before(deadline) {
		if err := clk.Sleep(ctx, 2*time.Second); err != nil {
			return
		}
		_, history, err := h.Engine.History(ctx, last.Group)
		if err != nil {
			continue
		}
		found := false
		for i, r := range moves {
			for _, m := range history {
				if m.OutageMS > 0 && m.From == r.HolderBefore && m.To == r.HolderAfter && m.At.Equal(r.StartedAt.UTC().Truncate(time.Second)) {
					resp.Drill[i].OutageMS = m.OutageMS
					found = found || r == last
				}
			}
		}
		if found {
			return
		}
	}
	h.logger().WarnContext(ctx, "drill: no outage measured by the probe in time", "group", last.Group, "waited", h.OutageWait.String())
}

func drillMove(r *report.Report) moveapi.DrillMove {
	d := moveapi.DrillMove{From: r.HolderBefore, To: r.HolderAfter, Outcome: r.Outcome, DurationMS: r.DurationMS, Error: r.Error}
	away := false
	for _, s := range r.Steps {
		switch {
		case s.Name == report.StepDetach || s.Name == report.StepForceDetach:
			away = true
		case s.Name == report.StepActivate || s.Name == report.StepHistory:
			away = false
		}
		if away {
			d.ENIAwayMS += s.DurationMS
		}
	}
	if r.Activation != nil {
		d.Activation = r.Activation.Status
	}
	return d
}
