// Package clock abstracts time and concurrency so that polling, backoff and
// parallel reads run on wall time in production and on simulated time in
// tests (the simulated clocks live in internal/testkit/simclock).
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock tells the time, sleeps, runs work alongside the caller, and says
// when work must end.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done, whichever comes first, and
	// returns ctx.Err() in the latter case.
	Sleep(ctx context.Context, d time.Duration) error
	// Go runs f alongside the caller and returns a function that waits for
	// it. The clock decides how: the wall clock starts a goroutine; a
	// simulated one runs f inline or as one of its actors.
	Go(f func()) (wait func())
	// Deadline is the deadline that bounds work under ctx, as this clock
	// measures time.
	Deadline(ctx context.Context) (time.Time, bool)
	// NewGate makes a one-shot signal whose waiters the clock counts as
	// idle (a simulated clock moves on while they wait).
	NewGate() Gate
}

// Gate is a one-shot signal: Wait blocks until Open (or ctx ends).
type Gate interface {
	Wait(ctx context.Context) error
	Open()
}

// ChanGate is a Gate on a channel: the wall clock's, and any clock's
// whose time does not depend on who waits.
type ChanGate struct {
	once sync.Once
	ch   chan struct{}
}

// NewChanGate makes a closed-channel gate.
func NewChanGate() *ChanGate { return &ChanGate{ch: make(chan struct{})} }

// Wait blocks until Open or until ctx ends.
func (g *ChanGate) Wait(ctx context.Context) error {
	select {
	case <-g.ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Open releases every waiter, now and later.
func (g *ChanGate) Open() { g.once.Do(func() { close(g.ch) }) }

// Real is the wall clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// Sleep waits on a timer.
func (Real) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Go runs f on a goroutine.
func (Real) Go(f func()) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	return func() { <-done }
}

// Deadline is the context's own (Lambda's, in a function).
func (Real) Deadline(ctx context.Context) (time.Time, bool) { return ctx.Deadline() }

// NewGate is a channel gate.
func (Real) NewGate() Gate { return NewChanGate() }
