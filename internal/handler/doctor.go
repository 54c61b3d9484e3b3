package handler

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/eni-failover/eni-failover/internal/doctor"
	"github.com/eni-failover/eni-failover/internal/moveapi"
	"github.com/eni-failover/eni-failover/internal/report"
)

// doctor runs every check of the group (of every group when none is
// named) and answers them; the outcome is the worst verdict.
func (h *Move) doctor(ctx context.Context, req moveapi.Request) (*moveapi.Response, error) {
	if h.Checkup == nil {
		return nil, fmt.Errorf("doctor: the move function was built without it")
	}
	checks, err := h.Checkup.Run(ctx, req.Group)
	if bad := badRequestFrom(err); bad != nil {
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	worst := moveapi.Worst(checks)
	group := cmp.Or(req.Group, onlyGroup(checks))
	h.logger().InfoContext(ctx, "doctor finished", "group", group, "outcome", string(worst), "checks", len(checks), "failures", len(failures(checks)))
	return &moveapi.Response{Action: moveapi.ActionDoctor, Checks: checks, Report: report.Report{Group: group, Outcome: report.Outcome(worst)}}, nil
}

// onlyGroup is the group the checks are about when there is one ("" when
// they cover several).
func onlyGroup(checks []moveapi.Check) string {
	group := ""
	for _, c := range checks {
		switch {
		case c.Group == "" || c.Group == group:
		case group == "":
			group = c.Group
		default:
			return ""
		}
	}
	return group
}

// preflight runs the doctor before a drill: a drill that the doctor says
// would fail is refused before it moves anything (nil: go ahead).
func (h *Move) preflight(ctx context.Context, req moveapi.Request) *moveapi.Response {
	if h.Checkup == nil {
		return nil
	}
	group, err := h.Engine.ResolveGroup(ctx, req.Group)
	if err != nil {
		// The drill's own read reports an unknown group or a read error.
		return nil
	}
	checks, err := h.Checkup.Run(ctx, group)
	if err != nil {
		return nil
	}
	bad := failures(checks)
	if len(bad) == 0 {
		return nil
	}
	var what []string
	for _, c := range bad {
		what = append(what, c.Check+": "+c.Detail)
	}
	return &moveapi.Response{Action: moveapi.ActionDrill, Checks: checks, Report: report.Report{Group: group, Outcome: report.Failed,
		Error: fmt.Sprintf("drill refused, nothing moved: the doctor found %d failure(s): %s", len(bad), strings.Join(what, "; "))}}
}

func failures(checks []moveapi.Check) []moveapi.Check {
	var out []moveapi.Check
	for _, c := range checks {
		if c.Result == moveapi.Fail {
			out = append(out, c)
		}
	}
	return out
}

// roleChecks answers the move function's doctor: this function's role's
// EC2 DryRuns of the group. The request is the move function's payload
// ({"action": "doctor", "group": "G"}), parsed as strictly.
func (h *Failover) roleChecks(ctx context.Context, raw json.RawMessage) (*FailoverResult, error) {
	req, err := moveapi.ParseRequest(raw)
	if err == nil && req.Action != moveapi.ActionDoctor {
		err = moveapi.BadRequest("the failover function answers the doctor action only, not %s", req.Action)
	}
	if err == nil && h.Doctor == nil {
		err = fmt.Errorf("doctor: the failover function was built without it")
	}
	if err != nil {
		h.logger().WarnContext(ctx, "doctor request refused", "error", err.Error())
		return nil, err
	}
	statuses, err := h.Engine.Statuses(ctx, req.Group)
	if err != nil {
		return nil, fmt.Errorf("doctor: reading group %s: %w", req.Group, err)
	}
	rc := &moveapi.RoleChecks{Role: doctor.FailoverRole, Checks: []moveapi.Check{}}
	pacer := &doctor.Pacer{Clock: h.Engine.Clock()}
	for _, st := range statuses {
		rc.Checks = append(rc.Checks, doctor.DryRuns(ctx, pacer, h.Doctor.EC2, st, h.Engine.Policy(), doctor.FailoverRole)...)
	}
	return &FailoverResult{Doctor: rc, Reports: []*report.Report{}}, nil
}

// isDirectRequest reports whether a payload is an operator-style request
// ({"action": ...}) rather than an EventBridge event.
func isDirectRequest(raw json.RawMessage) bool {
	var probe struct {
		Action     *string `json:"action"`
		DetailType *string `json:"detail-type"`
	}
	return json.Unmarshal(raw, &probe) == nil && probe.Action != nil && probe.DetailType == nil
}
