package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/eni-failover/eni-failover/internal/discovery"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/report"
)

// reconcile checks every group from one batched read and carries out,
// alongside each other, what each needs: a move or an attach (bounded by
// MaxConcurrentMoves), a repair, the deep check of a healthy holder.
// Under the group's lock a run re-reads only when another run held it.
func (e *Engine) reconcile(ctx context.Context, t Trigger, dryRun bool) ([]*report.Report, error) {
	if t.Group != "" {
		r, err := e.runGroup(ctx, t.Group, t, dryRun)
		return []*report.Report{r}, err
	}
	groups, readErr := e.readAll(ctx)
	return e.reconcileRead(ctx, t, groups, readErr, dryRun)
}

// reconcileRead is the reconcile of a fleet read just made.
func (e *Engine) reconcileRead(ctx context.Context, t Trigger, groups []model.Group, readErr error, dryRun bool) ([]*report.Report, error) {
	dups, readErr := duplicates(readErr)
	if readErr != nil && len(groups) == 0 && len(dups) == 0 {
		return nil, readErr
	}
	checks := newSlots(deepChecksAtOnce)
	var jobs []job
	for _, g := range groups {
		// Decided on the journal a run would obey; a run that acts leaves
		// out the forged values itself, and so does, loudly, one that
		// finds nothing to do.
		trusted := g
		trusted.ENI.Tags, _ = e.tags.Distrust(g.ENI.Tags, e.clk.Now())
		plan, err := Decide(trusted, t, e.Policy())
		if err != nil || plan.Action != report.ActNone {
			jobs = append(jobs, one(func() (*report.Report, error) { return e.runFromRead(ctx, g, t, dryRun) }))
			continue
		}
		r := e.newReport(g, t)
		g = e.distrust(ctx, g, r, e.log.With("group", g.Name, "eni_id", g.ENI.ID, "trigger", string(t.Kind)))
		r.Action, r.Reason, r.Outcome, r.HolderAfter = report.ActNone, plan.Reason, report.NothingToDo, g.ENI.InstanceID
		attached := g.ENI.AttachmentStatus == model.Attached
		if e.opts.HolderTag && !dryRun && attached {
			if unlock, err := e.lock(ctx, g.Name); err == nil {
				e.markHolder(ctx, g, g.ENI.InstanceID, r)
				unlock()
			}
			if len(r.Steps) > 0 {
				r.Outcome, r.Reason = report.Repaired, r.Reason+"; license-holder tag mended"
			}
		}
		m, ok := g.Member(g.ENI.InstanceID)
		if e.opts.DeepCheck == nil || dryRun || !ok || !attached || m.State != model.StateRunning {
			jobs = append(jobs, one(func() (*report.Report, error) { return r, nil }))
			continue
		}
		jobs = append(jobs, one(func() (*report.Report, error) {
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
	for _, d := range dups {
		// A failed run for the group: counted in Failures, notified, both
		// interfaces named; the reconcile itself goes on for the others.
		r := &report.Report{Group: d.Group, ENIID: strings.Join(d.ENIs, ","), Trigger: t.Kind, Action: report.ActNone,
			Outcome: report.Failed, Reason: "misconfigured: " + d.Error(), Error: d.Error(), DryRun: dryRun, StartedAt: e.clk.Now().UTC()}
		e.log.ErrorContext(ctx, "group left alone", "group", d.Group, "eni_id", r.ENIID, "error", d.Error())
		reports = append(reports, r)
	}
	return reports, errors.Join(readErr, err)
}

// duplicates takes the groups tagged on several interfaces out of a read's
// error; rest is what remains (nil when nothing else went wrong).
func duplicates(err error) (dups []*discovery.DuplicateGroupError, rest error) {
	var others []error
	var walk func(error)
	walk = func(err error) {
		switch x := err.(type) {
		case nil:
		case *discovery.DuplicateGroupError:
			dups = append(dups, x)
		case interface{ Unwrap() []error }: // errors.Join
			for _, e := range x.Unwrap() {
				walk(e)
			}
		default:
			if errors.As(err, new(*discovery.DuplicateGroupError)) {
				walk(errors.Unwrap(err)) // a wrapper around them ("reading all groups: ...")
				return
			}
			others = append(others, err)
		}
	}
	walk(err)
	return dups, errors.Join(others...)
}

// deepChecksAtOnce bounds the deep checks of one reconcile in flight
// (SSM's SendCommand has a rate of its own).
const deepChecksAtOnce = 8

// deepCheck runs the check on g's holder; a second failure, DeepCheckRetry
// after the first, fails the holder over (nil report: it passed, or could
// not tell).
func (e *Engine) deepCheck(ctx context.Context, g model.Group) (*report.Report, error) {
	holder := g.ENI.InstanceID
	m, _ := g.Member(holder)
	log := e.log.With("group", g.Name, "eni_id", g.ENI.ID, "instance_id", holder)
	first := e.clk.Now()
	var a report.CommandResult
	for try := 1; try <= 2; try++ {
		if try == 2 {
			if err := e.clk.Sleep(ctx, e.opts.DeepCheckRetry); err != nil {
				return nil, nil
			}
		}
		a = e.opts.DeepCheck.Run(ctx, holder, m.Windows)
		switch {
		case a.OK():
			if try == 2 {
				log.WarnContext(ctx, "deep check failed once, then passed: no move", "command_id", a.CommandID)
			}
			return nil, nil
		case a.RanAndFailed():
			log.WarnContext(ctx, "deep check failed", "try", try, "command_id", a.CommandID, "error", a.Error, "output", a.Output)
		case a.NotRun() != "":
			// SSM never ran the commands (agent down, instance gone, access
			// denied): nothing is known about the token server.
			log.WarnContext(ctx, "deep check could not run on "+holder+": "+a.NotRun()+"; no move",
				"status", a.Status, "status_details", a.Details, "command_id", a.CommandID, "error", a.Error)
			return nil, nil
		default:
			// The command did not run to an exit code: nothing is known
			// about the token server.
			log.WarnContext(ctx, "deep check inconclusive: no move", "status", a.Status, "command_id", a.CommandID, "error", a.Error)
			return nil, nil
		}
	}
	// The command's output stays in the log above: the reason goes into a
	// tag anyone allowed ec2:DescribeNetworkInterfaces reads ("Do not
	// store ... sensitive information in tags", EC2 User Guide).
	reason := fmt.Sprintf("deep check: command %s on %s exited %d twice, %s apart (output in the failover function's log)",
		a.CommandID, holder, a.ExitCode, e.opts.DeepCheckRetry)
	// About the instance it checked: by now another run may have moved the
	// ENI, and the new holder was not checked (the fuzzer found the
	// group-wide trigger moving it).
	return e.runGroup(ctx, g.Name, Trigger{Kind: report.Impaired, Group: g.Name, InstanceID: holder, Since: first, At: e.clk.Now(), Reason: reason}, false)
}
