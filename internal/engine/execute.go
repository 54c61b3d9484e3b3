package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/eni-failover/eni-failover/internal/awserr"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/report"
)

// execution carries out one plan as a loop over observed states: each turn
// reads where the ENI is and takes the one step that state calls for. So a
// run that starts from any intermediate state (a crash, a retry, another
// invocation's half-done move) continues from there.
type execution struct {
	e    *Engine
	g    model.Group
	plan report.Plan
	t    Trigger
	r    *report.Report
	log  *slog.Logger

	eni           model.Interface // last observed
	next          int             // next candidate to try
	attempted     map[string]bool // instances we asked EC2 to attach to
	ourAttachment string
	detachSince   time.Time
	forced        bool
	poll          time.Duration
	refusals      []string
	toFormer      bool
	mutated       bool
	dl            time.Time
	hasDL         bool
	// readErr is set when the re-read after a mutation failed: the state
	// is then unknown and the run must stop.
	readErr error
	// lastRead is when the ENI was last read; waitSince when the current
	// wait for a transition began (zero: not waiting).
	lastRead, waitSince time.Time
	journalDone         bool
	detachRefusals      int
}

func (x *execution) now() time.Time { return x.e.clk.Now() }

func (x *execution) run(ctx context.Context) (report.Outcome, error) {
	x.eni = x.g.ENI
	x.poll = x.e.opts.PollInitial
	x.dl, x.hasDL = x.e.clk.Deadline(ctx)
	x.lastRead = x.now()
	if x.plan.Action == report.ActMove {
		if err := x.startNext(ctx); err != nil {
			return report.Failed, err
		}
	}
	for i := 0; i < x.e.opts.MaxSteps; i++ {
		if err := ctx.Err(); err != nil {
			return report.Failed, fmt.Errorf("group %q: run interrupted: %w", x.g.Name, err)
		}
		eni := x.eni
		var err error
		switch {
		case !eni.Attached():
			var done bool
			var o report.Outcome
			if o, done, err = x.attachNext(ctx); done {
				return o, err
			}
		case eni.AttachmentStatus == model.Detaching:
			if x.detachSince.IsZero() {
				x.detachSince = x.now()
			}
			if !x.forced && x.now().Sub(x.detachSince) >= x.e.opts.GracefulDetachWait {
				err = x.detach(ctx, true, fmt.Sprintf("still detaching after %s", x.now().Sub(x.detachSince).Round(time.Millisecond)))
			} else {
				err = x.wait(ctx, report.StepWaitAvailable)
			}
		case eni.AttachmentID == x.plan.AttachmentID && x.plan.Action == report.ActMove && !x.toFormer:
			// Compare-and-swap: only the attachment the decision saw is
			// detached; a new one, even on the same instance, is someone
			// else's doing.
			if eni.AttachmentStatus == model.Attaching {
				err = x.wait(ctx, report.StepWaitAttached)
			} else {
				err = x.detach(ctx, x.plan.Force, "")
			}
		case x.plan.Action == report.ActRepair || eni.AttachmentID == x.ourAttachment || x.attempted[eni.InstanceID]:
			if eni.AttachmentStatus == model.Attaching {
				err = x.wait(ctx, report.StepWaitAttached)
			} else {
				return x.finalize(ctx)
			}
		default:
			x.r.HolderAfter = eni.InstanceID
			x.step(report.StepVerify, eni.InstanceID, 0, fmt.Sprintf("attached to %s by someone else (%s); left alone", eni.InstanceID, eni.AttachmentID), nil)
			return report.AttachedByOther, nil
		}
		if x.readErr != nil {
			return report.Failed, x.readErr
		}
		if err != nil {
			return report.Failed, err
		}
	}
	return report.Failed, fmt.Errorf("group %q: gave up after %d steps with %s %s on %q", x.g.Name, x.e.opts.MaxSteps, x.eni.ID, x.eni.AttachmentStatus, x.eni.InstanceID)
}

// attachNext attaches the available ENI to the next candidate. done means
// the run ends here with the given outcome and error.
func (x *execution) attachNext(ctx context.Context) (report.Outcome, bool, error) {
	var c report.Candidate
	switch {
	case x.next < len(x.plan.Candidates) && x.plan.Candidates[x.next].NeedsBoot():
		return "", false, x.startNext(ctx)
	case x.next < len(x.plan.Candidates):
		c = x.plan.Candidates[x.next]
	case !x.toFormer && x.plan.Holder != "" && x.plan.Action == report.ActMove:
		// Every standby refused: rather than leave the licensed MAC
		// orphaned, give it back to where it was.
		x.toFormer = true
		c = report.Candidate{InstanceID: x.plan.Holder}
	default:
		err := &NoTargetError{Group: x.g.Name, AZ: x.g.ENI.AZ, Reasons: x.refusals}
		x.r.HolderAfter = ""
		return report.Failed, true, fmt.Errorf("%w; %s left available", err, x.eni.ID)
	}
	if err := x.deadlineNear(report.StepAttach, 0); err != nil {
		return report.Failed, true, err
	}
	var attachmentID string
	ambiguous := false // an attempt failed in a way that may have taken effect
	err := x.mutate(ctx, report.StepAttach, c.InstanceID, fmt.Sprintf("device index %d", x.e.opts.DeviceIndex), func(ctx context.Context) error {
		out, err := x.e.ec2.AttachNetworkInterface(ctx, &ec2.AttachNetworkInterfaceInput{
			NetworkInterfaceId: aws.String(x.eni.ID),
			InstanceId:         aws.String(c.InstanceID),
			DeviceIndex:        aws.Int32(x.e.opts.DeviceIndex),
			NetworkCardIndex:   aws.Int32(0),
		})
		if err == nil {
			attachmentID = aws.ToString(out.AttachmentId)
		}
		ambiguous = ambiguous || awserr.IsRetryable(err)
		return err
	})
	// An attachment to c is ours when EC2 accepted the call, or when an
	// earlier attempt that failed ambiguously may have made it; a clean
	// refusal (in use) means someone else attached it.
	x.attempted[c.InstanceID] = err == nil || ambiguous
	switch {
	case err == nil:
		x.ourAttachment = attachmentID
		x.journalOnce(ctx, c.InstanceID)
	case awserr.IsRetryable(err) || ctx.Err() != nil || isDeadline(err):
		return report.Failed, true, fmt.Errorf("attaching %s to %s: %w", x.eni.ID, c.InstanceID, err)
	default:
		// Refused, whatever the reason (index taken, wrong state, in use,
		// or IAM denying this instance): the re-read tells whether someone
		// else attached it, else the next candidate goes, and the former
		// holder last. Stopping here would leave the ENI available, and
		// every retry would repeat the same refusal.
		x.refusals = append(x.refusals, fmt.Sprintf("%s refused: %s", c.InstanceID, cmp.Or(awserr.Code(err), err.Error())))
		x.next++
	}
	if x.readErr != nil {
		return report.Failed, true, x.readErr
	}
	return "", false, nil
}

// startNext boots the next candidate when it is a stopped standby, and
// waits until it runs. It happens before the detach of a move, so the ENI
// stays on its holder during the boot, and a run that dies meanwhile
// leaves a booting standby, not the ENI on a stopped instance. A standby
// that will not start is skipped.
func (x *execution) startNext(ctx context.Context) error {
	for x.next < len(x.plan.Candidates) && x.plan.Candidates[x.next].NeedsBoot() {
		c := &x.plan.Candidates[x.next]
		if err := x.deadlineNear(report.StepStartInstance, 0); err != nil {
			return err
		}
		var err error
		if c.Start {
			err = x.mutate(ctx, report.StepStartInstance, c.InstanceID, "stopped standby", func(ctx context.Context) error {
				_, err := x.e.ec2.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{c.InstanceID}})
				return err
			})
		}
		if err == nil {
			err = x.waitRunning(ctx, c.InstanceID)
		}
		id := c.InstanceID
		if err == nil {
			c.Start, c.Booting = false, false
			return nil
		}
		var dl *DeadlineError
		if ctx.Err() != nil || errors.As(err, &dl) || awserr.IsRetryable(err) {
			return fmt.Errorf("starting standby %s for %s: %w", id, x.eni.ID, err)
		}
		x.refusals = append(x.refusals, fmt.Sprintf("%s did not start: %s", id, cmp.Or(awserr.Code(err), err.Error())))
		x.next++
	}
	return nil
}

// waitRunning polls the instance until it is running.
func (x *execution) waitRunning(ctx context.Context, id string) error {
	poll := x.e.opts.PollInitial
	start := x.now()
	defer func() { x.step(report.StepWaitRunning, id, x.now().Sub(start), "", nil) }()
	for {
		m, err := retried(ctx, x.e, func(ctx context.Context) (model.Member, error) { return x.e.disc.Instance(ctx, id) })
		switch {
		case err != nil:
			return x.interrupted(report.StepWaitRunning, err)
		case m.State == model.StateRunning:
			return nil
		case m.State != model.StatePending:
			return fmt.Errorf("standby %s is %s", id, m.State)
		}
		if err := x.deadlineNear(report.StepWaitRunning, poll); err != nil {
			return err
		}
		if err := x.e.clk.Sleep(ctx, poll); err != nil {
			return x.interrupted(report.StepWaitRunning, err)
		}
		poll = min(time.Duration(float64(poll)*x.e.opts.PollFactor), x.e.opts.PollMax)
	}
}

func (x *execution) detach(ctx context.Context, force bool, why string) error {
	name := report.StepDetach
	if force {
		name = report.StepForceDetach
		x.forced = true
	}
	if err := x.deadlineNear(name, 0); err != nil {
		return err
	}
	attID, holder := x.eni.AttachmentID, x.eni.InstanceID
	if x.detachSince.IsZero() || force {
		x.detachSince = x.now()
	}
	err := x.mutate(ctx, name, holder, strings.TrimSpace(attID+" "+why), func(ctx context.Context) error {
		_, err := x.e.ec2.DetachNetworkInterface(ctx, &ec2.DetachNetworkInterfaceInput{
			AttachmentId: aws.String(attID),
			Force:        aws.Bool(force),
		})
		return err
	})
	if err != nil && (awserr.IsRetryable(err) || awserr.Classify(err) == awserr.Fatal) {
		return fmt.Errorf("detaching %s (%s) from %s: %w", x.eni.ID, attID, holder, err)
	}
	if err == nil && x.next < len(x.plan.Candidates) {
		x.journalOnce(ctx, x.plan.Candidates[x.next].InstanceID)
	}
	if err != nil && x.readErr == nil && x.eni.AttachmentID == attID && x.eni.AttachmentStatus == model.Attached {
		// Refused and still attached (OperationNotPermitted, an
		// attachment EC2 will not release): sending it again at once
		// would only repeat the refusal, so back off, then report.
		return x.detachRefused(ctx, name, holder, err)
	}
	// A conflict (already detaching, attachment gone) is settled by the
	// re-read that mutate did.
	return nil
}

// detachRefused counts a refused detach and waits before the next one:
// at most DetachRefusals tries, RefusalBackoff apart and doubling, so a
// refusal costs a few calls per second at most. The ENI stays where it
// was, which is no worse than before the run.
func (x *execution) detachRefused(ctx context.Context, step report.StepName, holder string, err error) error {
	x.detachRefusals++
	if x.detachRefusals >= x.e.opts.DetachRefusals {
		return fmt.Errorf("detaching %s (%s) from %s: refused %d times: %w", x.eni.ID, x.eni.AttachmentID, holder, x.detachRefusals, err)
	}
	d := x.e.opts.RefusalBackoff << (x.detachRefusals - 1)
	if err := x.deadlineNear(step, d); err != nil {
		return err
	}
	if serr := x.e.clk.Sleep(ctx, d); serr != nil {
		return x.interrupted(step, serr)
	}
	return x.observe(ctx)
}

func isDeadline(err error) bool {
	var dl *DeadlineError
	return errors.As(err, &dl)
}

// finalize runs once the ENI is attached where the plan wanted it: clear
// DeleteOnTermination, write the journal, and name the outcome.
func (x *execution) finalize(ctx context.Context) (report.Outcome, error) {
	eni := x.eni
	x.r.HolderAfter = eni.InstanceID
	if eni.DeleteOnTermination {
		err := x.mutate(ctx, report.StepDeleteOnTermination, eni.InstanceID, "set to false", func(ctx context.Context) error {
			_, err := x.e.ec2.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{
				NetworkInterfaceId: aws.String(eni.ID),
				Attachment:         &types.NetworkInterfaceAttachmentChanges{AttachmentId: aws.String(eni.AttachmentID), DeleteOnTermination: aws.Bool(false)},
			})
			return err
		})
		if err != nil && awserr.Classify(err) != awserr.Conflict {
			return report.Failed, fmt.Errorf("clearing DeleteOnTermination on %s (%s): %w", eni.ID, eni.AttachmentID, err)
		}
	}
	moved := eni.InstanceID != x.plan.Holder
	if eni.Tags[x.e.tags.Holder()] != eni.InstanceID {
		// The journal written before the move named another target (an
		// attach was refused), or was never written. An attachment so
		// fresh that its own run has not journaled it yet is recorded as
		// the move it is: the cap counts it (make fuzz found a repair that
		// hid it).
		_, fresh := x.e.tags.Unjournalled(eni, x.e.tags.History(eni.Tags), x.now())
		x.writeJournal(ctx, eni.InstanceID, moved || fresh)
	}
	switch {
	case x.toFormer:
		return report.ReturnedToFormer, &NoTargetError{Group: x.g.Name, AZ: x.g.ENI.AZ, Reasons: append(x.refusals, "returned to former holder "+eni.InstanceID)}
	case moved && x.plan.Holder != "":
		return report.Moved, nil
	case moved:
		return report.Attached, nil
	case x.mutated:
		return report.Repaired, nil
	}
	return report.NothingToDo, nil
}

// mutate makes one mutating call with retries, records it as a step, and
// re-reads the ENI whatever the result: the next decision is taken on what
// EC2 says now, not on what the call returned.
func (x *execution) mutate(ctx context.Context, name report.StepName, instanceID, detail string, call func(context.Context) error) error {
	start := x.now()
	err := x.e.retry(ctx, call)
	x.step(name, instanceID, x.now().Sub(start), detail, err)
	if err == nil {
		x.mutated = true
		x.poll, x.waitSince = x.e.opts.PollInitial, time.Time{}
		x.log.InfoContext(ctx, "step done", "step", name, "instance_id", instanceID, "attachment_id", x.eni.AttachmentID, "duration_ms", x.now().Sub(start).Milliseconds())
	} else {
		x.log.WarnContext(ctx, "step failed", "step", name, "instance_id", instanceID, "attachment_id", x.eni.AttachmentID, "error", err.Error(), "error_class", awserr.Classify(err).String())
	}
	if ctx.Err() != nil {
		return err
	}
	x.readErr = x.observe(ctx)
	return err
}

// wait re-reads the ENI one poll interval after the last read. The
// interval stays short while EC2's transition takes its usual seconds,
// then backs off (a stuck detach, a slow attach).
func (x *execution) wait(ctx context.Context, name report.StepName) error {
	now := x.now()
	if x.waitSince.IsZero() {
		x.waitSince = now
	}
	next := x.lastRead.Add(x.poll)
	if err := x.deadlineNear(name, max(0, next.Sub(now))); err != nil {
		return err
	}
	if now.Sub(x.waitSince) >= x.e.opts.PollBackoffAfter {
		x.poll = min(time.Duration(float64(x.poll)*x.e.opts.PollFactor), x.e.opts.PollMax)
	}
	err := x.observeFrom(ctx, next)
	x.step(name, x.eni.InstanceID, x.now().Sub(now), "", nil)
	return err
}

// observe re-reads the ENI with a read that starts now or just after.
func (x *execution) observe(ctx context.Context) error { return x.observeFrom(ctx, x.now()) }

// observeFrom re-reads the ENI with a read that starts at or after from,
// shared with the other runs of this process that wait then.
func (x *execution) observeFrom(ctx context.Context, from time.Time) error {
	eni, started, err := x.e.poll.read(ctx, x.eni.ID, from)
	if errors.Is(err, context.Canceled) && ctx.Err() == nil {
		// The run that made the shared read ended with its invocation;
		// this one still runs and reads for itself. (A read its leader
		// retried until it gave up is not read again N times.)
		eni, err = retried(ctx, x.e, func(ctx context.Context) (model.Interface, error) { return x.e.disc.ENI(ctx, x.eni.ID) })
		started = x.now()
	}
	if awserr.IsNotFound(err) {
		return fmt.Errorf("group %q: %s: %w", x.g.Name, x.eni.ID, ErrENINotFound)
	}
	if err != nil {
		return x.interrupted(report.StepRead, err)
	}
	x.eni = eni
	x.lastRead = started
	return nil
}

// deadlineNear fails with a DeadlineError when waiting d more would eat
// into the margin kept before the invocation's deadline.
func (x *execution) deadlineNear(step report.StepName, d time.Duration) error {
	dl, ok := x.deadline()
	if ok && x.now().Add(d).After(dl) {
		return &DeadlineError{Group: x.g.Name, Step: step}
	}
	return nil
}

// deadline is the context's deadline less the margin kept for reporting.
func (x *execution) deadline() (time.Time, bool) {
	if !x.hasDL {
		return time.Time{}, false
	}
	return x.dl.Add(-x.e.opts.DeadlineMargin), true
}

func (x *execution) interrupted(step report.StepName, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &DeadlineError{Group: x.g.Name, Step: step}
	}
	return err
}

// step records a timed step; consecutive waits of one kind merge.
func (x *execution) step(name report.StepName, instanceID string, d time.Duration, detail string, err error) {
	s := report.Step{Name: name, InstanceID: instanceID, Detail: detail, DurationMS: d.Milliseconds()}
	if err != nil {
		s.Error = err.Error()
	}
	if n := len(x.r.Steps); n > 0 && strings.HasPrefix(string(name), "wait-") && x.r.Steps[n-1].Name == name && err == nil {
		x.r.Steps[n-1].DurationMS += s.DurationMS
		return
	}
	x.r.Steps = append(x.r.Steps, s)
}
