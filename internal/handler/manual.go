package handler

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/report"
)

// Response is the manual response: the run's report, under the action
// the operator asked for, and for status the attachment and the members.
type Response struct {
	// Action is the request's action (the report's plan action is in
	// plan.action).
	Action string `json:"action"`
	report.Report
	// Holder is, for status, the instance that holds the ENI ("" when
	// it is unattached).
	Holder              string            `json:"holder,omitempty"`
	AttachmentState     string            `json:"attachment_state,omitempty"`
	DeleteOnTermination *bool             `json:"delete_on_termination,omitempty"`
	Home                string            `json:"home,omitempty"`
	Members             []MemberStatus    `json:"members,omitempty"`
	Journal             map[string]string `json:"journal,omitempty"`
	// Pause is the group's maintenance mode while it holds.
	Pause *PauseStatus `json:"paused,omitempty"`
	// History is the group's last moves, newest first (history, and the
	// last few in status).
	History []model.Move `json:"history,omitempty"`
	// Drill is the exercise's two moves, there and back.
	Drill []DrillMove `json:"drill,omitempty"`
}

// Manual handles operator invocations.
type Manual struct {
	Deps
	// OutageWait is how long a drill waits, after its second move, for the
	// probe's measurement of the clients' outage to reach the history
	// (DRILL_OUTAGE_WAIT; 0: no probe, no wait).
	OutageWait time.Duration
}

// Handle serves one manual invocation. A bad payload or an unknown group is
// an error and changes nothing; a move that fails returns its report with
// outcome "failed" and the error, so the operator sees every step.
func (h *Manual) Handle(ctx context.Context, raw json.RawMessage) (*Response, error) {
	req, err := ParseRequest(raw)
	if err != nil {
		h.logger().WarnContext(ctx, "manual request refused", "error", err.Error())
		return nil, err
	}
	switch req.Action {
	case ActionStatus:
		return h.status(ctx, req)
	case ActionPause, ActionResume:
		return h.pause(ctx, req)
	case ActionHistory:
		return h.history(ctx, req)
	case ActionDrill:
		return h.drill(ctx, req)
	}
	t := engine.Trigger{Kind: report.Move, Group: req.Group, Target: req.Target, Reason: req.Reason, RequestID: req.RequestID}
	if req.Action == ActionFailback {
		t.Kind = report.Failback
	}
	reports, err := h.Engine.Run(ctx, t, req.Action == ActionPlan)
	if bad := badRequestFrom(err); bad != nil {
		return nil, bad
	}
	if len(reports) == 0 {
		return nil, fmt.Errorf("%s: %w", req.Action, err)
	}
	r := reports[0]
	if r.Outcome != report.Repeated {
		h.record(ctx, r, "manual "+req.Action, false)
	}
	resp := fromReport(req.Action, r)
	if err != nil {
		resp.Error = err.Error()
	}
	return resp, nil
}

// pause starts or ends a group's maintenance mode.
func (h *Manual) pause(ctx context.Context, req Request) (*Response, error) {
	now := h.Engine.Now()
	p := model.Pause{Until: now, By: operator(ctx), Reason: req.Reason}
	if req.Action == ActionPause {
		d := time.Duration(req.Minutes) * time.Minute
		if d == 0 {
			d = model.DefaultPause
		}
		p.Until = now.Add(d)
	}
	r, err := h.Engine.SetPause(ctx, req.Group, p)
	if bad := badRequestFrom(err); bad != nil {
		return nil, bad
	}
	if r == nil {
		return nil, fmt.Errorf("%s: %w", req.Action, err)
	}
	resp := fromReport(req.Action, r)
	if req.Action == ActionPause && err == nil {
		resp.Pause = &PauseStatus{Until: p.Until.UTC(), By: p.By, Reason: p.Reason}
	}
	return resp, nil
}

// history answers the group's last moves, newest first, from the journal.
func (h *Manual) history(ctx context.Context, req Request) (*Response, error) {
	g, moves, err := h.Engine.History(ctx, req.Group)
	if bad := badRequestFrom(err); bad != nil {
		return nil, bad
	}
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	limit := cmp.Or(req.Limit, defaultHistory)
	if len(moves) > limit {
		moves = moves[:limit]
	}
	return &Response{Action: ActionHistory, Holder: g.ENI.InstanceID, History: moves,
		Report: report.Report{Group: g.Name, ENIID: g.ENI.ID, MAC: g.ENI.MAC, PrivateIP: g.ENI.PrivateIP, AZ: g.ENI.AZ, Outcome: "history"}}, nil
}

func fromReport(action string, r *report.Report) *Response {
	return &Response{Action: action, Report: *r}
}
