package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/eni-failover/eni-failover/internal/discovery"
	"github.com/eni-failover/eni-failover/internal/model"
)

// lock serialises runs on one group within this process, so concurrent
// invocations in one sandbox do the work once; across processes the
// compare-and-swap on EC2 state keeps them safe.
func (e *Engine) lock(ctx context.Context, group string) (func(), error) {
	unlock, _, err := e.lockWaited(ctx, group)
	return unlock, err
}

// lockWaited is lock, and says whether another run held the group first
// (what this run read before may then be stale).
func (e *Engine) lockWaited(ctx context.Context, group string) (func(), bool, error) {
	v, _ := e.locks.LoadOrStore(group, newSlots(1))
	l := v.(*slots)
	waited, err := l.acquire(ctx, e.clk)
	if err != nil {
		return nil, waited, fmt.Errorf("waiting for the lock of group %q: %w", group, err)
	}
	return l.release, waited, nil
}

func (e *Engine) runGroup(ctx context.Context, name string, t Trigger, dryRun bool) (*Report, error) {
	r, _, err := e.runGroupIfMember(ctx, name, "", t, dryRun)
	return r, err
}

// failedRun is the report of a run that could not read its group.
func failedRun(group string, t Trigger, start time.Time, err error) *Report {
	return &Report{Group: group, Trigger: t.Kind, Outcome: Failed, Error: err.Error(), StartedAt: start, Steps: []Step{}}
}

// runGroupIfMember reads the group under its lock, decides and carries the
// plan out. With a member id (a remembered group, which may be stale) it
// runs only if the read lists that member or fails for another reason
// than the group being gone; ran reports whether it did, and when it did
// not, nothing was logged or changed.
func (e *Engine) runGroupIfMember(ctx context.Context, name, member string, t Trigger, dryRun bool) (r *Report, ran bool, err error) {
	start := e.clk.Now()
	unlock, err := e.lock(ctx, name)
	if err != nil {
		return failedRun(name, t, start, err), true, err
	}
	defer unlock()
	g, err := e.ReadGroup(ctx, name)
	if member != "" {
		// A group that no longer lists the member, or is gone, is not the
		// member's group any more.
		_, listed := g.Member(member)
		if !listed && (err == nil || errors.Is(err, discovery.ErrGroupNotFound)) {
			return nil, false, nil
		}
	}
	if err != nil {
		return failedRun(name, t, start, err), true, err
	}
	r, err = e.runRead(ctx, g, start, t, dryRun)
	return r, true, err
}

// runRead decides on a group read under its lock and carries the plan out.
func (e *Engine) runRead(ctx context.Context, g model.Group, start time.Time, t Trigger, dryRun bool) (*Report, error) {
	if held, ok := ctx.Value(heldSlotKey{}).(*heldSlot); ok {
		defer held.release() // a run that ends before acting frees it too
	}
	name := g.Name
	r := e.newReport(g, t)
	r.StartedAt = start
	r.DryRun = dryRun
	r.Steps = append(r.Steps, Step{Name: "read", DurationMS: e.clk.Now().Sub(start).Milliseconds(), Detail: fmt.Sprintf("%d members", len(g.Members))})
	if t.Scheduled != nil {
		g = e.recordNotice(ctx, g, *t.Scheduled, r, dryRun)
	}
	plan, err := Decide(g, t, e.Policy())
	r.Action, r.Reason, r.Plan = plan.Action, plan.Reason, &plan
	log := e.log.With("group", name, "eni_id", g.ENI.ID, "trigger", string(t.Kind))
	// A scheduled AWS Health change recorded for the holder, not yet due:
	// the run's outcome says so even when it also mended the attachment.
	deferred := t.Scheduled != nil && err == nil && g.ENI.Attached() && g.ENI.InstanceID == t.InstanceID &&
		(plan.Action == ActNone || plan.Action == ActRepair)
	pause, paused := model.ParsePause(g.ENI.Tags[e.tags.Paused()])
	paused = paused && pause.Active(e.clk.Now())
	finish := func(o Outcome, err error) (*Report, error) {
		if deferred && err == nil && (o == NothingToDo || o == Repaired) {
			o = Deferred
		}
		r.Outcome = o
		if r.HolderAfter == "" && o != Failed {
			r.HolderAfter = r.HolderBefore
		}
		if err != nil {
			r.Error = err.Error()
		}
		r.DurationMS = e.clk.Now().Sub(start).Milliseconds()
		r.Names = names(g, r.HolderBefore, r.HolderAfter)
		level := slog.LevelInfo
		attrs := []slog.Attr{slog.String("outcome", string(o)), slog.String("action", string(plan.Action)), slog.String("reason", plan.Reason),
			slog.String("holder_before", r.HolderBefore), slog.String("holder_after", r.HolderAfter), slog.Int64("duration_ms", r.DurationMS)}
		if err != nil {
			level = slog.LevelError
			attrs = append(attrs, slog.String("error", r.Error))
		}
		log.LogAttrs(ctx, level, "run finished", attrs...)
		return r, err
	}
	if id := t.RequestID; id != "" && !dryRun && g.ENI.Tags[e.tags.Request()] == id {
		// A re-sent invocation (the CLI's read timeout) of a move that
		// already happened: acting again would move the ENI once more.
		j := g.ENI.Tags
		r.Action, r.Plan = ActNone, nil
		r.HolderBefore, r.HolderAfter = j[e.tags.PreviousHolder()], j[e.tags.Holder()]
		r.Reason = fmt.Sprintf("request %s was already carried out (moved at %s: %s); not repeated", id, j[e.tags.MovedAt()], j[e.tags.Reason()])
		if g.ENI.InstanceID != r.HolderAfter || g.ENI.AttachmentStatus != "attached" {
			r.Reason += fmt.Sprintf("; it may still be running: the ENI is %s on %q", cmp.Or(g.ENI.AttachmentStatus, "available"), g.ENI.InstanceID)
		}
		return finish(Repeated, nil)
	}
	if h, ok := g.Member(g.ENI.InstanceID); ok && t.RequestID != "" && !t.Kind.Manual() && !dryRun && h.Down() &&
		g.ENI.AttachmentStatus == "attached" && t.At.Sub(t.Since) < fleetsTurn {
		// The probe saw the license go because EC2 stops the holder: the
		// fleet function moves that group (its state change, its sweep),
		// perhaps behind other groups. Two processes moving it would race
		// to attach and double EC2's calls; if it is still here when the
		// probe sends the failure again, this run moves it.
		r.Action, r.Plan = ActNone, nil
		r.Reason = fmt.Sprintf("holder %s is %s: left to the fleet function, which moves the groups of holders EC2 shows down; %s", h.InstanceID, h.State, plan.Reason)
		return finish(NothingToDo, nil)
	}
	if t.RequestID != "" && !t.Kind.Manual() && !dryRun && (g.ENI.AttachmentStatus == "detaching" || g.ENI.AttachmentStatus == "attaching") {
		// Another delivery of the same finding moves it already (EC2
		// transitions): two runs would race to attach and double EC2's
		// calls. If that run dies, the reconcile (or the sweep) finishes
		// the move from this very state.
		r.Action, r.Plan = ActNone, nil
		r.Reason = fmt.Sprintf("%s is %s on %s: a move is under way; request %s is left to it", g.ENI.ID, g.ENI.AttachmentStatus, g.ENI.InstanceID, t.RequestID)
		return finish(NothingToDo, nil)
	}
	if paused && !t.Kind.Manual() && (plan.Action == ActMove || plan.Action == ActAttach || plan.Action == ActNone && errors.As(err, new(*NoTargetError))) {
		// Maintenance: an operator may be working on the holder on
		// purpose. Mending DeleteOnTermination or the journal still runs.
		r.Reason = fmt.Sprintf("group paused until %s%s (%s); would have: %s",
			pause.Until.Format(time.RFC3339), byWhom(pause.By), pause.Reason, plan.Reason)
		r.Action, r.HolderAfter = ActNone, g.ENI.InstanceID
		log.InfoContext(ctx, "skipped: group paused", "until", pause.Until.Format(time.RFC3339), "by", pause.By, "would_have", string(plan.Action))
		return finish(Paused, e.repairHeld(ctx, g, t, r, log, dryRun))
	}
	if holder, ok := g.Member(g.ENI.InstanceID); ok && !t.Kind.Manual() && plan.Action == ActMove && holder.Up() && holder.Health != model.HealthImpaired &&
		g.ENI.AttachmentStatus == "attached" {
		// Only moves off a holder EC2 finds healthy are capped: the token
		// server failing there may fail everywhere, whereas moving off a
		// stopped or impaired instance always helps. A detach already
		// under way (an operator's move that died half-way) is finished,
		// never held back: the ENI would be left on no instance.
		// A pause or resume (pause.Until, active or not) is an operator's act.
		if capped, moves := model.AutomaticMovesCapped(e.tags.History(g.ENI.Tags), pause.Until, e.opts.MaxAutomaticMoves); capped {
			r.Reason = fmt.Sprintf("%d automatic moves within an hour (the last at %s), and no operator has acted since: not moving again until one does (move, failback, drill, pause or resume); would have: %s",
				len(moves), moves[0].At.UTC().Format(time.RFC3339), plan.Reason)
			r.Action, r.HolderAfter = ActNone, g.ENI.InstanceID
			log.WarnContext(ctx, "skipped: automatic moves capped", "moves", len(moves), "would_have", string(plan.Action))
			return finish(Capped, e.repairHeld(ctx, g, t, r, log, dryRun))
		}
	}
	switch {
	case err != nil && plan.Action == ActRepair && !dryRun:
		// No move is possible, but the attachment still needs mending.
		x := &execution{e: e, g: g, plan: plan, t: t, r: r, log: log, attempted: map[string]bool{}}
		if _, rerr := x.run(ctx); rerr != nil {
			err = errors.Join(err, rerr)
		}
		r.HolderAfter = x.eni.InstanceID
		return finish(Failed, err)
	case err != nil:
		r.HolderAfter = r.HolderBefore
		return finish(Failed, err)
	case dryRun && plan.Action == ActNone:
		return finish(NothingToDo, nil)
	case dryRun:
		return finish(Planned, nil)
	case plan.Action == ActNone:
		return finish(NothingToDo, nil)
	}
	held, _ := ctx.Value(heldSlotKey{}).(*heldSlot)
	if held == nil {
		waited, err := e.moving.acquire(ctx, e.clk)
		if err != nil {
			return finish(Failed, fmt.Errorf("group %q: waiting for one of the %d runs that may change EC2 at once: %w", name, e.opts.MaxConcurrentMoves, err))
		}
		held = &heldSlot{s: e.moving}
		if waited {
			// Others moved meanwhile, perhaps this very group (a duplicate
			// delivery): decide again, repeats and pauses included, on
			// what EC2 says now, holding the slot.
			fresh, err := e.ReadGroup(ctx, name)
			if err != nil {
				held.release()
				return finish(Failed, err)
			}
			return e.runRead(context.WithValue(ctx, heldSlotKey{}, held), fresh, start, t, dryRun)
		}
	}
	log.InfoContext(ctx, "acting", "action", string(plan.Action), "reason", plan.Reason, "instance_id", plan.Holder, "attachment_id", plan.AttachmentID)
	x := &execution{e: e, g: g, plan: plan, t: t, r: r, log: log, attempted: map[string]bool{}}
	o, err := x.run(ctx)
	held.release()
	if err != nil && r.HolderAfter == "" {
		r.HolderAfter = x.eni.InstanceID
	}
	if o.Changed() && e.opts.Activator != nil {
		e.activate(ctx, g, r, log)
	}
	if o.Changed() || (o == Failed && x.mutated) {
		// After the ENI is attached (and the token server started): the
		// history costs the license nothing.
		e.recordMove(ctx, x.eni, model.Move{At: start.UTC(), From: r.HolderBefore, To: cmp.Or(r.HolderAfter, x.eni.InstanceID),
			Trigger: string(t.Kind), Outcome: string(o), DurationMS: e.clk.Now().Sub(start).Milliseconds()}, r, log)
	}
	if e.opts.HolderTag && x.mutated && x.eni.AttachmentStatus == "attached" {
		e.markHolder(ctx, g, x.eni.InstanceID, r)
	}
	return finish(o, err)
}

// fleetsTurn is how long after the first failed check a probe finding
// about a holder EC2 shows down leaves the move to the fleet function: a
// finding sent again (2 minutes on) moves it.
const fleetsTurn = time.Minute

// heldSlotKey carries a move slot taken before a run re-read its group.
type heldSlotKey struct{}

// heldSlot is a taken move slot, released once whatever path the run
// takes.
type heldSlot struct {
	s    *slots
	once sync.Once
}

func (h *heldSlot) release() { h.once.Do(h.s.release) }

// repairHeld mends what keeps the ENI safe on a group whose move a pause
// or the cap holds back: DeleteOnTermination (true, terminating the holder
// would delete the licensed MAC) and the journal's holder. Those are
// repairs, never moves, so neither a pause nor the cap withholds them.
func (e *Engine) repairHeld(ctx context.Context, g model.Group, t Trigger, r *Report, log *slog.Logger, dryRun bool) error {
	eni := g.ENI
	if dryRun || eni.AttachmentStatus != "attached" || (!eni.DeleteOnTermination && eni.Tags[e.tags.Holder()] == eni.InstanceID) {
		return nil
	}
	plan := Plan{Group: g.Name, Action: ActRepair, Holder: eni.InstanceID, AttachmentID: eni.AttachmentID}
	x := &execution{e: e, g: g, plan: plan, t: t, r: r, log: log, attempted: map[string]bool{}}
	if _, err := x.run(ctx); err != nil {
		return fmt.Errorf("group %q: mending the attachment of %s on %s while moves are held back: %w", g.Name, eni.ID, eni.InstanceID, err)
	}
	r.Reason += "; " + repairReason(eni, model.Member{InstanceID: eni.InstanceID}, e.Policy()) + ": mended"
	return nil
}
