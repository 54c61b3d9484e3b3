package lambdasim

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/eni-failover/eni-failover/internal/testkit/simclock"
)

var start = time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)

// With reserved concurrency 1 and an invocation of 10 s, a second event
// delivered with the first is throttled and retried 1 s, 2 s, 4 s and 8 s
// later (the Lambda Developer Guide's backoff): it runs at 15 s.
func TestThrottledEventsBackOff(t *testing.T) {
	clk := simclock.NewSim(start)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu     sync.Mutex
		starts []time.Duration
	)
	fn := &Function{Name: "fleet", Concurrency: 1, Timeout: time.Minute, NewSandbox: func() Handler {
		return func(ctx context.Context, _ []byte) error {
			mu.Lock()
			starts = append(starts, clk.Now().Sub(start))
			mu.Unlock()
			return clk.Sleep(ctx, 10*time.Second)
		}
	}}
	svc := &Service{Clock: clk, Ctx: ctx}
	svc.InvokeAsync(fn, []byte("a"), 0)
	svc.InvokeAsync(fn, []byte("b"), 0)
	_ = clk.Sleep(ctx, time.Minute)
	cancel()
	svc.Wait()
	if len(starts) != 2 || starts[0] != 0 || starts[1] != 15*time.Second {
		t.Fatalf("invocations started at %v, want [0s 15s]", starts)
	}
	if st := fn.Stats(); st.Throttles != 4 || st.Invocations != 2 {
		t.Fatalf("stats %+v, want 4 throttles and 2 invocations", st)
	}
}

// With concurrency 2 both run at once, each in a sandbox of its own; a
// third finds one free again after it ends.
func TestSandboxesAreReused(t *testing.T) {
	clk := simclock.NewSim(start)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sandboxes := 0
	fn := &Function{Name: "failover", Concurrency: 2, Timeout: time.Minute, NewSandbox: func() Handler {
		sandboxes++
		return func(ctx context.Context, _ []byte) error { return clk.Sleep(ctx, time.Second) }
	}}
	svc := &Service{Clock: clk, Ctx: ctx}
	svc.InvokeAsync(fn, nil, 0)
	svc.InvokeAsync(fn, nil, 0)
	svc.InvokeAsync(fn, nil, 5*time.Second)
	_ = clk.Sleep(ctx, time.Minute)
	cancel()
	svc.Wait()
	if st := fn.Stats(); st.Throttles != 0 || st.Invocations != 3 || sandboxes != 2 {
		t.Fatalf("stats %+v, %d sandboxes; want 3 invocations in 2 sandboxes, no throttle", st, sandboxes)
	}
}
