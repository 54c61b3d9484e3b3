// Package simclock holds the simulated clocks of the tests, the demo and
// the benchmarks: Virtual, whose time moves only when someone sleeps, and
// Sim, a discrete-event clock on which concurrent sleeps overlap. Both
// measure deadlines set with WithDeadline in their own time.
package simclock

import (
	"context"
	"sync"
	"time"

	"github.com/eni-failover/eni-failover/internal/clock"
)

// Virtual is a clock whose time moves only when someone sleeps on it: a
// sleep of d advances the shared time by d at once. Thousands of simulated
// seconds then run in microseconds. Work started with Go runs inline, so
// one goroutine's run is deterministic: the order of its calls never
// depends on the scheduler.
type Virtual struct {
	mu  sync.Mutex
	now time.Time
}

var _ clock.Clock = (*Virtual)(nil)

// NewVirtual starts a virtual clock at start.
func NewVirtual(start time.Time) *Virtual { return &Virtual{now: start} }

// Now returns the virtual time.
func (v *Virtual) Now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.now
}

// Advance moves the virtual time forward by d.
func (v *Virtual) Advance(d time.Duration) {
	v.mu.Lock()
	v.now = v.now.Add(d)
	v.mu.Unlock()
}

// Sleep advances the virtual time by d. A deadline set with WithDeadline is
// honoured in virtual time: sleeping past it advances to the deadline and
// fails.
func (v *Virtual) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if dl, ok := virtualDeadline(ctx); ok && !v.now.Add(d).Before(dl) {
		if dl.After(v.now) {
			v.now = dl
		}
		return context.DeadlineExceeded
	}
	if d > 0 {
		v.now = v.now.Add(d)
	}
	return nil
}

// Go runs f now, before returning.
func (v *Virtual) Go(f func()) (wait func()) {
	f()
	return func() {}
}

// NewGate is a channel gate: virtual time moves only when someone sleeps,
// so a waiter blocks without holding it up.
func (v *Virtual) NewGate() clock.Gate { return clock.NewChanGate() }

// Deadline returns the deadline set with WithDeadline, else the context's.
func (v *Virtual) Deadline(ctx context.Context) (time.Time, bool) { return deadline(ctx) }

type deadlineKey struct{}

// WithDeadline attaches a deadline measured on a simulated clock: the
// engine reads it through the clock, as it reads Lambda's real one.
func WithDeadline(ctx context.Context, at time.Time) context.Context {
	return context.WithValue(ctx, deadlineKey{}, at)
}

func virtualDeadline(ctx context.Context) (time.Time, bool) {
	dl, ok := ctx.Value(deadlineKey{}).(time.Time)
	return dl, ok
}

func deadline(ctx context.Context) (time.Time, bool) {
	if dl, ok := virtualDeadline(ctx); ok {
		return dl, true
	}
	return ctx.Deadline()
}
