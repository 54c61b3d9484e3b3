package engine

import (
	"context"
	"slices"
	"sync"

	"github.com/eni-failover/eni-failover/internal/clock"
)

// slots is a counting semaphore whose waiters block on the clock's gates,
// so that a simulated clock moves on while they wait (a goroutine blocked
// on a plain channel would hold it still). With n = 1 it is a mutex.
type slots struct {
	mu      sync.Mutex
	free    int
	waiters []clock.Gate
}

func newSlots(n int) *slots { return &slots{free: n} }

// acquire takes a slot, waiting in turn; on an error (ctx ended) none is
// held.
func (s *slots) acquire(ctx context.Context, clk clock.Clock) (waited bool, err error) {
	s.mu.Lock()
	if s.free > 0 && len(s.waiters) == 0 {
		s.free--
		s.mu.Unlock()
		return false, nil
	}
	g := clk.NewGate()
	s.waiters = append(s.waiters, g)
	s.mu.Unlock()
	if err := g.Wait(ctx); err != nil {
		s.mu.Lock()
		i := slices.Index(s.waiters, g)
		if i >= 0 {
			s.waiters = slices.Delete(s.waiters, i, i+1)
			s.mu.Unlock()
			return true, err
		}
		s.mu.Unlock()
		// Handed a slot as the wait ended: pass it on.
		s.release()
		return true, err
	}
	return true, nil
}

// tryAcquire takes a slot only when one is free at once.
func (s *slots) tryAcquire() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.free > 0 && len(s.waiters) == 0 {
		s.free--
		return true
	}
	return false
}

// release hands the slot to the first waiter, or frees it.
func (s *slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.waiters) > 0 {
		g := s.waiters[0]
		s.waiters = s.waiters[1:]
		g.Open()
		return
	}
	s.free++
}
