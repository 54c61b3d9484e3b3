// Package lambdasim models Lambda's asynchronous invocation on the
// discrete-event clock, as the Lambda Developer Guide documents it ("How
// Lambda handles errors and retries with asynchronous invocation"): an
// event that finds every sandbox of the function busy (its reserved
// concurrency reached) is throttled and retried "from 1 second after the
// first attempt to a maximum of 5 minutes", doubling; an event whose
// invocation returns an error is retried twice, after about one and two
// minutes; each sandbox keeps its process (and so what the engine
// remembers) between invocations. What the guide leaves open (how often
// events are delivered twice, the growth of the retry interval when the
// queue is long) is an assumption of the model, named where it is set.
package lambdasim

import (
	"context"
	"sync"
	"time"

	"github.com/eni-failover/eni-failover/internal/testkit/simclock"
)

// Handler runs one invocation in a sandbox.
type Handler func(ctx context.Context, event []byte) error

// Function is one Lambda function.
type Function struct {
	Name string
	// Concurrency is its reserved concurrency: the most sandboxes that run
	// at once.
	Concurrency int
	// Timeout bounds one invocation.
	Timeout time.Duration
	// NewSandbox starts a sandbox (a process with its own memory) and
	// returns its handler.
	NewSandbox func() Handler
	// ErrorRetries: waits before the retries of an invocation that
	// returned an error (Lambda's default: two, about 1 and 2 minutes).
	ErrorRetries []time.Duration

	mu    sync.Mutex
	idle  []Handler
	busy  int
	stats Stats
}

// Stats counts what happened to a function's events.
type Stats struct {
	Invocations, Throttles, ErrorRetries int
}

// Stats returns the counts so far.
func (f *Function) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

// MaxThrottleInterval is the longest wait between throttled attempts.
const MaxThrottleInterval = 5 * time.Minute

// Service delivers events to functions on a simulated clock.
type Service struct {
	Clock *simclock.Sim
	// Ctx ends every delivery and sandbox when cancelled.
	Ctx context.Context

	mu    sync.Mutex
	waits []func()
}

// InvokeAsync hands the event to Lambda after delay (EventBridge's
// delivery), as an asynchronous invocation.
func (s *Service) InvokeAsync(f *Function, event []byte, delay time.Duration) {
	wait := s.Clock.Go(func() {
		if s.Clock.Sleep(s.Ctx, delay) != nil {
			return
		}
		s.deliver(f, event)
	})
	s.mu.Lock()
	s.waits = append(s.waits, wait)
	s.mu.Unlock()
}

// deliver runs the event: throttled with backoff while no sandbox is
// free, retried after an error.
func (s *Service) deliver(f *Function, event []byte) {
	backoff := time.Second
	retries := 0
	for s.Ctx.Err() == nil {
		h, ok := f.take()
		if !ok {
			if s.Clock.Sleep(s.Ctx, backoff) != nil {
				return
			}
			backoff = min(2*backoff, MaxThrottleInterval)
			continue
		}
		ctx := simclock.WithDeadline(s.Ctx, s.Clock.Now().Add(f.Timeout))
		err := h(ctx, event)
		f.give(h)
		if err == nil || retries >= len(f.ErrorRetries) {
			return
		}
		f.mu.Lock()
		f.stats.ErrorRetries++
		f.mu.Unlock()
		if s.Clock.Sleep(s.Ctx, f.ErrorRetries[retries]) != nil {
			return
		}
		retries++
		backoff = time.Second
	}
}

// take gives a free sandbox (an idle one, else a new one within the
// concurrency), or counts a throttle.
func (f *Function) take() (Handler, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case len(f.idle) > 0:
		h := f.idle[len(f.idle)-1]
		f.idle = f.idle[:len(f.idle)-1]
		f.busy++
		f.stats.Invocations++
		return h, true
	case f.busy < f.Concurrency:
		f.busy++
		f.stats.Invocations++
		return f.NewSandbox(), true
	}
	f.stats.Throttles++
	return nil, false
}

func (f *Function) give(h Handler) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.busy--
	f.idle = append(f.idle, h)
}

// Wait waits for every delivery to end (cancel Ctx first to end them).
func (s *Service) Wait() {
	for {
		s.mu.Lock()
		waits := s.waits
		s.waits = nil
		s.mu.Unlock()
		if len(waits) == 0 {
			return
		}
		for _, w := range waits {
			w()
		}
	}
}
