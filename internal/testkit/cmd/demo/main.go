// Command demo plays a failover story through the real handlers against
// the embedded simulated EC2 (realistic latencies, virtual clock): no AWS
// account needed. Run it with `make demo`; -v adds the structured logs.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/eni-failover/eni-failover/events"
	"github.com/eni-failover/eni-failover/internal/activation"
	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/handler"
	"github.com/eni-failover/eni-failover/internal/testkit/fakeec2"
	"github.com/eni-failover/eni-failover/internal/testkit/fakessm"
	"github.com/eni-failover/eni-failover/internal/testkit/sim"
	"github.com/eni-failover/eni-failover/internal/testkit/simclock"
)

func main() {
	verbose := flag.Bool("v", false, "print the handlers' structured logs (JSON) to stderr")
	flag.Parse()
	if err := run(os.Stdout, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

type story struct {
	out    io.Writer
	region *sim.Region
	fo     *handler.Failover
	manual *handler.Manual
	// holders is the timeline of who held the ENI.
	holders []string
}

func run(out io.Writer, verbose bool) error {
	// A discrete-event clock: concurrent calls overlap as on the wall clock.
	region := sim.NewRegionOn(simclock.NewSim(sim.Start), fakeec2.RealisticTimings(), 1)
	region.AddGroup(sim.Mosek())
	log := slog.New(slog.DiscardHandler)
	if verbose {
		log = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	// The token server is restarted on each new holder through SSM (a
	// simulated Run Command that takes about 2 s).
	activator := &activation.Activator{SSM: fakessm.New(region.Clock), Commands: []string{"systemctl restart lmgrd"}, Timeout: 30 * time.Second, Clock: region.Clock}
	deps := region.Deps(engine.Options{Activator: activator}, io.Discard, log)
	s := &story{out: out, region: region, fo: &handler.Failover{Deps: deps}, manual: &handler.Manual{Deps: deps}}

	s.title("eni-failover demo: a MOSEK token server on a simulated EC2 (realistic latencies, virtual clock)")
	s.say("After each move, SSM restarts lmgrd on the new holder (activation).")
	s.say("Group %q: license ENI %s (MAC %s, %s) in %s.", "mosek", sim.ENIID, "0a:1b:2c:3d:4e:5f", "10.0.1.27", sim.AZ)
	s.say("Members: primary %s (priority 1), standby %s (2), second standby %s (3).", sim.Primary, sim.Standby, sim.Second)
	if err := s.status(); err != nil {
		return err
	}

	s.title("1. The primary stops")
	s.say("EC2 begins stopping %s; EventBridge delivers the state-change event.", sim.Primary)
	region.EC2.StopInstance(sim.Primary)
	if err := s.event("ec2-state-stopping.json"); err != nil {
		return err
	}

	s.title("2. The same event again (EventBridge delivers at least once)")
	if err := s.event("ec2-state-stopping.json"); err != nil {
		return err
	}
	region.Settle(30 * time.Second)
	s.title("3. A late 'stopped' event about the former holder")
	if err := s.event("ec2-state-stopped.json"); err != nil {
		return err
	}

	s.title("4. The operator repairs and starts the primary; the reconcile runs")
	region.EC2.StartInstance(sim.Primary)
	region.Settle(30 * time.Second)
	if err := s.event("ec2-state-running.json"); err != nil {
		return err
	}
	if err := s.event("scheduled-reconcile.json"); err != nil {
		return err
	}
	if err := s.status(); err != nil {
		return err
	}

	s.title("5. A planned move: dry run first, then the move to the second standby")
	if err := s.invoke(`{"action":"plan","group":"mosek","target":"` + sim.Second + `","reason":"patching the standby"}`); err != nil {
		return err
	}
	if err := s.invoke(string(events.MustSample("move-move-target.json"))); err != nil {
		return err
	}

	s.title("6. Failback to the home member (lowest priority)")
	if err := s.invoke(string(events.MustSample("move-failback.json"))); err != nil {
		return err
	}
	if err := s.invoke(string(events.MustSample("move-failback.json"))); err != nil {
		return err
	}

	s.title("Timeline")
	s.say("Holders of %s: %s", sim.ENIID, strings.Join(s.holders, " -> "))
	acc := region.EC2.AcceptedMutations()
	s.say("EC2 calls: %d in all, %d mutating (detach %d, attach %d, tags %d); SNS notifications: %d.",
		region.EC2.TotalCalls(), region.EC2.MutatingCalls(), acc[fakeec2.OpDetachNetworkInterface]+0,
		acc[fakeec2.OpAttachNetworkInterface], acc[fakeec2.OpCreateTags], len(region.SNS.Messages()))
	for _, m := range region.SNS.Messages() {
		s.say("  notification: %s", aws.ToString(m.Subject))
	}
	s.say("Simulated time elapsed: %s.", region.Clock.Now().Sub(sim.Start).Round(time.Millisecond))
	return nil
}

func (s *story) clock() string {
	return "T+" + fmt.Sprintf("%7.3fs", s.region.Clock.Now().Sub(sim.Start).Seconds())
}

func (s *story) title(t string) { fmt.Fprintf(s.out, "\n== %s\n", t) }

func (s *story) say(format string, args ...any) {
	fmt.Fprintf(s.out, "%s  %s\n", s.clock(), fmt.Sprintf(format, args...))
}

func (s *story) ctx() context.Context { return s.region.Context(60 * time.Second) }

func (s *story) event(name string) error {
	s.say("event %s", name)
	res, err := s.fo.Handle(s.ctx(), events.MustSample(name))
	if err != nil {
		return fmt.Errorf("event %s: %w", name, err)
	}
	if len(res.Reports) == 0 {
		s.say("  ignored: %s", res.Ignored)
	}
	for _, r := range res.Reports {
		s.report(r.Outcome, r.Reason, r.HolderBefore, r.HolderAfter, r.Steps, r.DurationMS)
	}
	return nil
}

func (s *story) invoke(payload string) error {
	payload = strings.TrimSpace(payload)
	s.say("invoke move function: %s", payload)
	resp, err := s.manual.Handle(s.ctx(), json.RawMessage(payload))
	if err != nil {
		return fmt.Errorf("invoke %s: %w", payload, err)
	}
	if resp.Plan != nil && resp.Outcome == engine.Planned {
		var cands []string
		for _, c := range resp.Plan.Candidates {
			cands = append(cands, c.InstanceID)
		}
		s.say("  plan: %s %s from %s to %s (no change made)", resp.Plan.Action, resp.ENIID, resp.HolderBefore, strings.Join(cands, ", "))
		return nil
	}
	s.report(engine.Outcome(resp.Outcome), resp.Reason, resp.HolderBefore, resp.HolderAfter, resp.Steps, resp.DurationMS)
	return nil
}

func (s *story) report(o engine.Outcome, reason, before, after string, steps []engine.Step, ms int64) {
	if !o.Changed() {
		s.say("  %s: %s", o, reason)
		return
	}
	s.say("  %s: %s -> %s in %.1fs (%s)", strings.ToUpper(string(o)), before, after, float64(ms)/1000, reason)
	for _, st := range steps {
		detail := st.Detail
		if st.InstanceID != "" {
			detail = strings.TrimSpace(st.InstanceID + " " + detail)
		}
		s.say("      %-22s %6d ms  %s", st.Name, st.DurationMS, detail)
	}
	if len(s.holders) == 0 {
		s.holders = append(s.holders, before)
	}
	s.holders = append(s.holders, after)
}

func (s *story) status() error {
	resp, err := s.manual.Handle(s.ctx(), json.RawMessage(`{"action":"status"}`))
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	s.say("status: %s (MAC %s) is %s on %s, DeleteOnTermination=%v, home %s", resp.ENIID, resp.MAC, resp.AttachmentState, resp.Holder, *resp.DeleteOnTermination, resp.Home)
	for _, m := range resp.Members {
		role := "standby"
		switch {
		case m.Holder:
			role = "HOLDER"
		case !m.CanTakeENI:
			role = "unusable: " + m.WhyNot
		}
		s.say("      %s  %-8s checks %-8s priority %d  %s", m.InstanceID, m.State, m.Health, deref(m.Priority), role)
	}
	return nil
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}
