package handler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/eni-failover/eni-failover/events"
	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/handler"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/moveapi"
	"github.com/eni-failover/eni-failover/internal/report"
	"github.com/eni-failover/eni-failover/internal/ssmcommand"
	"github.com/eni-failover/eni-failover/internal/testkit/fakeec2"
	"github.com/eni-failover/eni-failover/internal/testkit/fakessm"
	"github.com/eni-failover/eni-failover/internal/testkit/sim"
)

type env struct {
	t       *testing.T
	region  *sim.Region
	fo      *handler.Failover
	manual  *handler.Move
	metrics *bytes.Buffer
}

func newEnv(t *testing.T) *env {
	r := sim.NewRegion(fakeec2.RealisticTimings(), 1)
	r.AddGroup(sim.Mosek())
	var buf bytes.Buffer
	deps := r.Deps(engine.Options{}, &buf, nil)
	return &env{t: t, region: r, fo: &handler.Failover{Deps: deps}, manual: &handler.Move{Deps: deps}, metrics: &buf}
}

func (e *env) event(name string) (*handler.FailoverResult, error) {
	e.t.Helper()
	return e.fo.Handle(e.region.Context(time.Minute), events.MustSample(name))
}

func (e *env) invoke(payload string) (*moveapi.Response, error) {
	e.t.Helper()
	return e.manual.Handle(e.region.Context(time.Minute), json.RawMessage(payload))
}

func (e *env) holder() string {
	e.region.Settle(time.Minute)
	st := e.region.EC2.ENI(sim.ENIID)
	if st.AttachmentID != "" && st.AttachmentStatus != "attached" {
		e.t.Fatalf("ENI still %s", st.AttachmentStatus)
	}
	return st.InstanceID
}

func TestEventKinds(t *testing.T) {
	cases := []struct {
		file   string
		before func(r *sim.Region)
		holder string
		moved  bool
		// notes is the number of notifications when it is not one per move.
		notes *int
	}{
		{"ec2-state-stopping.json", func(r *sim.Region) { r.EC2.StopInstance(sim.Primary) }, sim.Standby, true, nil},
		{"ec2-state-stopped.json", func(r *sim.Region) { r.EC2.StopInstance(sim.Primary); r.Settle(time.Minute) }, sim.Standby, true, nil},
		{"ec2-state-stopped-no-version.json", func(r *sim.Region) { r.EC2.StopInstance(sim.Primary); r.Settle(time.Minute) }, sim.Standby, true, nil},
		{"ec2-state-shutting-down.json", func(r *sim.Region) { r.EC2.TerminateInstance(sim.Primary) }, sim.Standby, true, nil},
		{"ec2-state-terminated.json", func(r *sim.Region) { r.EC2.TerminateInstance(sim.Primary); r.Settle(time.Minute) }, sim.Standby, true, nil},
		{"ec2-state-running.json", nil, sim.Primary, false, nil},
		{"ec2-state-pending.json", nil, sim.Primary, false, nil},
		{"spot-interruption.json", nil, sim.Standby, true, nil},
		{"rebalance-recommendation.json", nil, sim.Standby, true, nil},
		// A status-check alarm moves the ENI when EC2's own checks find
		// the holder impaired; one EC2 does not confirm (SetAlarmState by
		// anyone allowed it) moves nothing.
		{"alarm-status-check.json", func(r *sim.Region) { r.EC2.SetStatus(sim.Primary, "impaired") }, sim.Standby, true, nil},
		{"alarm-status-check.json", nil, sim.Primary, false, nil},
		{"alarm-ok.json", nil, sim.Primary, false, nil},
		{"alarm-metric-math.json", nil, sim.Primary, false, nil},
		{"alarm-composite.json", nil, sim.Primary, false, nil},
		{"alarm-license-probe.json", nil, sim.Standby, true, nil},
		// AWS Health as documented today: the instance as an ARN, no
		// resources, a start within the lead time: move now.
		{"health-ec2-arn-now.json", nil, sim.Standby, true, nil},
		// A rack retirement names the holder and the first standby: the
		// ENI goes to the member no change names.
		{"health-ec2-several-entities.json", nil, sim.Second, true, nil},
		{"health-ec2-closed.json", nil, sim.Primary, false, nil},
		// Days ahead: recorded in the journal and announced; the
		// reconcile moves the ENI when it is due (TestHealthChangeDaysAhead).
		{"health-ec2-scheduled.json", nil, sim.Primary, false, ptr(1)},
		{"scheduled-reconcile.json", nil, sim.Primary, false, nil},
		// The probe's confirmed failure moves the ENI; its "answers again"
		// moves nothing and tells the outage.
		{"probe-trigger.json", nil, sim.Standby, true, nil},
		{"probe-restored.json", nil, sim.Primary, false, ptr(1)},
		{"other-s3-event.json", nil, sim.Primary, false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			e := newEnv(t)
			if tc.before != nil {
				tc.before(e.region)
			}
			res, err := e.event(tc.file)
			if err != nil {
				t.Fatalf("handler error: %v", err)
			}
			if got := e.holder(); got != tc.holder {
				t.Fatalf("ENI on %q, want %q (result %+v)", got, tc.holder, res)
			}
			msgs := e.region.SNS.Messages()
			if tc.notes != nil {
				if len(msgs) != *tc.notes {
					t.Fatalf("%d notifications, want %d", len(msgs), *tc.notes)
				}
			} else if tc.moved != (len(msgs) == 1) {
				t.Fatalf("%d notifications, moved=%v", len(msgs), tc.moved)
			}
			if tc.moved {
				subj := aws.ToString(msgs[0].Subject)
				if !strings.Contains(subj, "mosek") || !strings.Contains(subj, tc.holder) || len(subj) > 100 {
					t.Fatalf("subject %q", subj)
				}
				// SNS's per-protocol structure: text for people, JSON for
				// machines.
				var byProtocol map[string]string
				var m struct {
					Report report.Report `json:"report"`
				}
				if aws.ToString(msgs[0].MessageStructure) != "json" || json.Unmarshal([]byte(aws.ToString(msgs[0].Message)), &byProtocol) != nil ||
					json.Unmarshal([]byte(byProtocol["sqs"]), &m) != nil || m.Report.HolderAfter != tc.holder {
					t.Fatalf("message for machines: %.300s", aws.ToString(msgs[0].Message))
				}
				text := byProtocol["email"]
				if text != byProtocol["default"] || !strings.Contains(text, "To:") || !strings.Contains(text, tc.holder+" (mosek-") || strings.Contains(text, "{") {
					t.Fatalf("message for people:\n%s", text)
				}
				if !strings.Contains(e.metrics.String(), `"Moves":1`) || !strings.Contains(e.metrics.String(), `"CloudWatchMetrics"`) {
					t.Fatalf("metrics %s", e.metrics.String())
				}
			}
		})
	}
}

func TestMalformedEventsChangeNothing(t *testing.T) {
	for _, name := range events.Names("malformed") {
		if strings.HasPrefix(name, "malformed/move-") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			res, err := e.event(name)
			if err != nil || len(res.Reports) != 0 {
				t.Fatalf("result %+v err %v", res, err)
			}
			if e.region.EC2.MutatingCalls() != 0 || e.region.EC2.TotalCalls() != 0 {
				t.Fatalf("%d calls made for a malformed event", e.region.EC2.TotalCalls())
			}
		})
	}
}

func TestDuplicateEventIsIgnored(t *testing.T) {
	e := newEnv(t)
	e.region.EC2.StopInstance(sim.Primary)
	if _, err := e.event("ec2-state-stopping.json"); err != nil {
		t.Fatal(err)
	}
	before := e.region.EC2.MutatingCalls()
	res, err := e.event("ec2-state-stopping.json")
	if err != nil || res.Reports[0].Outcome != report.NothingToDo {
		t.Fatalf("result %+v err %v", res, err)
	}
	if e.region.EC2.MutatingCalls() != before || len(e.region.SNS.Messages()) != 1 {
		t.Fatalf("duplicate mutated or notified")
	}
}

func TestHealthNotifyOnly(t *testing.T) {
	e := newEnv(t)
	e.fo.HealthNotifyOnly = true
	res, err := e.event("health-ec2-scheduled.json")
	if err != nil || !res.NotifyOnly {
		t.Fatalf("result %+v err %v", res, err)
	}
	if e.holder() != sim.Primary || e.region.EC2.MutatingCalls() != 0 {
		t.Fatalf("notify-only moved the ENI")
	}
	msgs := e.region.SNS.Messages()
	if len(msgs) != 1 || !strings.Contains(aws.ToString(msgs[0].Subject), "affected") {
		t.Fatalf("notifications %+v", msgs)
	}
}

func TestRetryableErrorsAreReturned(t *testing.T) {
	e := newEnv(t)
	for _, id := range []string{sim.Standby, sim.Second} {
		e.region.EC2.StopInstance(id)
	}
	e.region.EC2.StopInstance(sim.Primary)
	e.region.Settle(time.Minute)
	res, err := e.event("ec2-state-stopped.json")
	var nt *engine.NoTargetError
	if !errors.As(err, &nt) || len(res.Errors) != 1 {
		t.Fatalf("err %v, result %+v", err, res)
	}
	if e.holder() != sim.Primary {
		t.Fatalf("ENI moved without a target")
	}
	if msgs := e.region.SNS.Messages(); len(msgs) != 1 || !strings.Contains(aws.ToString(msgs[0].Subject), "FAILED") {
		t.Fatalf("failure not notified: %+v", msgs)
	}
	if !strings.Contains(e.metrics.String(), `"Failures":1`) {
		t.Fatalf("metrics %s", e.metrics.String())
	}
}

func TestManualActions(t *testing.T) {
	t.Run("status", func(t *testing.T) {
		e := newEnv(t)
		resp, err := e.invoke(string(events.MustSample("move-status.json")))
		if err != nil {
			t.Fatal(err)
		}
		if resp.MAC != "0a:1b:2c:3d:4e:5f" || resp.PrivateIP != "10.0.1.27" || resp.Holder != sim.Primary || resp.Home != sim.Primary ||
			len(resp.Members) != 3 || !resp.Members[1].CanTakeENI || resp.DeleteOnTermination == nil || *resp.DeleteOnTermination ||
			resp.Members[1].Name != "mosek-bbb2" {
			t.Fatalf("status %+v", resp)
		}
		// Nothing ran: no steps, no duration, no before/after to read.
		b, _ := json.Marshal(resp)
		for _, absent := range []string{`"steps"`, `"duration_ms"`, `"holder_before"`, `"holder_after"`} {
			if strings.Contains(string(b), absent) {
				t.Errorf("status JSON has %s: %s", absent, b)
			}
		}
		if !strings.Contains(string(b), `"holder":"`+sim.Primary+`"`) {
			t.Errorf("status JSON lacks the holder: %s", b)
		}
		if e.region.EC2.MutatingCalls() != 0 {
			t.Fatal("status mutated")
		}
	})
	t.Run("status without group", func(t *testing.T) {
		e := newEnv(t)
		resp, err := e.invoke(`{"action":"status"}`)
		if err != nil || resp.Group != "mosek" {
			t.Fatalf("resp %+v err %v", resp, err)
		}
	})
	t.Run("plan", func(t *testing.T) {
		e := newEnv(t)
		resp, err := e.invoke(string(events.MustSample("move-plan.json")))
		if err != nil || resp.Outcome != "planned" || resp.Plan.Candidates[0].InstanceID != sim.Standby {
			t.Fatalf("resp %+v err %v", resp, err)
		}
		if e.region.EC2.MutatingCalls() != 0 || e.holder() != sim.Primary || len(e.region.SNS.Messages()) != 0 {
			t.Fatal("plan mutated or notified")
		}
	})
	t.Run("move", func(t *testing.T) {
		e := newEnv(t)
		resp, err := e.invoke(string(events.MustSample("move-move.json")))
		if err != nil || resp.Outcome != "moved" || resp.HolderBefore != sim.Primary || resp.HolderAfter != sim.Standby {
			t.Fatalf("resp %+v err %v", resp, err)
		}
		if e.holder() != sim.Standby || len(resp.Steps) < 4 {
			t.Fatalf("holder %s steps %+v", e.holder(), resp.Steps)
		}
		// The steps of a planned move, in order, and their durations
		// within the run's.
		var names []report.StepName
		var sum int64
		for _, s := range resp.Steps {
			if s.Name != report.StepJournal {
				names = append(names, s.Name)
			}
			sum += s.DurationMS
		}
		want := []report.StepName{report.StepRead, report.StepDetach, report.StepWaitAvailable, report.StepAttach, report.StepWaitAttached, report.StepHistory}
		if !slices.Equal(names, want) || sum > resp.DurationMS {
			t.Fatalf("steps %v (%d ms of %d ms), want %v", names, sum, resp.DurationMS, want)
		}
	})
	t.Run("move to a target", func(t *testing.T) {
		e := newEnv(t)
		resp, err := e.invoke(string(events.MustSample("move-move-target.json")))
		if err != nil || resp.HolderAfter != sim.Second || e.holder() != sim.Second {
			t.Fatalf("resp %+v err %v", resp, err)
		}
	})
	t.Run("failback", func(t *testing.T) {
		e := newEnv(t)
		if _, err := e.invoke(string(events.MustSample("move-move.json"))); err != nil {
			t.Fatal(err)
		}
		resp, err := e.invoke(string(events.MustSample("move-failback.json")))
		if err != nil || resp.Outcome != "moved" || e.holder() != sim.Primary {
			t.Fatalf("resp %+v err %v", resp, err)
		}
		resp, err = e.invoke(string(events.MustSample("move-failback.json")))
		if err != nil || resp.Outcome != "nothing-to-do" || !strings.Contains(resp.Reason, "already home") {
			t.Fatalf("second failback %+v err %v", resp, err)
		}
	})
	t.Run("move that cannot be made", func(t *testing.T) {
		e := newEnv(t)
		e.region.EC2.StopInstance(sim.Standby)
		e.region.EC2.StopInstance(sim.Second)
		e.region.Settle(time.Minute)
		resp, err := e.invoke(`{"action":"move"}`)
		if err != nil || resp.Outcome != "failed" || !strings.Contains(resp.Error, "no viable standby") {
			t.Fatalf("resp %+v err %v", resp, err)
		}
		if e.holder() != sim.Primary || e.region.EC2.MutatingCalls() != 0 {
			t.Fatal("ENI moved")
		}
	})
}

// Every action in moveapi's table is served, under its own name: an
// action added to the table without a handler method fails here.
func TestEveryActionIsServed(t *testing.T) {
	for _, a := range moveapi.Actions {
		t.Run(string(a.Name), func(t *testing.T) {
			e := newEnv(t)
			payload := `{"action":"` + string(a.Name) + `"}`
			if slices.Contains(a.Requires, moveapi.FieldReason) {
				payload = `{"action":"` + string(a.Name) + `","reason":"table test"}`
			}
			resp, err := e.invoke(payload)
			if err != nil || resp == nil || resp.Action != a.Name || resp.Group != events.GroupPlaceholder {
				t.Fatalf("%s: resp %+v err %v", payload, resp, err)
			}
			if changed := e.region.EC2.MutatingCalls() > 0; changed && !a.Mutates {
				t.Fatalf("%s changed EC2 but the table says it does not mutate", a.Name)
			}
		})
	}
}

// The move function runs the byte-level handler: data after the object
// reaches strictjson and is refused; a valid payload answers the same
// JSON as the typed handler.
func TestInvokeSeesTheWholePayload(t *testing.T) {
	e := newEnv(t)
	for _, payload := range []string{`{"action":"plan"} trailing`, `{"action":"plan"} {"action":"move"}`, `{"action":"move"}]`} {
		out, err := e.manual.Invoke(context.Background(), []byte(payload))
		var bad *moveapi.BadRequestError
		if !errors.As(err, &bad) || out != nil {
			t.Fatalf("%s: %s %v", payload, out, err)
		}
	}
	out, err := e.manual.Invoke(context.Background(), []byte(`{"action":"plan","reason":"a <planned> move & more"}`))
	var resp moveapi.Response
	if err != nil || json.Unmarshal(out, &resp) != nil || resp.Action != moveapi.ActionPlan || resp.Outcome != report.Planned ||
		!bytes.Contains(out, []byte("<planned> move & more")) {
		t.Fatalf("plan: %s %v", out, err)
	}
	if e.region.EC2.MutatingCalls() != 0 {
		t.Fatal("a refused payload or a plan changed EC2")
	}
}

func TestBadPayloads(t *testing.T) {
	e := newEnv(t)
	e.region.EC2.AddInstance(fakeec2.InstanceSpec{ID: "i-0ccccccccccccccc3", AZ: sim.AZ})
	cases := map[string]string{
		"unknown action":            string(events.MustSample("malformed/move-unknown-action.json")),
		"target not an instance id": string(events.MustSample("malformed/move-bad-target.json")),
		"unknown field":             string(events.MustSample("malformed/move-unknown-field.json")),
		"unknown group":             `{"action":"move","group":"matlab"}`,
		"unknown group for status":  `{"action":"status","group":"matlab"}`,
		"target outside the group":  `{"action":"move","target":"i-0ccccccccccccccc3"}`,
		"target for failback":       `{"action":"failback","target":"i-0bbbbbbbbbbbbbbb2"}`,
		"no action":                 `{"group":"mosek"}`,
		"not an object":             `"move"`,
		"trailing data":             `{"action":"status"} {"action":"move"}`,
		"empty":                     ``,
		"reason too long":           `{"action":"move","reason":"` + strings.Repeat("x", 201) + `"}`,
		"group with bad characters": `{"action":"move","group":"a\u0000b"}`,
		// encoding/json alone would take the last of duplicate keys (and
		// move) and match keys in any case.
		"duplicate key":              `{"action":"plan","action":"move"}`,
		"a bracket after the object": `{"action":"move"}]`,
		"key in another case":        `{"Action":"move"}`,
		"request id with a space":    `{"action":"move","request_id":"a b"}`,
	}
	for name, payload := range cases {
		t.Run(name, func(t *testing.T) {
			resp, err := e.invoke(payload)
			var bad *moveapi.BadRequestError
			if !errors.As(err, &bad) || resp != nil {
				t.Fatalf("resp %+v err %v", resp, err)
			}
			if len(bad.Error()) < 10 {
				t.Fatalf("unclear error %q", bad.Error())
			}
		})
	}
	if e.region.EC2.MutatingCalls() != 0 {
		t.Fatalf("bad payloads made %d mutating calls", e.region.EC2.MutatingCalls())
	}
}

func TestProbeAlarm(t *testing.T) {
	t.Run("for the holder: fail over", func(t *testing.T) {
		e := newEnv(t)
		res, err := e.event("alarm-license-probe.json")
		if err != nil || e.holder() != sim.Standby || res.Reports[0].Outcome != report.Moved {
			t.Fatalf("result %+v err %v holder %s", res, err, e.holder())
		}
	})
	t.Run("for a former holder: nothing", func(t *testing.T) {
		e := newEnv(t)
		e.region.EC2.StopInstance(sim.Primary)
		if _, err := e.event("ec2-state-stopping.json"); err != nil {
			t.Fatal(err)
		}
		// The failing probes began before that move: they were about the
		// primary, which no longer holds the ENI.
		raw := events.MustSample("alarm-license-probe.json", "2026-11-26T12:00:00.000+0000", "2026-11-26T08:58:00.000+0000")
		before := e.region.EC2.MutatingCalls()
		res, err := e.fo.Handle(e.region.Context(time.Minute), raw)
		if err != nil || res.Reports[0].Outcome != report.NothingToDo || !strings.Contains(res.Reports[0].Reason, "no longer holds") {
			t.Fatalf("result %+v err %v", res.Reports[0], err)
		}
		if e.holder() != sim.Standby || e.region.EC2.MutatingCalls() != before {
			t.Fatal("the new holder was moved for its predecessor's failures")
		}
	})
}

func newEnvWithActivation(t *testing.T, outcome *fakessm.Outcome) (*env, *fakessm.Fake) {
	r := sim.NewRegion(fakeec2.RealisticTimings(), 1)
	r.AddGroup(sim.Mosek())
	ssmFake := fakessm.New(r.Clock)
	if outcome != nil {
		ssmFake.Outcomes[sim.Standby] = *outcome
	}
	var buf bytes.Buffer
	deps := r.Deps(engine.Options{Activator: &ssmcommand.Runner{SSM: ssmFake, Commands: []string{"systemctl restart lmgrd"}, Timeout: 30 * time.Second, Clock: r.Clock}}, &buf, nil)
	return &env{t: t, region: r, fo: &handler.Failover{Deps: deps}, manual: &handler.Move{Deps: deps}, metrics: &buf}, ssmFake
}

func TestActivation(t *testing.T) {
	t.Run("success", func(t *testing.T) {
		e, ssmFake := newEnvWithActivation(t, nil)
		e.region.EC2.StopInstance(sim.Primary)
		res, err := e.event("ec2-state-stopping.json")
		if err != nil {
			t.Fatal(err)
		}
		r := res.Reports[0]
		if r.Outcome != report.Moved || !r.Activation.OK() || r.Activation.InstanceID != sim.Standby || len(ssmFake.Sent) != 1 {
			t.Fatalf("report %+v activation %+v", r, r.Activation)
		}
		// The activation, then the history: the move's last two steps.
		if n := len(r.Steps); n < 2 || r.Steps[n-2].Name != "activate" || r.Steps[n-1].Name != "history" || !strings.Contains(e.metrics.String(), `"ActivationFailures":0`) {
			t.Fatalf("steps %+v metrics %s", r.Steps, e.metrics.String())
		}
	})
	for name, o := range map[string]fakessm.Outcome{
		"failure": {Status: types.CommandInvocationStatusFailed, After: time.Second, Output: "lmgrd: license file not found", Code: 1},
		"timeout": {},
	} {
		t.Run(name, func(t *testing.T) {
			e, _ := newEnvWithActivation(t, &o)
			e.region.EC2.StopInstance(sim.Primary)
			res, err := e.event("ec2-state-stopping.json")
			if err != nil {
				t.Fatalf("a failed activation must not make Lambda retry: %v", err)
			}
			r := res.Reports[0]
			if r.Outcome != report.Moved || r.Activation.OK() || e.holder() != sim.Standby {
				t.Fatalf("report %+v activation %+v", r, r.Activation)
			}
			msgs := e.region.SNS.Messages()
			if len(msgs) != 1 || !strings.Contains(aws.ToString(msgs[0].Subject), "ACTIVATION") {
				t.Fatalf("notification %+v", msgs)
			}
			if !strings.Contains(e.metrics.String(), `"ActivationFailures":1`) {
				t.Fatalf("metrics %s", e.metrics.String())
			}
			// No ping-pong: the next events leave the ENI where it is.
			before := e.region.EC2.MutatingCalls()
			for _, ev := range []string{"scheduled-reconcile.json", "ec2-state-stopped.json"} {
				if _, err := e.event(ev); err != nil {
					t.Fatal(err)
				}
			}
			if e.region.EC2.MutatingCalls() != before || e.holder() != sim.Standby {
				t.Fatal("a failed activation led to another move")
			}
		})
	}
}

// TestGroupNamesAreAnyTagValue: EC2 takes any character in a tag value
// ("Tag restrictions", Amazon EC2 User Guide), and in Describe filters "*"
// and "?" are wildcards that a backslash escapes ("Filter", Amazon EC2 API
// Reference). So a group may be named "R&D (prod) #1", and group "dup*" is
// read on its own even while group "dup" is misconfigured (tagged on two
// ENIs), as the README promises for every other group.
func TestGroupNamesAreAnyTagValue(t *testing.T) {
	e := newEnv(t)
	for i, name := range []string{"R&D (prod) #1", "dup*", "dup", "dup"} {
		id := fmt.Sprintf("%017x", 0xa0+i)
		g := sim.GroupSpec{Name: name, ENIID: "eni-" + id, AZ: sim.AZ, MAC: fmt.Sprintf("02:00:00:00:00:%02x", i), PrivateIP: fmt.Sprintf("10.0.9.%d", i+1)}
		if i < 3 {
			g.Holder, g.Members = "i-"+id, []sim.MemberSpec{{ID: "i-" + id, Priority: 1}}
		}
		e.region.AddGroup(g)
	}
	for _, name := range []string{"R&D (prod) #1", "dup*"} {
		payload, _ := json.Marshal(map[string]string{"action": "status", "group": name})
		resp, err := e.invoke(string(payload))
		if err != nil || resp.Group != name || resp.Holder == "" {
			t.Fatalf("status of %q: %+v %v", name, resp, err)
		}
	}
	if _, err := e.invoke(`{"action":"status","group":"dup"}`); err == nil || !strings.Contains(err.Error(), "tagged on 2 network interfaces") {
		t.Fatalf("the misconfigured group: %v", err)
	}
}

// TestRepeatedRequestIsAnsweredNotActedOn: the AWS CLI sends an invocation
// again when its read timeout passes. A repeat of a move that already
// happened must answer with that move, not move the ENI once more.
func TestRepeatedRequestIsAnsweredNotActedOn(t *testing.T) {
	e := newEnv(t)
	const move = `{"action":"move","reason":"patching","request_id":"5f0c8e2a-1d7b-4c1e-9a51-3e0f2b7d9c11"}`
	first, err := e.invoke(move)
	if err != nil || first.Outcome != report.Moved {
		t.Fatalf("first move: %+v, %v", first, err)
	}
	to := e.holder()
	e.region.EC2.ResetCalls()
	again, err := e.invoke(move)
	if err != nil {
		t.Fatalf("repeat: %v", err)
	}
	if again.Outcome != report.Repeated || again.HolderAfter != to || again.HolderBefore != first.HolderBefore {
		t.Fatalf("repeat answered %s %s -> %s, want repeat %s -> %s", again.Outcome, again.HolderBefore, again.HolderAfter, first.HolderBefore, to)
	}
	if n := e.region.EC2.MutatingCalls(); n != 0 || e.holder() != to {
		t.Fatalf("repeat made %d mutating calls; holder %s", n, e.holder())
	}
	next, err := e.invoke(strings.Replace(move, "5f0c8e2a", "77777777", 1))
	if err != nil || next.Outcome != report.Moved || e.holder() == to {
		t.Fatalf("a new request did not move: %+v, %v", next, err)
	}
}

// TestStatusShowsATaggedStrangerAsNotAllowed: with pinned membership, an
// instance that only carries the group tag (priority 0, so it would be the
// home) is listed, but neither home nor able to take the ENI.
func TestStatusShowsATaggedStrangerAsNotAllowed(t *testing.T) {
	r := sim.NewRegion(fakeec2.RealisticTimings(), 1)
	g := sim.Mosek()
	const stranger = "i-0eeeeeeeeeeeeeee9"
	g.Members = append(g.Members, sim.MemberSpec{ID: stranger})
	r.AddGroup(g)
	r.EC2.AddInstance(fakeec2.InstanceSpec{ID: "i-0ddddddddddddddd8", AZ: sim.AZ}) // untagged: not listed
	manual := &handler.Move{Deps: r.Deps(engine.Options{Allowed: []string{sim.Primary, sim.Standby, sim.Second}}, nil, nil)}
	// The stranger's tags make it the preferred member: priority 0.
	if _, err := r.EC2.CreateTags(t.Context(), &ec2.CreateTagsInput{Resources: []string{stranger},
		Tags: []ec2types.Tag{{Key: aws.String("eni-failover:priority"), Value: aws.String("0")}}}); err != nil {
		t.Fatal(err)
	}
	resp, err := manual.Handle(r.Context(time.Minute), json.RawMessage(`{"action":"status"}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Home != sim.Primary {
		t.Errorf("home %s, want %s: a stranger is never home", resp.Home, sim.Primary)
	}
	found := false
	for _, m := range resp.Members {
		if m.InstanceID == stranger {
			found = true
			if m.CanTakeENI || m.WhyNot != engine.NotAllowed {
				t.Errorf("stranger: can take %v, why not %q", m.CanTakeENI, m.WhyNot)
			}
		}
	}
	if !found {
		t.Errorf("status does not list the stranger: %+v", resp.Members)
	}
}

func ptr[T any](v T) *T { return &v }

// A journal notice EC2 does not corroborate (anyone allowed to tag the ENI
// can write one) moves nothing when due, and says so in a notification.
func TestForgedHealthNoticeMovesNothing(t *testing.T) {
	e := newEnv(t)
	start := sim.Start.Add(20 * time.Minute)
	forged := model.HealthNotice{Instances: []string{sim.Primary}, Start: start, End: start.Add(time.Hour)}.String()
	if _, err := e.region.EC2.CreateTags(e.region.Context(time.Minute), &ec2.CreateTagsInput{Resources: []string{sim.ENIID},
		Tags: []ec2types.Tag{{Key: aws.String("eni-failover:scheduled"), Value: aws.String(forged)}}}); err != nil {
		t.Fatal(err)
	}
	res, err := e.event("scheduled-reconcile.json")
	if err != nil || len(res.Reports) != 1 {
		t.Fatalf("reconcile: %+v %v", res, err)
	}
	r := res.Reports[0]
	if r.Outcome.Changed() || e.holder() != sim.Primary || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "EC2 lists no scheduled event") {
		t.Fatalf("forged notice: %s, holder %s, warnings %q", r.Outcome, e.holder(), r.Warnings)
	}
	if msgs := e.region.SNS.Messages(); len(msgs) != 1 {
		t.Fatalf("%d notifications, want the warning", len(msgs))
	}
	// The same notice, with EC2's event: the planned move is made.
	e.region.EC2.ScheduleEvent(sim.Primary, "instance-retirement", start)
	res, err = e.event("scheduled-reconcile.json")
	if err != nil || res.Reports[0].Outcome != report.Moved || e.holder() == sim.Primary {
		t.Fatalf("corroborated notice: %+v %v", res.Reports, err)
	}
}

// TestHealthChangeDaysAhead: a scheduled change days ahead is recorded on
// the ENI and announced, and nothing moves; the reconcile leaves the
// holder alone until the lead time before the start, then moves the ENI,
// to a member the change does not name.
func TestHealthChangeDaysAhead(t *testing.T) {
	e := newEnv(t)
	res, err := e.event("health-ec2-scheduled.json")
	if err != nil || len(res.Reports) != 1 || res.Reports[0].Outcome != report.Deferred {
		t.Fatalf("result %+v err %v", res, err)
	}
	st := e.region.EC2.ENI(sim.ENIID)
	if !strings.HasPrefix(st.Tags["eni-failover:scheduled"], sim.Primary+"@") {
		t.Fatalf("journal %v: the change is not recorded", st.Tags)
	}
	start := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	// The answer says when the move will be made: the lead time before the start.
	if want := start.Add(-30 * time.Minute).Format(time.RFC3339); !strings.Contains(res.Reports[0].Reason, "from "+want+" on") {
		t.Fatalf("reason %q does not say the move comes at %s", res.Reports[0].Reason, want)
	}
	// AWS lists the change among EC2's scheduled events too.
	e.region.EC2.ScheduleEvent(sim.Primary, "instance-stop", start)
	reconcile := func() *report.Report {
		t.Helper()
		res, err := e.fo.Handle(e.region.Context(time.Minute), events.MustSample("scheduled-reconcile.json"))
		if err != nil || len(res.Reports) != 1 {
			t.Fatalf("reconcile: %+v %v", res, err)
		}
		return res.Reports[0]
	}
	advanceTo := func(at time.Time) { e.region.Clock.Advance(at.Sub(e.region.Clock.Now())) }
	advanceTo(start.Add(-31 * time.Minute))
	if r := reconcile(); r.Outcome != report.NothingToDo || e.holder() != sim.Primary {
		t.Fatalf("31 min before the start: %s, holder %s", r.Outcome, e.holder())
	}
	advanceTo(start.Add(-29 * time.Minute))
	if r := reconcile(); r.Outcome != report.Moved || !strings.Contains(r.Reason, "AWS Health") {
		t.Fatalf("29 min before the start: %s (%s)", r.Outcome, r.Reason)
	}
	if h := e.holder(); h != sim.Standby {
		t.Fatalf("holder %s, want %s", h, sim.Standby)
	}
	// A failover meanwhile does not choose the named member again.
	e.region.EC2.StopInstance(sim.Standby)
	if _, err := e.fo.Handle(e.region.Context(time.Minute), events.MustSample("ec2-state-stopping.json", sim.Primary, sim.Standby)); err != nil {
		t.Fatal(err)
	}
	if h := e.holder(); h != sim.Second {
		t.Fatalf("after the standby failed: holder %s, want %s (the primary is named by the change)", h, sim.Second)
	}
}

// A pause with the longest inputs (a 120-character SSO identity, a reason
// of 200 bytes in two-byte letters) fits EC2's 256-character tag value and
// holds: an over-long value would fail the journal write, and automation
// would go on during the maintenance it was meant to protect.
func TestPauseWithTheLongestInputsHolds(t *testing.T) {
	e := newEnv(t)
	who := "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/jane.doe.with.a.long.name@example.com"
	reason := strings.Repeat("ü", 100)
	ctx := lambdacontext.NewContext(e.region.Context(time.Minute), &lambdacontext.LambdaContext{
		ClientContext: lambdacontext.ClientContext{Custom: map[string]string{"operator": who}}})
	resp, err := e.manual.Handle(ctx, json.RawMessage(`{"action":"pause","reason":"`+reason+`","minutes":10080}`))
	if err != nil || resp.Outcome != report.Paused || resp.Error != "" {
		t.Fatalf("pause: %+v %v", resp, err)
	}
	status, err := e.invoke(`{"action":"status"}`)
	if err != nil || status.Pause == nil || status.Pause.Reason != reason || len(status.Pause.By) < 40 || !strings.HasPrefix(who, strings.TrimSuffix(status.Pause.By, "...")) {
		t.Fatalf("status while paused: %+v %v", status.Pause, err)
	}
	e.region.EC2.StopInstance(sim.Primary)
	if res, err := e.event("ec2-state-stopping.json"); err != nil || res.Reports[0].Outcome != report.Paused || e.holder() != sim.Primary {
		t.Fatalf("stop while paused: %+v %v", res, err)
	}
}

// TestPauseAndResume: a paused group ignores a stop event (reported as
// skipped), status shows who paused it, why and until when; after resume
// the next event moves the ENI.
func TestPauseAndResume(t *testing.T) {
	e := newEnv(t)
	ctx := lambdacontext.NewContext(e.region.Context(time.Minute), &lambdacontext.LambdaContext{
		ClientContext: lambdacontext.ClientContext{Custom: map[string]string{"operator": "arn:aws:sts::123456789012:assumed-role/LicenseAdmin/jo"}}})
	resp, err := e.manual.Handle(ctx, json.RawMessage(`{"action":"pause","reason":"patching the primary","minutes":90}`))
	if err != nil || resp.Outcome != report.Paused || resp.Pause == nil {
		t.Fatalf("pause: %+v %v", resp, err)
	}
	until := sim.Start.Add(90 * time.Minute)
	if d := resp.Pause.Until.Sub(until); d < 0 || d > time.Minute {
		t.Fatalf("paused until %s, want about %s", resp.Pause.Until, until)
	}
	status, err := e.invoke(`{"action":"status"}`)
	if err != nil || status.Pause == nil || status.Pause.Reason != "patching the primary" || !strings.Contains(status.Pause.By, "LicenseAdmin") {
		t.Fatalf("status while paused: %+v %v", status, err)
	}
	e.region.EC2.StopInstance(sim.Primary)
	res, err := e.event("ec2-state-stopping.json")
	if err != nil || len(res.Reports) != 1 || res.Reports[0].Outcome != report.Paused || e.holder() != sim.Primary {
		t.Fatalf("stop while paused: %+v %v (holder %s)", res, err, e.holder())
	}
	// A skipped automatic trigger is notified: a stop during maintenance
	// is news, and a forged pause must not silence the automation unseen.
	if msgs := e.region.SNS.Messages(); len(msgs) != 1 || !strings.Contains(aws.ToString(msgs[0].Subject), "group paused") {
		t.Fatalf("notifications for a skipped event: %d", len(msgs))
	}
	if resp, err := e.invoke(`{"action":"resume"}`); err != nil || resp.Outcome != report.Resumed {
		t.Fatalf("resume: %+v %v", resp, err)
	}
	if status, _ := e.invoke(`{"action":"status"}`); status.Pause != nil {
		t.Fatalf("status after resume still paused: %+v", status.Pause)
	}
	if _, err := e.event("ec2-state-stopped.json"); err != nil || e.holder() != sim.Standby {
		t.Fatalf("after resume: holder %s, %v", e.holder(), err)
	}
}

// TestHistory: the last moves, newest first, with their trigger, outcome
// and duration; status shows the last few.
func TestHistory(t *testing.T) {
	e := newEnv(t)
	if resp, err := e.invoke(`{"action":"history"}`); err != nil || len(resp.History) != 0 {
		t.Fatalf("history of a group that never moved: %+v %v", resp, err)
	}
	e.region.EC2.StopInstance(sim.Primary)
	if _, err := e.event("ec2-state-stopping.json"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.invoke(`{"action":"move","target":"` + sim.Second + `","reason":"test"}`); err != nil {
		t.Fatal(err)
	}
	resp, err := e.invoke(`{"action":"history","limit":5}`)
	if err != nil || len(resp.History) != 2 {
		t.Fatalf("history: %+v %v", resp, err)
	}
	newest, first := resp.History[0], resp.History[1]
	if newest.From != sim.Standby || newest.To != sim.Second || newest.Trigger != string(report.Move) || newest.Outcome != "moved" ||
		first.From != sim.Primary || first.To != sim.Standby || first.Trigger != string(report.InstanceDown) || first.DurationMS <= 0 ||
		!newest.At.After(first.At) {
		t.Fatalf("history %+v", resp.History)
	}
	if one, _ := e.invoke(`{"action":"history","limit":1}`); len(one.History) != 1 {
		t.Fatalf("limit 1: %+v", one.History)
	}
	if status, _ := e.invoke(`{"action":"status"}`); len(status.History) != 2 {
		t.Fatalf("status history %+v", status.History)
	}
	for _, bad := range []string{`{"action":"history","limit":51}`, `{"action":"status","limit":3}`} {
		if _, err := e.invoke(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestWindowsStandbyIsActivatedWithPowerShell: the activation follows the
// new holder's platform.
func TestWindowsStandbyIsActivatedWithPowerShell(t *testing.T) {
	r := sim.NewRegion(fakeec2.RealisticTimings(), 1)
	g := sim.Mosek()
	g.Members[1].Windows = true // the standby
	r.AddGroup(g)
	ssmFake := fakessm.New(r.Clock)
	deps := r.Deps(engine.Options{Activator: &ssmcommand.Runner{SSM: ssmFake, Commands: []string{"systemctl restart lmgrd"},
		WindowsCommands: []string{"Restart-Service -Name 'FlexNet License Server - mosek'"}, Timeout: 30 * time.Second, Clock: r.Clock}}, nil, nil)
	r.EC2.StopInstance(sim.Primary)
	res, err := (&handler.Failover{Deps: deps}).Handle(r.Context(time.Minute), events.MustSample("ec2-state-stopping.json"))
	if err != nil || res.Reports[0].Outcome != report.Moved || !res.Reports[0].Activation.OK() {
		t.Fatalf("result %+v %v", res, err)
	}
	if len(ssmFake.Sent) != 1 || aws.ToString(ssmFake.Sent[0].DocumentName) != ssmcommand.WindowsDocument {
		t.Fatalf("sent %+v", ssmFake.Sent)
	}
}

// TestDrill: a planned move to the best standby and back, each timed, with
// how long the ENI was away; both moves are in the history.
func TestDrill(t *testing.T) {
	e := newEnv(t)
	resp, err := e.invoke(`{"action":"drill","reason":"game day","request_id":"drill-1"}`)
	if err != nil || resp.Error != "" || len(resp.Drill) != 2 {
		t.Fatalf("drill: %+v %v", resp, err)
	}
	there, back := resp.Drill[0], resp.Drill[1]
	if there.From != sim.Primary || there.To != sim.Standby || back.From != sim.Standby || back.To != sim.Primary ||
		there.Outcome != "moved" || back.Outcome != "moved" || there.ENIAwayMS <= 0 || there.ENIAwayMS >= there.DurationMS {
		t.Fatalf("drill moves %+v", resp.Drill)
	}
	if e.holder() != sim.Primary {
		t.Fatalf("after the drill the ENI is on %s", e.holder())
	}
	if h, _ := e.invoke(`{"action":"history"}`); len(h.History) != 2 {
		t.Fatalf("history after a drill: %+v", h.History)
	}
	e.region.EC2.ResetCalls()
	if again, err := e.invoke(`{"action":"drill","reason":"game day","request_id":"drill-1"}`); err != nil || e.region.EC2.MutatingCalls() != 0 ||
		again.Outcome != report.Repeated {
		t.Fatalf("a repeated drill: %+v %v, %d mutating calls", again, err, e.region.EC2.MutatingCalls())
	}
}

// A decoy ENI tagged with a group's name leaves the group alone, and the
// reconcile says so loudly: a failed report (Failures, a notification)
// naming both interfaces, while the other groups are still served.
func TestDecoyENIIsReported(t *testing.T) {
	e := newEnv(t)
	e.region.EC2.AddENI(fakeec2.ENISpec{ID: "eni-0decoy0000000000", AZ: sim.AZ, Tags: map[string]string{"eni-failover:group": events.GroupPlaceholder}})
	res, err := e.event("scheduled-reconcile.json")
	if err != nil {
		t.Fatalf("the reconcile failed as a whole: %v", err)
	}
	var found bool
	for _, r := range res.Reports {
		if r.Group == events.GroupPlaceholder {
			found = r.Outcome == report.Failed && strings.Contains(r.Error, "eni-0decoy0000000000") && strings.Contains(r.Error, sim.ENIID)
		}
	}
	msgs := e.region.SNS.Messages()
	if !found || len(msgs) != 1 || !strings.Contains(aws.ToString(msgs[0].Subject), "FAILED") || !strings.Contains(e.metrics.String(), `"Failures":1`) {
		t.Fatalf("reports %+v, %d notifications, metrics %s", res.Reports, len(msgs), e.metrics.String())
	}
}
