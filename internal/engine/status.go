package engine

import (
	"context"
	"strings"

	"github.com/eni-failover/eni-failover/internal/model"
)

// Status is what the engine sees of one group now: the observed state,
// read through the same policy a decision uses, so that "could it take the
// ENI?" is answered by the code that decides.
type Status struct {
	Group model.Group
	// Home is the member a failback goes to ("" when none qualifies).
	Home string
	// Journal is the ENI's journal tags (the deployment's prefix only).
	Journal map[string]string
	// Pause is the maintenance mode in force, if any.
	Pause *model.Pause
	// History is the group's moves, newest first.
	History []model.Move
	// LastRequest is the request id the journal says was carried out
	// last (a repeat of it is answered, not carried out).
	LastRequest string
	// Members are the group's members with what a move makes of each.
	Members []MemberStatus
}

// MemberStatus is a member, and whether a move could choose it now.
type MemberStatus struct {
	model.Member
	Holder, Home bool
	// WhyNot says why a move could not choose it ("" when it could);
	// for the holder, only why it is not the deployment's to hold.
	WhyNot string
}

// Status reads one group (the only group when group is "") and says what
// the engine makes of it.
func (e *Engine) Status(ctx context.Context, group string) (Status, error) {
	name, err := e.ResolveGroup(ctx, group)
	if err != nil {
		return Status{}, err
	}
	g, err := e.ReadGroup(ctx, name)
	if err != nil {
		return Status{}, err
	}
	return e.statusOf(g), nil
}

func (e *Engine) statusOf(g model.Group) Status {
	raw := g.ENI.Tags
	pol := e.Policy()
	// What a run would obey: forged values left out (model.Tags.Distrust);
	// Journal still shows the tags as they are.
	g.ENI.Tags, _ = e.tags.Distrust(g.ENI.Tags, pol.Now)
	st := Status{Group: g, Journal: map[string]string{}, History: e.tags.History(g.ENI.Tags), LastRequest: g.ENI.Tags[e.tags.Request()]}
	prefix := e.tags.Prefix + ":"
	for k, v := range raw {
		if strings.HasPrefix(k, prefix) {
			st.Journal[k] = v
		}
	}
	if home, ok := Home(g, pol); ok {
		st.Home = home.InstanceID
	}
	if p, ok := model.ParsePause(g.ENI.Tags[e.tags.Paused()]); ok && p.Active(pol.Now) {
		st.Pause = &p
	}
	for _, m := range g.Members {
		ms := MemberStatus{Member: m, Holder: m.InstanceID == g.ENI.InstanceID, Home: m.InstanceID == st.Home}
		switch {
		case !ms.Holder:
			ms.WhyNot = Unusable(m, g.ENI, pol)
		case !pol.Allows(m.InstanceID):
			ms.WhyNot = NotAllowed
		}
		st.Members = append(st.Members, ms)
	}
	return st
}

// Statuses reads the named group, or every group when group is "" (the
// groups that read well, and the error of those that did not).
func (e *Engine) Statuses(ctx context.Context, group string) ([]Status, error) {
	if group != "" {
		st, err := e.Status(ctx, group)
		if err != nil {
			return nil, err
		}
		return []Status{st}, nil
	}
	groups, err := e.readAll(ctx)
	out := make([]Status, len(groups))
	for i, g := range groups {
		out[i] = e.statusOf(g)
	}
	return out, err
}
