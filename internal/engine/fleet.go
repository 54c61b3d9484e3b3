package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/report"
)

// Many groups at once. A process carries out the runs of many groups
// alongside each other: they share one ENI read per poll tick (poller),
// at most MaxConcurrentMoves of them change EC2 at a time (each detach and
// attach API has a bucket of 50 requests, refilled 5 a second), and
// nothing one group waits for (EC2's transitions, an activation, a deep
// check) holds up another.

// job is one run, or several (a reconcile reports every group).
type job func() ([]*report.Report, error)

// one makes a job of a run that reports one group.
func one(run func() (*report.Report, error)) job {
	return func() ([]*report.Report, error) {
		r, err := run()
		if r == nil {
			return nil, err
		}
		return []*report.Report{r}, err
	}
}

// fanOut runs the jobs alongside each other on the engine's clock and
// returns their reports in the jobs' order.
func (e *Engine) fanOut(jobs []job) ([]*report.Report, error) {
	reports := make([][]*report.Report, len(jobs))
	errs := make([]error, len(jobs))
	waits := make([]func(), 0, len(jobs))
	for i, j := range jobs {
		waits = append(waits, e.clk.Go(func() { reports[i], errs[i] = j() }))
	}
	for _, wait := range waits {
		wait()
	}
	var out []*report.Report
	for _, rs := range reports {
		out = append(out, rs...)
	}
	return out, errors.Join(errs...)
}

// runFromRead runs a group from a read of the whole fleet made just
// before, under the group's lock: no second read unless another run of
// this process held the lock meanwhile, which makes the read stale.
func (e *Engine) runFromRead(ctx context.Context, g model.Group, t Trigger, dryRun bool) (*report.Report, error) {
	start := e.clk.Now()
	unlock, waited, err := e.lockWaited(ctx, g.Name)
	if err != nil {
		return failedRun(g.Name, t, start, err), err
	}
	defer unlock()
	if waited {
		if g, err = e.ReadGroup(ctx, g.Name); err != nil {
			return failedRun(g.Name, t, start, err), err
		}
	}
	return e.runRead(ctx, g, start, t, dryRun)
}

// readAll reads every group (three calls, whatever their number) and
// remembers their members for later events.
func (e *Engine) readAll(ctx context.Context) ([]model.Group, error) {
	groups, err := retried(ctx, e, e.disc.All)
	if err == nil {
		e.hints.replaceAll(groups)
	}
	return groups, err
}

// RunAll handles the triggers of one event. Triggers about whole groups (a
// probe finding names every group it saw fail) run alongside each other
// from one read of the fleet instead of one read per group.
func (e *Engine) RunAll(ctx context.Context, ts []Trigger, dryRun bool) ([]*report.Report, error) {
	var byGroup, others []Trigger
	for _, t := range ts {
		if t.Group != "" && t.InstanceID == "" && (t.Kind == report.Impaired || t.Kind == report.Evacuate) {
			byGroup = append(byGroup, t)
		} else {
			others = append(others, t)
		}
	}
	var jobs []job
	if len(byGroup) > 1 {
		groups, readErr := e.readAll(ctx)
		read := map[string]model.Group{}
		for _, g := range groups {
			read[g.Name] = g
		}
		for _, t := range byGroup {
			g, ok := read[t.Group]
			switch {
			case ok:
				jobs = append(jobs, one(func() (*report.Report, error) { return e.runFromRead(ctx, g, t, dryRun) }))
			case readErr != nil:
				// Misconfigured, or the read failed: the group's own read
				// says which.
				others = append(others, t)
			default:
				err := fmt.Errorf("group %q: no network interface tagged %s=%s: %w", t.Group, e.tags.Group(), t.Group, ErrBadRequest)
				jobs = append(jobs, one(func() (*report.Report, error) { return failedRun(t.Group, t, e.clk.Now(), err), err }))
			}
		}
	} else {
		others = append(others, byGroup...)
	}
	if len(others) > 0 {
		// Triggers about instances run one after the other, in the
		// event's order: several may concern one group (an AWS Health
		// event naming its holder and a standby), and the first decides.
		jobs = append(jobs, func() ([]*report.Report, error) {
			var (
				reports []*report.Report
				errs    []error
			)
			for _, t := range others {
				rs, err := e.Run(ctx, t, dryRun)
				reports, errs = append(reports, rs...), append(errs, err)
			}
			return reports, errors.Join(errs...)
		})
	}
	return e.fanOut(jobs)
}

// Conduct handles an event whose news EC2 itself shows (a state change,
// the reconcile) as the fleet's conductor. It reads the fleet once for the
// event's own triggers, then sweeps it every SweepInterval while anything
// it started is in flight, failing over every group whose holder EC2 shows
// down (and attaching every ENI a down holder released). So when a hundred
// holders stop at once, the first event moves them all, sharing this
// process's reads; the others, throttled meanwhile by the function's
// concurrency of one, find nothing left to do when Lambda retries them.
func (e *Engine) Conduct(ctx context.Context, ts []Trigger, dryRun bool) ([]*report.Report, error) {
	var (
		mu      sync.Mutex
		reports []*report.Report
		errs    []error
		active  int
		waits   []func()
	)
	start := func(j job) {
		mu.Lock()
		active++
		mu.Unlock()
		waits = append(waits, e.clk.Go(func() {
			rs, err := j()
			mu.Lock()
			defer mu.Unlock()
			reports = append(reports, rs...)
			errs = append(errs, err)
			active--
		}))
	}
	busy := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return active > 0
	}
	// swept: groups this conductor has run (or left to the reconcile), so
	// that a paused, capped or stranded group is reported once, not every
	// second.
	swept := map[string]bool{}
	groups, readErr := e.readAll(ctx)
	for _, t := range ts {
		switch {
		case t.Kind == report.Reconcile && t.Group == "" && (readErr == nil || len(groups) > 0):
			// The reconcile runs what this read shows down; a holder that
			// goes down later is the sweep's.
			p := e.Policy()
			for _, g := range groups {
				if _, down := sweepTrigger(g, p); down {
					swept[g.Name] = true
				}
			}
			start(func() ([]*report.Report, error) { return e.reconcileRead(ctx, t, groups, readErr, dryRun) })
		case t.InstanceID != "" && readErr == nil:
			g, ok := memberOf(groups, t.InstanceID)
			if !ok {
				e.log.DebugContext(ctx, "instance in no group; ignored", "instance_id", t.InstanceID, "trigger", string(t.Kind))
				continue
			}
			swept[g.Name] = true
			start(one(func() (*report.Report, error) { return e.runFromRead(ctx, g, t, dryRun) }))
		default:
			start(func() ([]*report.Report, error) { return e.Run(ctx, t, dryRun) })
		}
	}
	for !dryRun && e.timeLeft(ctx, e.opts.SweepInterval) && e.whileBusy(ctx, e.opts.SweepInterval, busy) {
		for _, j := range e.sweep(ctx, swept) {
			start(j)
		}
	}
	for _, wait := range waits {
		wait()
	}
	return reports, errors.Join(errs...)
}

// whileBusy waits up to d while busy() holds, in short steps, so that a
// conductor whose work is done returns at once rather than at the next
// sweep; false means the run must end (ctx ended or its work is done).
func (e *Engine) whileBusy(ctx context.Context, d time.Duration, busy func() bool) bool {
	const step = 10 * time.Millisecond
	for waited := time.Duration(0); waited < d; waited += step {
		if !busy() {
			return false
		}
		if e.clk.Sleep(ctx, min(step, d-waited)) != nil {
			return false
		}
	}
	return busy()
}

// memberOf finds the group an instance is a member of.
func memberOf(groups []model.Group, instanceID string) (model.Group, bool) {
	for _, g := range groups {
		if _, ok := g.Member(instanceID); ok {
			return g, true
		}
	}
	return model.Group{}, false
}

// sweep reads the fleet and returns a run for each group whose holder EC2
// shows down or whose ENI a down holder released, unless a run of this
// process works on it already or this conductor ran it before.
func (e *Engine) sweep(ctx context.Context, swept map[string]bool) []job {
	groups, err := e.readAll(ctx)
	if err != nil && len(groups) == 0 {
		// The next sweep, the event's own run or the reconcile reads again.
		e.log.WarnContext(ctx, "sweep: reading the groups failed", "error", err.Error())
		return nil
	}
	var jobs []job
	p := e.Policy()
	for _, g := range groups {
		t, ok := sweepTrigger(g, p)
		if !ok || swept[g.Name] {
			continue
		}
		l := e.groupLock(g.Name)
		if !l.tryAcquire() {
			continue // in flight here: that run reads what it needs
		}
		swept[g.Name] = true
		jobs = append(jobs, one(func() (*report.Report, error) {
			defer l.release()
			return e.runRead(ctx, g, e.clk.Now(), t, false)
		}))
	}
	return jobs
}

// sweepTrigger is the trigger a sweep runs a group with: the holder is
// down (stopping, stopped, shutting down, terminated), or the ENI is
// available and the journal's holder went down.
func sweepTrigger(g model.Group, p Policy) (Trigger, bool) {
	eni := g.ENI
	if eni.Attached() {
		h, ok := g.Member(eni.InstanceID)
		if !ok || !h.Down() || !p.Allows(h.InstanceID) || eni.DeviceIndex == 0 {
			return Trigger{}, false
		}
		return Trigger{Kind: report.InstanceDown, InstanceID: h.InstanceID, Reason: fmt.Sprintf("%s is %s (seen by the sweep)", h.InstanceID, h.State), At: p.Now}, true
	}
	former := eni.Tags[p.Tags.Holder()]
	if m, ok := g.Member(former); former != "" && (!ok || m.Down()) {
		return Trigger{Kind: report.InstanceDown, InstanceID: former, Reason: fmt.Sprintf("%s released by its holder %s (seen by the sweep)", eni.ID, former), At: p.Now}, true
	}
	return Trigger{}, false
}

// timeLeft reports whether d and the margin kept for reporting are left
// before the invocation's deadline.
func (e *Engine) timeLeft(ctx context.Context, d time.Duration) bool {
	dl, ok := e.clk.Deadline(ctx)
	return !ok || dl.Sub(e.clk.Now())-e.opts.DeadlineMargin >= d
}
