package engine

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/report"
)

// Policy is what a decision needs besides the observed state.
type Policy struct {
	Now               time.Time
	Tags              model.Tags
	DeviceIndex       int32
	AllowStartStopped bool
	Cooldown          time.Duration
	// Allowed is the pinned membership; nil allows every tagged member.
	Allowed map[string]bool
	// HealthLead: a holder named by a scheduled AWS Health change leaves
	// this long before it starts.
	HealthLead time.Duration
	// MaxAutomaticMoves caps the automatic moves off a healthy holder per
	// group and hour (negative: no cap; see Hold).
	MaxAutomaticMoves int
}

// Allows reports whether the member may ever hold the ENI.
func (p Policy) Allows(id string) bool { return p.Allowed == nil || p.Allowed[id] }

// NotAllowed is Unusable's answer for a tagged instance outside the pinned
// membership.
const NotAllowed = "not allowed: tagged with the group but not one of the deployment's instanceIds"

// Home is the group's home: its preferred member that is allowed.
func Home(g model.Group, p Policy) (model.Member, bool) {
	for _, m := range g.Members {
		if p.Allows(m.InstanceID) {
			return m, true
		}
	}
	return model.Member{}, false
}

// Decide turns the observed state of a group and a trigger into a plan. It
// does no I/O. The observed state wins over the event: an event about an
// instance that no longer holds the ENI changes nothing, and a holder found
// down is failed over whatever the event said.
func Decide(g model.Group, t Trigger, p Policy) (report.Plan, error) {
	plan := report.Plan{Group: g.Name, Action: report.ActNone, Holder: g.ENI.InstanceID, AttachmentID: g.ENI.AttachmentID}
	if g.ENI.Attached() && g.ENI.DeviceIndex == 0 {
		// EC2 never detaches a primary interface: any move would be refused
		// half-way, so none starts.
		plan.Reason = fmt.Sprintf("%s is the primary interface of %s", g.ENI.ID, g.ENI.InstanceID)
		return plan, &PrimaryInterfaceError{Group: g.Name, ENI: g.ENI.ID, InstanceID: g.ENI.InstanceID}
	}
	if t.Kind.Manual() {
		return decideManual(g, t, p, plan)
	}
	eni := g.ENI
	if !eni.Attached() {
		return decideAvailable(g, p, plan)
	}
	if t.Kind == report.Impaired && t.InstanceID == "" {
		t, plan.Reason = aboutHolder(eni, t, p)
	}
	holder, member := g.Member(eni.InstanceID)
	if !member {
		plan.Reason = fmt.Sprintf("%s is attached to %s, which is not in group %q; left as it is", eni.ID, eni.InstanceID, g.Name)
		return plan, nil
	}
	if !p.Allows(holder.InstanceID) {
		// Someone attached it there by hand: not ours to move on an event.
		plan.Reason = fmt.Sprintf("%s is attached to %s, which is %s; left as it is", eni.ID, eni.InstanceID, NotAllowed)
		return plan, nil
	}
	failing, why := holderFailing(holder, eni, t, p)
	if !failing && t.Scheduled != nil && t.InstanceID == holder.InstanceID {
		plan.Reason = fmt.Sprintf("holder %s is named by an AWS Health change starting %s: recorded; the reconcile moves %s from %s on",
			holder.InstanceID, t.Scheduled.Start.Format(time.RFC3339), eni.ID, t.Scheduled.Start.Add(-p.HealthLead).Format(time.RFC3339))
	}
	if !failing {
		if eni.AttachmentStatus == model.Attached && (eni.DeleteOnTermination || eni.Tags[p.Tags.Holder()] != holder.InstanceID) {
			plan.Action = report.ActRepair
			plan.Reason = strings.TrimSuffix(repairReason(eni, holder, p)+"; "+plan.Reason, "; ")
			return plan, nil
		}
		if plan.Reason == "" {
			plan.Reason = fmt.Sprintf("holder %s is %s and healthy", holder.InstanceID, holder.State)
		}
		if t.InstanceID != "" && t.InstanceID != holder.InstanceID {
			plan.Reason = fmt.Sprintf("%s does not hold %s (%s does); nothing to do", t.InstanceID, eni.ID, holder.InstanceID)
		}
		if eni.AttachmentStatus == model.Attaching {
			plan.Action = report.ActRepair
			plan.Reason = fmt.Sprintf("attach to %s in progress", holder.InstanceID)
		}
		return plan, nil
	}
	plan.FailedHolder = holder.InstanceID
	plan.Planned = (t.Kind == report.Evacuate && t.InstanceID == holder.InstanceID || due(holder, eni, p)) && holder.Up() && holder.Health != model.HealthImpaired
	plan.Force = holder.State == model.StateStopped || holder.Health == model.HealthImpaired
	moved, err := withCandidates(g, p, plan, report.ActMove, holder.InstanceID, why, false)
	if err != nil && eni.DeleteOnTermination && eni.AttachmentStatus == model.Attached {
		// Nowhere to go: at least make sure that terminating the holder
		// releases the ENI instead of deleting it.
		moved.Action = report.ActRepair
	}
	return moved, err
}

// holderFailing decides whether the observed holder must be left.
func holderFailing(h model.Member, eni model.Interface, t Trigger, p Policy) (bool, string) {
	about := t.InstanceID == h.InstanceID
	if n, due := dueNotice(h, eni, p); due {
		return true, fmt.Sprintf("holder %s is named by an AWS Health change starting %s", h.InstanceID, n.Start.Format(time.RFC3339))
	}
	switch {
	case eni.AttachmentStatus == model.Detaching:
		return true, fmt.Sprintf("detach from %s in progress", h.InstanceID)
	case h.Down():
		return true, fmt.Sprintf("holder %s is %s", h.InstanceID, h.State)
	case about && t.Kind == report.Impaired && t.NeedsEC2Impaired && h.Health != model.HealthImpaired:
		return false, ""
	case about && t.Kind == report.Impaired && t.Reason != "":
		// The alarm, the probe's finding or the deep check says what failed.
		return true, fmt.Sprintf("holder %s: %s", h.InstanceID, t.Reason)
	case about && t.Kind == report.Impaired:
		return true, fmt.Sprintf("alarm on holder %s", h.InstanceID)
	case about && t.Kind == report.Evacuate && t.Scheduled == nil:
		return true, fmt.Sprintf("holder %s is being interrupted or retired", h.InstanceID)
	case h.State == model.StateRunning && h.Health == model.HealthImpaired:
		return true, fmt.Sprintf("holder %s fails its status checks", h.InstanceID)
	}
	return false, ""
}

// dueNotice returns the pending AWS Health change in the journal that
// names the holder and starts within the lead time, when EC2 corroborates
// it: anyone allowed to tag the ENI can write the journal, and only AWS
// writes EC2's scheduled events (uncorroborated reports it).
func dueNotice(h model.Member, eni model.Interface, p Policy) (model.HealthNotice, bool) {
	n, ok := model.PendingNotice(eni.Tags[p.Tags.Scheduled()], h.InstanceID, p.Now)
	return n, ok && h.EC2Scheduled && !p.Now.Before(n.Start.Add(-p.HealthLead))
}

// uncorroborated says why a due notice of the journal naming the holder is
// not acted on: EC2 lists no scheduled event for it ("" when there is no
// such notice).
func uncorroborated(h model.Member, eni model.Interface, p Policy) string {
	n, ok := model.PendingNotice(eni.Tags[p.Tags.Scheduled()], h.InstanceID, p.Now)
	if !ok || h.EC2Scheduled || p.Now.Before(n.Start.Add(-p.HealthLead)) {
		return ""
	}
	return fmt.Sprintf("the journal's AWS Health change for holder %s (starting %s) is not acted on: EC2 lists no scheduled event for the instance "+
		"(anyone allowed to tag the ENI can write the journal; the change, if real, moves the ENI when the instance stops)",
		h.InstanceID, n.Start.Format(time.RFC3339))
}

func due(h model.Member, eni model.Interface, p Policy) bool {
	_, ok := dueNotice(h, eni, p)
	return ok
}

func repairReason(eni model.Interface, h model.Member, p Policy) string {
	if eni.DeleteOnTermination {
		return fmt.Sprintf("DeleteOnTermination is true on %s: terminating %s would delete the licensed MAC", eni.AttachmentID, h.InstanceID)
	}
	return fmt.Sprintf("journal tag %s does not name holder %s", p.Tags.Holder(), h.InstanceID)
}

// decideAvailable attaches an ENI no instance holds. The journal names
// who held it last: when that member went down (a terminated holder
// releases the ENI by itself), it counts as a failure for anti-flap.
func decideAvailable(g model.Group, p Policy, plan report.Plan) (report.Plan, error) {
	eni := g.ENI
	reason := fmt.Sprintf("%s is available (no holder)", eni.ID)
	if former := eni.Tags[p.Tags.Holder()]; former != "" {
		plan.FormerHolder = former
		if m, ok := g.Member(former); !ok || m.Down() {
			plan.FailedHolder = former
			reason = fmt.Sprintf("%s is available; former holder %s is gone", eni.ID, former)
			if ok {
				reason = fmt.Sprintf("%s is available; former holder %s is %s", eni.ID, former, m.State)
			}
		}
	}
	return withCandidates(g, p, plan, report.ActAttach, "", reason, false)
}

// aboutHolder turns a probe alarm, which names the group and not the
// instance it probed, into a trigger about the holder, unless the holder
// got the ENI after the failing probes began (EC2's attach time; the
// journal's move time when that is later): then the probes were about an
// earlier holder, or about no holder at all, and only a reconcile remains,
// with the reason why.
func aboutHolder(eni model.Interface, t Trigger, p Policy) (Trigger, string) {
	got, _ := p.Tags.MovedAtTime(eni.Tags)
	if eni.AttachTime.After(got) {
		got = eni.AttachTime
	}
	if !t.Since.IsZero() && got.After(t.Since) {
		return Trigger{Kind: report.Reconcile}, fmt.Sprintf("probe alarm covers %s onwards, but %s got %s at %s: the probed holder no longer holds it",
			t.Since.UTC().Format(time.RFC3339), eni.InstanceID, eni.ID, got.UTC().Format(time.RFC3339))
	}
	t.InstanceID = eni.InstanceID
	return t, ""
}

func decideManual(g model.Group, t Trigger, p Policy, plan report.Plan) (report.Plan, error) {
	eni := g.ENI
	target := t.Target
	if t.Kind == report.Failback {
		home, ok := Home(g, p)
		if !ok {
			return plan, fmt.Errorf("group %q has no members to fail back to: %w", g.Name, ErrBadRequest)
		}
		target = home.InstanceID
	}
	if target != "" {
		if _, ok := g.Member(target); !ok {
			return plan, fmt.Errorf("target %s is not a member of group %q (tag it %s=%s): %w", target, g.Name, p.Tags.Group(), g.Name, ErrBadRequest)
		}
		if !p.Allows(target) {
			return plan, fmt.Errorf("target %s is %s: %w", target, NotAllowed, ErrBadRequest)
		}
		if eni.InstanceID == target && eni.AttachmentStatus != model.Detaching {
			plan.Reason = fmt.Sprintf("%s already holds %s", target, eni.ID)
			if t.Kind == report.Failback {
				plan.Reason = fmt.Sprintf("already home: %s holds %s", target, eni.ID)
			}
			if eni.DeleteOnTermination || eni.AttachmentStatus == model.Attaching {
				plan.Action = report.ActRepair
			}
			return plan, nil
		}
	}
	reason := fmt.Sprintf("%s%s", model.ManualReason, t.Kind)
	if t.Reason != "" {
		reason += ": " + t.Reason
	}
	act := report.ActAttach
	if eni.Attached() {
		act = report.ActMove
		plan.Planned = true
		if h, ok := g.Member(eni.InstanceID); ok {
			plan.Force = h.State == model.StateStopped || h.Health == model.HealthImpaired
			plan.Planned = h.Up() && h.Health != model.HealthImpaired
		}
	}
	plan, err := withCandidates(g, p, plan, act, eni.InstanceID, reason, true)
	if err != nil || target == "" {
		return plan, err
	}
	for _, c := range plan.Candidates {
		if c.InstanceID == target {
			plan.Candidates = []report.Candidate{c}
			return plan, nil
		}
	}
	return report.Plan{Group: g.Name, Action: report.ActNone, Holder: plan.Holder, AttachmentID: plan.AttachmentID, Skipped: plan.Skipped},
		&NoTargetError{Group: g.Name, AZ: eni.AZ, Reasons: reasonsFor(target, plan.Skipped)}
}

func reasonsFor(id string, skipped []string) []string {
	var out []string
	for _, s := range skipped {
		if strings.HasPrefix(s, id+":") {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		out = []string{id + ": not usable"}
	}
	return out
}

// withCandidates ranks the members that can take the ENI, excluding the
// instance it leaves; with none it returns a NoTargetError, so the ENI is
// never detached without somewhere to go.
func withCandidates(g model.Group, p Policy, plan report.Plan, act report.Action, leaving, reason string, manual bool) (report.Plan, error) {
	failed := model.ParseFailed(g.ENI.Tags[p.Tags.Failed()])
	type ranked struct {
		c    report.Candidate
		okay bool
	}
	var rs []ranked
	for _, m := range g.Members {
		if m.InstanceID == leaving {
			continue
		}
		if why := Unusable(m, g.ENI, p); why != "" {
			plan.Skipped = append(plan.Skipped, m.InstanceID+": "+why)
			continue
		}
		c := report.Candidate{InstanceID: m.InstanceID, State: m.State, Health: m.Health,
			Start: m.State == model.StateStopped, Booting: m.State == model.StatePending}
		if m.HasPriority {
			prio := m.Priority
			c.Priority = &prio
		}
		if at, ok := failed[m.InstanceID]; ok && !manual && p.Now.Sub(at) < p.Cooldown {
			c.Cooldown = true
		}
		if n, ok := model.PendingNotice(g.ENI.Tags[p.Tags.Scheduled()], m.InstanceID, p.Now); ok {
			// A member that AWS Health is about to retire or maintain: a
			// planned move there would only need another one. When the
			// holder is failing it stays a last resort.
			if plan.Planned && !manual {
				plan.Skipped = append(plan.Skipped, fmt.Sprintf("%s: named by an AWS Health change starting %s", m.InstanceID, n.Start.Format(time.RFC3339)))
				continue
			}
			c.Scheduled = true
		}
		rs = append(rs, ranked{c: c, okay: m.Health == model.HealthOK})
	}
	// Members arrive in priority order; the stable sort keeps it within
	// each class: out of cooldown first, running before booting or
	// stopped, status checks passed before not yet known.
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := rs[i], rs[j]
		if a.c.Scheduled != b.c.Scheduled {
			return !a.c.Scheduled
		}
		if a.c.Cooldown != b.c.Cooldown {
			return !a.c.Cooldown
		}
		if a.c.NeedsBoot() != b.c.NeedsBoot() {
			return !a.c.NeedsBoot()
		}
		return a.okay && !b.okay
	})
	plan.Reason = reason
	for _, r := range rs {
		plan.Candidates = append(plan.Candidates, r.c)
	}
	if len(plan.Candidates) == 0 {
		skipped := plan.Skipped
		if len(g.Members) == 0 || (len(skipped) == 0 && leaving != "") {
			skipped = append(skipped, "no other member is tagged "+p.Tags.Group()+"="+g.Name)
		}
		return report.Plan{Group: g.Name, Action: report.ActNone, Reason: reason, Holder: plan.Holder, AttachmentID: plan.AttachmentID, Skipped: skipped},
			&NoTargetError{Group: g.Name, AZ: g.ENI.AZ, Reasons: skipped}
	}
	plan.Action = act
	return plan, nil
}

// Unusable says why a member cannot take the ENI, or "" when it can.
func Unusable(m model.Member, eni model.Interface, p Policy) string {
	switch {
	case !p.Allows(m.InstanceID):
		return NotAllowed
	case m.AZ != eni.AZ:
		return fmt.Sprintf("in %s, the ENI is in %s (an ENI cannot leave its AZ)", m.AZ, eni.AZ)
	case m.VPCID != "" && eni.VPCID != "" && m.VPCID != eni.VPCID:
		return fmt.Sprintf("in %s, the ENI is in %s", m.VPCID, eni.VPCID)
	case !m.IndexFree(p.DeviceIndex):
		return fmt.Sprintf("device index %d in use", p.DeviceIndex)
	case m.State == model.StateStopped && !p.AllowStartStopped:
		return "stopped (starting standbys is off)"
	case m.State == model.StateStopped, m.State == model.StatePending:
		return ""
	case m.State != model.StateRunning:
		return m.State
	case m.Health == model.HealthImpaired:
		return "status checks impaired"
	}
	return ""
}
