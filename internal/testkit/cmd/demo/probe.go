package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/eni-failover/eni-failover/internal/eventparse"
	"github.com/eni-failover/eni-failover/internal/probe"
	"github.com/eni-failover/eni-failover/internal/probeconfig"
	"github.com/eni-failover/eni-failover/internal/testkit/sim"
)

// probeScene: lmgrd is killed on the holder; the probe confirms it over
// three rounds, its finding reaches the failover function, the ENI moves,
// and the resumed probe sees the license answer again and reports what
// the clients saw.
func (s *story) probeScene() error {
	r := s.region
	servers := &sim.TokenServers{Region: r, Timeout: 2 * time.Second, RTT: time.Millisecond}
	ph := &probe.Handler{
		Prober:  &probe.Prober{Ports: probeconfig.DefaultPorts, Checker: servers, Clock: r.Clock},
		Targets: []probeconfig.Target{{Group: "mosek", Address: "10.0.1.27"}}, Witnesses: []string{probeconfig.DefaultWitness},
		Interval: 5 * time.Second, Watch: time.Minute, StopBefore: 3 * time.Second,
		Detector: &probe.Detector{Confirmations: 3}, Metrics: io.Discard, Namespace: "demo", Clock: r.Clock,
	}
	holder := s.region.EC2.ENI(sim.ENIID).InstanceID
	servers.Set(holder, sim.Daemon{State: sim.Killed})
	s.say("lmgrd is killed on %s; the instance itself is fine (EC2 sees nothing).", label(holder))
	scheduled, _ := json.Marshal(map[string]string{"source": eventparse.SourceEvents, "detail-type": eventparse.DetailScheduled})
	out, err := ph.Handle(r.Context(75*time.Second), scheduled)
	if err != nil {
		return err
	}
	if len(out.Failures) == 0 {
		return fmt.Errorf("the probe did not confirm the killed lmgrd: %+v", out)
	}
	tr := out.Failures[0]
	s.say("probe: %d rounds refused from %s on: failure confirmed", tr.Checks, offset(tr.FailingSince))
	r.Clock.Advance(time.Second) // Lambda destination, EventBridge rule
	if err := s.eventRaw("probe finding (Lambda destination -> EventBridge)", sim.FindingsEvent(r.Clock.Now(), scheduled, mustJSON(out))); err != nil {
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
	return s.eventRaw("probe finding (license answers again)", sim.FindingsEvent(r.Clock.Now(), mustJSON(out), mustJSON(again)))
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
