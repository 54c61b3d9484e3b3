package simclock

import (
	"context"
	"testing"
	"time"
)

// A waiter on a gate counts as asleep: the clock moves on to the opener's
// wake-up, and the waiter resumes at the time the gate opened.
func TestGateLetsTheClockMove(t *testing.T) {
	start := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	clk := NewSim(start)
	g := clk.NewGate()
	var woke time.Time
	wait := clk.Go(func() {
		if err := g.Wait(context.Background()); err != nil {
			t.Error(err)
		}
		woke = clk.Now()
	})
	_ = clk.Sleep(context.Background(), 5*time.Second)
	g.Open()
	wait()
	if got := woke.Sub(start); got != 5*time.Second {
		t.Fatalf("waiter woke at %s, want 5s", got)
	}
	// Opened gates let later waiters through at once.
	if err := g.Wait(context.Background()); err != nil || clk.Now().Sub(start) != 5*time.Second {
		t.Fatalf("wait on an open gate: %v at %s", err, clk.Now().Sub(start))
	}
}
