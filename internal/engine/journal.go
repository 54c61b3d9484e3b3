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
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/report"
)

// markHolder puts the license-holder tag on holder and takes it off every
// other member that carries it for this group. A failure is logged and
// recorded as a step, never an error: the ENI is where it should be, and
// the next reconcile mends the tag.
func (e *Engine) markHolder(ctx context.Context, g model.Group, holder string, r *report.Report) {
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
	step := report.Step{Name: report.StepHolderTag, InstanceID: holder, DurationMS: e.clk.Now().Sub(start).Milliseconds()}
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
func (e *Engine) recordMove(ctx context.Context, eni model.Interface, m model.Move, r *report.Report, log *slog.Logger) {
	took, err := e.tagENI(ctx, eni.ID, e.tags.WithMove(eni.Tags, m))
	step := report.Step{Name: report.StepHistory, DurationMS: took.Milliseconds()}
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

// recordNotice keeps a scheduled AWS Health change in the ENI's journal,
// so that the reconcile carries it out when it is due, and every run
// until it ends avoids the members it names. The decision of this run
// sees it even when the tag cannot be written (or in a dry run).
func (e *Engine) recordNotice(ctx context.Context, g model.Group, n model.HealthNotice, r *report.Report, dryRun bool) model.Group {
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
	step := report.Step{Name: report.StepRecordHealth, Detail: n.String(), DurationMS: took.Milliseconds()}
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
func (e *Engine) SetPause(ctx context.Context, group string, p model.Pause) (*report.Report, error) {
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
	r := e.newReport(g, Trigger{Kind: report.Move})
	r.Trigger, r.StartedAt, r.HolderAfter = "", start, g.ENI.InstanceID
	r.Outcome, r.Reason = report.Paused, fmt.Sprintf("paused until %s%s: %s", p.Until.UTC().Format(time.RFC3339), byWhom(p.By), p.Reason)
	if !p.Active(start) {
		r.Outcome, r.Reason = report.Resumed, "automatic moves resumed"+byWhom(p.By)
	}
	// Any letter goes in a tag value; control characters never do.
	p.Reason, p.By = printable(p.Reason), printable(p.By)
	took, err := e.tagENI(ctx, g.ENI.ID, map[string]string{e.tags.Paused(): p.String()})
	step := report.Step{Name: report.StepJournal, Detail: e.tags.Paused() + "=" + p.String(), DurationMS: took.Milliseconds()}
	if err != nil {
		step.Error = err.Error()
		r.Outcome, r.Error = report.Failed, fmt.Sprintf("writing %s on %s: %v", e.tags.Paused(), g.ENI.ID, err)
	}
	r.Steps = append(r.Steps, step)
	if err == nil && !e.confirmJournal(ctx, g.ENI.ID, map[string]string{e.tags.Paused(): p.String()}, r, e.log.With("group", name)) {
		// Written, but an automatic trigger may not see it yet: the
		// operator must not take the pause for granted.
		err = errors.New(r.Steps[len(r.Steps)-1].Error)
		r.Error = err.Error()
	}
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

// confirmJournal waits until EC2's Describe shows the tags just written
// ("Eventual consistency in the Amazon EC2 API": a Describe right after
// CreateTags may not show a tag for a while), polling as a move does, for
// at most Options.VisibleWithin and never into the deadline's margin.
// What an operator was told (a pause holds, a request was carried out)
// must hold for the next call; it reports false when the tags did not
// show in time, with a step that says so.
func (e *Engine) confirmJournal(ctx context.Context, eniID string, want map[string]string, r *report.Report, log *slog.Logger) bool {
	start := e.clk.Now()
	limit := start.Add(e.opts.VisibleWithin)
	if dl, ok := e.clk.Deadline(ctx); ok && dl.Add(-e.opts.DeadlineMargin).Before(limit) {
		limit = dl.Add(-e.opts.DeadlineMargin)
	}
	step := report.Step{Name: report.StepConfirmJournal}
	for wait := e.opts.PollInitial; ; wait = min(2*wait, e.opts.PollMax) {
		eni, err := retried(ctx, e, func(ctx context.Context) (model.Interface, error) { return e.disc.ENI(ctx, eniID) })
		if err == nil && visible(eni.Tags, want) {
			break
		}
		if !e.clk.Now().Add(wait).Before(limit) || e.clk.Sleep(ctx, wait) != nil {
			step.Error = fmt.Sprintf("%s does not show %s after %s: EC2 has not made the write visible yet; the next call may not see it",
				eniID, strings.Join(slices.Sorted(maps.Keys(want)), ", "), e.clk.Now().Sub(start).Round(time.Millisecond))
			log.WarnContext(ctx, "journal not visible yet", "eni_id", eniID, "error", step.Error)
			break
		}
	}
	step.DurationMS = e.clk.Now().Sub(start).Milliseconds()
	r.Steps = append(r.Steps, step)
	return step.Error == ""
}

// visible reports whether tags hold every wanted value.
func visible(tags, want map[string]string) bool {
	for k, v := range want {
		if tags[k] != v {
			return false
		}
	}
	return true
}

// journalOnce writes a move's journal once per run, right after the first
// call that changes where the ENI is (the detach, or the attach of an
// available ENI): it costs no time, as EC2's transition runs meanwhile, and
// the failed holder's anti-flap record exists before the ENI can reach
// another member. A run that dies before it is followed by one that
// writes it, since the plan of the next run still names the failed holder.
func (x *execution) journalOnce(ctx context.Context, intended string) {
	if x.journalDone || (x.plan.Action != report.ActMove && x.plan.Action != report.ActAttach) {
		return
	}
	x.journalDone = true
	if !x.journalled(intended) {
		x.writeJournal(ctx, intended, true)
	}
}

// journalled reports whether an earlier, interrupted run already wrote
// this move's journal (a retry need not write it again).
func (x *execution) journalled(intended string) bool {
	tg := x.e.tags
	if x.eni.Tags[tg.Holder()] != intended || (x.t.RequestID != "" && x.eni.Tags[tg.Request()] != x.t.RequestID) {
		return false
	}
	if x.plan.FailedHolder == "" {
		return true
	}
	_, recorded := model.ParseFailed(x.eni.Tags[tg.Failed()])[x.plan.FailedHolder]
	return recorded
}

// writeJournal records on the ENI who holds it (or is about to), and for a
// move when, why, from where, and which holder failed. A journal that
// cannot be written does not stop a move: the ENI matters more, and the
// next reconcile writes it.
func (x *execution) writeJournal(ctx context.Context, holder string, moved bool) {
	tg := x.e.tags
	now := x.now().UTC()
	set := map[string]string{tg.Holder(): holder}
	if moved {
		set[tg.MovedAt()] = now.Format(time.RFC3339)
		set[tg.Reason()] = tagSafe(x.plan.Reason)
		set[tg.PreviousHolder()] = cmp.Or(x.plan.Holder, x.plan.FormerHolder, "none")
		if x.plan.Holder == holder {
			// Another run moved it here: it came from where the journal
			// last put it.
			set[tg.PreviousHolder()] = cmp.Or(x.eni.Tags[tg.Holder()], "none")
		}
	}
	if x.t.RequestID != "" {
		set[tg.Request()] = x.t.RequestID
	}
	if x.plan.FailedHolder != "" {
		failed := model.ParseFailed(x.eni.Tags[tg.Failed()])
		failed[x.plan.FailedHolder] = now
		set[tg.Failed()] = model.FormatFailed(failed, now, x.e.opts.Cooldown, 5)
	}
	took, err := x.e.tagENI(ctx, x.eni.ID, set)
	x.step(report.StepJournal, holder, took, "", err)
	if err != nil {
		x.log.WarnContext(ctx, "journal not written", "eni_id", x.eni.ID, "instance_id", holder, "error", err.Error())
		return
	}
	// Only tags changed: no need to read the ENI again.
	x.mutated = true
	for k, v := range set {
		x.eni.Tags[k] = v
	}
}

// printable is s with every control character (a newline, an escape) made
// a space: text an operator typed, kept in any language.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// tagSafe keeps a reason within what EC2 and IAM conditions accept in a
// tag value, and within its 256 characters.
func tagSafe(s string) string {
	b := []rune{}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune(" _.:/=+-@", r):
			b = append(b, r)
		default:
			b = append(b, ' ')
		}
		if len(b) == 256 {
			break
		}
	}
	return strings.Join(strings.Fields(string(b)), " ")
}
