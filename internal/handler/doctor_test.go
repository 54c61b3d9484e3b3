package handler_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/eni-failover/eni-failover/internal/metrics"
	"github.com/eni-failover/eni-failover/internal/moveapi"
	"github.com/eni-failover/eni-failover/internal/report"
	"github.com/eni-failover/eni-failover/internal/testkit/fakeec2"
	"github.com/eni-failover/eni-failover/internal/testkit/sim"
)

// denyAttach makes every attach to the instance (and its DryRun) fail as
// IAM refuses it.
func denyAttach(e *env, id string) {
	e.region.EC2.AddFault(fakeec2.Fault{Op: fakeec2.OpAttachNetworkInterface, Code: "UnauthorizedOperation", HTTPStatus: 403,
		Message: "You are not authorized to perform this operation.",
		Match:   func(in any) bool { return aws.ToString(in.(ec2.AttachNetworkInterfaceInput).InstanceId) == id }})
}

func TestDoctorAction(t *testing.T) {
	e := newEnv(t)
	resp, err := e.invoke(`{"action":"doctor"}`)
	if err != nil || resp.Action != moveapi.ActionDoctor || resp.Outcome != report.Outcome(moveapi.Pass) || len(resp.Checks) == 0 {
		t.Fatalf("resp %+v err %v", resp, err)
	}
	denyAttach(e, sim.Standby)
	denyAttach(e, sim.Second)
	resp, err = e.invoke(`{"action":"doctor","group":"mosek"}`)
	if err != nil || resp.Outcome != report.Outcome(moveapi.Fail) {
		t.Fatalf("resp %+v err %v", resp, err)
	}
	if e.region.EC2.MutatingCalls() != 0 {
		t.Fatal("the doctor changed EC2")
	}
	var bad *moveapi.BadRequestError
	if _, err := e.invoke(`{"action":"doctor","group":"nope"}`); !errors.As(err, &bad) {
		t.Fatalf("unknown group: %v", err)
	}
	if _, err := e.invoke(`{"action":"doctor","reason":"x"}`); !errors.As(err, &bad) {
		t.Fatalf("a reason for the doctor: %v", err)
	}
}

// A drill the doctor says would fail is refused before it moves.
func TestDrillRefusedByTheDoctor(t *testing.T) {
	e := newEnv(t)
	denyAttach(e, sim.Standby)
	denyAttach(e, sim.Second)
	resp, err := e.invoke(`{"action":"drill","reason":"quarterly"}`)
	if err != nil || resp.Outcome != report.Failed || !strings.Contains(resp.Error, "drill refused, nothing moved: the doctor found") || len(resp.Checks) == 0 {
		t.Fatalf("resp %+v err %v", resp, err)
	}
	if e.region.EC2.MutatingCalls() != 0 || e.holder() != sim.Primary {
		t.Fatal("the refused drill moved the ENI")
	}
	// A role denied one standby is a failure too: IAM's answer does not
	// change by itself, and the next failover may need that standby.
	e.region.EC2.ClearFaults()
	denyAttach(e, sim.Second)
	if resp, err := e.invoke(`{"action":"drill"}`); err != nil || !strings.Contains(resp.Error, "drill refused") || resp.Group != "mosek" {
		t.Fatalf("resp %+v err %v", resp, err)
	}
	e.region.EC2.ClearFaults()
	resp, err = e.invoke(`{"action":"drill","reason":"quarterly"}`)
	if err != nil || resp.Error != "" || len(resp.Drill) != 2 {
		t.Fatalf("resp %+v err %v", resp, err)
	}
}

// The failover function answers the move function's doctor with its own
// role's DryRuns, and no other direct request.
func TestFailoverAnswersTheDoctorOnly(t *testing.T) {
	e := newEnv(t)
	res, err := e.fo.Handle(e.region.Context(time.Minute), []byte(`{"action":"doctor","group":"mosek"}`))
	if err != nil || res.Doctor == nil || len(res.Doctor.Checks) != 5 || res.Doctor.Role != "failover role" {
		t.Fatalf("res %+v err %v", res, err)
	}
	var bad *moveapi.BadRequestError
	for _, payload := range []string{`{"action":"move","group":"mosek"}`, `{"action":"doctor","group":"mosek","extra":1}`} {
		if _, err := e.fo.Handle(e.region.Context(time.Minute), []byte(payload)); !errors.As(err, &bad) {
			t.Errorf("%s: %v", payload, err)
		}
	}
	if e.region.EC2.MutatingCalls() != 0 {
		t.Fatal("changed EC2")
	}
}

// The readiness schedule counts the ready standbys, and the reconcile does
// not (it runs in the fleet function, where the count would hold up other
// groups' state changes); the readiness alarm has the reasons told.
func TestReadiness(t *testing.T) {
	e := newEnv(t)
	if _, err := e.event("scheduled-reconcile.json"); err != nil {
		t.Fatal(err)
	}
	if out := e.metrics.String(); strings.Contains(out, metrics.ReadyStandbys) || e.region.EC2.TotalCalls() != 3 {
		t.Fatalf("the reconcile counted ready standbys (%d EC2 calls):\n%s", e.region.EC2.TotalCalls(), out)
	}
	if _, err := e.event("readiness-check.json"); err != nil {
		t.Fatal(err)
	}
	if out := e.metrics.String(); !strings.Contains(out, `"`+metrics.ReadyStandbys+`":2`) || !strings.Contains(out, `"`+metrics.GroupsWithoutReadyStandby+`":0`) {
		t.Fatalf("metrics:\n%s", out)
	}
	e.metrics.Reset()
	denyAttach(e, sim.Standby)
	e.region.EC2.StopInstance(sim.Second)
	e.region.Settle(time.Minute)
	if _, err := e.event("readiness-check.json"); err != nil {
		t.Fatal(err)
	}
	if out := e.metrics.String(); !strings.Contains(out, `"`+metrics.ReadyStandbys+`":0`) || !strings.Contains(out, `"`+metrics.GroupsWithoutReadyStandby+`":1`) {
		t.Fatalf("metrics:\n%s", out)
	}
	if n := len(e.region.SNS.Messages()); n != 0 {
		t.Fatalf("%d notifications before the alarm", n)
	}
	res, err := e.event("alarm-readiness.json")
	if err != nil || !res.Readiness || len(res.Reports) != 0 {
		t.Fatalf("res %+v err %v", res, err)
	}
	msgs := e.region.SNS.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d notifications, want 1", len(msgs))
	}
	body := aws.ToString(msgs[0].Message)
	for _, want := range []string{"attach to " + sim.Standby + " (mosek-bbb2) denied: You are not authorized", sim.Second + " (mosek-3210)", "stopped (starting standbys is off)", "eni-failover doctor --group mosek"} {
		if !strings.Contains(body, want) {
			t.Errorf("notification lacks %q:\n%s", want, body)
		}
	}
	if e.holder() != sim.Primary {
		t.Fatal("the readiness alarm moved the ENI")
	}
}
