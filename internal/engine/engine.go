// Package engine decides whether and where a group's license ENI must move,
// and moves it as a compare-and-swap on observed EC2 state: it acts only on
// the attachment it observed, re-reads after every mutation, and resumes
// from any intermediate state, so that retries, duplicates and concurrent
// invocations can never leave two attachments or an orphaned ENI.
package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/eni-failover/eni-failover/internal/awsapi"
	"github.com/eni-failover/eni-failover/internal/clip"
	"github.com/eni-failover/eni-failover/internal/clock"
	"github.com/eni-failover/eni-failover/internal/discovery"
	"github.com/eni-failover/eni-failover/internal/model"
)

// Options tune the engine. Zero values take the defaults below.
type Options struct {
	TagPrefix string
	// DeviceIndex the ENI is attached at (default 1). It must be free on a
	// standby: the OS names the interface after it, and the token server's
	// configuration depends on that name.
	DeviceIndex int32
	// AllowStartStopped starts a stopped member when no running one can
	// take the ENI. Off by default: an operator may have stopped it.
	AllowStartStopped bool
	// Allowed pins membership: when not empty, only these instances are
	// ever given the ENI, whatever their tags say (anyone who may tag an
	// instance could otherwise join a group and, as its home, receive
	// the licensed MAC).
	Allowed []string
	// Cooldown keeps a member that failed from being chosen again, except
	// as a last resort or by an operator (default 15 min).
	Cooldown time.Duration
	// HealthLead is how long before a scheduled AWS Health change the
	// ENI leaves a holder it names (default 30 min): the reconcile moves
	// it from then on; an event whose start is nearer moves it at once.
	HealthLead time.Duration
	// MaxAutomaticMoves caps the automatic moves off a holder per group
	// and hour (default 3; negative: no cap). Beyond it the automation
	// only notifies until an operator acts (model.AutomaticMovesCapped).
	MaxAutomaticMoves int
	// GracefulDetachWait is how long a graceful detach may stay in
	// detaching before a force detach (default 8 s).
	GracefulDetachWait time.Duration
	// PollInitial is the polling interval while EC2 transitions (default
	// 100 ms: the time to notice a finished transition is most of the
	// engine's overhead). After PollBackoffAfter (default 10 s) of one
	// wait it grows by PollFactor (1.5) up to PollMax (2 s).
	PollInitial      time.Duration
	PollBackoffAfter time.Duration
	PollMax          time.Duration
	PollFactor       float64
	// RetryBase and RetryMax bound the backoff after throttling and 5xx;
	// RetryAttempts is the number of tries of one call (default 100 ms,
	// 3 s, 8).
	RetryBase     time.Duration
	RetryMax      time.Duration
	RetryAttempts int
	// DeadlineMargin is kept free before the context deadline to report
	// and return cleanly (default 1.5 s).
	DeadlineMargin time.Duration
	// DetachRefusals is how many refused detaches (the attachment stays)
	// a run makes before it reports them (default 4); RefusalBackoff is
	// the pause after the first, doubling after each (default 500 ms).
	DetachRefusals int
	RefusalBackoff time.Duration
	// MaxSteps bounds one run's state-machine iterations (default 200).
	MaxSteps int
	// Activator, when set, (re)starts the token server on the new holder
	// after each move; its failure is reported, never answered by another
	// move.
	Activator Activator
	// HolderTag keeps the license-holder tag (model.Tags.LicenseHolder) on
	// whichever member holds the group's ENI, and off the others: written
	// after the ENI is in place, and mended by the reconcile. FIS
	// experiments find the holder by it. Off by default: it costs one or
	// two more mutating calls per move.
	HolderTag bool
	// DeepCheck, when set, runs the vendor's status command (lmutil lmstat)
	// on each healthy holder during the scheduled reconcile: an exit code
	// other than 0, twice DeepCheckRetry apart, fails the holder over as a
	// probe finding would. Anything else (the agent unreachable, SSM
	// timing out) is logged and moves nothing.
	DeepCheck      Activator
	DeepCheckRetry time.Duration
	// MaxConcurrentMoves bounds the runs of one process that change EC2 at
	// the same time (default 20): EC2 meters AttachNetworkInterface and
	// DetachNetworkInterface in buckets of 50 requests refilled at 5 a
	// second per account, shared with every other tool of the account.
	MaxConcurrentMoves int
	// SweepInterval is how often a conductor (Conduct) reads the fleet
	// while its runs are in flight (default 1 s).
	SweepInterval time.Duration
	// Jitter spreads a retry delay (default: uniformly over [d/2, d)); a
	// seeded one makes simulated histories repeatable.
	Jitter func(time.Duration) time.Duration
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.DeviceIndex <= 0 {
		o.DeviceIndex = 1
	}
	if o.MaxAutomaticMoves == 0 {
		o.MaxAutomaticMoves = 3
	}
	def(&o.Cooldown, 15*time.Minute)
	def(&o.DeepCheckRetry, 5*time.Second)
	def(&o.GracefulDetachWait, 8*time.Second)
	def(&o.HealthLead, 30*time.Minute)
	def(&o.PollInitial, 100*time.Millisecond)
	def(&o.PollBackoffAfter, 10*time.Second)
	def(&o.PollMax, 2*time.Second)
	if o.PollFactor < 1 {
		o.PollFactor = 1.5
	}
	def(&o.RetryBase, 100*time.Millisecond)
	def(&o.RetryMax, 3*time.Second)
	if o.RetryAttempts <= 0 {
		o.RetryAttempts = 8
	}
	def(&o.DeadlineMargin, 1500*time.Millisecond)
	if o.DetachRefusals <= 0 {
		o.DetachRefusals = 4
	}
	def(&o.RefusalBackoff, 500*time.Millisecond)
	if o.MaxSteps <= 0 {
		o.MaxSteps = 200
	}
	if o.MaxConcurrentMoves <= 0 {
		o.MaxConcurrentMoves = 20
	}
	def(&o.SweepInterval, time.Second)
	if o.Jitter == nil {
		o.Jitter = jitter
	}
	return o
}

// Engine runs triggers against EC2.
type Engine struct {
	ec2   awsapi.EC2
	disc  *discovery.Discoverer
	clk   clock.Clock
	opts  Options
	tags  model.Tags
	log   *slog.Logger
	locks sync.Map // group name -> *slots of one (a mutex that honours ctx)
	hints memberHints
	poll  poller
	// moving bounds the runs changing EC2 at once (MaxConcurrentMoves).
	moving *slots
	// allowed is Options.Allowed as a set; nil: every member is allowed.
	allowed map[string]bool
}

// New returns an engine. A nil clock is the wall clock; a nil logger
// discards.
func New(api awsapi.EC2, clk clock.Clock, log *slog.Logger, opts Options) *Engine {
	if clk == nil {
		clk = clock.Real{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts = opts.withDefaults()
	tags := model.NewTags(opts.TagPrefix)
	var allowed map[string]bool
	if len(opts.Allowed) > 0 {
		allowed = make(map[string]bool, len(opts.Allowed))
		for _, id := range opts.Allowed {
			allowed[id] = true
		}
	}
	e := &Engine{
		allowed: allowed,
		ec2:     api,
		disc:    &discovery.Discoverer{EC2: api, Tags: tags, Clock: clk},
		clk:     clk,
		opts:    opts,
		tags:    tags,
		log:     log,
	}
	e.poll.e = e
	e.moving = newSlots(opts.MaxConcurrentMoves)
	return e
}

// Now is the engine's clock.
func (e *Engine) Now() time.Time { return e.clk.Now() }

// Clock is the engine's clock (the wall clock in Lambda).
func (e *Engine) Clock() clock.Clock { return e.clk }

// Tags returns the tag keys the engine reads and writes.
func (e *Engine) Tags() model.Tags { return e.tags }

// Run handles one trigger and returns a report per group it looked at. A
// trigger about an instance in no group returns no report and no error.
// With dryRun, nothing is changed and the reports hold the plans.
func (e *Engine) Run(ctx context.Context, t Trigger, dryRun bool) ([]*Report, error) {
	switch {
	case t.Kind.Manual():
		name, err := e.ResolveGroup(ctx, t.Group)
		if err != nil {
			return nil, err
		}
		r, err := e.runGroup(ctx, name, t, dryRun)
		return []*Report{r}, err
	case t.Kind == Reconcile:
		return e.reconcile(ctx, t, dryRun)
	case t.Kind == LicenseRestored:
		r, err := e.confirm(ctx, t, dryRun)
		return []*Report{r}, err
	case t.InstanceID == "" && t.Group != "":
		// An alarm about a whole group (the license-port probe).
		r, err := e.runGroup(ctx, t.Group, t, dryRun)
		return []*Report{r}, err
	default:
		if t.InstanceID == "" {
			return nil, fmt.Errorf("%s trigger without an instance id: %w", t.Kind, ErrBadRequest)
		}
		if name, ok := e.hints.lookup(t.InstanceID); ok {
			if r, ran, err := e.runGroupIfMember(ctx, name, t.InstanceID, t, dryRun); ran {
				return []*Report{r}, err
			}
			e.hints.forget(t.InstanceID)
		}
		var name string
		err := e.retry(ctx, func(ctx context.Context) (err error) {
			name, err = e.disc.GroupOfInstance(ctx, t.InstanceID)
			return err
		})
		if err != nil {
			return nil, err
		}
		if name == "" {
			e.log.DebugContext(ctx, "instance in no group; ignored", "instance_id", t.InstanceID, "trigger", string(t.Kind))
			return nil, nil
		}
		r, err := e.runGroup(ctx, name, t, dryRun)
		return []*Report{r}, err
	}
}

// ResolveGroup returns the named group, or the only one when name is "".
func (e *Engine) ResolveGroup(ctx context.Context, name string) (string, error) {
	if name != "" {
		return name, nil
	}
	var names []string
	err := e.retry(ctx, func(ctx context.Context) (err error) {
		names, err = e.disc.Names(ctx)
		return err
	})
	if err != nil {
		return "", err
	}
	switch len(names) {
	case 0:
		return "", fmt.Errorf("no group found (no network interface tagged %s): %w", e.tags.Group(), ErrBadRequest)
	case 1:
		return names[0], nil
	}
	return "", fmt.Errorf("%d groups exist (%v): name one in \"group\": %w", len(names), names, ErrBadRequest)
}

// reconcile checks every group from one batched read and carries out,
// alongside each other, what each needs: a move or an attach (bounded by
// MaxConcurrentMoves), a repair, the deep check of a healthy holder.
// Under the group's lock a run re-reads only when another run held it.
func (e *Engine) reconcile(ctx context.Context, t Trigger, dryRun bool) ([]*Report, error) {
	if t.Group != "" {
		r, err := e.runGroup(ctx, t.Group, t, dryRun)
		return []*Report{r}, err
	}
	groups, readErr := e.readAll(ctx)
	return e.reconcileRead(ctx, t, groups, readErr, dryRun)
}

// reconcileRead is the reconcile of a fleet read just made.
func (e *Engine) reconcileRead(ctx context.Context, t Trigger, groups []model.Group, readErr error, dryRun bool) ([]*Report, error) {
	if readErr != nil && len(groups) == 0 {
		return nil, readErr
	}
	checks := newSlots(deepChecksAtOnce)
	var jobs []job
	for _, g := range groups {
		plan, err := Decide(g, t, e.Policy())
		if err != nil || plan.Action != ActNone {
			jobs = append(jobs, one(func() (*Report, error) { return e.runFromRead(ctx, g, t, dryRun) }))
			continue
		}
		r := e.newReport(g, t)
		r.Action, r.Reason, r.Outcome, r.HolderAfter = ActNone, plan.Reason, NothingToDo, g.ENI.InstanceID
		attached := g.ENI.AttachmentStatus == "attached"
		if e.opts.HolderTag && !dryRun && attached {
			if unlock, err := e.lock(ctx, g.Name); err == nil {
				e.markHolder(ctx, g, g.ENI.InstanceID, r)
				unlock()
			}
			if len(r.Steps) > 0 {
				r.Outcome, r.Reason = Repaired, r.Reason+"; license-holder tag mended"
			}
		}
		m, ok := g.Member(g.ENI.InstanceID)
		if e.opts.DeepCheck == nil || dryRun || !ok || !attached || m.State != model.StateRunning {
			jobs = append(jobs, one(func() (*Report, error) { return r, nil }))
			continue
		}
		jobs = append(jobs, one(func() (*Report, error) {
			if _, err := checks.acquire(ctx, e.clk); err != nil {
				return r, nil
			}
			defer checks.release()
			if moved, err := e.deepCheck(ctx, g); moved != nil {
				return moved, err
			}
			return r, nil
		}))
	}
	reports, err := e.fanOut(jobs)
	return reports, errors.Join(readErr, err)
}

// deepChecksAtOnce bounds the deep checks of one reconcile in flight
// (SSM's SendCommand has a rate of its own).
const deepChecksAtOnce = 8

// deepCheck runs the check on g's holder; a second failure, DeepCheckRetry
// after the first, fails the holder over (nil report: it passed, or could
// not tell).
func (e *Engine) deepCheck(ctx context.Context, g model.Group) (*Report, error) {
	holder := g.ENI.InstanceID
	m, _ := g.Member(holder)
	log := e.log.With("group", g.Name, "eni_id", g.ENI.ID, "instance_id", holder)
	first := e.clk.Now()
	var a Activation
	for try := 1; try <= 2; try++ {
		if try == 2 {
			if err := e.clk.Sleep(ctx, e.opts.DeepCheckRetry); err != nil {
				return nil, nil
			}
		}
		a = e.opts.DeepCheck.Activate(ctx, holder, m.Windows)
		switch a.Status {
		case "Success":
			if try == 2 {
				log.WarnContext(ctx, "deep check failed once, then passed: no move", "command_id", a.CommandID)
			}
			return nil, nil
		case "Failed":
			log.WarnContext(ctx, "deep check failed", "try", try, "command_id", a.CommandID, "error", a.Error, "output", a.Output)
		default:
			// The command did not run to an exit code: nothing is known
			// about the token server.
			log.WarnContext(ctx, "deep check inconclusive: no move", "status", a.Status, "command_id", a.CommandID, "error", a.Error)
			return nil, nil
		}
	}
	reason := "deep check: " + strings.TrimSpace(cmp.Or(a.Error, a.Status))
	if out := strings.TrimSpace(a.Output); out != "" {
		reason += ": " + clip.Text(strings.Join(strings.Fields(out), " "), 200)
	}
	return e.runGroup(ctx, g.Name, Trigger{Kind: Impaired, Group: g.Name, Since: first, At: e.clk.Now(), Reason: reason}, false)
}

// Policy is the decision policy at this moment.
func (e *Engine) Policy() Policy {
	return Policy{
		Now:               e.clk.Now(),
		Tags:              e.tags,
		DeviceIndex:       e.opts.DeviceIndex,
		AllowStartStopped: e.opts.AllowStartStopped,
		Cooldown:          e.opts.Cooldown,
		Allowed:           e.allowed,
		HealthLead:        e.opts.HealthLead,
	}
}

func (e *Engine) newReport(g model.Group, t Trigger) *Report {
	return &Report{
		Group: g.Name, ENIID: g.ENI.ID, MAC: g.ENI.MAC, PrivateIP: g.ENI.PrivateIP, AZ: g.ENI.AZ,
		Trigger: t.Kind, HolderBefore: g.ENI.InstanceID, StartedAt: e.clk.Now(), Steps: []Step{},
	}
}

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
	if holder, ok := g.Member(g.ENI.InstanceID); ok && !t.Kind.Manual() && plan.Action == ActMove && holder.Up() && holder.Health != model.HealthImpaired {
		// Only moves off a holder EC2 finds healthy are capped: the token
		// server failing there may fail everywhere, whereas moving off a
		// stopped or impaired instance always helps.
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

// confirm handles the license answering again: it reports the clients'
// outage, with the holder that serves now, and records it on the history's
// move when one was made during the outage.
func (e *Engine) confirm(ctx context.Context, t Trigger, dryRun bool) (*Report, error) {
	start := e.clk.Now()
	unlock, err := e.lock(ctx, t.Group)
	if err != nil {
		return failedRun(t.Group, t, start, err), err
	}
	defer unlock()
	g, err := e.ReadGroup(ctx, t.Group)
	if err != nil {
		return failedRun(t.Group, t, start, err), err
	}
	r := e.newReport(g, t)
	r.StartedAt, r.HolderAfter, r.Outcome = start, g.ENI.InstanceID, Confirmed
	r.OutageMS = t.At.Sub(t.Since).Milliseconds()
	outage := (time.Duration(r.OutageMS) * time.Millisecond).Round(100 * time.Millisecond)
	r.Reason = fmt.Sprintf("the license answers again on %s (%s): clients saw an outage of %s, from %s", g.ENI.PrivateIP, cmp.Or(g.ENI.InstanceID, "no holder"),
		outage, t.Since.UTC().Format(time.RFC3339))
	r.Names = names(g, r.HolderAfter)
	log := e.log.With("group", g.Name, "eni_id", g.ENI.ID, "trigger", string(t.Kind))
	if set, m, ok := e.tags.WithOutage(g.ENI.Tags, t.Since, t.At); ok {
		r.Reason += fmt.Sprintf("; the move at %s (%s>%s) took %s of it", m.At.Format(time.RFC3339), m.From, m.To, time.Duration(m.DurationMS)*time.Millisecond)
		if !dryRun {
			took, err := e.tagENI(ctx, g.ENI.ID, set)
			step := Step{Name: "history", DurationMS: took.Milliseconds()}
			if err != nil {
				step.Error = err.Error()
				log.WarnContext(ctx, "outage not added to the history", "error", err.Error())
			}
			r.Steps = append(r.Steps, step)
		}
	} else if t.Brief {
		// A blip the probe never confirmed, with no move in it: logged,
		// not announced.
		r.Outcome = NothingToDo
		r.Reason = fmt.Sprintf("a brief outage of %s on %s (not confirmed by the probe), with no move during it", outage, g.ENI.PrivateIP)
	} else {
		r.Reason += "; no move was made during it"
	}
	r.DurationMS = e.clk.Now().Sub(start).Milliseconds()
	log.InfoContext(ctx, "license confirmed", "outcome", string(r.Outcome), "instance_id", g.ENI.InstanceID, "outage_ms", r.OutageMS)
	return r, nil
}

// markHolder puts the license-holder tag on holder and takes it off every
// other member that carries it for this group. A failure is logged and
// recorded as a step, never an error: the ENI is where it should be, and
// the next reconcile mends the tag.
func (e *Engine) markHolder(ctx context.Context, g model.Group, holder string, r *Report) {
	key := e.tags.LicenseHolder()
	var stale []string
	marked := false
	for _, m := range g.Members {
		switch {
		case m.InstanceID == holder:
			marked = m.HolderMark == g.Name
		case m.HolderMark == g.Name:
			stale = append(stale, m.InstanceID)
		}
	}
	if _, ok := g.Member(holder); !ok {
		marked = true // not a member: not ours to tag
	}
	start := e.clk.Now()
	var errs []error
	if !marked {
		errs = append(errs, e.retry(ctx, func(ctx context.Context) error {
			_, err := e.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{holder}, Tags: []types.Tag{{Key: aws.String(key), Value: aws.String(g.Name)}}})
			return err
		}))
	}
	if len(stale) > 0 {
		errs = append(errs, e.retry(ctx, func(ctx context.Context) error {
			// With the value: a member that holds another group's ENI
			// keeps that group's tag.
			_, err := e.ec2.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: stale, Tags: []types.Tag{{Key: aws.String(key), Value: aws.String(g.Name)}}})
			return err
		}))
	}
	if marked && len(stale) == 0 {
		return
	}
	step := Step{Name: "holder-tag", InstanceID: holder, DurationMS: e.clk.Now().Sub(start).Milliseconds()}
	if len(stale) > 0 {
		step.Detail = "removed from " + strings.Join(stale, ",")
	}
	if err := errors.Join(errs...); err != nil {
		step.Error = err.Error()
		e.log.WarnContext(ctx, "license-holder tag not mended", "group", g.Name, "instance_id", holder, "error", err.Error())
	}
	r.Steps = append(r.Steps, step)
}

// recordMove adds a move to the history in the ENI's journal. A history
// that cannot be written is logged, never an error: the ENI is in place.
func (e *Engine) recordMove(ctx context.Context, eni model.Interface, m model.Move, r *Report, log *slog.Logger) {
	took, err := e.tagENI(ctx, eni.ID, e.tags.WithMove(eni.Tags, m))
	step := Step{Name: "history", DurationMS: took.Milliseconds()}
	if err != nil {
		step.Error = err.Error()
		log.WarnContext(ctx, "history not written", "error", err.Error())
	}
	r.Steps = append(r.Steps, step)
}

// History returns a group's last moves, newest first.
func (e *Engine) History(ctx context.Context, group string) (model.Group, []model.Move, error) {
	name, err := e.ResolveGroup(ctx, group)
	if err != nil {
		return model.Group{}, nil, err
	}
	g, err := e.ReadGroup(ctx, name)
	if err != nil {
		return g, nil, err
	}
	return g, e.tags.History(g.ENI.Tags), nil
}

// ReadGroup reads a group, retrying throttling and 5xx; an unknown group
// is an ErrBadRequest.
func (e *Engine) ReadGroup(ctx context.Context, name string) (model.Group, error) {
	var g model.Group
	err := e.retry(ctx, func(ctx context.Context) error {
		var err error
		g, err = e.disc.Group(ctx, name)
		return err
	})
	if errors.Is(err, discovery.ErrGroupNotFound) {
		return g, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	if err == nil {
		e.hints.record(g)
	}
	return g, err
}

// recordNotice keeps a scheduled AWS Health change in the ENI's journal,
// so that the reconcile carries it out when it is due, and every run
// until it ends avoids the members it names. The decision of this run
// sees it even when the tag cannot be written (or in a dry run).
func (e *Engine) recordNotice(ctx context.Context, g model.Group, n model.HealthNotice, r *Report, dryRun bool) model.Group {
	key := e.tags.Scheduled()
	value, changed := model.WithHealthNotice(g.ENI.Tags[key], n, e.clk.Now())
	if !changed {
		return g
	}
	tags := maps.Clone(g.ENI.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	tags[key] = value
	g.ENI.Tags = tags
	if dryRun {
		return g
	}
	took, err := e.tagENI(ctx, g.ENI.ID, map[string]string{key: value})
	step := Step{Name: "record-health", Detail: n.String(), DurationMS: took.Milliseconds()}
	if err != nil {
		step.Error = err.Error()
		e.log.WarnContext(ctx, "AWS Health change not recorded", "group", g.Name, "eni_id", g.ENI.ID, "error", err.Error())
	}
	r.Steps = append(r.Steps, step)
	return g
}

func byWhom(by string) string {
	if by == "" {
		return ""
	}
	return " by " + by
}

// SetPause starts (p.Until in the future) or ends (p.Until now) a group's
// maintenance mode: one tag write on the ENI, seen by every sandbox at
// once. An empty group name means the only group.
func (e *Engine) SetPause(ctx context.Context, group string, p model.Pause) (*Report, error) {
	name, err := e.ResolveGroup(ctx, group)
	if err != nil {
		return nil, err
	}
	start := e.clk.Now()
	unlock, err := e.lock(ctx, name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	g, err := e.ReadGroup(ctx, name)
	if err != nil {
		return nil, err
	}
	r := e.newReport(g, Trigger{Kind: Move})
	r.Trigger, r.StartedAt, r.HolderAfter = "", start, g.ENI.InstanceID
	r.Outcome, r.Reason = Paused, fmt.Sprintf("paused until %s%s: %s", p.Until.UTC().Format(time.RFC3339), byWhom(p.By), p.Reason)
	if !p.Active(start) {
		r.Outcome, r.Reason = Resumed, "automatic moves resumed"+byWhom(p.By)
	}
	p.Reason = tagSafe(p.Reason)
	took, err := e.tagENI(ctx, g.ENI.ID, map[string]string{e.tags.Paused(): p.String()})
	step := Step{Name: "journal", Detail: e.tags.Paused() + "=" + p.String(), DurationMS: took.Milliseconds()}
	if err != nil {
		step.Error = err.Error()
		r.Outcome, r.Error = Failed, fmt.Sprintf("writing %s on %s: %v", e.tags.Paused(), g.ENI.ID, err)
	}
	r.Steps = append(r.Steps, step)
	r.DurationMS = e.clk.Now().Sub(start).Milliseconds()
	e.log.InfoContext(ctx, "maintenance mode", "group", name, "eni_id", g.ENI.ID, "outcome", string(r.Outcome), "until", p.Until.UTC().Format(time.RFC3339), "by", p.By)
	if err != nil {
		return r, fmt.Errorf("group %q: %s", name, r.Error)
	}
	return r, nil
}

// names maps the given members to their Name tags (those that have one).
func names(g model.Group, ids ...string) map[string]string {
	var out map[string]string
	for _, id := range ids {
		if m, ok := g.Member(id); ok && m.Name != "" {
			if out == nil {
				out = map[string]string{}
			}
			out[id] = m.Name
		}
	}
	return out
}

// tagENI writes journal tags on the ENI (retrying throttling and 5xx) and
// says how long it took. Every journal write goes through it.
func (e *Engine) tagENI(ctx context.Context, eniID string, set map[string]string) (time.Duration, error) {
	tags := make([]types.Tag, 0, len(set))
	for _, k := range slices.Sorted(maps.Keys(set)) {
		tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String(set[k])})
	}
	start := e.clk.Now()
	err := e.retry(ctx, func(ctx context.Context) error {
		_, err := e.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{eniID}, Tags: tags})
		return err
	})
	return e.clk.Now().Sub(start), err
}
