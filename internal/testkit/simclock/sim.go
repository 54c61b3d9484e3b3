package simclock

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/eni-failover/eni-failover/internal/clock"
)

// Sim is a discrete-event clock for measurements: time stands still while
// any actor runs, and jumps to the earliest wake-up once every actor
// sleeps or waits. Unlike Virtual, concurrent sleeps overlap as they do on
// the wall clock, so a parallel read costs its longest call, not the sum.
// Actors are the goroutine that made the clock and those started with Go.
type Sim struct {
	mu       sync.Mutex
	now      time.Time
	running  int
	sleepers []*simSleeper
}

type simSleeper struct {
	wake     time.Time
	ch       chan struct{}
	released bool
}

// NewSim starts a clock at start; the calling goroutine is its first actor.
func NewSim(start time.Time) *Sim { return &Sim{now: start, running: 1} }

// Now returns the simulated time.
func (s *Sim) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Advance moves the time forward by d (between runs, when nothing sleeps).
func (s *Sim) Advance(d time.Duration) {
	s.mu.Lock()
	s.now = s.now.Add(d)
	s.mu.Unlock()
}

// Sleep parks the actor until the simulated time has moved by d. A
// deadline set with WithDeadline is honoured as in Virtual.
func (s *Sim) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	var result error
	if dl, ok := virtualDeadline(ctx); ok && !s.now.Add(d).Before(dl) {
		d, result = max(0, dl.Sub(s.now)), context.DeadlineExceeded
	}
	sl := &simSleeper{wake: s.now.Add(d), ch: make(chan struct{})}
	i := sort.Search(len(s.sleepers), func(i int) bool { return s.sleepers[i].wake.After(sl.wake) })
	s.sleepers = append(s.sleepers, nil)
	copy(s.sleepers[i+1:], s.sleepers[i:])
	s.sleepers[i] = sl
	s.running--
	s.advanceLocked()
	s.mu.Unlock()
	select {
	case <-sl.ch:
		return result
	case <-ctx.Done():
		s.mu.Lock()
		if !sl.released {
			for i, x := range s.sleepers {
				if x == sl {
					s.sleepers = append(s.sleepers[:i], s.sleepers[i+1:]...)
					break
				}
			}
			s.running++
		}
		s.mu.Unlock()
		return ctx.Err()
	}
}

// Go runs f as a new actor; the returned function waits for it to end.
func (s *Sim) Go(f func()) (wait func()) {
	s.mu.Lock()
	s.running++
	s.mu.Unlock()
	var (
		done     = make(chan struct{})
		finished bool
		waiting  bool
	)
	go func() {
		f()
		s.mu.Lock()
		finished = true
		if !waiting {
			s.running--
			s.advanceLocked()
		} // else: hand the running slot over to the waiter
		s.mu.Unlock()
		close(done)
	}()
	return func() {
		s.mu.Lock()
		if finished {
			s.mu.Unlock()
			<-done
			return
		}
		waiting = true
		s.running--
		s.advanceLocked()
		s.mu.Unlock()
		<-done
	}
}

// advanceLocked releases the earliest sleepers when no actor runs.
func (s *Sim) advanceLocked() {
	if s.running > 0 || len(s.sleepers) == 0 {
		return
	}
	wake := s.sleepers[0].wake
	if wake.After(s.now) {
		s.now = wake
	}
	for len(s.sleepers) > 0 && !s.sleepers[0].wake.After(s.now) {
		sl := s.sleepers[0]
		s.sleepers = s.sleepers[1:]
		sl.released = true
		s.running++
		close(sl.ch)
	}
}

// Deadline returns the deadline set with WithDeadline, else the context's.
func (s *Sim) Deadline(ctx context.Context) (time.Time, bool) { return deadline(ctx) }

// NewGate makes a gate whose waiters count as asleep until it opens.
func (s *Sim) NewGate() clock.Gate { return &simGate{s: s, ch: make(chan struct{})} }

type simGate struct {
	s       *Sim
	ch      chan struct{}
	opened  bool
	waiting int
}

// Wait parks the actor until Open; the clock moves on meanwhile.
func (g *simGate) Wait(ctx context.Context) error {
	s := g.s
	s.mu.Lock()
	if g.opened {
		s.mu.Unlock()
		return nil
	}
	if err := ctx.Err(); err != nil {
		s.mu.Unlock()
		return err
	}
	g.waiting++
	s.running--
	s.advanceLocked()
	s.mu.Unlock()
	select {
	case <-g.ch:
		return nil // Open counted this actor as running again
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		if g.opened {
			return nil
		}
		g.waiting--
		s.running++
		return ctx.Err()
	}
}

// Open wakes every waiter, counting each as running before the clock can
// move again.
func (g *simGate) Open() {
	s := g.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.opened {
		return
	}
	g.opened = true
	s.running += g.waiting
	g.waiting = 0
	close(g.ch)
}
