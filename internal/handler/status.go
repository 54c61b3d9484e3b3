package handler

import (
	"context"
	"fmt"
	"strings"

	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/moveapi"
	"github.com/eni-failover/eni-failover/internal/report"
)

func (h *Move) status(ctx context.Context, req moveapi.Request) (*moveapi.Response, error) {
	name, err := h.Engine.ResolveGroup(ctx, req.Group)
	if err == nil {
		var g model.Group
		if g, err = h.Engine.ReadGroup(ctx, name); err == nil {
			return h.statusOf(g), nil
		}
	}
	if bad := badRequestFrom(err); bad != nil {
		return nil, bad
	}
	return nil, fmt.Errorf("status: %w", err)
}

func (h *Move) statusOf(g model.Group) *moveapi.Response {
	eni := g.ENI
	resp := &moveapi.Response{
		Action: moveapi.ActionStatus,
		Report: report.Report{Group: g.Name, ENIID: eni.ID, MAC: eni.MAC, PrivateIP: eni.PrivateIP, AZ: eni.AZ,
			Outcome: "status", StartedAt: h.Engine.Now().UTC()},
		Holder: eni.InstanceID, AttachmentState: string(eni.AttachmentStatus), Journal: map[string]string{},
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
		resp.Pause = &moveapi.PauseStatus{Until: p.Until, By: p.By, Reason: p.Reason}
	}
	for _, m := range g.Members {
		ms := moveapi.MemberStatus{InstanceID: m.InstanceID, Name: m.Name, State: m.State, Health: m.Health, AZ: m.AZ,
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
