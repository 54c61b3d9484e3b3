package handler

import (
	"cmp"
	"context"
	"time"

	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/eni-failover/eni-failover/internal/clip"
	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/strictjson"
)

// Manual actions.
const (
	ActionStatus   = "status"
	ActionPlan     = "plan"
	ActionMove     = "move"
	ActionFailback = "failback"
	ActionPause    = "pause"
	ActionResume   = "resume"
	ActionHistory  = "history"
	ActionDrill    = "drill"
)

// actions is the list error messages give.
const actions = "status, plan, move, failback, pause, resume, history or drill"

// History limits.
const (
	defaultHistory = 10
	maxHistory     = 50
)

// Request is the manual payload.
type Request struct {
	Action string `json:"action"`
	Group  string `json:"group,omitempty"`
	Target string `json:"target,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Minutes a pause lasts (default 240, at most 10080: 7 days).
	Minutes int `json:"minutes,omitempty"`
	// Limit of history entries (default 10, at most 50).
	Limit int `json:"limit,omitempty"`
	// RequestID makes a mutating action safe to send twice: a repeat of
	// a request already carried out answers from the journal instead of
	// acting again.
	RequestID string `json:"request_id,omitempty"`
}

// BadRequestError is returned for a payload that cannot be served; nothing
// was changed. Lambda reports it with errorType "BadRequestError".
type BadRequestError struct{ Msg string }

func (e *BadRequestError) Error() string { return e.Msg }

func badRequest(format string, args ...any) error {
	return &BadRequestError{Msg: fmt.Sprintf(format, args...)}
}

// MemberStatus describes a member in a status response.
type MemberStatus struct {
	InstanceID string       `json:"instance_id"`
	Name       string       `json:"name,omitempty"`
	State      string       `json:"state"`
	Health     model.Health `json:"health"`
	AZ         string       `json:"availability_zone"`
	Priority   *int         `json:"priority,omitempty"`
	Holder     bool         `json:"holder,omitempty"`
	Home       bool         `json:"home,omitempty"`
	// CanTakeENI: a move could choose it now; WhyNot says otherwise.
	CanTakeENI bool   `json:"can_take_eni"`
	WhyNot     string `json:"why_not,omitempty"`
}

// Response is the manual response: the run's report, under the action
// the operator asked for, and for status the attachment and the members.
type Response struct {
	// Action is the request's action (the report's plan action is in
	// plan.action).
	Action string `json:"action"`
	engine.Report
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

// DrillMove is one move of a drill: how long it took, and how long the ENI
// was away from any instance (the longest the clients can have been
// without a license; the probe measures what they saw).
type DrillMove struct {
	From       string `json:"from"`
	To         string `json:"to"`
	Outcome    string `json:"outcome"`
	DurationMS int64  `json:"duration_ms"`
	ENIAwayMS  int64  `json:"eni_away_ms"`
	// OutageMS is the clients' outage the probe measured for this move
	// (both moves' when the license did not answer in between: then it
	// is on the second move), once the history has it.
	OutageMS   int64  `json:"outage_ms,omitempty"`
	Activation string `json:"activation,omitempty"`
	Error      string `json:"error,omitempty"`
}

// PauseStatus says who paused a group, why and until when.
type PauseStatus struct {
	Until  time.Time `json:"until"`
	By     string    `json:"by,omitempty"`
	Reason string    `json:"reason"`
}

// Manual handles operator invocations.
type Manual struct {
	Deps
	// OutageWait is how long a drill waits, after its second move, for the
	// probe's measurement of the clients' outage to reach the history
	// (DRILL_OUTAGE_WAIT; 0: no probe, no wait).
	OutageWait time.Duration
}

// ParseRequest decodes and validates a payload strictly: unknown fields, a
// missing or unknown action, a malformed group or target are errors.
func ParseRequest(raw []byte) (Request, error) {
	var req Request
	if err := strictjson.Decode(raw, &req); err != nil {
		return req, badRequest("payload is not one object of \"action\", \"group\", \"target\", \"reason\", \"request_id\": %s", oneLine(err))
	}
	switch req.Action {
	case ActionStatus, ActionPlan, ActionMove, ActionFailback, ActionResume, ActionDrill:
	case ActionHistory:
		if req.Limit < 0 || req.Limit > maxHistory {
			return req, badRequest("limit %d: from 1 to %d (0 or none means %d)", req.Limit, maxHistory, defaultHistory)
		}
	case ActionPause:
		if strings.TrimSpace(req.Reason) == "" {
			return req, badRequest(`pause needs a "reason" (it is shown in status and in every skipped event)`)
		}
		if req.Minutes < 0 || time.Duration(req.Minutes)*time.Minute > model.MaxPause {
			return req, badRequest("minutes %d: from 1 to %d (a pause expires by itself; 0 or none means %d)",
				req.Minutes, int(model.MaxPause.Minutes()), int(model.DefaultPause.Minutes()))
		}
	case "":
		return req, badRequest(`"action" is required: %s`, actions)
	default:
		return req, badRequest("unknown action %q: use %s", req.Action, actions)
	}
	if req.Minutes != 0 && req.Action != ActionPause {
		return req, badRequest("minutes applies to pause, not %s", req.Action)
	}
	if req.Limit != 0 && req.Action != ActionHistory {
		return req, badRequest("limit applies to history, not %s", req.Action)
	}
	if req.Group != "" && !model.ValidGroupName(req.Group) {
		return req, badRequest("group %q is not a valid tag value (1-256 characters of UTF-8)", req.Group)
	}
	if req.Target != "" {
		if !model.IsInstanceID(req.Target) {
			return req, badRequest("target %q is not an instance id (i-...)", req.Target)
		}
		if req.Action != ActionMove && req.Action != ActionPlan {
			return req, badRequest("target applies to move and plan, not %s", req.Action)
		}
	}
	if req.RequestID != "" && !model.ValidRequestID(req.RequestID) {
		return req, badRequest("request_id %q: %s", req.RequestID, model.RequestIDRule)
	}
	if len(req.Reason) > 200 {
		return req, badRequest("reason is longer than 200 characters")
	}
	return req, nil
}

// oneLine joins a multi-line error (every problem of a payload) with "; ".
func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

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
	t := engine.Trigger{Kind: engine.Move, Group: req.Group, Target: req.Target, Reason: req.Reason, RequestID: req.RequestID}
	if req.Action == ActionFailback {
		t.Kind = engine.Failback
	}
	reports, err := h.Engine.Run(ctx, t, req.Action == ActionPlan)
	if errors.Is(err, engine.ErrBadRequest) {
		return nil, badRequest("%v", err)
	}
	if len(reports) == 0 {
		return nil, fmt.Errorf("%s: %w", req.Action, err)
	}
	r := reports[0]
	if r.Outcome != engine.Repeated {
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
	if errors.Is(err, engine.ErrBadRequest) {
		return nil, badRequest("%v", err)
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
	if errors.Is(err, engine.ErrBadRequest) {
		return nil, badRequest("%v", err)
	}
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	limit := cmp.Or(req.Limit, defaultHistory)
	if len(moves) > limit {
		moves = moves[:limit]
	}
	return &Response{Action: ActionHistory, Holder: g.ENI.InstanceID, History: moves,
		Report: engine.Report{Group: g.Name, ENIID: g.ENI.ID, MAC: g.ENI.MAC, PrivateIP: g.ENI.PrivateIP, AZ: g.ENI.AZ, Outcome: "history"}}, nil
}

// drill is a planned failover exercise for a maintenance window: a planned
// move to the best standby, then back to the holder it left, each timed.
// It stops after the first move when that one did not succeed.
func (h *Manual) drill(ctx context.Context, req Request) (*Response, error) {
	reason := strings.TrimSpace("drill " + req.Reason)
	if req.RequestID != "" {
		// The journal keeps the last request id: a repeat of a finished
		// drill finds its "-back" and is answered, not run again.
		name, err := h.Engine.ResolveGroup(ctx, req.Group)
		if err == nil {
			var g model.Group
			if g, err = h.Engine.ReadGroup(ctx, name); err == nil && g.ENI.Tags[h.Engine.Tags().Request()] == req.RequestID+"-back" {
				return &Response{Action: ActionDrill, Holder: g.ENI.InstanceID,
					Report: engine.Report{Group: g.Name, ENIID: g.ENI.ID, MAC: g.ENI.MAC, PrivateIP: g.ENI.PrivateIP, AZ: g.ENI.AZ, Outcome: engine.Repeated,
						Reason: fmt.Sprintf("drill %s was already carried out; not repeated", req.RequestID)}}, nil
			}
		}
		if errors.Is(err, engine.ErrBadRequest) {
			return nil, badRequest("%v", err)
		}
	}
	there := engine.Trigger{Kind: engine.Move, Group: req.Group, Reason: reason, RequestID: req.RequestID}
	reports, err := h.Engine.Run(ctx, there, false)
	if errors.Is(err, engine.ErrBadRequest) {
		return nil, badRequest("%v", err)
	}
	if len(reports) == 0 {
		return nil, fmt.Errorf("drill: %w", err)
	}
	first := reports[0]
	h.record(ctx, first, "manual drill", false)
	resp := &Response{Action: ActionDrill, Report: *first, Drill: []DrillMove{drillMove(first)}}
	if err != nil || (first.Outcome != engine.Moved && first.Outcome != engine.Repeated) {
		if err != nil {
			resp.Error = err.Error()
		}
		return resp, nil
	}
	back := engine.Trigger{Kind: engine.Move, Group: first.Group, Target: first.HolderBefore, Reason: reason + " (back)"}
	if req.RequestID != "" {
		back.RequestID = req.RequestID + "-back"
	}
	reports, err = h.Engine.Run(ctx, back, false)
	if len(reports) == 0 {
		resp.Error = fmt.Sprintf("drill: moving back to %s: %v", first.HolderBefore, err)
		resp.Outcome = engine.Failed
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
func (h *Manual) awaitOutage(ctx context.Context, resp *Response, moves ...*engine.Report) {
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

func drillMove(r *engine.Report) DrillMove {
	d := DrillMove{From: r.HolderBefore, To: r.HolderAfter, Outcome: string(r.Outcome), DurationMS: r.DurationMS, Error: r.Error}
	away := false
	for _, s := range r.Steps {
		switch {
		case s.Name == "detach" || s.Name == "force-detach":
			away = true
		case s.Name == "activate" || s.Name == "history":
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

// operator is who invoked, as the invocation's client context says
// (custom.operator, which the eni-failover command line sets to the
// caller's IAM identity); Lambda itself does not pass the caller.
func operator(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		if who := lc.ClientContext.Custom["operator"]; who != "" {
			return clip.Text(who, 120)
		}
	}
	return ""
}

func fromReport(action string, r *engine.Report) *Response {
	return &Response{Action: action, Report: *r}
}

func (h *Manual) status(ctx context.Context, req Request) (*Response, error) {
	name, err := h.Engine.ResolveGroup(ctx, req.Group)
	if err == nil {
		var g model.Group
		if g, err = h.Engine.ReadGroup(ctx, name); err == nil {
			return h.statusOf(g), nil
		}
	}
	if errors.Is(err, engine.ErrBadRequest) {
		return nil, badRequest("%v", err)
	}
	return nil, fmt.Errorf("status: %w", err)
}

func (h *Manual) statusOf(g model.Group) *Response {
	eni := g.ENI
	resp := &Response{
		Action: ActionStatus,
		Report: engine.Report{Group: g.Name, ENIID: eni.ID, MAC: eni.MAC, PrivateIP: eni.PrivateIP, AZ: eni.AZ,
			Outcome: "status", StartedAt: h.Engine.Now().UTC()},
		Holder: eni.InstanceID, AttachmentState: eni.AttachmentStatus, Journal: map[string]string{},
	}
	if eni.Attached() {
		dot := eni.DeleteOnTermination
		resp.DeleteOnTermination = &dot
	} else {
		resp.AttachmentState = "available"
	}
	prefix := h.Engine.Tags().Prefix + ":"
	for k, v := range eni.Tags {
		if strings.HasPrefix(k, prefix) {
			resp.Journal[k] = v
		}
	}
	pol := h.Engine.Policy()
	home, _ := engine.Home(g, pol)
	resp.Home = home.InstanceID
	if moves := h.Engine.Tags().History(eni.Tags); len(moves) > 0 {
		resp.History = moves[:min(3, len(moves))]
	}
	if p, ok := model.ParsePause(eni.Tags[h.Engine.Tags().Paused()]); ok && p.Active(pol.Now) {
		resp.Pause = &PauseStatus{Until: p.Until, By: p.By, Reason: p.Reason}
	}
	for _, m := range g.Members {
		ms := MemberStatus{InstanceID: m.InstanceID, Name: m.Name, State: m.State, Health: m.Health, AZ: m.AZ,
			Holder: m.InstanceID == eni.InstanceID, Home: m.InstanceID == home.InstanceID}
		if m.HasPriority {
			p := m.Priority
			ms.Priority = &p
		}
		switch {
		case !ms.Holder:
			ms.WhyNot = engine.Unusable(m, eni, pol)
			ms.CanTakeENI = ms.WhyNot == ""
		case !pol.Allows(m.InstanceID):
			ms.WhyNot = engine.NotAllowed
		}
		resp.Members = append(resp.Members, ms)
	}
	return resp
}
