package simclock

import (
	"context"
	"testing"
	"time"
)

var start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestVirtualSleepAdvancesAndHonoursDeadline(t *testing.T) {
	v := NewVirtual(start)
	if err := v.Sleep(context.Background(), time.Second); err != nil || v.Now() != start.Add(time.Second) {
		t.Fatalf("now %s err %v", v.Now(), err)
	}
	ctx := WithDeadline(context.Background(), start.Add(3*time.Second))
	if err := v.Sleep(ctx, 5*time.Second); err != context.DeadlineExceeded || v.Now() != start.Add(3*time.Second) {
		t.Fatalf("now %s err %v", v.Now(), err)
	}
	if dl, ok := v.Deadline(ctx); !ok || dl != start.Add(3*time.Second) {
		t.Fatal("deadline not found")
	}
}

func TestSimOverlapsConcurrentSleeps(t *testing.T) {
	s := NewSim(start)
	wait := s.Go(func() { _ = s.Sleep(context.Background(), 90*time.Millisecond) })
	_ = s.Sleep(context.Background(), 60*time.Millisecond)
	if got := s.Now().Sub(start); got != 60*time.Millisecond {
		t.Fatalf("after the short sleep: %s", got)
	}
	wait()
	if got := s.Now().Sub(start); got != 90*time.Millisecond {
		t.Fatalf("two sleeps of 60 and 90 ms at once took %s, want 90ms", got)
	}
	_ = s.Sleep(context.Background(), 10*time.Millisecond)
	if got := s.Now().Sub(start); got != 100*time.Millisecond {
		t.Fatalf("then 10 ms more: %s", got)
	}
}

func TestSimDeadlineAndCancel(t *testing.T) {
	s := NewSim(start)
	ctx := WithDeadline(context.Background(), start.Add(time.Second))
	if err := s.Sleep(ctx, time.Hour); err != context.DeadlineExceeded || s.Now() != start.Add(time.Second) {
		t.Fatalf("now %s err %v", s.Now(), err)
	}
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Sleep(cctx, time.Second); err != context.Canceled {
		t.Fatalf("err %v", err)
	}
	wait := s.Go(func() {})
	wait()
	if err := s.Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
}
