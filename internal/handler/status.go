package handler

import (
	"context"
	"fmt"

	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/moveapi"
	"github.com/eni-failover/eni-failover/internal/report"
)

func (h *Move) status(ctx context.Context, req moveapi.Request) (*moveapi.Response, error) {
	st, err := h.Engine.Status(ctx, req.Group)
	if bad := badRequestFrom(err); bad != nil {
		return nil, bad
	}
	if err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	return h.statusResponse(st), nil
}

// statusResponse renders the engine's view of a group for the operator.
func (h *Move) statusResponse(st engine.Status) *moveapi.Response {
	eni := st.Group.ENI
	resp := &moveapi.Response{
		Action: moveapi.ActionStatus,
		Report: report.Report{Group: st.Group.Name, ENIID: eni.ID, MAC: eni.MAC, PrivateIP: eni.PrivateIP, AZ: eni.AZ,
			Outcome: moveapi.OutcomeStatus, StartedAt: h.Engine.Now().UTC()},
		Holder: eni.InstanceID, AttachmentState: string(eni.AttachmentStatus), Journal: st.Journal, Home: st.Home,
	}
	if eni.Attached() {
		dot := eni.DeleteOnTermination
		resp.DeleteOnTermination = &dot
	} else {
		resp.AttachmentState = "available"
	}
	if len(st.History) > 0 {
		resp.History = st.History[:min(3, len(st.History))]
	}
	if p := st.Pause; p != nil {
		resp.Pause = &moveapi.PauseStatus{Until: p.Until, By: p.By, Reason: p.Reason}
	}
	for _, m := range st.Members {
		ms := moveapi.MemberStatus{InstanceID: m.InstanceID, Name: m.Name, State: m.State, Health: m.Health, AZ: m.AZ,
			Holder: m.Holder, Home: m.Home, WhyNot: m.WhyNot, CanTakeENI: !m.Holder && m.WhyNot == ""}
		if m.HasPriority {
			p := m.Priority
			ms.Priority = &p
		}
		resp.Members = append(resp.Members, ms)
	}
	return resp
}
