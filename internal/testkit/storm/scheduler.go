package storm

import (
	"context"
	"sort"
	"sync"
)

type invKey struct{}

// scheduler runs concurrent invocations one EC2 call at a time, in an
// order drawn from the storm's source: every invocation parks before each
// call, and when all have parked one is chosen to go on. Concurrency is
// real (goroutines, separate engines), yet a seed replays the same
// interleaving.
type scheduler struct {
	mu      sync.Mutex
	src     Source
	active  int
	waiting map[int]chan struct{}
	invs    map[int]*invocation
	current int
}

func newScheduler(src Source) *scheduler {
	return &scheduler{src: src, waiting: map[int]chan struct{}{}, invs: map[int]*invocation{}}
}

// gate is the fake EC2's hook: park, wait for the turn, and fail the call
// when the invocation has been killed.
func (s *scheduler) gate(ctx context.Context, _ string) error {
	id, ok := ctx.Value(invKey{}).(int)
	if !ok {
		return nil // the storm's own reads and set-up
	}
	ch := make(chan struct{})
	s.mu.Lock()
	s.waiting[id] = ch
	s.releaseLocked()
	s.mu.Unlock()
	<-ch
	s.mu.Lock()
	inv := s.invs[id]
	inv.calls++
	kill := inv.killAt > 0 && inv.calls >= inv.killAt
	s.mu.Unlock()
	if kill {
		inv.cancel()
	}
	return ctx.Err()
}

// begin registers a batch of n invocations before they start.
func (s *scheduler) begin(invs []*invocation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active = len(invs)
	for _, inv := range invs {
		s.invs[inv.id] = inv
	}
}

// done retires a finished invocation.
func (s *scheduler) done() {
	s.mu.Lock()
	s.active--
	s.releaseLocked()
	s.mu.Unlock()
}

// running returns the invocation whose call is being made.
func (s *scheduler) running() *invocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.invs[s.current]
}

func (s *scheduler) releaseLocked() {
	if s.active == 0 || len(s.waiting) != s.active {
		return
	}
	ids := make([]int, 0, len(s.waiting))
	for id := range s.waiting {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	pick := ids[s.src.Intn(len(ids))]
	ch := s.waiting[pick]
	delete(s.waiting, pick)
	s.current = pick
	close(ch)
}
