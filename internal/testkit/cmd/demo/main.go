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
	"github.com/eni-failover/eni-failover/internal/config"
	"github.com/eni-failover/eni-failover/internal/doctor"
	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/handler"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/moveapi"
	"github.com/eni-failover/eni-failover/internal/report"
	"github.com/eni-failover/eni-failover/internal/ssmcommand"
	"github.com/eni-failover/eni-failover/internal/testkit/fakeec2"
	"github.com/eni-failover/eni-failover/internal/testkit/fakessm"
	"github.com/eni-failover/eni-failover/internal/testkit/sim"
	"github.com/eni-failover/eni-failover/internal/testkit/simclock"
)

func main() {
	verbose := flag.Bool("v", false, "print the handlers' structured logs (JSON) to stderr")
	flag.Parse()
	// Colour only on a terminal: piped or captured output stays plain.
	if fi, err := os.Stdout.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 && os.Getenv("NO_COLOR") == "" {
		bold, reset = "\033[1m", "\033[0m"
	}
	if err := run(os.Stdout, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// bold and reset are ANSI codes on a terminal, empty otherwise.
var bold, reset string

type story struct {
	out    io.Writer
	region *sim.Region
	fo     *handler.Failover
	manual *handler.Move
	ssm    *fakessm.Fake
	// holders is the timeline of who held the ENI; moves each move's
	// line for the final timeline.
	holders []string
	moves   []string
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
	ssmFake := fakessm.New(region.Clock)
	activator := &ssmcommand.Runner{SSM: ssmFake, Commands: []string{"systemctl restart lmgrd"}, Timeout: 30 * time.Second, Clock: region.Clock}
	deps := region.Deps(engine.Options{Activator: activator, MaxAutomaticMoves: config.DefaultMaxAutomaticMoves}, io.Discard, log)
	deps.Doctor.Role = doctor.MoveRole
	s := &story{out: out, region: region, fo: &handler.Failover{Deps: deps}, manual: &handler.Move{Deps: deps}, ssm: ssmFake}

	s.title("eni-failover demo: a MOSEK token server on a simulated EC2 (realistic latencies, virtual clock)")
	s.say("After each move, SSM restarts lmgrd on the new holder (activation).")
	s.say("Group %q: license ENI %s in %s,", "mosek", sim.ENIID, sim.AZ)
	s.say("         MAC %s, private IP %s.", "0a:1b:2c:3d:4e:5f", "10.0.1.27")
	s.say("Members: primary %s (priority 1), standby %s (2),", sim.Primary, sim.Standby)
	s.say("         second standby %s (3).", sim.Second)
	if err := s.status(); err != nil {
		return err
	}
	if err := s.doctor(); err != nil {
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

	if err := s.fearedScenes(); err != nil {
		return err
	}

	s.title("Timeline")
	var chain []string
	for _, h := range s.holders {
		chain = append(chain, label(h))
	}
	s.say("Holders of %s:", sim.ENIID)
	for _, l := range wrap(strings.Join(chain, " -> "), 84) {
		s.say("  %s", l)
	}
	s.say("Each move: from detach to attached the ENI is away (clients get no token); the token")
	s.say("server serves again once the activation ends. Times on the simulated clock:")
	for _, m := range s.moves {
		s.say("  %s", m)
	}
	acc := region.EC2.AcceptedMutations()
	s.say("EC2 calls: %d in all, %d mutating (detach %d, attach %d, tags %d); SNS notifications: %d.",
		region.EC2.TotalCalls(), region.EC2.MutatingCalls(), acc[fakeec2.OpDetachNetworkInterface]+0,
		acc[fakeec2.OpAttachNetworkInterface], acc[fakeec2.OpCreateTags], len(region.SNS.Messages()))
	for _, m := range region.SNS.Messages() {
		s.say("  notification: %s", model.Clip(aws.ToString(m.Subject), 67))
	}
	s.say("Simulated time elapsed: %s.", region.Clock.Now().Sub(sim.Start).Round(time.Millisecond))
	return nil
}

// doctor asks, before anything fails, whether a failover would succeed:
// EC2 answers DryRuns of each call, and each standby is looked at.
func (s *story) doctor() error {
	s.title("0. Is it ready? The doctor, before anything fails (EC2 DryRuns with the move role)")
	if err := s.invoke(`{"action":"doctor","group":"mosek"}`); err != nil {
		return err
	}
	s.say("(In AWS it also tests the rules, the alarms, the subscriptions, the SSM agents and the")
	s.say("failover function's own role: eni-failover doctor.)")
	return nil
}

// fearedScenes plays what an operator fears most.
func (s *story) fearedScenes() error {
	r := s.region
	s.title("7. lmgrd is killed on the holder: the probe catches it")
	if err := s.probeScene(); err != nil {
		return err
	}

	s.title("8. The token server will not start on the new holder")
	s.ssm.Outcomes[sim.Second] = fakessm.Outcome{Status: "Failed", After: 3 * time.Second, Output: "lmgrd: license file not found", Code: 1}
	if err := s.invoke(`{"action":"move","target":"` + sim.Second + `","reason":"drill"}`); err != nil {
		return err
	}
	if msgs := r.SNS.Messages(); len(msgs) > 0 {
		s.say("  notification: %s", model.Clip(aws.ToString(msgs[len(msgs)-1].Subject), 67))
	}
	delete(s.ssm.Outcomes, sim.Second)
	if err := s.invoke(`{"action":"failback","reason":"back home"}`); err != nil {
		return err
	}

	s.title("9. A paused group: maintenance on the primary")
	if err := s.invoke(`{"action":"pause","reason":"kernel patching on the primary","minutes":60}`); err != nil {
		return err
	}
	r.EC2.StopInstance(sim.Primary)
	if err := s.event("ec2-state-stopping.json"); err != nil {
		return err
	}
	r.EC2.StartInstance(sim.Primary)
	r.Settle(time.Minute)
	if err := s.invoke(`{"action":"resume"}`); err != nil {
		return err
	}

	s.title("10. No viable standby")
	s.say("Both standbys are stopped; then the primary stops too.")
	r.EC2.StopInstance(sim.Standby)
	r.EC2.StopInstance(sim.Second)
	r.Settle(time.Minute)
	r.EC2.StopInstance(sim.Primary)
	if _, err := s.fo.Handle(s.ctx(), events.MustSample("ec2-state-stopping.json")); err != nil {
		s.say("  FAILED (Lambda retries the event):")
		for _, l := range wrap(err.Error(), 84) {
			s.say("    %s", l)
		}
	}
	if msgs := r.SNS.Messages(); len(msgs) > 0 {
		text := notificationText(msgs[len(msgs)-1].Message)
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, "What to do") {
				for _, l := range wrap(line, 84) {
					s.say("  %s", l)
				}
			}
		}
	}
	return nil
}

// notificationText is the people's part of a notification.
func notificationText(msg *string) string {
	var byProtocol map[string]string
	if json.Unmarshal([]byte(aws.ToString(msg)), &byProtocol) != nil {
		return ""
	}
	return byProtocol["email"]
}

// label names the demo's instances by their role, for short lines.
func label(id string) string {
	switch id {
	case sim.Primary:
		return "primary"
	case sim.Standby:
		return "standby"
	case sim.Second:
		return "second"
	case "":
		return "(none)"
	}
	return id
}

// wrap breaks text into lines of at most n characters.
func wrap(text string, n int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > n {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return append(lines, line)
}

func (s *story) clock() string {
	return "T+" + fmt.Sprintf("%7.3fs", s.region.Clock.Now().Sub(sim.Start).Seconds())
}

func (s *story) title(t string) { fmt.Fprintf(s.out, "\n%s== %s%s\n", bold, t, reset) }

func (s *story) say(format string, args ...any) {
	fmt.Fprintf(s.out, "%s  %s\n", s.clock(), fmt.Sprintf(format, args...))
}

func (s *story) ctx() context.Context { return s.region.Context(60 * time.Second) }

func (s *story) event(name string) error { return s.eventRaw(name, events.MustSample(name)) }

func (s *story) eventRaw(name string, raw []byte) error {
	s.say("event %s", name)
	res, err := s.fo.Handle(s.ctx(), raw)
	if err != nil {
		return fmt.Errorf("event %s: %w", name, err)
	}
	if len(res.Reports) == 0 {
		s.say("  ignored: %s", res.Ignored)
	}
	for _, r := range res.Reports {
		s.report(r)
	}
	return nil
}

func (s *story) invoke(payload string) error {
	payload = strings.TrimSpace(payload)
	s.say("invoke move function: %s", model.Clip(strings.Join(strings.Fields(payload), " "), 61))
	resp, err := s.manual.Handle(s.ctx(), json.RawMessage(payload))
	if err != nil {
		return fmt.Errorf("invoke %s: %w", payload, err)
	}
	if resp.Plan != nil && resp.Outcome == report.Planned {
		var cands []string
		for _, c := range resp.Plan.Candidates {
			cands = append(cands, label(c.InstanceID))
		}
		s.say("  plan: %s %s from %s to %s (no change made)", resp.Plan.Action, resp.ENIID, label(resp.HolderBefore), strings.Join(cands, ", "))
		return nil
	}
	if len(resp.Checks) > 0 {
		for _, c := range resp.Checks {
			s.say("  %-4s %-8s %s", strings.ToUpper(string(c.Result)), c.Area, model.Clip(strings.TrimSuffix(c.Check, " (move role)"), 72))
		}
		s.say("  doctor: %s (%d checks; exit code %d)", resp.Outcome, len(resp.Checks), moveapi.ExitCode(moveapi.Worst(resp.Checks)))
		return nil
	}
	if resp.Pause != nil {
		s.say("  paused until %s: automatic moves are skipped", resp.Pause.Until.Format(time.RFC3339))
		return nil
	}
	s.report(&resp.Report)
	return nil
}

// report prints a run: each step with its start and end on the simulated
// clock, and for a move the time the clients were without a license.
func (s *story) report(r *report.Report) {
	if !r.Outcome.Changed() {
		for i, l := range wrap(fmt.Sprintf("%s: %s%s", r.Outcome, r.Reason, errSuffix(r.Error)), 84) {
			if i == 0 {
				s.say("  %s", l)
				continue
			}
			s.say("    %s", l)
		}
		return
	}
	s.say("  %s%s%s: %s -> %s in %.1fs", bold, strings.ToUpper(string(r.Outcome)), reset, label(r.HolderBefore), label(r.HolderAfter), float64(r.DurationMS)/1000)
	for _, l := range wrap(r.Reason, 80) {
		s.say("    %s", l)
	}
	at := r.StartedAt
	var away, back time.Time
	for _, st := range r.Steps {
		end := at.Add(time.Duration(st.DurationMS) * time.Millisecond)
		switch st.Name {
		case "detach", "force-detach":
			if away.IsZero() {
				away = at
			}
		case "wait-attached":
			back = end
		}
		who := ""
		if st.InstanceID != "" {
			who = label(st.InstanceID)
		}
		s.say("    %-15s %s - %s  %s", st.Name, offset(at), offset(end), model.Clip(strings.TrimSpace(who+" "+st.Detail), 35))
		at = end
	}
	if r.Activation != nil && !r.Activation.OK() {
		s.say("    %sACTIVATION %s%s: %s", bold, strings.ToUpper(string(r.Activation.Status)), reset, model.Clip(r.Activation.Output, 77))
	}
	if !away.IsZero() && !back.IsZero() {
		served := back
		if a := r.Activation; a != nil && a.OK() {
			served = back.Add(time.Duration(a.DurationMS) * time.Millisecond)
		}
		line := fmt.Sprintf("%s -> %s: ENI away %.1fs (%s - %s), ", label(r.HolderBefore), label(r.HolderAfter), back.Sub(away).Seconds(), offset(away), offset(back))
		if r.Activation == nil || r.Activation.OK() {
			line += fmt.Sprintf("served at %s", offset(served))
		} else {
			line += "lmgrd NOT started"
		}
		s.moves = append(s.moves, line)
	}
	if len(s.holders) == 0 {
		s.holders = append(s.holders, r.HolderBefore)
	}
	s.holders = append(s.holders, r.HolderAfter)
}

func errSuffix(e string) string {
	if e == "" {
		return ""
	}
	return " (" + e + ")"
}

// offset is a time as seconds since the story began.
func offset(t time.Time) string { return fmt.Sprintf("T+%.3fs", t.Sub(sim.Start).Seconds()) }

func (s *story) status() error {
	resp, err := s.manual.Handle(s.ctx(), json.RawMessage(`{"action":"status"}`))
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	s.say("status: ENI %s on %s, DeleteOnTermination=%v, home %s", resp.AttachmentState, label(resp.Holder), *resp.DeleteOnTermination, label(resp.Home))
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
