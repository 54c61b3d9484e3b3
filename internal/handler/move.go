package handler

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/moveapi"
	"github.com/eni-failover/eni-failover/internal/report"
)

// Move serves the move function: the operator's actions (moveapi).
type Move struct {
	Deps
	// OutageWait is how long a drill waits, after its second move, for the
	// probe's measurement of the clients' outage to reach the history
	// (DRILL_OUTAGE_WAIT; 0: no probe, no wait).
	OutageWait time.Duration
	// DrillTime is the longest a drill may need (config.DrillTime): with
	// less time left in the invocation it is refused before it moves, so
	// that it never stops half-way with the ENI moved and lmgrd not
	// started (0: not checked).
	DrillTime time.Duration
}

// Handle serves one manual invocation. A bad payload or an unknown group is
// an error and changes nothing; a move that fails returns its report with
// outcome "failed" and the error, so the operator sees every step.
func (h *Move) Handle(ctx context.Context, raw json.RawMessage) (*moveapi.Response, error) {
	req, err := moveapi.ParseRequest(raw)
	if err != nil {
		h.logger().WarnContext(ctx, "manual request refused", "error", err.Error())
		return nil, err
	}
	switch req.Action {
	case moveapi.ActionStatus:
		return h.status(ctx, req)
	case moveapi.ActionPlan, moveapi.ActionMove:
		return h.move(ctx, req, report.Move)
	case moveapi.ActionFailback:
		return h.move(ctx, req, report.Failback)
	case moveapi.ActionPause, moveapi.ActionResume:
		return h.pause(ctx, req)
	case moveapi.ActionHistory:
		return h.history(ctx, req)
	case moveapi.ActionDrill:
		return h.drill(ctx, req)
	case moveapi.ActionDoctor:
		return h.doctor(ctx, req)
	}
	// An action in moveapi's table that nobody serves here: refuse it
	// rather than guess what it means.
	return nil, fmt.Errorf("action %s: the move function does not serve it", req.Action)
}

// move plans, or makes, a planned move or a failback.
func (h *Move) move(ctx context.Context, req moveapi.Request, kind report.Kind) (*moveapi.Response, error) {
	t := engine.Trigger{Kind: kind, Group: req.Group, Target: req.Target, Reason: req.Reason, RequestID: req.RequestID}
	reports, err := h.Engine.Run(ctx, t, req.Action == moveapi.ActionPlan)
	if bad := badRequestFrom(err); bad != nil {
		return nil, bad
	}
	if len(reports) == 0 {
		return nil, fmt.Errorf("%s: %w", req.Action, err)
	}
	r := reports[0]
	if r.Outcome != report.Repeated {
		h.record(ctx, r, "manual "+string(req.Action), false)
	}
	resp := fromReport(req.Action, r)
	if err != nil {
		resp.Error = err.Error()
	}
	return resp, nil
}

// Invoke is the Lambda runtime's byte-level handler: the function sees
// the payload exactly as sent. Through a typed handler, aws-lambda-go
// decodes the payload with json.Decoder, which stops after the first
// value, so `{"action":"plan"} trailing` would arrive as a valid plan;
// here strictjson refuses it, as the README promises.
// A function URL request is answered as an HTTP response (url.go).
func (h *Move) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if req, ok := urlRequest(payload); ok {
		return json.Marshal(h.serveURL(ctx, req))
	}
	return h.respond(ctx, payload)
}

// respond handles one payload and encodes the response.
func (h *Move) respond(ctx context.Context, payload []byte) ([]byte, error) {
	resp, err := h.Handle(ctx, payload)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // as the runtime's own encoder: reasons keep their "<" and "&"
	if err := enc.Encode(resp); err != nil {
		return nil, fmt.Errorf("encoding the %s response: %w", resp.Action, err)
	}
	return out.Bytes(), nil
}

// pause starts or ends a group's maintenance mode.
func (h *Move) pause(ctx context.Context, req moveapi.Request) (*moveapi.Response, error) {
	now := h.Engine.Now()
	p := model.Pause{Until: now, By: operator(ctx), Reason: req.Reason}
	if req.Action == moveapi.ActionPause {
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
	if req.Action == moveapi.ActionPause && err == nil {
		resp.Pause = &moveapi.PauseStatus{Until: p.Until.UTC(), By: p.By, Reason: p.Reason}
	}
	return resp, nil
}

// history answers the group's last moves, newest first, from the journal.
func (h *Move) history(ctx context.Context, req moveapi.Request) (*moveapi.Response, error) {
	g, moves, err := h.Engine.History(ctx, req.Group)
	if bad := badRequestFrom(err); bad != nil {
		return nil, bad
	}
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	limit := cmp.Or(req.Limit, moveapi.DefaultHistory)
	if len(moves) > limit {
		moves = moves[:limit]
	}
	return &moveapi.Response{Action: moveapi.ActionHistory, Holder: g.ENI.InstanceID, History: moves,
		Report: report.Report{Group: g.Name, ENIID: g.ENI.ID, MAC: g.ENI.MAC, PrivateIP: g.ENI.PrivateIP, AZ: g.ENI.AZ, Outcome: moveapi.OutcomeHistory}}, nil
}

func fromReport(action moveapi.ActionName, r *report.Report) *moveapi.Response {
	return &moveapi.Response{Action: action, Report: *r}
}
