package handler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/eni-failover/eni-failover/internal/clip"
	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/strictjson"
)

// actions is the list error messages give.
const actions = "status, plan, move, failback, pause, resume, history or drill"

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
// badRequestFrom is the caller's fault the engine found (ErrBadRequest:
// an unknown group, a target outside it), as the response's error; nil
// for any other error.
func badRequestFrom(err error) error {
	if errors.Is(err, engine.ErrBadRequest) {
		return badRequest("%v", err)
	}
	return nil
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

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

// History limits.
const (
	defaultHistory = 10
	maxHistory     = 50
)
