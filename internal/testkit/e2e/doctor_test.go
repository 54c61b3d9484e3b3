package e2e

import (
	"context"
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/eni-failover/eni-failover/internal/config"
	"github.com/eni-failover/eni-failover/internal/emf"
	"github.com/eni-failover/eni-failover/internal/eventparse"
	"github.com/eni-failover/eni-failover/internal/findings"
	"github.com/eni-failover/eni-failover/internal/metrics"
	"github.com/eni-failover/eni-failover/internal/moveapi"
)

// stackName stands for the stack's name: the functions' names, the
// alarms' prefix.
const stackName = "eni-failover-e2e"

// The stack's rules that carry a member's failure, unpinned as this
// tier's functions run (no instanceIds), by name.
func rulePatterns() map[string]string {
	states, _ := json.Marshal(append(append([]string{}, eventparse.UpStates...), eventparse.DownStates...))
	return map[string]string{
		stackName + "-state":  `{"source":["aws.ec2"],"detail-type":["EC2 Instance State-change Notification"],"detail":{"state":` + string(states) + `}}`,
		stackName + "-spot":   `{"source":["aws.ec2"],"detail-type":["EC2 Spot Instance Interruption Warning","EC2 Instance Rebalance Recommendation"]}`,
		stackName + "-health": `{"source":["aws.health"],"detail-type":["AWS Health Event"],"detail":{"service":["EC2"]}}`,
	}
}

func doctorRules() []string {
	return []string{stackName + "-state", stackName + "-spot", stackName + "-health"}
}

// deploy puts in moto what the stack deploys and the doctor reads: the
// rules, the readiness and probe alarms, and a probe round just made.
func (w *world) deploy(ctx context.Context) {
	for name, p := range rulePatterns() {
		must(w.events.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(p)}))
	}
	alarms := map[string]string{stackName + config.ReadinessAlarmInfix: metrics.GroupsWithoutReadyStandby,
		stackName + config.ProbeAlarmInfix + w.group: findings.MetricReachable}
	for _, suffix := range config.StackAlarms {
		alarms[stackName+suffix] = metrics.Failures
	}
	for name, metric := range alarms {
		must(w.cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String(name), Namespace: aws.String(emf.DefaultNamespace),
			MetricName: aws.String(metric), Statistic: cwtypes.StatisticMaximum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(2),
			Threshold: aws.Float64(1), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold, AlarmActions: []string{topicARN}}))
	}
	must(w.cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String(emf.DefaultNamespace), MetricData: []cwtypes.MetricDatum{{
		// Half a minute ago: CloudWatch counts a datapoint before the end of
		// the window, which moto truncates to the second.
		MetricName: aws.String(findings.MetricReachable), Value: aws.Float64(1), Timestamp: aws.Time(time.Now().Add(-30 * time.Second)),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("Group"), Value: aws.String(w.group)}},
	}}}))
}

// doctor runs the move function's doctor action.
func (w *world) doctor() moveapi.Response {
	w.t.Helper()
	resp, ferr := w.manual(`{"action":"doctor"}`)
	if ferr != nil {
		w.t.Fatalf("doctor: %s: %s", ferr.Type, ferr.Message)
	}
	if resp.Action != moveapi.ActionDoctor || len(resp.Checks) == 0 {
		w.t.Fatalf("doctor: %+v", resp)
	}
	return resp
}

// check finds the one check whose name holds every word.
func check(t *testing.T, resp moveapi.Response, words ...string) moveapi.Check {
	t.Helper()
	var found []moveapi.Check
	for _, c := range resp.Checks {
		all := true
		for _, word := range words {
			all = all && strings.Contains(c.Check, word)
		}
		if all {
			found = append(found, c)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d checks named %q:%s", len(found), words, listChecks(resp.Checks))
	}
	return found[0]
}

func listChecks(checks []moveapi.Check) string {
	var b strings.Builder
	for _, c := range checks {
		b.WriteString("\n  " + string(c.Result) + " " + c.Area + " | " + c.Check + " | " + c.Detail)
	}
	return b.String()
}

// TestDoctor: on a healthy deployment every check passes, with both
// roles' EC2 DryRuns answered by moto's IAM, and nothing changes.
func TestDoctor(t *testing.T) {
	w := newWorld(t)
	before := w.journal()
	resp := w.doctor()
	if moveapi.Worst(resp.Checks) != moveapi.Pass {
		t.Fatalf("verdict %s:%s", moveapi.Worst(resp.Checks), listChecks(resp.Checks))
	}
	for _, role := range []string{"move role", "failover role"} {
		c := check(t, resp, "ec2:AttachNetworkInterface", w.standby, role)
		if c.Detail != "allowed (DryRun on "+w.eni+")" {
			t.Fatalf("%+v", c)
		}
	}
	if c := check(t, resp, "ready standbys"); c.Detail != "2 of 2" {
		t.Fatalf("%+v", c)
	}
	for _, call := range []string{"AttachNetworkInterface", "DetachNetworkInterface", "CreateTags", "ModifyNetworkInterfaceAttribute"} {
		if n := strict.Calls(call); n == 0 {
			t.Errorf("no %s DryRun reached EC2", call)
		}
	}
	if got := w.holder(); got != w.primary || !maps.Equal(w.journal(), before) {
		t.Fatalf("the doctor changed something: ENI on %s, journal %v", got, w.journal())
	}
}

// TestDoctorStandbyAgentOffline: a standby whose SSM agent stopped
// answering is named, and the scheduled count of ready standbys (the
// readiness schedule's payload to the failover function) drops.
func TestDoctorStandbyAgentOffline(t *testing.T) {
	w := newWorld(t)
	strict.SetAgent(w.standby, "ConnectionLost")
	resp := w.doctor()
	c := check(t, resp, "SSM agent", w.standby)
	if c.Result != moveapi.Warn || !strings.Contains(c.Detail, "SSM agent offline on "+w.standby+" (token-2): ConnectionLost") {
		t.Fatalf("%+v", c)
	}
	if c := check(t, resp, "ready standbys"); c.Detail != "1 of 2" || moveapi.Worst(resp.Checks) != moveapi.Warn {
		t.Fatalf("%+v:%s", c, listChecks(resp.Checks))
	}
	before := len(functions["failover"].out.String())
	w.failover("readiness-check.json")
	want := `"` + metrics.ReadyStandbys + `":1`
	// Its log lines may arrive after its answer: wait for them.
	out := ""
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && !strings.Contains(out, want); time.Sleep(50 * time.Millisecond) {
		out = functions["failover"].out.String()[before:]
	}
	if !strings.Contains(out, want) {
		t.Fatalf("no %s in the failover function's metrics:\n%s", want, tail(out, 4096))
	}
	strict.SetAgent(w.second, "Unregistered")
	resp = w.doctor()
	if c := check(t, resp, "ready standbys"); c.Result != moveapi.Fail || c.Detail != "0 of 2" {
		t.Fatalf("%+v", c)
	}
}

// TestDoctorRoleWithoutAttach: a role that lost ec2:AttachNetworkInterface
// fails the doctor with the call named, for each function's role.
func TestDoctorRoleWithoutAttach(t *testing.T) {
	w := newWorldWithout(t, "ec2:AttachNetworkInterface")
	resp := w.doctor()
	for _, role := range []string{"move role", "failover role"} {
		c := check(t, resp, "ec2:AttachNetworkInterface", w.standby, role)
		if c.Result != moveapi.Fail || !strings.Contains(c.Detail, "ec2:AttachNetworkInterface") || !strings.Contains(c.Fix, "allow ec2:AttachNetworkInterface to the "+role) {
			t.Fatalf("%+v", c)
		}
	}
	if c := check(t, resp, "ec2:DetachNetworkInterface", "move role"); c.Result != moveapi.Pass {
		t.Fatalf("%+v", c)
	}
	if moveapi.ExitCode(moveapi.Worst(resp.Checks)) != 2 {
		t.Fatal("exit code is not 2")
	}
}

// TestDoctorRuleNoLongerMatchesAStop: a rule whose pattern was edited so
// that AWS's documented stop event no longer matches fails the doctor.
func TestDoctorRuleNoLongerMatchesAStop(t *testing.T) {
	w := newWorld(t)
	broken := strings.Replace(rulePatterns()[stackName+"-state"], `"stopped",`, "", 1)
	must(w.events.PutRule(context.Background(), &eventbridge.PutRuleInput{Name: aws.String(stackName + "-state"), EventPattern: aws.String(broken)}))
	resp := w.doctor()
	c := check(t, resp, "a stop of "+w.standby)
	if c.Result != moveapi.Fail || !strings.Contains(c.Detail, "matches none of the stack's rules") {
		t.Fatalf("%+v", c)
	}
}
