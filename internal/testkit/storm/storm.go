// Package storm plays random histories against the real handlers on the
// simulated EC2: every trigger kind, manual actions, instances stopping,
// starting and dying, throttling, 5xx, stuck detaches, refused attaches
// (IAM's UnauthorizedOperation on a member included), refused detaches,
// invocations killed mid-move, several at once. After every step it checks
// the invariants an operator relies on (one attachment, never outside the
// group or its AZ, no detach from a healthy holder without cause, no
// ping-pong); after runs that ended without an error, that the ENI is not
// left unattached while a member could take it; over the history, that no
// operation is called more than 10 times in a second. A failing history
// prints its seed and a readable trace.
package storm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"

	"github.com/eni-failover/eni-failover/events"
	"github.com/eni-failover/eni-failover/internal/config"
	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/handler"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/moveapi"
	"github.com/eni-failover/eni-failover/internal/testkit/ec2limits"
	"github.com/eni-failover/eni-failover/internal/testkit/fakeec2"
	"github.com/eni-failover/eni-failover/internal/testkit/sim"
)

// The storm's world: group "mosek" with three members in the ENI's AZ, one
// member in another AZ (never a valid target), and an outsider instance in
// the same AZ that is in no group.
const (
	eniID    = "eni-0000000000000e001"
	az       = "us-east-1a"
	outsider = "i-0000000000000000e"
)

var members = []sim.MemberSpec{
	{ID: "i-0000000000000000a", Priority: 1},
	{ID: "i-0000000000000000b", Priority: 2},
	{ID: "i-0000000000000000c", Priority: 3},
	{ID: "i-0000000000000000d", Priority: 4, AZ: "us-east-1b"},
}

// Result is one history's outcome.
type Result struct {
	Steps      int
	Violations []string
	Trace      []string
	// Calls are the last EC2 calls before the first violation.
	Calls []string
	// Counts of what the history exercised, by kind.
	Exercised map[string]int
}

// Failed reports whether an invariant broke.
func (r Result) Failed() bool { return len(r.Violations) > 0 }

// Report is the failure message: violations, the trace, the last calls.
func (r Result) Report() string {
	return "violations:\n  " + strings.Join(r.Violations, "\n  ") + "\ntrace:\n  " + strings.Join(r.Trace, "\n  ") +
		"\nlast EC2 calls:\n  " + strings.Join(r.Calls, "\n  ")
}

type invocation struct {
	id     int
	label  string
	manual bool
	about  string // instance an event is about
	event  bool   // handled by the failover function
	kind   string
	killAt int
	calls  int
	// counted: this event's one justified move is in the budget.
	counted bool
	ctx     context.Context
	cancel  context.CancelFunc
	run     func(ctx context.Context) string
	// failed: the handler returned an error (Lambda would retry it).
	failed bool
	// touches: the run reads and may act on the group's ENI.
	touches bool
	// paused: an automatic run that began with the group paused, in pause
	// epoch pausedIn (no operator has paused or resumed since).
	paused   bool
	pausedIn int
	// requestID is a finding's; stale: its failures began before about
	// (the holder when it was sent) got the ENI.
	requestID string
	stale     bool
}

// callRecord is one EC2 call as the storm saw it.
type callRecord struct {
	op  string
	at  time.Time
	inv int
	// code is the error code EC2 answered ("" when it accepted the call).
	code string
	// attachment is the attachment a detach named; force, whether it was
	// forced.
	attachment string
	force      bool
}

type storm struct {
	src    Source
	region *sim.Region
	sched  *scheduler
	opts   engine.Options
	res    *Result
	nextID int
	// alarmed and evacuating are the ground truth the storm told the
	// system about: the token server on it died, or it is going away.
	alarmed, evacuating map[string]bool
	terminated          int
	budget              int
	// preDetach is the ENI as the running invocation's detach found it.
	preDetach fakeec2.ENIState
	// lastHolder and moves count holder changes (an attach back to the
	// same instance is no move).
	lastHolder string
	moves      int
	// denied are members IAM refuses every attach to, until faults clear.
	denied map[string]bool
	// notices: AWS Health said the instance changes from 10 minutes after
	// the event until this time; starting it again does not undo that.
	notices map[string]time.Time
	// calls is every EC2 call, for the rate invariant.
	calls []callRecord
	// pauseEpoch counts the starts and ends of operators' pauses and
	// resumes, and pausing those running: an automatic run that overlaps
	// one may have read either state. Runs start alongside each other.
	pauseMu             sync.Mutex
	pauseEpoch, pausing int
	// sandboxes are the failover functions' sandboxes: an event runs in
	// one of them and shares its engine, and what it remembers, with the
	// events before it there, until an invocation in it is killed and
	// Lambda starts a new one. Bursts run an event in each at once.
	sandboxes [sandboxes]*handler.Deps
	features
}

// Run plays one history of the given length.
func Run(src Source, steps int) Result {
	s := &storm{
		src:        src,
		region:     sim.NewRegion(fakeec2.RealisticTimings(), int64(src.Intn(1<<30))),
		res:        &Result{Exercised: map[string]int{}},
		alarmed:    map[string]bool{},
		evacuating: map[string]bool{},
		denied:     map[string]bool{},
		notices:    map[string]time.Time{},
		features:   newFeatures(),
	}
	s.sched = newScheduler(src)
	jitterRand := rand.New(rand.NewSource(int64(src.Intn(1 << 30))))
	s.opts = engine.Options{
		AllowStartStopped: src.Intn(2) == 0,
		MaxAutomaticMoves: []int{0, 1, 2, config.DefaultMaxAutomaticMoves, config.DefaultMaxAutomaticMoves, 10}[src.Intn(6)],
		HolderTag:         src.Intn(2) == 0,
		Jitter: func(d time.Duration) time.Duration {
			if d <= 1 {
				return d
			}
			return d/2 + time.Duration(jitterRand.Int63n(int64(d/2)))
		},
	}
	if src.Intn(2) == 0 {
		s.opts.DeepCheck = deepChecker{s}
	}
	s.lastHolder = members[0].ID
	g := sim.GroupSpec{Name: "mosek", ENIID: eniID, AZ: az, MAC: "02:00:00:00:e0:01", PrivateIP: "10.0.1.9", Holder: members[0].ID, Members: members}
	s.region.AddGroup(g)
	s.region.EC2.AddInstance(fakeec2.InstanceSpec{ID: outsider, AZ: az, Tags: map[string]string{"Name": "web"}})
	s.region.EC2.SetGate(func(ctx context.Context, op string) error {
		err := s.sched.gate(ctx, op)
		if op == fakeec2.OpDetachNetworkInterface {
			s.preDetach = s.region.EC2.ENI(eniID)
		}
		return err
	})
	s.region.EC2.AfterCall(s.afterCall)
	s.tracef("world: %s on %s; members a(1) b(2) c(3) in %s, d(4) in us-east-1b; outsider e; start stopped standbys=%v; cap %d; holder tag %v; deep check %v",
		eniID, members[0].ID, az, s.opts.AllowStartStopped, s.opts.MaxAutomaticMoves, s.opts.HolderTag, s.opts.DeepCheck != nil)

	for i := 0; i < steps && !s.res.Failed(); i++ {
		s.step(i)
		s.check(fmt.Sprintf("after step %d", i))
		s.res.Steps++
	}
	if !s.res.Failed() {
		s.converge()
	}
	s.checkCallRate()
	s.checkPacing()
	s.checkCap()
	return *s.res
}

func (s *storm) tracef(format string, args ...any) {
	at := s.region.Clock.Now().Sub(sim.Start).Round(time.Millisecond)
	s.res.Trace = append(s.res.Trace, fmt.Sprintf("[%9s] %s", at, fmt.Sprintf(format, args...)))
}

func (s *storm) violate(format string, args ...any) {
	s.res.Violations = append(s.res.Violations, fmt.Sprintf(format, args...))
	if s.res.Calls != nil {
		return
	}
	calls := s.region.EC2.Calls()
	s.res.Calls = []string{}
	for _, c := range calls[max(0, len(calls)-60):] {
		line := fmt.Sprintf("[%9s] %s", c.At.Sub(sim.Start).Round(time.Millisecond), c.Op)
		if c.Err != nil {
			line += ": " + c.Err.Error()
		}
		s.res.Calls = append(s.res.Calls, line)
	}
}

func (s *storm) pick(n int) int { return s.src.Intn(n) }

func (s *storm) member() string { return members[s.pick(len(members))].ID }

func (s *storm) holder() string { return s.region.EC2.ENI(eniID).InstanceID }

// hurt counts a blow to the current holder in the move budget.
func (s *storm) hurt(id string) {
	if id != "" && id == s.holder() {
		s.budget++
	}
}

// step picks one action by weight.
func (s *storm) step(i int) {
	type action struct {
		weight int
		name   string
		do     func()
	}
	f := s.region.EC2
	actions := []action{
		{45, "invoke", s.batch},
		{8, "stop", func() {
			id := s.member()
			s.hurt(id)
			f.StopInstance(id)
			s.tracef("step %d: stop %s", i, id)
		}},
		{8, "start", func() {
			id := s.member()
			f.StartInstance(id)
			s.alarmed[id], s.evacuating[id], s.dead[id] = false, false, false
			s.tracef("step %d: start %s (repaired)", i, id)
		}},
		{2, "terminate", func() {
			id := s.member()
			// An operator's DeleteOnTermination=true that no run has mended
			// yet would delete the ENI with the instance: that loss is the
			// operator's, not the engine's, so the storm waits for a run.
			if s.terminated > 0 || id == members[0].ID || (id == s.holder() && f.ENI(eniID).DeleteOnTermination) {
				return
			}
			s.terminated++
			s.hurt(id)
			f.TerminateInstance(id)
			s.tracef("step %d: terminate %s", i, id)
		}},
		{4, "impair", func() {
			id := s.member()
			s.hurt(id)
			f.SetStatus(id, "impaired")
			s.tracef("step %d: status checks of %s impaired", i, id)
		}},
		{4, "recover", func() {
			id := s.member()
			f.SetStatus(id, "ok")
			s.alarmed[id], s.evacuating[id], s.dead[id] = false, false, false
			s.tracef("step %d: %s healthy again", i, id)
		}},
		{4, "throttle", func() {
			p := []float64{0.1, 0.3, 0.5}[s.pick(3)]
			f.Throttle(p)
			s.tracef("step %d: throttle %.0f%% of calls", i, p*100)
		}},
		{3, "5xx", func() {
			f.AddFault(fakeec2.Fault{Code: "InternalError", Message: "An internal error has occurred", HTTPStatus: 500, Probability: 0.1})
			s.tracef("step %d: 10%% of calls fail with 500", i)
		}},
		{4, "refuse-attach", func() {
			id, n := s.member(), 1+s.pick(3)
			code := []string{"IncorrectState", "InvalidParameterValue", "IncorrectInstanceState", "UnauthorizedOperation", "OperationNotPermitted"}[s.pick(5)]
			f.AddFault(fakeec2.Fault{Op: fakeec2.OpAttachNetworkInterface, Code: code, Times: n, Match: attachesTo(id)})
			s.tracef("step %d: the next %d attaches to %s fail with %s", i, n, id, code)
		}},
		{3, "deny-member", func() {
			// IAM refuses every attach to this member (one outside an
			// allowed list, say) until the faults clear.
			id := s.member()
			s.denied[id] = true
			f.AddFault(fakeec2.Fault{Op: fakeec2.OpAttachNetworkInterface, Code: "UnauthorizedOperation", HTTPStatus: 403,
				Message: "You are not authorized to perform this operation.", Match: attachesTo(id)})
			s.tracef("step %d: IAM denies every attach to %s", i, id)
		}},
		{3, "refuse-detach", func() {
			// A few refusals, or every detach until the faults clear.
			n := s.pick(7)
			f.AddFault(fakeec2.Fault{Op: fakeec2.OpDetachNetworkInterface, Code: "OperationNotPermitted", Times: n,
				Message: "The attachment cannot be detached."})
			if n == 0 {
				s.tracef("step %d: every detach fails with OperationNotPermitted", i)
				return
			}
			s.tracef("step %d: the next %d detaches fail with OperationNotPermitted", i, n)
		}},
		{3, "stuck-detach", func() {
			f.SetStuckDetaching(eniID, true)
			s.tracef("step %d: graceful detaches of %s hang", i, eniID)
		}},
		{5, "calm", func() {
			f.ClearFaults()
			f.SetStuckDetaching(eniID, false)
			s.denied = map[string]bool{}
			s.tracef("step %d: faults cleared", i)
		}},
		{8, "wait", func() {
			d := []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 5 * time.Minute, 20 * time.Minute}[s.pick(5)]
			s.region.Settle(d)
			s.tracef("step %d: %s pass", i, d)
		}},
		{2, "console-detach", func() {
			if st := f.ENI(eniID); st.AttachmentStatus == "attached" {
				s.budget++
				s.leaving = nil // an operator's detach, not the automation's
				f.DetachNow(eniID)
				s.tracef("step %d: an operator detaches %s in the console", i, eniID)
			}
		}},
		{2, "daemon-dies", func() {
			// The token server dies; what notices it (a finding, the deep
			// check, the probe's alarm) is drawn on its own.
			id := s.member()
			if s.pick(2) == 0 && s.holder() != "" {
				id = s.holder()
			}
			s.dead[id], s.alarmed[id] = true, true
			s.tracef("step %d: the token server on %s dies", i, id)
		}},
		{2, "quiet", func() { s.quiet(i) }},
		{2, "console-dot", func() {
			if f.InstanceState(s.holder()) != "running" {
				return
			}
			f.SetDeleteOnTermination(eniID, true)
			s.tracef("step %d: an operator sets DeleteOnTermination=true", i)
		}},
	}
	total := 0
	for _, a := range actions {
		total += a.weight
	}
	r := s.pick(total)
	for _, a := range actions {
		if r < a.weight {
			s.res.Exercised[a.name]++
			a.do()
			return
		}
		r -= a.weight
	}
}

// attachesTo matches an attach to the instance.
func attachesTo(id string) func(any) bool {
	return func(in any) bool { return aws.ToString(in.(ec2.AttachNetworkInterfaceInput).InstanceId) == id }
}

// sandboxes is how many event sandboxes a burst runs at once: the fleet
// function has one, the failover function several, and a deploy or a
// concurrency raised by the operator may run more beside them.
const sandboxes = 8

// batch runs one to three invocations at once (one event, the others an
// operator's), or a burst of events in every sandbox at once, each perhaps
// killed after a few EC2 calls (a Lambda timeout or crash).
func (s *storm) batch() {
	n, events := 1+s.pick(3), 1
	if s.pick(6) == 0 {
		n, events = sandboxes, sandboxes
		s.res.Exercised["burst-of-sandboxes"]++
	}
	invs := make([]*invocation, n)
	for k := range invs {
		invs[k] = s.newInvocation(k >= events, k)
		if s.pick(100) < 15 {
			invs[k].killAt = 1 + s.pick(12)
			s.res.Exercised["killed-invocation"]++
		}
	}
	if n > 1 {
		s.res.Exercised["concurrent-batch"]++
	}
	// Ground truth first: an alarm or a notice is about the instance as it
	// is now; each one aimed at the holder may justify one move. (A fresh
	// finding set its own when it was made.)
	s.batchAt = s.region.Clock.Now()
	acted := false
	for _, inv := range invs {
		switch inv.kind {
		case "alarm", "probe-alarm":
			s.alarmed[inv.about] = true
		case "spot", "rebalance", "health", "health-now":
			s.evacuating[inv.about] = true
		case "drill":
			s.budget++ // there and back
		}
		if inv.manual {
			s.budget++
		}
		acted = acted || inv.kind == "move" || inv.kind == "failback" || inv.kind == "drill" || inv.kind == "pause" || inv.kind == "resume"
	}
	if acted {
		s.operatorActs = append(s.operatorActs, s.batchAt)
	}
	s.sched.begin(invs)
	var wg sync.WaitGroup
	results := make([]string, n)
	for k, inv := range invs {
		wg.Add(1)
		go func(k int, inv *invocation) {
			defer wg.Done()
			defer s.sched.done()
			defer inv.cancel()
			results[k] = inv.run(inv.ctx)
		}(k, inv)
	}
	wg.Wait()
	clean, touched, pausing := true, false, false
	for k, inv := range invs {
		killed := ""
		if inv.killAt > 0 && inv.calls >= inv.killAt {
			killed = fmt.Sprintf(" [killed after %d calls]", inv.killAt)
			clean = false
		}
		s.tracef("  #%d %s%s -> %s", inv.id, inv.label, killed, results[k])
		for _, outcome := range []string{"capped", "paused"} {
			if strings.Contains(results[k], outcome+" ") {
				s.res.Exercised["outcome:"+outcome]++
			}
		}
		if killed != "" && inv.event {
			s.sandboxes[k] = nil
		}
		clean = clean && !inv.failed
		touched = touched || inv.touches
		// Runs alongside a pause or resume may have read either state.
		pausing = pausing || inv.kind == "pause" || inv.kind == "resume"
	}
	if clean && touched && !pausing {
		s.checkNotOrphaned()
	}
}

// checkNotOrphaned: after runs that ended without an error (none killed,
// none that Lambda would retry), the ENI is not left unattached while a
// running member in its AZ that IAM does not refuse could take it.
func (s *storm) checkNotOrphaned() {
	f := s.region.EC2
	if st := f.ENI(eniID); !st.Exists || st.AttachmentStatus != "" || s.pausedAt(s.batchAt) || s.paused() {
		// Paused (when the runs began, or now): no automatic run attaches
		// it, by design, and a pause that ended during them was theirs to
		// obey.
		return
	}
	for _, m := range members {
		if m.AZ == "" && !s.denied[m.ID] && f.InstanceState(m.ID) == "running" && f.Status(m.ID) != "impaired" {
			s.violate("runs ended without an error and left %s unattached, though %s could take it", eniID, m.ID)
			return
		}
	}
}

// maxCallsPerSecond bounds any one mutating EC2 operation of one
// invocation in any second of simulated time: a refusal or a fault must
// never turn into a burst of calls. Across invocations (a burst of eight
// sandboxes each writing its journal), every call, reads included, must
// stay within the account's documented token bucket of its API
// (ec2limits), which every sandbox shares.
const maxCallsPerSecond = 10

func (s *storm) checkCallRate() {
	for _, v := range ec2limits.Violations(ec2limits.Replay(s.region.EC2.Calls()), sim.Start) {
		s.violate("%s", v)
		return
	}
	byOp := map[string][]callRecord{}
	for _, c := range s.calls {
		if !strings.HasPrefix(c.op, "Describe") {
			key := fmt.Sprintf("%s of invocation %d", c.op, c.inv)
			byOp[key] = append(byOp[key], c)
		}
	}
	for op, cs := range byOp {
		j := 0
		for i := range cs {
			for cs[i].at.Sub(cs[j].at) >= time.Second {
				j++
			}
			if n := i - j + 1; n > maxCallsPerSecond {
				s.violate("%d %s calls within one second from %s (invocations %d..%d)", n, op,
					cs[j].at.Sub(sim.Start).Round(time.Millisecond), cs[j].inv, cs[i].inv)
				return
			}
		}
	}
}

// refusalBackoff is the documented pause after a refused detach (the
// engine's, doubling from there): sent again sooner, the same refusal
// only repeats, and the loop hammers EC2's bucket.
const refusalBackoff = engine.DefaultRefusalBackoff

// checkPacing: no invocation sends the same detach (attachment, forced or
// not) again sooner than the backoff after EC2 refused it
// (OperationNotPermitted). Another attachment (the ENI moved meanwhile), or
// forcing a detach another run has started, is another call.
func (s *storm) checkPacing() {
	type key struct {
		inv        int
		attachment string
		force      bool
	}
	last := map[key]callRecord{}
	for _, c := range s.calls {
		if c.op != fakeec2.OpDetachNetworkInterface || c.inv == 0 {
			continue
		}
		k := key{c.inv, c.attachment, c.force}
		if prev, ok := last[k]; ok && prev.code == "OperationNotPermitted" && c.at.Sub(prev.at) < refusalBackoff {
			s.violate("invocation %d sent the detach of %s %s after EC2 refused it (at %s): the backoff is %s",
				c.inv, c.attachment, c.at.Sub(prev.at), prev.at.Sub(sim.Start).Round(time.Millisecond), refusalBackoff)
			return
		}
		last[k] = c
	}
}

// newInvocation makes an event or an operator's invocation (only the
// latter when manualOnly).
func (s *storm) newInvocation(manualOnly bool, sandbox int) *invocation {
	s.nextID++
	inv := &invocation{id: s.nextID}
	timeout := 60 * time.Second
	if s.pick(10) == 0 {
		timeout = 10 * time.Second
	}
	base := context.WithValue(s.region.Context(timeout), invKey{}, inv.id)
	inv.ctx, inv.cancel = context.WithCancel(base)
	if s.sandboxes[sandbox] == nil {
		deps := s.region.Deps(s.opts, nil, nil)
		s.sandboxes[sandbox] = &deps
	}
	fo := &handler.Failover{Deps: *s.sandboxes[sandbox]}
	mv := &handler.Move{Deps: s.region.Deps(s.opts, nil, nil)} // operators' calls: a fresh sandbox each
	// send hands an event to the failover function; event sends a sample
	// about an instance (with extra old,new pairs).
	send := func(raw []byte) {
		inv.event = true
		inv.run = func(ctx context.Context) string {
			inv.paused, inv.pausedIn = s.pauseState()
			res, err := fo.Handle(ctx, raw)
			inv.failed = err != nil
			return summarize(res, err)
		}
	}
	event := func(name, about string, replace ...string) {
		inv.about = about
		send(events.MustSample(name, append([]string{events.HolderPlaceholder, about}, replace...)...))
	}
	operator := func(payload string) {
		inv.label = "manual " + payload
		inv.run = func(ctx context.Context) string {
			resp, err := mv.Handle(ctx, json.RawMessage(payload))
			inv.failed = err != nil || resp.Error != ""
			return manualSummary(resp, err)
		}
	}
	x := s.member()
	states := []string{"pending", "running", "stopping", "stopped", "shutting-down", "terminated"}
	type kindSpec struct {
		weight int
		kind   string
		make   func()
	}
	kinds := []kindSpec{
		{20, "state", func() {
			st := s.region.EC2.InstanceState(x)
			inv.label = fmt.Sprintf("state-change %s %s", x, st)
			event("ec2-state-"+st+".json", x)
		}},
		{5, "stale-state", func() {
			st := states[s.pick(len(states))]
			inv.label = fmt.Sprintf("stale state-change %s %s", x, st)
			event("ec2-state-"+st+".json", x)
		}},
		{4, "spot", func() { inv.label = "spot interruption " + x; event("spot-interruption.json", x) }},
		{3, "rebalance", func() { inv.label = "rebalance " + x; event("rebalance-recommendation.json", x) }},
		{8, "alarm", func() { inv.label = "alarm " + x; event("alarm-status-check.json", x) }},
		{4, "probe-alarm", func() {
			// The license ports of the group's current holder stopped
			// answering a minute ago.
			h := s.holder()
			if h == "" {
				h = "none"
			}
			since := s.region.Clock.Now().Add(-time.Minute).UTC().Format("2006-01-02T15:04:05.000-0700")
			inv.label = "probe alarm (holder " + h + ")"
			event("alarm-license-probe.json", h, "2026-11-26T12:00:00.000+0000", since)
		}},
		{3, "health", func() {
			// AWS lists the change among EC2's scheduled events too (the
			// sample's start), which corroborates the journal's notice.
			s.region.EC2.ScheduleEvent(x, "instance-stop", time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC))
			inv.label = "health days ahead " + x
			event("health-ec2-scheduled.json", x)
		}},
		{2, "health-now", func() {
			// As AWS sends it today (an instance ARN), starting in 10 minutes.
			now := s.region.Clock.Now().UTC()
			s.notices[x] = now.Add(2 * time.Hour)
			s.region.EC2.ScheduleEvent(x, "instance-stop", now.Add(10*time.Minute))
			inv.label = "health now " + x
			event("health-ec2-arn-now.json", x, "Thu, 26 Nov 2026 09:20:00 GMT", now.Add(10*time.Minute).Format(time.RFC1123),
				"Thu, 26 Nov 2026 11:20:00 GMT", now.Add(2*time.Hour).Format(time.RFC1123))
		}},
		{15, "reconcile", func() { inv.label = "reconcile"; event("scheduled-reconcile.json", "") }},
		{4, "finding", func() { send(s.finding(inv, false)) }},
		{2, "finding-again", func() { send(s.finding(inv, true)) }},
		{2, "malformed", func() { inv.label = "malformed event"; event("malformed/alarm-without-instance.json", "") }},
		{8, "move", func() {
			target := []string{"", x, outsider}[s.pick(3)]
			payload := `{"action":"move","reason":"storm"}`
			if target != "" {
				payload = `{"action":"move","target":"` + target + `"}`
			}
			operator(payload)
			inv.manual = true
		}},
		{4, "failback", func() { operator(`{"action":"failback"}`); inv.manual = true }},
		{3, "pause", func() {
			operator(fmt.Sprintf(`{"action":"pause","reason":"storm maintenance","minutes":%d}`, 1+s.pick(20)))
			inv.manual = true
			s.epochs(inv)
		}},
		{2, "resume", func() { operator(`{"action":"resume"}`); inv.manual = true; s.epochs(inv) }},
		{2, "drill", func() { operator(`{"action":"drill","group":"mosek","reason":"storm"}`); inv.manual = true }},
		{3, "plan", func() { operator(`{"action":"plan"}`) }},
		{2, "status", func() { operator(`{"action":"status"}`) }},
	}
	if manualOnly {
		var manual []kindSpec
		for _, k := range kinds {
			if k.kind == "move" || k.kind == "failback" || k.kind == "drill" || k.kind == "plan" || k.kind == "status" {
				manual = append(manual, k)
			}
		}
		kinds = manual
	}
	total := 0
	for _, k := range kinds {
		total += k.weight
	}
	r := s.pick(total)
	for _, k := range kinds {
		if r < k.weight {
			inv.kind = k.kind
			k.make()
			break
		}
		r -= k.weight
	}
	switch inv.kind {
	case "malformed", "plan", "status", "pause", "resume":
		// A pause or resume writes the journal, never the attachment.
	default:
		inv.touches = true
	}
	s.res.Exercised["trigger:"+inv.kind]++
	return inv
}

func summarize(res *handler.FailoverResult, err error) string {
	var parts []string
	if res != nil {
		if res.Ignored != "" {
			parts = append(parts, "ignored: "+res.Ignored)
		}
		for _, r := range res.Reports {
			parts = append(parts, fmt.Sprintf("%s %s->%s (%s)", r.Outcome, r.HolderBefore, r.HolderAfter, r.Reason))
		}
	}
	if err != nil {
		parts = append(parts, "error: "+err.Error())
	}
	return strings.Join(parts, "; ")
}

func manualSummary(resp *moveapi.Response, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	out := fmt.Sprintf("%s %s->%s", resp.Outcome, resp.HolderBefore, resp.HolderAfter)
	if resp.Error != "" {
		out += " error: " + resp.Error
	}
	return out
}

// paused reports whether the journal, as EC2 shows it now, pauses the
// group.
func (s *storm) paused() bool { return s.pausedAt(s.region.Clock.Now()) }

// pausedAt reports whether the journal's pause, as EC2 shows it now, was
// active at t.
func (s *storm) pausedAt(t time.Time) bool {
	p, ok := model.ParsePause(s.region.EC2.ENI(eniID).Tags["eni-failover:paused"])
	return ok && p.Active(t)
}

// pauseState says whether the group is paused with no operator's pause or
// resume running, and the epoch.
func (s *storm) pauseState() (bool, int) {
	s.pauseMu.Lock()
	defer s.pauseMu.Unlock()
	return s.pausing == 0 && s.paused(), s.pauseEpoch
}

// epochs marks a pause's or resume's run, start and end, in pauseEpoch.
func (s *storm) epochs(inv *invocation) {
	run := inv.run
	mark := func(d int) {
		s.pauseMu.Lock()
		s.pauseEpoch++
		s.pausing += d
		s.pauseMu.Unlock()
	}
	inv.run = func(ctx context.Context) string {
		mark(1)
		defer mark(-1)
		return run(ctx)
	}
}

// afterCall watches every accepted detach: it must come from an operator,
// a planned move, or a holder that is down, impaired or alarmed. No
// automatic run that began with the group paused attaches or detaches.
func (s *storm) afterCall(op string, input any, err error) {
	if fakeec2.IsDryRun(input) {
		// The doctor's questions: counted in EC2's buckets (ec2limits),
		// never a move, never a refusal to pace.
		return
	}
	inv := s.sched.running()
	rec := callRecord{op: op, at: s.region.Clock.Now()}
	if in, ok := input.(ec2.DetachNetworkInterfaceInput); ok {
		rec.attachment, rec.force = aws.ToString(in.AttachmentId), aws.ToBool(in.Force)
	}
	if inv != nil {
		rec.inv = inv.id
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		rec.code = apiErr.ErrorCode()
	}
	s.calls = append(s.calls, rec)
	if (op == fakeec2.OpAttachNetworkInterface || op == fakeec2.OpDetachNetworkInterface) && err == nil && inv != nil && !inv.manual && inv.paused {
		if paused, epoch := s.pauseState(); paused && epoch == inv.pausedIn {
			s.violate("invocation #%d (%s) called %s while the group was paused", inv.id, inv.label, op)
		}
	}
	if op == fakeec2.OpAttachNetworkInterface && err == nil {
		s.gotAt = rec.at
		s.recordAttach(aws.ToString(input.(ec2.AttachNetworkInterfaceInput).InstanceId))
		if to := s.region.EC2.ENI(eniID).InstanceID; to != s.lastHolder {
			s.moves++
			s.lastHolder = to
		}
	}
	if op == fakeec2.OpDetachNetworkInterface && inv != nil {
		pre := s.preDetach
		// An alarm or a notice about the instance that holds the ENI when
		// the event is handled may justify one move (the holder may have
		// changed since the event was sent).
		if err == nil && !inv.counted && pre.AttachmentStatus != "detaching" && s.about(inv, pre.InstanceID) {
			inv.counted = true
			s.budget++
		}
		if err == nil && pre.AttachmentStatus == "attached" {
			s.checkFindingDetach(inv, pre.InstanceID)
			s.recordAutoDetach(inv, pre.InstanceID)
		}
		if err == nil && pre.AttachmentStatus != "detaching" && s.noticed(pre.InstanceID) {
			// Each move off a holder that a pending Health change names
			// is one the notice justifies (the reconcile makes it).
			s.budget++
		}
		if err == nil && pre.AttachmentStatus != "detaching" && !s.justified(inv, pre.InstanceID) {
			s.violate("invocation #%d (%s) detached %s from healthy holder %s", inv.id, inv.label, eniID, pre.InstanceID)
		}
	}
}

// about: the invocation's event says the holder failed (an alarm, a
// notice, a fresh finding), or it is a reconcile whose deep check finds
// the token server there dead.
func (s *storm) about(inv *invocation, holder string) bool {
	switch inv.kind {
	case "alarm", "probe-alarm", "spot", "rebalance", "health", "health-now":
		return holder == inv.about
	case "finding", "finding-again":
		return holder == inv.about && !inv.stale
	case "reconcile":
		return s.opts.DeepCheck != nil && s.dead[holder]
	}
	return false
}

// justified: the holder may lose the ENI.
func (s *storm) justified(inv *invocation, holder string) bool {
	if inv.manual || s.alarmed[holder] || s.evacuating[holder] || s.noticed(holder) {
		return true
	}
	f := s.region.EC2
	return f.InstanceState(holder) != "running" || f.Status(holder) == "impaired"
}

// noticed: a pending AWS Health change names the instance.
func (s *storm) noticed(id string) bool { return s.region.Clock.Now().Before(s.notices[id]) }

// check verifies the invariants that hold after every step.
func (s *storm) check(when string) {
	f := s.region.EC2
	st := f.ENI(eniID)
	if !st.Exists {
		s.violate("%s: the license ENI is gone", when)
		return
	}
	if n := f.AttachmentsOf(eniID); n > 1 {
		s.violate("%s: %d attachments", when, n)
	}
	if st.InstanceID != "" {
		ok := false
		for _, m := range members {
			ok = ok || (m.ID == st.InstanceID && m.AZ == "")
		}
		if !ok {
			s.violate("%s: ENI attached to %s, outside the group or its AZ", when, st.InstanceID)
		}
	}
	if s.moves > s.budget {
		s.violate("%s: %d moves for %d failures, notices and manual moves (ping-pong)", when, s.moves, s.budget)
	}
}

// converge ends the storm: faults cleared, EC2 settled, one reconcile; if a
// healthy member exists in the ENI's AZ, the ENI must then be attached to
// a running, healthy member with DeleteOnTermination=false.
func (s *storm) converge() {
	f := s.region.EC2
	f.ClearFaults()
	f.SetStuckDetaching(eniID, false)
	s.region.Settle(2 * time.Minute)
	healthy := false
	for _, m := range members {
		healthy = healthy || (m.AZ == "" && f.InstanceState(m.ID) == "running" && f.Status(m.ID) == "ok")
	}
	s.tracef("storm over: ENI %+v; a healthy member exists: %v", f.ENI(eniID), healthy)
	if !healthy {
		return
	}
	if s.paused() {
		// The maintenance ends: an operator resumes before the last
		// reconcile, which then must put things right.
		s.operatorActs = append(s.operatorActs, s.region.Clock.Now())
		mv := &handler.Move{Deps: s.region.Deps(s.opts, nil, nil)}
		resp, err := mv.Handle(s.region.Context(time.Minute), json.RawMessage(`{"action":"resume"}`))
		s.tracef("storm over: resume: %s", manualSummary(resp, err))
	}
	s.reconcileOnce("final reconcile")
	st := f.ENI(eniID)
	switch {
	case st.AttachmentStatus != "attached":
		s.violate("after the final reconcile: ENI %s (attachment %q)", st.Status, st.AttachmentStatus)
	case f.InstanceState(st.InstanceID) != "running" || f.Status(st.InstanceID) != "ok":
		s.violate("after the final reconcile: holder %s is %s/%s", st.InstanceID, f.InstanceState(st.InstanceID), f.Status(st.InstanceID))
	case st.DeleteOnTermination:
		s.violate("after the final reconcile: DeleteOnTermination is true")
	}
	s.check("after the final reconcile")
	s.checkHolderTag("after the final reconcile")
}

// quiet is a quiet period amid the storm: faults clear, EC2 settles, one
// scheduled reconcile runs to its end; the license-holder tag must then be
// on the holder alone.
func (s *storm) quiet(i int) {
	f := s.region.EC2
	f.ClearFaults()
	f.SetStuckDetaching(eniID, false)
	s.denied = map[string]bool{}
	s.region.Settle(2 * time.Minute)
	s.tracef("step %d: a quiet period", i)
	s.reconcileOnce("reconcile after a quiet period")
	s.checkHolderTag(fmt.Sprintf("after the quiet period of step %d", i))
}

// reconcileOnce runs one scheduled reconcile in the fleet function's
// sandbox, alone and never killed, with the deployed timeout (it may have
// to boot a standby), then lets EC2 settle.
func (s *storm) reconcileOnce(label string) {
	s.nextID++
	inv := &invocation{id: s.nextID, label: label, kind: "reconcile", event: true, touches: true}
	inv.ctx, inv.cancel = context.WithCancel(context.WithValue(s.region.Context(60*time.Second), invKey{}, inv.id))
	defer inv.cancel()
	if s.sandboxes[0] == nil {
		deps := s.region.Deps(s.opts, nil, nil)
		s.sandboxes[0] = &deps
	}
	fo := &handler.Failover{Deps: *s.sandboxes[0]}
	s.batchAt = s.region.Clock.Now()
	inv.paused, inv.pausedIn = s.pauseState()
	s.sched.begin([]*invocation{inv})
	res, err := fo.Handle(inv.ctx, events.MustSample("scheduled-reconcile.json"))
	s.sched.done()
	s.tracef("  #%d %s -> %s", inv.id, label, summarize(res, err))
	s.region.Settle(time.Minute)
}
