package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eni-failover/eni-failover/internal/findings"
	"github.com/eni-failover/eni-failover/internal/probeconfig"
	"github.com/eni-failover/eni-failover/internal/testkit/simclock"
)

// t0 is on the 5 s grid.
var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// fakeNet answers checks from a table of what fails from when, on a
// virtual clock: a check that times out takes the timeout.
type fakeNet struct {
	clk     *simclock.Virtual
	timeout time.Duration
	mu      sync.Mutex
	// fail[address] is the error checks get from the given time on.
	fail map[string]failure
	// witnessDown from this time on (zero: never).
	witnessDown, witnessUp time.Time
	checks                 int
}

type failure struct {
	from, until time.Time
	err         error
}

func (f *fakeNet) Check(ctx context.Context, addr string, _ int, _ bool) error {
	f.mu.Lock()
	now := f.clk.Now()
	fl, ok := f.fail[addr]
	f.checks++
	f.mu.Unlock()
	if !ok || now.Before(fl.from) || (!fl.until.IsZero() && !now.Before(fl.until)) {
		f.clk.Sleep(ctx, time.Millisecond)
		return nil
	}
	if fl.err == ErrTimeout || fl.err == ErrNoAnswer {
		f.clk.Sleep(ctx, f.timeout)
	}
	return fl.err
}

func (f *fakeNet) Reach(ctx context.Context, _ string) bool {
	now := f.clk.Now()
	down := !f.witnessDown.IsZero() && !now.Before(f.witnessDown) && (f.witnessUp.IsZero() || now.Before(f.witnessUp))
	if down {
		f.clk.Sleep(ctx, f.timeout)
	}
	return !down
}

type watchWorld struct {
	clk     *simclock.Virtual
	net     *fakeNet
	metrics *bytes.Buffer
}

func newWatchWorld(start time.Time) *watchWorld {
	clk := simclock.NewVirtual(start)
	return &watchWorld{clk: clk, net: &fakeNet{clk: clk, timeout: time.Second, fail: map[string]failure{}}, metrics: &bytes.Buffer{}}
}

// handler is one sandbox's probe: K confirmations, checks every 5 s,
// watching 60 s per invocation.
func (w *watchWorld) handler(k int, targets ...probeconfig.Target) *Handler {
	if len(targets) == 0 {
		targets = []probeconfig.Target{{Group: "mosek", Address: "10.0.1.27"}}
	}
	return &Handler{
		Prober:    &Prober{Ports: []int{27007, 27008}, Checker: w.net, Clock: w.clk},
		Targets:   targets,
		Witnesses: []string{probeconfig.DefaultWitness},
		Interval:  5 * time.Second, Watch: 60 * time.Second, StopBefore: 3 * time.Second,
		Detector: &Detector{Confirmations: k},
		Metrics:  w.metrics, Namespace: "ENIFailover", Clock: w.clk,
	}
}

func (w *watchWorld) invoke(t *testing.T, h *Handler, in any) *findings.Findings {
	t.Helper()
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	ctx := simclock.WithDeadline(context.Background(), w.clk.Now().Add(75*time.Second))
	out, err := h.Handle(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func scheduled(at time.Time) map[string]string {
	return map[string]string{"source": "aws.events", "detail-type": "Scheduled Event", "time": at.Format(time.RFC3339)}
}

func TestKilledDaemonTriggersAfterKChecks(t *testing.T) {
	for _, k := range []int{1, 3, 5} {
		w := newWatchWorld(t0)
		w.net.fail["10.0.1.27"] = failure{from: t0.Add(12 * time.Second), err: ErrRefused}
		out := w.invoke(t, w.handler(k), scheduled(t0))
		// Rounds at 0, 5, 10 s pass; 15, 20, 25 s fail.
		since := t0.Add(15 * time.Second)
		confirmed := since.Add(time.Duration(k-1) * 5 * time.Second)
		if len(out.Failures) != 1 || len(out.Findings) != 1 || out.Findings[0] != findings.FindingFailure {
			t.Fatalf("k=%d: findings %+v", k, out)
		}
		tr := out.Failures[0]
		if !tr.FailingSince.Equal(since) || !tr.ConfirmedAt.Equal(confirmed) || tr.Checks != k || tr.RequestID != findings.RequestID("mosek", since) ||
			!strings.Contains(tr.Reason, "27007,27008") || !strings.Contains(tr.Reason, "refused") {
			t.Fatalf("k=%d: trigger %+v", k, tr)
		}
		// It returns at once, well before its watch ends, so that the
		// finding leaves now.
		if got := w.clk.Now().Sub(confirmed); got > time.Second {
			t.Fatalf("k=%d: returned %s after confirming", k, got)
		}
		if out.Checks != 3+k || !out.WatchUntil.Equal(t0.Add(60*time.Second)) {
			t.Fatalf("k=%d: %d rounds, watch until %s", k, out.Checks, out.WatchUntil)
		}
	}
}

func TestWitnessDownTriggersNothing(t *testing.T) {
	w := newWatchWorld(t0)
	// The probe's network goes: the license address and the witness both
	// time out; from 40 s the witness answers again, the license not.
	w.net.fail["10.0.1.27"] = failure{from: t0.Add(12 * time.Second), err: ErrTimeout}
	w.net.witnessDown, w.net.witnessUp = t0.Add(12*time.Second), t0.Add(40*time.Second)
	h := w.handler(3)
	out := w.invoke(t, h, scheduled(t0))
	if len(out.Failures) != 1 {
		t.Fatalf("findings %+v", out)
	}
	// Only the failures the witness vouched for count: 40, 45, 50 s.
	if since := out.Failures[0].FailingSince; !since.Equal(t0.Add(40 * time.Second)) {
		t.Fatalf("failing since %s, want the first check with the witness up", since)
	}
	var witnessDown, unreachable int
	for _, line := range strings.Split(strings.TrimSpace(w.metrics.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		if m[findings.MetricWitness] == 0.0 {
			witnessDown++
		}
		if m[findings.MetricReachable] == 0.0 {
			unreachable++
			if ts := m["_aws"].(map[string]any)["Timestamp"].(float64); ts < float64(t0.Add(40*time.Second).UnixMilli()) {
				t.Fatalf("a failed check was written as unreachable while the witness was down: %s", line)
			}
		}
	}
	if witnessDown != 5 || unreachable != 3 {
		t.Fatalf("%d rounds with the witness down, %d written unreachable; want 5 and 3", witnessDown, unreachable)
	}

	// With the witness down the whole time, a whole watch finds nothing.
	w = newWatchWorld(t0)
	w.net.fail["10.0.1.27"] = failure{from: t0, err: ErrTimeout}
	w.net.witnessDown = t0
	if out := w.invoke(t, w.handler(3), scheduled(t0)); len(out.Findings) != 0 || out.Checks != 12 {
		t.Fatalf("witness down: %d rounds, findings %+v", out.Checks, out.Findings)
	}

	// Another group answering vouches as well as the witness does.
	w = newWatchWorld(t0)
	w.net.fail["10.0.1.27"] = failure{from: t0, err: ErrTimeout}
	w.net.witnessDown = t0
	out = w.invoke(t, w.handler(3, probeconfig.Target{Group: "mosek", Address: "10.0.1.27"}, probeconfig.Target{Group: "matlab", Address: "10.0.2.9"}), scheduled(t0))
	if len(out.Failures) != 1 || out.Failures[0].Group != "mosek" {
		t.Fatalf("another group up: findings %+v", out)
	}
}

// The trigger's invocation ends; the destination resumes the watch in
// another sandbox, which learns the episode from the findings, does not
// send it again, and reports the outage when the license answers.
func TestResumedWatchReportsTheOutage(t *testing.T) {
	w := newWatchWorld(t0)
	w.net.fail["10.0.1.27"] = failure{from: t0.Add(12 * time.Second), until: t0.Add(38 * time.Second), err: ErrRefused}
	out := w.invoke(t, w.handler(3), scheduled(t0))
	if len(out.Failures) != 1 || len(out.State) != 1 || out.State[0].DownSince.IsZero() {
		t.Fatalf("trigger: %+v", out)
	}
	// What EventBridge's input path hands the resumed invocation.
	resumed := w.invoke(t, w.handler(3), out)
	if len(resumed.Failures) != 0 || len(resumed.Restored) != 1 {
		t.Fatalf("resumed: %+v", resumed)
	}
	r := resumed.Restored[0]
	if !r.DownSince.Equal(t0.Add(15*time.Second)) || !r.AnsweredAt.Equal(t0.Add(40*time.Second)) || r.OutageMS != 25000 {
		t.Fatalf("restored %+v", r)
	}
	if !strings.Contains(w.metrics.String(), `"`+findings.MetricOutage+`":25`) {
		t.Fatalf("no outage metric in %s", w.metrics.String())
	}
	// The watch after the restoration runs to the end of the round.
	last := w.invoke(t, w.handler(3), resumed)
	if len(last.Findings) != 0 || !w.clk.Now().Before(t0.Add(61*time.Second)) || !w.clk.Now().After(t0.Add(54*time.Second)) {
		t.Fatalf("after restoration: %+v at %s", last, w.clk.Now())
	}
}

// A failure that outlasts the move (the new holder fails too) is sent
// again after Retrigger, with the latest failures as evidence, then at
// doubling intervals: a failure nothing can move is not announced every
// two minutes.
func TestAFailureThatLastsIsSentAgain(t *testing.T) {
	w := newWatchWorld(t0)
	w.net.fail["10.0.1.27"] = failure{from: t0, err: ErrRefused}
	h := w.handler(3)
	first := w.invoke(t, h, scheduled(t0))
	sent := []findings.Failure{first.Failures[0]}
	in := first
	for w.clk.Now().Sub(t0) < 20*time.Minute {
		out := w.invoke(t, h, in)
		sent = append(sent, out.Failures...)
		in = out
		in.WatchUntil = w.clk.Now().Add(60 * time.Second)
	}
	var gaps []time.Duration
	for i := 1; i < len(sent); i++ {
		gaps = append(gaps, sent[i].ConfirmedAt.Sub(sent[i-1].ConfirmedAt))
		if !sent[i].FailingSince.Equal(sent[i].ConfirmedAt.Add(-10*time.Second)) || sent[i].RequestID == sent[i-1].RequestID {
			t.Fatalf("resend %d: %+v", i, sent[i])
		}
	}
	want := []time.Duration{2 * time.Minute, 4 * time.Minute, 8 * time.Minute}
	if len(gaps) < len(want) {
		t.Fatalf("sent again after %v, want %v", gaps, want)
	}
	for i, g := range want {
		if gaps[i] != g {
			t.Fatalf("sent again after %v, want %v", gaps, want)
		}
	}
}

// Two probes watching at once (an overlap of invocations in two sandboxes)
// check on the same grid, so they send the same failure with the same
// request id, which the failover function carries out once.
func TestOverlappingProbesSendOneRequest(t *testing.T) {
	var ids []string
	for _, offset := range []time.Duration{1 * time.Second, 3700 * time.Millisecond} {
		w := newWatchWorld(t0.Add(offset))
		w.net.fail["10.0.1.27"] = failure{from: t0.Add(12 * time.Second), err: ErrRefused}
		out := w.invoke(t, w.handler(3), scheduled(t0))
		if len(out.Failures) != 1 {
			t.Fatalf("offset %s: %+v", offset, out)
		}
		ids = append(ids, out.Failures[0].RequestID)
	}
	if ids[0] != ids[1] {
		t.Fatalf("request ids %v differ", ids)
	}
}

// With one round per invocation (PROBE_INTERVAL >= PROBE_WATCH), the
// confirmations count across the invocations of a sandbox.
func TestOneRoundPerInvocation(t *testing.T) {
	w := newWatchWorld(t0)
	w.net.fail["10.0.1.27"] = failure{from: t0, err: ErrRefused}
	h := w.handler(2)
	h.Interval = time.Minute
	w.clk.Advance(1500 * time.Millisecond) // the schedule's delivery
	first := w.invoke(t, h, scheduled(t0))
	if first.Checks != 1 || len(first.Findings) != 0 || w.clk.Now().After(t0.Add(2*time.Second)) {
		t.Fatalf("first: %+v, ended at %s (it must check at once, not wait for a round)", first, w.clk.Now())
	}
	w.clk.Advance(time.Minute - w.clk.Now().Sub(t0))
	second := w.invoke(t, h, scheduled(t0.Add(time.Minute)))
	if second.Checks != 1 || len(second.Failures) != 1 || !second.Failures[0].FailingSince.Equal(t0.Add(1500*time.Millisecond)) {
		t.Fatalf("second: %+v", second)
	}
}

func TestBadInput(t *testing.T) {
	w := newWatchWorld(t0)
	if _, err := w.handler(3).Handle(context.Background(), json.RawMessage(`[1,2]`)); err == nil || !strings.Contains(err.Error(), "neither a scheduled event nor a probe's findings") {
		t.Fatalf("err %v", err)
	}
}

// A brief outage (shorter than the confirmations: a planned move's, or a
// blip) triggers nothing but is reported when the license answers again,
// unconfirmed, so that a move made during it gets its outage recorded.
func TestBriefOutageIsReportedUnconfirmed(t *testing.T) {
	w := newWatchWorld(t0)
	w.net.fail["10.0.1.27"] = failure{from: t0.Add(12 * time.Second), until: t0.Add(22 * time.Second), err: ErrTimeout}
	out := w.invoke(t, w.handler(3), scheduled(t0))
	if len(out.Failures) != 0 || len(out.Restored) != 1 {
		t.Fatalf("findings %+v", out)
	}
	r := out.Restored[0]
	if r.Confirmed || !r.DownSince.Equal(t0.Add(15*time.Second)) || !r.AnsweredAt.Equal(t0.Add(25*time.Second)) || r.OutageMS != 10000 {
		t.Fatalf("restored %+v", r)
	}
}
