// Package clock abstracts time so that polling, backoff and the simulated EC2
// can run on virtual time in tests and on wall time in production.
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock tells the time and sleeps.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done, whichever comes first, and
	// returns ctx.Err() in the latter case.
	Sleep(ctx context.Context, d time.Duration) error
}

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

// Virtual is a clock whose time moves only when someone sleeps on it: a
// sleep of d advances the shared time by d at once. Thousands of simulated
// seconds then run in microseconds, deterministically for one goroutine.
type Virtual struct {
	mu  sync.Mutex
	now time.Time
}

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

// Sleep advances the virtual time by d. A context deadline is honoured in
// virtual time: sleeping past it advances to the deadline and fails.
func (v *Virtual) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if dl, ok := VirtualDeadline(ctx); ok && !v.now.Add(d).Before(dl) {
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

type virtualDeadlineKey struct{}

// WithVirtualDeadline attaches a deadline measured on a virtual clock. Code
// that bounds its work by the deadline reads it with Deadline, so the same
// logic serves Lambda's real deadline and a test's virtual one.
func WithVirtualDeadline(ctx context.Context, deadline time.Time) context.Context {
	return context.WithValue(ctx, virtualDeadlineKey{}, deadline)
}

// VirtualDeadline returns a deadline set by WithVirtualDeadline.
func VirtualDeadline(ctx context.Context) (time.Time, bool) {
	dl, ok := ctx.Value(virtualDeadlineKey{}).(time.Time)
	return dl, ok
}

// Deadline returns the deadline that bounds work under ctx: a virtual one
// when set, else the context's own.
func Deadline(ctx context.Context) (time.Time, bool) {
	if dl, ok := VirtualDeadline(ctx); ok {
		return dl, true
	}
	return ctx.Deadline()
}
