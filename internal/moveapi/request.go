package moveapi

import (
	"fmt"
	"strings"
	"time"

	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/strictjson"
)

// Request is the move function's payload.
type Request struct {
	Action ActionName `json:"action"`
	Group  string     `json:"group,omitempty"`
	Target string     `json:"target,omitempty"`
	Reason string     `json:"reason,omitempty"`
	// Minutes a pause lasts (default 240, at most 10080: 7 days).
	Minutes int `json:"minutes,omitempty"`
	// Limit of history entries (default 10, at most 50).
	Limit int `json:"limit,omitempty"`
	// RequestID makes a mutating action safe to send twice: a repeat of
	// a request already carried out answers from the journal instead of
	// acting again.
	RequestID string `json:"request_id,omitempty"`
}

// Limits of a request.
const (
	DefaultHistory = 10
	MaxHistory     = 50
	MaxReason      = 200 // characters
)

// BadRequestError is returned for a payload that cannot be served; nothing
// was changed. Lambda reports it with errorType "BadRequestError".
type BadRequestError struct{ Msg string }

func (e *BadRequestError) Error() string { return e.Msg }

// BadRequest is a BadRequestError with a formatted message.
func BadRequest(format string, args ...any) error {
	return &BadRequestError{Msg: fmt.Sprintf(format, args...)}
}

// ParseRequest decodes and validates a payload strictly: unknown fields, a
// missing or unknown action, a field the action does not take, a
// malformed group or target are errors.
func ParseRequest(raw []byte) (Request, error) {
	var req Request
	if err := strictjson.Decode(raw, &req); err != nil {
		return req, BadRequest("payload is not one object of \"action\", \"group\", \"target\", \"reason\", \"minutes\", \"limit\", \"request_id\": %s", oneLine(err))
	}
	if req.Action == "" {
		return req, BadRequest(`"action" is required: %s`, Names())
	}
	a, ok := Lookup(req.Action)
	if !ok {
		return req, BadRequest("unknown action %q: use %s", req.Action, Names())
	}
	given := map[Field]bool{FieldTarget: req.Target != "", FieldReason: req.Reason != "", FieldMinutes: req.Minutes != 0, FieldLimit: req.Limit != 0}
	for _, f := range []Field{FieldTarget, FieldReason, FieldMinutes, FieldLimit} {
		if given[f] && !a.Takes(f) {
			return req, BadRequest("%s applies to %s, not %s", f, Taking(f), a.Name)
		}
	}
	for _, f := range a.Requires {
		if f == FieldReason && strings.TrimSpace(req.Reason) == "" {
			return req, BadRequest(`%s needs a "reason" (it is shown in status and in every skipped event)`, a.Name)
		}
	}
	return req, req.check()
}

// check validates the values of the fields given.
func (req Request) check() error {
	switch {
	case req.Limit < 0 || req.Limit > MaxHistory:
		return BadRequest("limit %d: from 1 to %d (0 or none means %d)", req.Limit, MaxHistory, DefaultHistory)
	case req.Minutes < 0 || time.Duration(req.Minutes)*time.Minute > model.MaxPause:
		return BadRequest("minutes %d: from 1 to %d (a pause expires by itself; 0 or none means %d)",
			req.Minutes, int(model.MaxPause.Minutes()), int(model.DefaultPause.Minutes()))
	case req.Group != "" && !model.ValidGroupName(req.Group):
		return BadRequest("group %q is not a valid tag value (1-256 characters of UTF-8)", req.Group)
	case req.Target != "" && !model.IsInstanceID(req.Target):
		return BadRequest("target %q is not an instance id (i-...)", req.Target)
	case req.RequestID != "" && !model.ValidRequestID(req.RequestID):
		return BadRequest("request_id %q: %s", req.RequestID, model.RequestIDRule)
	case len(req.Reason) > MaxReason:
		return BadRequest("reason is longer than %d characters", MaxReason)
	}
	return nil
}

// oneLine joins a multi-line error (every problem of a payload) with "; ".
func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }
