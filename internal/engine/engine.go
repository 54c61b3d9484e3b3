// Package engine decides whether and where a group's license ENI must move,
// and moves it as a compare-and-swap on observed EC2 state: it acts only on
// the attachment it observed, re-reads after every mutation, and resumes
// from any intermediate state, so that retries, duplicates and concurrent
// invocations can never leave two attachments or an orphaned ENI.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/eni-failover/eni-failover/internal/awsapi"
	"github.com/eni-failover/eni-failover/internal/clock"
	"github.com/eni-failover/eni-failover/internal/discovery"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/report"
)

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

// Run handles one trigger and returns a report per group it looked at. A
// trigger about an instance in no group returns no report and no error.
// With dryRun, nothing is changed and the reports hold the plans.
func (e *Engine) Run(ctx context.Context, t Trigger, dryRun bool) ([]*report.Report, error) {
	switch {
	case t.Kind.Manual():
		name, err := e.ResolveGroup(ctx, t.Group)
		if err != nil {
			return nil, err
		}
		r, err := e.runGroup(ctx, name, t, dryRun)
		return []*report.Report{r}, err
	case t.Kind == report.Reconcile:
		return e.reconcile(ctx, t, dryRun)
	case t.Kind == report.LicenseRestored:
		r, err := e.confirm(ctx, t, dryRun)
		return []*report.Report{r}, err
	case t.InstanceID == "" && t.Group != "":
		// An alarm about a whole group (the license-port probe): its
		// dimension holds the group's rendering for CloudWatch.
		name, err := e.groupRendered(ctx, t.Group)
		if err != nil {
			return nil, err
		}
		r, err := e.runGroup(ctx, name, t, dryRun)
		return []*report.Report{r}, err
	default:
		if t.InstanceID == "" {
			return nil, fmt.Errorf("%s trigger without an instance id: %w", t.Kind, ErrBadRequest)
		}
		if name, ok := e.hints.lookup(t.InstanceID); ok {
			if r, ran, err := e.runGroupIfMember(ctx, name, t.InstanceID, t, dryRun); ran {
				return []*report.Report{r}, err
			}
			e.hints.forget(t.InstanceID)
		}
		name, err := retried(ctx, e, func(ctx context.Context) (string, error) { return e.disc.GroupOfInstance(ctx, t.InstanceID) })
		if err != nil {
			return nil, err
		}
		if name == "" {
			e.log.DebugContext(ctx, "instance in no group; ignored", "instance_id", t.InstanceID, "trigger", string(t.Kind))
			return nil, nil
		}
		r, err := e.runGroup(ctx, name, t, dryRun)
		return []*report.Report{r}, err
	}
}

// groupRendered is the group whose name, or whose model.SafeName (what
// CloudWatch carries in a dimension), is rendered; the name itself when
// no group renders to it (the run then says it is not found).
func (e *Engine) groupRendered(ctx context.Context, rendered string) (string, error) {
	if !model.Rendered(rendered) {
		return rendered, nil // the name in full: most names are their own rendering
	}
	names, err := retried(ctx, e, e.disc.Names)
	if err != nil {
		return "", err
	}
	if slices.Contains(names, rendered) {
		return rendered, nil
	}
	for _, n := range names {
		if model.SafeName(n) == rendered {
			return n, nil
		}
	}
	return rendered, nil
}

// ResolveGroup returns the named group, or the only one when name is "".
func (e *Engine) ResolveGroup(ctx context.Context, name string) (string, error) {
	if name != "" {
		return name, nil
	}
	names, err := retried(ctx, e, e.disc.Names)
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
		MaxAutomaticMoves: e.opts.MaxAutomaticMoves,
	}
}

func (e *Engine) newReport(g model.Group, t Trigger) *report.Report {
	return &report.Report{
		Group: g.Name, ENIID: g.ENI.ID, MAC: g.ENI.MAC, PrivateIP: g.ENI.PrivateIP, AZ: g.ENI.AZ,
		Trigger: t.Kind, HolderBefore: g.ENI.InstanceID, StartedAt: e.clk.Now(), Steps: []report.Step{},
	}
}

// ReadGroup reads a group, retrying throttling and 5xx; an unknown group
// is an ErrBadRequest.
func (e *Engine) ReadGroup(ctx context.Context, name string) (model.Group, error) {
	g, err := retried(ctx, e, func(ctx context.Context) (model.Group, error) { return e.disc.Group(ctx, name) })
	if errors.Is(err, discovery.ErrGroupNotFound) {
		return g, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	if err == nil {
		e.hints.record(g)
	}
	return g, err
}
