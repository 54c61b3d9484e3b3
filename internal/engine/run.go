package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/eni-failover/eni-failover/internal/discovery"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/report"
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
	l := e.groupLock(group)
	waited, err := l.acquire(ctx, e.clk)
	if err != nil {
		return nil, waited, fmt.Errorf("waiting for the lock of group %q: %w", group, err)
	}
	return l.release, waited, nil
}

// groupLock is the mutex of a group's runs in this process.
func (e *Engine) groupLock(group string) *slots {
	v, _ := e.locks.LoadOrStore(group, newSlots(1))
	return v.(*slots)
}

func (e *Engine) runGroup(ctx context.Context, name string, t Trigger, dryRun bool) (*report.Report, error) {
	r, _, err := e.runGroupIfMember(ctx, name, "", t, dryRun)
	return r, err
}

// failedRun is the report of a run that could not read its group.
func failedRun(group string, t Trigger, start time.Time, err error) *report.Report {
	return &report.Report{Group: group, Trigger: t.Kind, Outcome: report.Failed, Error: err.Error(), StartedAt: start, Steps: []report.Step{}}
}

// runGroupIfMember reads the group under its lock, decides and carries the
// plan out. With a member id (a remembered group, which may be stale) it
// runs only if the read lists that member or fails for another reason
// than the group being gone; ran reports whether it did, and when it did
// not, nothing was logged or changed.
func (e *Engine) runGroupIfMember(ctx context.Context, name, member string, t Trigger, dryRun bool) (r *report.Report, ran bool, err error) {
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
func (e *Engine) runRead(ctx context.Context, g model.Group, start time.Time, t Trigger, dryRun bool) (*report.Report, error) {
	if held, ok := ctx.Value(heldSlotKey{}).(*heldSlot); ok {
		defer held.release() // a run that ends before acting frees it too
	}
	name := g.Name
	r := e.newReport(g, t)
	r.StartedAt = start
	r.DryRun = dryRun
	r.Steps = append(r.Steps, report.Step{Name: report.StepRead, DurationMS: e.clk.Now().Sub(start).Milliseconds(), Detail: fmt.Sprintf("%d members", len(g.Members))})
	if t.Scheduled != nil {
		g = corroborated(e.recordNotice(ctx, g, *t.Scheduled, r, dryRun), *t.Scheduled)
	}
	log := e.log.With("group", name, "eni_id", g.ENI.ID, "trigger", string(t.Kind))
	g = e.distrust(ctx, g, r, log)
	plan, err := Decide(g, t, e.Policy())
	r.Action, r.Reason, r.Plan = plan.Action, plan.Reason, &plan
	// A scheduled AWS Health change recorded for the holder, not yet due:
	// the run's outcome says so even when it also mended the attachment.
	deferred := t.Scheduled != nil && err == nil && g.ENI.Attached() && g.ENI.InstanceID == t.InstanceID &&
		(plan.Action == report.ActNone || plan.Action == report.ActRepair)
	end := runEnd{r: r, g: g, plan: plan, start: start, deferred: deferred, log: log, now: e.clk.Now}
	finish := func(o report.Outcome, err error) (*report.Report, error) { return end.finish(ctx, o, err) }
	if v := Hold(g, t, plan, err, e.Policy(), dryRun); v.Held() {
		return finish(v.Outcome, e.held(ctx, g, t, plan, v, r, log, dryRun))
	}
	switch {
	case err != nil && plan.Action == report.ActRepair && !dryRun:
		// No move is possible, but the attachment still needs mending.
		x := &execution{e: e, g: g, plan: plan, t: t, r: r, log: log, attempted: map[string]bool{}}
		if _, rerr := x.run(ctx); rerr != nil {
			err = errors.Join(err, rerr)
		}
		r.HolderAfter = x.eni.InstanceID
		e.keepHolderTag(ctx, g, x.eni, r, dryRun)
		return finish(report.Failed, err)
	case err != nil:
		r.HolderAfter = r.HolderBefore
		e.keepHolderTag(ctx, g, g.ENI, r, dryRun)
		return finish(report.Failed, err)
	case dryRun && plan.Action == report.ActNone:
		return finish(report.NothingToDo, nil)
	case dryRun:
		return finish(report.Planned, nil)
	case plan.Action == report.ActNone:
		if e.keepHolderTag(ctx, g, g.ENI, r, dryRun) {
			return finish(report.Repaired, nil)
		}
		return finish(report.NothingToDo, nil)
	}
	held, _ := ctx.Value(heldSlotKey{}).(*heldSlot)
	if held == nil {
		waited, err := e.moving.acquire(ctx, e.clk)
		if err != nil {
			return finish(report.Failed, fmt.Errorf("group %q: waiting for one of the %d runs that may change EC2 at once: %w", name, e.opts.MaxConcurrentMoves, err))
		}
		held = &heldSlot{s: e.moving}
		if waited {
			// Others moved meanwhile, perhaps this very group (a duplicate
			// delivery): decide again, repeats and pauses included, on
			// what EC2 says now, holding the slot.
			fresh, err := e.ReadGroup(ctx, name)
			if err != nil {
				held.release()
				return finish(report.Failed, err)
			}
			return e.runRead(context.WithValue(ctx, heldSlotKey{}, held), fresh, start, t, dryRun)
		}
	}
	return finish(e.act(ctx, g, plan, t, r, held, start, log))
}

// distrust leaves out of g's journal the values no function could have
// written, and says so loudly: in the report (and so the notification)
// and at error level in the log.
func (e *Engine) distrust(ctx context.Context, g model.Group, r *report.Report, log *slog.Logger) model.Group {
	clean, doubts := e.tags.Distrust(g.ENI.Tags, e.clk.Now())
	if h, ok := g.Member(g.ENI.InstanceID); ok {
		pol := e.Policy()
		if why := uncorroborated(h, model.Interface{Tags: clean}, pol); why != "" {
			doubts = append(doubts, why)
		}
	}
	for _, d := range doubts {
		log.ErrorContext(ctx, "journal value ignored", "error", d)
	}
	r.Warnings = append(r.Warnings, doubts...)
	g.ENI.Tags = clean
	return g
}

// runEnd ends one run: the outcome and error in the report, and the "run
// finished" line every run logs.
type runEnd struct {
	r        *report.Report
	g        model.Group
	plan     report.Plan
	start    time.Time
	deferred bool
	log      *slog.Logger
	now      func() time.Time
}

func (f runEnd) finish(ctx context.Context, o report.Outcome, err error) (*report.Report, error) {
	r := f.r
	// A scheduled AWS Health change recorded for the holder, not yet due:
	// the run's outcome says so even when it also mended the attachment.
	if f.deferred && err == nil && (o == report.NothingToDo || o == report.Repaired) {
		o = report.Deferred
	}
	r.Outcome = o
	if r.HolderAfter == "" && o != report.Failed {
		r.HolderAfter = r.HolderBefore
	}
	if err != nil {
		r.Error = err.Error()
	}
	r.DurationMS = f.now().Sub(f.start).Milliseconds()
	r.Names = names(f.g, r.HolderBefore, r.HolderAfter)
	level := slog.LevelInfo
	attrs := []slog.Attr{slog.String("outcome", string(o)), slog.String("action", string(f.plan.Action)), slog.String("reason", f.plan.Reason),
		slog.String("holder_before", r.HolderBefore), slog.String("holder_after", r.HolderAfter), slog.Int64("duration_ms", r.DurationMS)}
	if err != nil {
		level = slog.LevelError
		attrs = append(attrs, slog.String("error", r.Error))
	}
	f.log.LogAttrs(ctx, level, "run finished", attrs...)
	return r, err
}

// act carries a plan out holding a move slot (released once EC2 is
// changed), then starts the token server, records the move in the
// history and keeps the license-holder tag.
func (e *Engine) act(ctx context.Context, g model.Group, plan report.Plan, t Trigger, r *report.Report, held *heldSlot, start time.Time, log *slog.Logger) (report.Outcome, error) {
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
	if o.Changed() || (o == report.Failed && x.mutated) {
		// After the ENI is attached (and the token server started): the
		// history costs the license nothing.
		e.recordMove(ctx, x.eni, model.Move{At: start.UTC(), From: r.HolderBefore, To: cmp.Or(r.HolderAfter, x.eni.InstanceID),
			Trigger: string(t.Kind), Outcome: string(o), DurationMS: e.clk.Now().Sub(start).Milliseconds()}, r, log)
	}
	if e.opts.HolderTag && x.mutated && x.eni.AttachmentStatus == model.Attached {
		e.markHolder(ctx, g, x.eni.InstanceID, r)
	}
	if t.Kind.Manual() && t.RequestID != "" && x.journalDone {
		// The operator's repeat of this request must find it carried out:
		// answer once EC2's Describe shows the request id.
		e.confirmJournal(ctx, x.eni.ID, map[string]string{e.tags.Request(): t.RequestID}, r, log)
	}
	return o, err
}

// held reports a plan Hold held back, and makes the repairs a pause or
// the cap never withhold.
func (e *Engine) held(ctx context.Context, g model.Group, t Trigger, plan report.Plan, v Verdict, r *report.Report, log *slog.Logger, dryRun bool) error {
	r.Action, r.Plan, r.Reason = report.ActNone, nil, v.Reason
	r.HolderAfter = g.ENI.InstanceID
	if v.Outcome == report.Repeated {
		r.HolderBefore, r.HolderAfter = v.HolderBefore, v.HolderAfter
	}
	switch v.Outcome {
	case report.Paused:
		log.InfoContext(ctx, "skipped: group paused", "would_have", string(plan.Action))
	case report.Capped:
		log.WarnContext(ctx, "skipped: automatic moves capped", "would_have", string(plan.Action))
	}
	var err error
	if v.Repair {
		err = e.repairHeld(ctx, g, t, r, log, dryRun)
	}
	e.keepHolderTag(ctx, g, g.ENI, r, dryRun)
	return err
}

// keepHolderTag mends the license-holder tag of a run that did not move
// the ENI (nothing to do, held back, or no standby to move to): the holder
// is still the holder, and FIS experiments find it by the tag. It reports
// whether it wrote.
func (e *Engine) keepHolderTag(ctx context.Context, g model.Group, eni model.Interface, r *report.Report, dryRun bool) bool {
	if !e.opts.HolderTag || dryRun || eni.AttachmentStatus != model.Attached {
		return false
	}
	steps := len(r.Steps)
	e.markHolder(ctx, g, eni.InstanceID, r)
	if len(r.Steps) == steps {
		return false
	}
	r.Reason += "; license-holder tag mended"
	return true
}

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
func (e *Engine) repairHeld(ctx context.Context, g model.Group, t Trigger, r *report.Report, log *slog.Logger, dryRun bool) error {
	eni := g.ENI
	if dryRun || eni.AttachmentStatus != model.Attached || (!eni.DeleteOnTermination && eni.Tags[e.tags.Holder()] == eni.InstanceID) {
		return nil
	}
	plan := report.Plan{Group: g.Name, Action: report.ActRepair, Holder: eni.InstanceID, AttachmentID: eni.AttachmentID}
	x := &execution{e: e, g: g, plan: plan, t: t, r: r, log: log, attempted: map[string]bool{}}
	if _, err := x.run(ctx); err != nil {
		return fmt.Errorf("group %q: mending the attachment of %s on %s while moves are held back: %w", g.Name, eni.ID, eni.InstanceID, err)
	}
	r.Reason += "; " + repairReason(eni, model.Member{InstanceID: eni.InstanceID}, e.Policy()) + ": mended"
	return nil
}

// corroborated marks the members an AWS Health event names as EC2 marks
// those with a scheduled event: only AWS puts aws.health events on the
// bus, so the event corroborates its own notice, as EC2's scheduled
// events do at later runs.
func corroborated(g model.Group, n model.HealthNotice) model.Group {
	g.Members = slices.Clone(g.Members)
	for i, m := range g.Members {
		if n.Names(m.InstanceID) {
			g.Members[i].EC2Scheduled = true
		}
	}
	return g
}
