package engine

import (
	"cmp"
	"errors"
	"fmt"
	"time"

	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/report"
)

// Verdict says whether a plan is held back before it runs, and why. With
// Decide it is the one answer to "why did this group not move?": Decide
// says what the observed state calls for, Hold what stops it.
type Verdict struct {
	// Outcome is the run's outcome when held back ("": go ahead).
	Outcome report.Outcome
	Reason  string
	// HolderBefore and HolderAfter, for a repeat: the move the request
	// made, from the journal.
	HolderBefore, HolderAfter string
	// Repair: mend DeleteOnTermination and the journal's holder all the
	// same (a pause or the cap holds back moves, never the repairs that
	// keep the ENI safe).
	Repair bool
}

// Held reports whether the plan must not run.
func (v Verdict) Held() bool { return v.Outcome != "" }

// fleetsTurn is how long after the first failed check a probe finding
// about a holder EC2 shows down leaves the move to the fleet function: a
// finding sent again (2 minutes on) moves it.
const fleetsTurn = time.Minute

// underWayFor is how long after its journal a delivery of a finding may
// still be moving the ENI: a failover run's time, with margin.
const underWayFor = 2 * time.Minute

// journaledWithin reports whether the journal's moved-at is within d of now.
func journaledWithin(j map[string]string, p Policy, d time.Duration) bool {
	at, ok := p.Tags.MovedAtTime(j)
	return ok && p.Now.Sub(at) <= d
}

// Hold decides, without I/O, whether the plan Decide made (decideErr its
// error) is held back: a request already carried out, a fresh probe
// finding about a holder EC2 shows down (the fleet function's to move), a
// move another delivery of the same finding has under way, a pause, or
// the cap on automatic moves. A dry run (a plan, or a notify-only event)
// is held back by pauses and the cap alone, so that it says what would
// happen.
func Hold(g model.Group, t Trigger, plan report.Plan, decideErr error, p Policy, dryRun bool) Verdict {
	eni, j := g.ENI, g.ENI.Tags
	automatic := !t.Kind.Manual()
	inTransit := eni.AttachmentStatus == model.Attaching || eni.AttachmentStatus == model.Detaching
	if id := t.RequestID; id != "" && !dryRun && j[p.Tags.Request()] == id &&
		!(automatic && (plan.Action == report.ActAttach || inTransit && !journaledWithin(j, p, underWayFor))) {
		// A re-sent invocation (the CLI's read timeout), or another
		// delivery of the same finding, of a move that already happened
		// or is under way: acting again would move the ENI once more. When
		// no operator waits for the answer, an ENI found on no instance is
		// attached all the same (that is no second move, and nobody else
		// would), and a move whose run has had its time is finished: left
		// alone, the ENI would stay on no instance until the next
		// reconcile (the storms found both).
		v := Verdict{Outcome: report.Repeated, HolderBefore: j[p.Tags.PreviousHolder()], HolderAfter: j[p.Tags.Holder()],
			Reason: fmt.Sprintf("request %s was already carried out (moved at %s: %s); not repeated", id, j[p.Tags.MovedAt()], j[p.Tags.Reason()])}
		if eni.InstanceID != v.HolderAfter || eni.AttachmentStatus != model.Attached {
			v.Reason += fmt.Sprintf("; it may still be running: the ENI is %s on %q", cmp.Or(eni.AttachmentStatus, "available"), eni.InstanceID)
		}
		return v
	}
	if h, ok := g.Member(eni.InstanceID); ok && t.RequestID != "" && automatic && !dryRun && h.Down() &&
		eni.AttachmentStatus == model.Attached && t.At.Sub(t.Since) < fleetsTurn {
		// The probe saw the license go because EC2 stops the holder: the
		// fleet function moves that group (its state change, its sweep),
		// perhaps behind other groups. Two processes moving it would race
		// to attach and double EC2's calls; if it is still here when the
		// probe sends the failure again, that finding moves it.
		return Verdict{Outcome: report.NothingToDo,
			Reason: fmt.Sprintf("holder %s is %s: left to the fleet function, which moves the groups of holders EC2 shows down; %s", h.InstanceID, h.State, plan.Reason)}
	}
	if !automatic {
		return Verdict{}
	}
	pause, paused := model.ParsePause(j[p.Tags.Paused()])
	if paused && pause.Active(p.Now) && (plan.Action == report.ActMove || plan.Action == report.ActAttach ||
		plan.Action == report.ActRepair && inTransit || plan.Action == report.ActNone && errors.As(decideErr, new(*NoTargetError))) {
		// Maintenance: an operator may be working on the holder on
		// purpose. An attach or detach under way (an operator's move that
		// died half-way) is left to EC2 too: finishing it may mean moving
		// the ENI again.
		return Verdict{Outcome: report.Paused, Repair: true, Reason: fmt.Sprintf("group paused until %s%s (%s); would have: %s",
			pause.Until.Format(time.RFC3339), byWhom(pause.By), pause.Reason, plan.Reason)}
	}
	holder, ok := g.Member(eni.InstanceID)
	if !ok || plan.Action != report.ActMove || !holder.Up() || holder.Health == model.HealthImpaired || eni.AttachmentStatus == model.Detaching {
		// Only moves off a holder EC2 finds healthy are capped: the token
		// server failing there may fail everywhere, whereas moving off a
		// stopped or impaired instance always helps. A detach already
		// under way (an operator's move that died half-way) is finished:
		// the ENI would be left on no instance. An attach under way is
		// not: moving on from there is a move like any other (the storms
		// found a run that read the ENI attaching and so escaped the cap).
		return Verdict{}
	}
	// A pause or resume (pause.Until, active or not) is an operator's act.
	history := p.Tags.History(j)
	if m, ok := p.Tags.Unrecorded(j, history); ok {
		// A move another sandbox's run made whose history is still to be
		// written: without it, two runs could each make the last move
		// the cap allows (the storms found it).
		history = append([]model.Move{m}, history...)
	}
	if m, ok := p.Tags.Unjournalled(eni, history, p.Now); ok {
		// Its journal, too, is still to be written.
		history = append([]model.Move{m}, history...)
	}
	if capped, moves := model.AutomaticMovesCapped(history, pause.Until, p.MaxAutomaticMoves); capped {
		return Verdict{Outcome: report.Capped, Repair: true, Reason: fmt.Sprintf(
			"%d automatic moves within an hour (the last at %s), and no operator has acted since: not moving again until one does (move, failback, drill, pause or resume); would have: %s",
			len(moves), moves[0].At.UTC().Format(time.RFC3339), plan.Reason)}
	}
	return Verdict{}
}
