package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/eni-failover/eni-failover/internal/awserr"
	"github.com/eni-failover/eni-failover/internal/clock"
	"github.com/eni-failover/eni-failover/internal/model"
)

// poller shares the ENI reads of every run in this process: reads start on
// a grid of PollInitial, and all the runs that wait for the same tick get
// their ENIs from one DescribeNetworkInterfaces. So N moves in flight cost
// one read per tick, not N: EC2 meters each API per account in a token
// bucket (DescribeNetworkInterfaces: 100 tokens, 20 a second, "Request
// throttling for the Amazon EC2 API"), which N pollers at 10 reads a
// second would empty in a second.
type poller struct {
	e     *Engine
	mu    sync.Mutex
	ticks map[time.Time]*tickRead
}

// tickRead is the read of one tick: the ids asked for until it starts,
// then its result.
type tickRead struct {
	ids     []string
	started bool
	done    clock.Gate
	got     map[string]model.Interface
	err     error
}

// read returns the ENI as read by a call that starts at or after
// notBefore, on the first tick of the grid from then, and when that call
// started.
func (p *poller) read(ctx context.Context, id string, notBefore time.Time) (model.Interface, time.Time, error) {
	grid := p.e.opts.PollInitial
	tick := notBefore.Truncate(grid)
	if tick.Before(notBefore) {
		tick = tick.Add(grid)
	}
	p.mu.Lock()
	if p.ticks == nil {
		p.ticks = map[time.Time]*tickRead{}
	}
	// A read of this tick that already went without this id leaves it to
	// the next tick's.
	tr := p.ticks[tick]
	for tr != nil && tr.started {
		tick = tick.Add(grid)
		tr = p.ticks[tick]
	}
	if tr == nil {
		p.prune(notBefore.Add(-time.Minute))
		tr = &tickRead{done: p.e.clk.NewGate()}
		p.ticks[tick] = tr
	}
	if !slices.Contains(tr.ids, id) {
		tr.ids = append(tr.ids, id)
	}
	p.mu.Unlock()
	if err := p.e.clk.Sleep(ctx, tick.Sub(p.e.clk.Now())); err != nil {
		return model.Interface{}, tick, err
	}
	p.mu.Lock()
	lead := !tr.started
	tr.started = true
	ids := slices.Clone(tr.ids)
	p.mu.Unlock()
	if lead {
		tr.got, tr.err = retried(ctx, p.e, func(ctx context.Context) (map[string]model.Interface, error) { return p.e.disc.ENIs(ctx, ids) })
		p.mu.Lock()
		delete(p.ticks, tick)
		p.mu.Unlock()
		tr.done.Open()
	} else if err := tr.done.Wait(ctx); err != nil {
		return model.Interface{}, tick, err
	}
	if tr.err != nil {
		return model.Interface{}, tick, tr.err
	}
	n, ok := tr.got[id]
	if !ok {
		return model.Interface{}, tick, fmt.Errorf("describing network interface %s: %w", id, awserr.NotFoundError("InvalidNetworkInterfaceID.NotFound", id))
	}
	// Each run owns its copy: it records its journal writes in it.
	n.Tags = maps.Clone(n.Tags)
	return n, tick, nil
}

// prune drops reads of ticks before t that never started (every run that
// waited for them ended first); p.mu is held.
func (p *poller) prune(t time.Time) {
	for tick, tr := range p.ticks {
		if tick.Before(t) && !tr.started {
			delete(p.ticks, tick)
		}
	}
}
