package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/eni-failover/eni-failover/internal/eventparse"
	"github.com/eni-failover/eni-failover/internal/probe"
	"github.com/eni-failover/eni-failover/internal/testkit/sim"
)

// tokenServers is what the probe sees at the license address: refused
// where lmgrd was killed, an answer where it serves.
type tokenServers struct {
	region *sim.Region
	mu     sync.Mutex
	dead   map[string]bool
}

func (t *tokenServers) kill(id string) { t.mu.Lock(); t.dead[id] = true; t.mu.Unlock() }

// Check answers as the ENI's holder would (probe.Checker).
func (t *tokenServers) Check(ctx context.Context, _ string, _ int, _ bool) error {
	st := t.region.EC2.ENI(sim.ENIID)
	t.mu.Lock()
	dead := t.dead[st.InstanceID]
	t.mu.Unlock()
	_ = t.region.Clock.Sleep(ctx, time.Millisecond)
	switch {
	case st.AttachmentStatus != "attached" || t.region.EC2.InstanceState(st.InstanceID) != "running":
		return probe.ErrTimeout
	case dead:
		return probe.ErrRefused
	}
	return nil
}

// Reach is the witness: the probe's network is fine.
func (t *tokenServers) Reach(context.Context, string) bool { return true }

// probeScene: lmgrd is killed on the holder; the probe confirms it over
// three rounds, its finding reaches the failover function, the ENI moves,
// and the resumed probe sees the license answer again and reports what
// the clients saw.
func (s *story) probeScene() error {
	r := s.region
	servers := &tokenServers{region: r, dead: map[string]bool{}}
	ph := &probe.Handler{
		Prober:  &probe.Prober{Ports: probe.DefaultPorts, Checker: servers, Clock: r.Clock},
		Targets: []probe.Target{{Group: "mosek", Address: "10.0.1.27"}}, Witnesses: []string{probe.DefaultWitness},
		Interval: 5 * time.Second, Watch: time.Minute, StopBefore: 3 * time.Second,
		Detector: &probe.Detector{Confirmations: 3}, Metrics: io.Discard, Namespace: "demo", Clock: r.Clock,
	}
	holder := s.region.EC2.ENI(sim.ENIID).InstanceID
	servers.kill(holder)
	s.say("lmgrd is killed on %s; the instance itself is fine (EC2 sees nothing).", label(holder))
	scheduled, _ := json.Marshal(map[string]string{"source": eventparse.SourceEvents, "detail-type": eventparse.DetailScheduled})
	out, err := ph.Handle(r.Context(75*time.Second), scheduled)
	if err != nil {
		return err
	}
	if len(out.Triggers) == 0 {
		return fmt.Errorf("the probe did not confirm the killed lmgrd: %+v", out)
	}
	tr := out.Triggers[0]
	s.say("probe: %d rounds refused from %s on: failure confirmed", tr.Checks, offset(tr.FailingSince))
	r.Clock.Advance(time.Second) // Lambda destination, EventBridge rule
	if err := s.eventRaw("probe finding (Lambda destination -> EventBridge)", s.findingEvent(scheduled, out)); err != nil {
		return err
	}
	// The resumed probe watches on: lmgrd serves on the new holder.
	again, err := ph.Handle(r.Context(75*time.Second), mustJSON(out))
	if err != nil {
		return err
	}
	if len(again.Restored) == 0 {
		return fmt.Errorf("the probe did not see the license answer again: %+v", again)
	}
	s.say("probe: the license answers again; clients were without it for %.1fs", float64(again.Restored[0].OutageMS)/1000)
	if len(s.moves) > 0 {
		// The timeline's line for this move gets what the clients saw.
		s.moves = append(s.moves, fmt.Sprintf("  clients without a license %.1fs, as the probe measured", float64(again.Restored[0].OutageMS)/1000))
	}
	r.Clock.Advance(time.Second)
	return s.eventRaw("probe finding (license answers again)", s.findingEvent(mustJSON(out), again))
}

// findingEvent is a probe result as its destination puts it on EventBridge.
func (s *story) findingEvent(request []byte, f *probe.Findings) []byte {
	return mustJSON(map[string]any{
		"version": "0", "source": eventparse.SourceLambda, "detail-type": eventparse.DetailInvocationSuccess,
		"time": s.region.Clock.Now().UTC().Format(time.RFC3339),
		"detail": map[string]any{"version": "1.0", "requestContext": map[string]any{"condition": "Success"},
			"requestPayload": json.RawMessage(request), "responsePayload": f},
	})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
