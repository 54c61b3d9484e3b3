package account_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/eni-failover/eni-failover/internal/config"
	"github.com/eni-failover/eni-failover/internal/doctor"
	"github.com/eni-failover/eni-failover/internal/doctor/account"
	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/handler"
	"github.com/eni-failover/eni-failover/internal/moveapi"
	"github.com/eni-failover/eni-failover/internal/testkit/fakeec2"
	"github.com/eni-failover/eni-failover/internal/testkit/sim"
)

// The stack's three patterns that carry a member's failure, as infra
// writes them (unpinned).
const (
	statePattern  = `{"source":["aws.ec2"],"detail-type":["EC2 Instance State-change Notification"],"detail":{"state":["pending","running","stopping","stopped","shutting-down","terminated"]}}`
	spotPattern   = `{"source":["aws.ec2"],"detail-type":["EC2 Spot Instance Interruption Warning","EC2 Instance Rebalance Recommendation"]}`
	healthPattern = `{"source":["aws.health"],"detail-type":["AWS Health Event"],"detail":{"service":["EC2"]}}`
)

// denying is a role that lost some EC2 actions: EC2 answers them (and
// their DryRuns) UnauthorizedOperation.
type denying struct {
	*fakeec2.Fake
	attach bool
}

func (d denying) AttachNetworkInterface(ctx context.Context, in *ec2.AttachNetworkInterfaceInput, opts ...func(*ec2.Options)) (*ec2.AttachNetworkInterfaceOutput, error) {
	if d.attach {
		return nil, &smithy.GenericAPIError{Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation. User: arn:aws:sts::123456789012:assumed-role/failover/x is not authorized to perform: ec2:AttachNetworkInterface"}
	}
	return d.Fake.AttachNetworkInterface(ctx, in, opts...)
}

// deployment is a healthy deployment of the stack on a simulated region.
type deployment struct {
	region    *sim.Region
	doc       *account.Checkup
	agents    agents
	rules     rules
	alarms    *alarms
	subs      topics
	functions *functions
	failover  denying
}

func newDeployment(t *testing.T) *deployment {
	t.Helper()
	r := sim.NewRegion(fakeec2.RealisticTimings(), 1)
	r.AddGroup(sim.Mosek())
	d := &deployment{region: r,
		agents: agents{sim.Primary: online(sim.Primary), sim.Standby: online(sim.Standby), sim.Second: online(sim.Second)},
		rules:  rules{"ef-state": statePattern, "ef-spot": spotPattern, "ef-health": healthPattern},
		alarms: &alarms{rounds: 30},
		subs:   topics{{Protocol: aws.String("email"), Endpoint: aws.String("oncall@example.com"), SubscriptionArn: aws.String(sim.TopicARN + ":1")}},
		functions: &functions{timeout: map[string]int32{"ef-failover": 60, "ef-fleet": 60, "ef-move": 240},
			reserved: map[string]int32{"ef-failover": 10, "ef-fleet": 1}},
		failover: denying{Fake: r.EC2},
	}
	now := r.Clock.Now()
	d.alarms.list = []cwtypes.MetricAlarm{alarm("ef-no-ready-standby", cwtypes.StateValueOk, now.Add(-time.Hour)),
		alarm("ef-probe-group-mosek", cwtypes.StateValueOk, now.Add(-time.Hour))}
	for _, suffix := range config.StackAlarms {
		d.alarms.list = append(d.alarms.list, alarm("ef"+suffix, cwtypes.StateValueOk, now.Add(-time.Hour)))
	}
	deps := r.Deps(engine.Options{}, nil, nil)
	d.doc = &account.Checkup{Doctor: &doctor.Doctor{Engine: deps.Engine, EC2: r.EC2, Role: doctor.MoveRole, Agents: d.agents, Platforms: doctor.Platforms{Linux: true},
		Deployed: config.Doctor{Rules: []string{"ef-state", "ef-spot", "ef-health"}, AlarmPrefix: "ef",
			Functions:   []config.DeployedFunction{{Name: "ef-failover", TimeoutSeconds: 60, ReservedConcurrency: 10}, {Name: "ef-fleet", TimeoutSeconds: 60, ReservedConcurrency: 1}, {Name: "ef-move", TimeoutSeconds: 240}},
			ProbeGroups: []string{"mosek"}, ProbeEvery: time.Minute, FailoverName: "ef-failover"}},
		Rules: d.rules, Alarms: d.alarms, Topics: d.subs, Functions: d.functions, TopicARN: sim.TopicARN, MetricsNamespace: "ENIFailover"}
	// The failover function, with its own role, answers the doctor.
	fo := r.Deps(engine.Options{}, nil, nil)
	fo.Doctor = &doctor.Doctor{Engine: fo.Engine, EC2: &d.failover, Role: doctor.FailoverRole}
	h := &handler.Failover{Deps: fo}
	d.functions.invoke = func(payload []byte) ([]byte, error) {
		res, err := h.Handle(r.Context(time.Minute), payload)
		if err != nil {
			return nil, err
		}
		return json.Marshal(res)
	}
	return d
}

func (d *deployment) run(t *testing.T) []moveapi.Check {
	t.Helper()
	checks, err := d.doc.Run(d.region.Context(time.Minute), "")
	if err != nil {
		t.Fatal(err)
	}
	if n := d.region.EC2.MutatingCalls(); n != 0 {
		t.Fatalf("the doctor made %d mutating EC2 calls", n)
	}
	return checks
}

// find returns the checks whose name contains each of the words.
func find(checks []moveapi.Check, words ...string) []moveapi.Check {
	var out []moveapi.Check
	for _, c := range checks {
		all := true
		for _, w := range words {
			all = all && strings.Contains(c.Check, w)
		}
		if all {
			out = append(out, c)
		}
	}
	return out
}

func show(checks []moveapi.Check) string {
	var b strings.Builder
	for _, c := range checks {
		b.WriteString("\n  " + string(c.Result) + " " + c.Area + " | " + c.Check + " | " + c.Detail)
	}
	return b.String()
}

func TestHealthyDeploymentPasses(t *testing.T) {
	d := newDeployment(t)
	checks := d.run(t)
	if v := moveapi.Worst(checks); v != moveapi.Pass {
		t.Fatalf("verdict %s:%s", v, show(checks))
	}
	for _, area := range []string{moveapi.AreaIAM, moveapi.AreaRules, moveapi.AreaStandby, moveapi.AreaWatchers} {
		if !has(checks, func(c moveapi.Check) bool { return c.Area == area }) {
			t.Errorf("no %s check:%s", area, show(checks))
		}
	}
	// Both roles' DryRuns: the move function's and, through the failover
	// function, the failover role's, of every call a failover makes.
	for _, role := range []string{doctor.MoveRole, doctor.FailoverRole} {
		for _, call := range []string{"ec2:DetachNetworkInterface", "ec2:ModifyNetworkInterfaceAttribute", "ec2:CreateTags"} {
			if len(find(checks, call, role)) != 1 {
				t.Errorf("no %s DryRun with the %s:%s", call, role, show(checks))
			}
		}
		if n := len(find(checks, "ec2:AttachNetworkInterface", role)); n != 2 {
			t.Errorf("%d attach DryRuns with the %s, want one per standby", n, role)
		}
	}
	if c := find(checks, "ready standbys"); len(c) != 1 || c[0].Detail != "2 of 2" {
		t.Errorf("ready standbys: %+v", c)
	}
	if len(d.functions.invoked) != 1 || d.functions.invoked[0] != "ef-failover" {
		t.Errorf("invoked %v, want the failover function once", d.functions.invoked)
	}
}

func TestFailoverRoleWithoutAttach(t *testing.T) {
	d := newDeployment(t)
	d.failover.attach = true
	checks := d.run(t)
	denied := find(checks, "ec2:AttachNetworkInterface", sim.Standby, doctor.FailoverRole)
	if len(denied) != 1 || denied[0].Result != moveapi.Fail || !strings.Contains(denied[0].Detail, "not authorized") || !strings.Contains(denied[0].Fix, "ec2:AttachNetworkInterface") {
		t.Fatalf("attach to %s with the failover role: %+v", sim.Standby, denied)
	}
	// The move role still may: its DryRun passes.
	if c := find(checks, "ec2:AttachNetworkInterface", sim.Standby, doctor.MoveRole); len(c) != 1 || c[0].Result != moveapi.Pass {
		t.Fatalf("move role: %+v", c)
	}
	if c := find(checks, "ready standbys"); len(c) != 1 || c[0].Result != moveapi.Fail || c[0].Detail != "0 of 2" {
		t.Fatalf("no standby can be given the ENI by the failover role: %+v%s", c, show(checks))
	}
	if moveapi.ExitCode(moveapi.Worst(checks)) != 2 {
		t.Fatal("exit code is not 2")
	}
}

func TestSSMAgentOffline(t *testing.T) {
	d := newDeployment(t)
	info := d.agents[sim.Standby]
	info.PingStatus, info.LastPingDateTime = ssmtypes.PingStatusConnectionLost, aws.Time(sim.Start.Add(-3*time.Hour))
	d.agents[sim.Standby] = info
	checks := d.run(t)
	c := find(checks, "SSM agent", sim.Standby)
	if len(c) != 1 || c[0].Result != moveapi.Warn || !strings.Contains(c[0].Detail, "SSM agent offline on "+sim.Standby+" (mosek-bbb2)") {
		t.Fatalf("%+v", c)
	}
	if c := find(checks, "ready standbys"); c[0].Detail != "1 of 2" || c[0].Result != moveapi.Pass {
		t.Fatalf("%+v", c)
	}
	if v := moveapi.Worst(checks); v != moveapi.Warn {
		t.Fatalf("verdict %s, want warn while another standby is ready", v)
	}
	// The second standby's agent unregistered too: none ready.
	delete(d.agents, sim.Second)
	checks = d.run(t)
	if c := find(checks, "ready standbys"); c[0].Detail != "0 of 2" || c[0].Result != moveapi.Fail {
		t.Fatalf("%+v", c)
	}
	if c := find(checks, "SSM agent", sim.Second); !strings.Contains(c[0].Detail, "not registered with SSM") {
		t.Fatalf("%+v", c)
	}
	// The scheduled count agrees.
	st, _ := d.doc.Engine.Statuses(d.region.Context(time.Minute), "")
	if r := d.doc.Readiness(d.region.Context(time.Minute), st); r[0].Ready != 0 || len(r[0].NotReady) != 2 {
		t.Fatalf("readiness %+v", r)
	}
}

func TestWindowsStandbyWithoutPowerShell(t *testing.T) {
	d := newDeployment(t)
	info := d.agents[sim.Second]
	info.PlatformType = ssmtypes.PlatformTypeWindows
	d.agents[sim.Second] = info
	c := find(d.run(t), "SSM agent", sim.Second)
	if len(c) != 1 || c[0].Result != moveapi.Warn || !strings.Contains(c[0].Detail, "no PowerShell commands") {
		t.Fatalf("%+v", c)
	}
}

func TestRuleNoLongerMatchesAStop(t *testing.T) {
	d := newDeployment(t)
	d.rules["ef-state"] = strings.Replace(statePattern, `"stopping","stopped",`, "", 1)
	checks := d.run(t)
	c := find(checks, "a stop of "+sim.Standby)
	if len(c) != 1 || c[0].Result != moveapi.Fail || !strings.Contains(c[0].Detail, "ec2-state-stopped.json") {
		t.Fatalf("%+v", c)
	}
	// Spot and Health still reach it.
	if c := find(checks, "Spot interruption warning of "+sim.Standby); c[0].Result != moveapi.Pass || !strings.Contains(c[0].Detail, "ef-spot") {
		t.Fatalf("%+v", c)
	}
}

func TestPinnedRulesKeepStrangersOut(t *testing.T) {
	d := newDeployment(t)
	pinned := sim.Primary + "," + sim.Standby + "," + sim.Second
	deps := d.region.Deps(engine.Options{Allowed: strings.Split(pinned, ",")}, nil, nil)
	d.doc.Engine = deps.Engine
	// Unpinned patterns let another instance's stop through.
	checks := d.run(t)
	if c := find(checks, "a stop of another instance stays out"); len(c) != 1 || c[0].Result != moveapi.Fail {
		t.Fatalf("%+v", c)
	}
	d.rules["ef-state"] = `{"source":["aws.ec2"],"detail-type":["EC2 Instance State-change Notification"],"detail":{"instance-id":["` + strings.ReplaceAll(pinned, ",", `","`) + `"]}}`
	if c := find(d.run(t), "a stop of another instance stays out"); len(c) != 1 || c[0].Result != moveapi.Pass {
		t.Fatalf("%+v", c)
	}
}

func TestWatchers(t *testing.T) {
	d := newDeployment(t)
	now := d.region.Clock.Now()
	d.alarms.list = []cwtypes.MetricAlarm{alarm("ef-no-ready-standby", cwtypes.StateValueInsufficientData, now.Add(-time.Hour)),
		alarm("ef-failed-moves", cwtypes.StateValueAlarm, now.Add(-time.Minute))}
	d.alarms.rounds = 0
	d.subs = append(d.subs, snstypes.Subscription{Protocol: aws.String("email"), Endpoint: aws.String("late@example.com"), SubscriptionArn: aws.String("PendingConfirmation")})
	d.doc.Topics = d.subs
	d.functions.reserved["ef-fleet"] = 0
	checks := d.run(t)
	for _, want := range []struct {
		words  []string
		result moveapi.Verdict
		detail string
	}{
		{[]string{"alarm ef-probe-group-mosek"}, moveapi.Fail, "missing"},
		{[]string{"alarm ef-no-ready-standby"}, moveapi.Warn, "cannot fire"},
		{[]string{"alarm ef-failed-moves"}, moveapi.Warn, "in ALARM since"},
		{[]string{"alarm ef-move-errors"}, moveapi.Fail, "missing"},
		{[]string{"probe rounds"}, moveapi.Fail, "no round of the probe in the last 2m0s"},
		{[]string{"notification subscriptions"}, moveapi.Warn, "pending confirmation: email:late@example.com"},
		{[]string{"function ef-fleet"}, moveapi.Fail, "reserved concurrency 0, deployed 1"},
		{[]string{"function ef-failover"}, moveapi.Pass, "as deployed"},
	} {
		c := find(checks, want.words...)
		if !has(c, func(c moveapi.Check) bool { return c.Result == want.result && strings.Contains(c.Detail, want.detail) }) {
			t.Errorf("%v: want %s %q, have %+v", want.words, want.result, want.detail, c)
		}
	}
}

func TestUnknownGroupIsABadRequest(t *testing.T) {
	d := newDeployment(t)
	_, err := d.doc.Run(d.region.Context(time.Minute), "nope")
	if !errors.Is(err, engine.ErrBadRequest) || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("err %v", err)
	}
}

// The scheduled pass spares EC2's bucket of mutating requests, which a
// failover needs: at most ReadinessDryRuns attach DryRuns a pass, the
// standbys in turn, and a denial learnt in one pass still counts in the
// next.
func TestReadinessBoundsItsDryRuns(t *testing.T) {
	const groups = 15
	r := fleet(groups)
	denied := fmt.Sprintf("i-%017x", 2) // g00's first standby: in the first pass
	r.EC2.AddFault(fakeec2.Fault{Op: fakeec2.OpAttachNetworkInterface, Code: "UnauthorizedOperation", HTTPStatus: 403,
		Match: func(in any) bool { return aws.ToString(in.(ec2.AttachNetworkInterfaceInput).InstanceId) == denied }})
	deps := r.Deps(engine.Options{}, nil, nil)
	doc := deps.Doctor
	tried := map[string]int{}
	pass := func() []doctor.Readiness {
		r.EC2.ResetCalls()
		st, err := doc.Engine.Statuses(r.Context(time.Minute), "")
		if err != nil || len(st) != groups {
			t.Fatalf("%d groups, err %v", len(st), err)
		}
		out := doc.Readiness(r.Context(time.Minute), st)
		n := 0
		for _, c := range r.EC2.Calls() {
			if c.Op == fakeec2.OpAttachNetworkInterface && c.DryRun {
				n++
				tried[aws.ToString(c.Input.(ec2.AttachNetworkInterfaceInput).InstanceId)]++
			}
		}
		if n != doctor.ReadinessDryRuns {
			t.Fatalf("%d attach DryRuns in a pass, want %d", n, doctor.ReadinessDryRuns)
		}
		if r.EC2.MutatingCalls() != 0 {
			t.Fatal("a readiness pass changed EC2")
		}
		return out
	}
	for i := range 2 {
		out := pass()
		g := out[slices.IndexFunc(out, func(r doctor.Readiness) bool { return r.Group == "g00" })]
		if g.Ready != 1 || g.Standbys != 2 {
			t.Fatalf("pass %d: g00 %+v: the denial must count", i+1, g)
		}
	}
	// Two passes of 20 cover the 30 standbys, the first ones twice.
	if len(tried) != 2*groups {
		t.Fatalf("%d standbys tried, want all %d", len(tried), 2*groups)
	}
}

// fleet is a region of n groups, each a holder and two standbys.
func fleet(n int) *sim.Region {
	r := sim.NewRegion(fakeec2.RealisticTimings(), 1)
	for g := range n {
		id := func(n int) string { return fmt.Sprintf("i-%017x", g*10+n) }
		r.AddGroup(sim.GroupSpec{Name: fmt.Sprintf("g%02d", g), ENIID: fmt.Sprintf("eni-%017x", g), AZ: sim.AZ, MAC: fmt.Sprintf("0a:00:00:00:00:%02x", g),
			PrivateIP: fmt.Sprintf("10.0.1.%d", g+10), Holder: id(1),
			Members: []sim.MemberSpec{{ID: id(1), Priority: 1}, {ID: id(2), Priority: 2}, {ID: id(3), Priority: 3}}})
	}
	return r
}

// The operator's doctor over many groups spaces its DryRuns after the
// first DryRunsAtOnce, and reports those it had no time for instead of
// running past the invocation.
func TestDoctorPacesItsDryRuns(t *testing.T) {
	r := fleet(10) // 5 DryRuns a group: 50
	doc := r.Deps(engine.Options{}, nil, nil).Checkup
	checks, err := doc.Run(r.Context(time.Hour), "")
	if err != nil {
		t.Fatal(err)
	}
	var at []time.Time
	for _, c := range r.EC2.Calls() {
		if c.DryRun {
			at = append(at, c.At)
		}
	}
	if len(at) != 50 {
		t.Fatalf("%d DryRuns, want 50", len(at))
	}
	for i := doctor.DryRunsAtOnce + 1; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap < doctor.DryRunEvery {
			t.Fatalf("DryRun %d came %s after the one before, want at least %s", i+1, gap, doctor.DryRunEvery)
		}
	}
	if v := moveapi.Worst(checks); v != moveapi.Pass {
		t.Fatalf("verdict %s", v)
	}
	// With 10 s left, the run stops trying 5 s before the end.
	r.EC2.ResetCalls()
	checks, err = doc.Run(r.Context(10*time.Second), "")
	if err != nil {
		t.Fatal(err)
	}
	untried := 0
	for _, c := range checks {
		if strings.HasPrefix(c.Detail, "not tried: the invocation is ending") {
			untried++
		}
	}
	if untried == 0 || moveapi.Worst(checks) != moveapi.Warn {
		t.Fatalf("%d checks not tried, verdict %s", untried, moveapi.Worst(checks))
	}
}
