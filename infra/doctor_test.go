package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/eni-failover/eni-failover/events"
	"github.com/eni-failover/eni-failover/internal/config"
	"github.com/eni-failover/eni-failover/internal/testkit/eventpattern"
)

// resolved is a template value with its intrinsics written out (the
// pseudo parameters as the tests' account and Region), for matching.
func resolved(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for _, fn := range []string{"Fn::Sub", "Fn::Join", "Ref", "Fn::GetAtt"} {
			if _, ok := x[fn]; ok && len(x) == 1 {
				return pseudo.Replace(literal(x))
			}
		}
		out := map[string]any{}
		for k, e := range x {
			out[k] = resolved(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = resolved(e)
		}
		return out
	}
	return v
}

// TestDocumentedEventsReachAFunction matches the stack's rule patterns,
// as synthesized, against AWS's documented events (events/) the way the
// doctor has EventBridge do it in the account: a member's stop, Spot
// warning and Health notice match a rule; with instanceIds, another
// instance's match none.
func TestDocumentedEventsReachAFunction(t *testing.T) {
	const stranger = "i-00000000000000000"
	for name, c := range map[string]struct {
		ctx     map[string]any
		members []string
		pinned  bool
	}{
		"defaults":   {nil, []string{"i-0123456789abcdef0", "i-0bbbbbbbbbbbbbbb2"}, false},
		"everything": {fullContext(), []string{"i-0123456789abcdef0", "i-0bbbbbbbbbbbbbbb2"}, true},
	} {
		t.Run(name, func(t *testing.T) {
			s := synth(t, c.ctx)
			var patterns [][]byte
			for _, r := range s.find(tRule, nil) {
				if p, ok := r["Properties"].(obj)["EventPattern"]; ok {
					b, err := json.Marshal(resolved(p))
					if err != nil {
						t.Fatal(err)
					}
					patterns = append(patterns, b)
				}
			}
			matching := func(sample, id string) int {
				n := 0
				for _, p := range patterns {
					hit, err := eventpattern.Match(p, events.MustSample(sample, events.HolderPlaceholder, id))
					if err != nil {
						t.Fatalf("%s: %v", p, err)
					}
					if hit {
						n++
					}
				}
				return n
			}
			for _, sample := range []string{"ec2-state-stopped.json", "spot-interruption.json", "health-ec2-arn-now.json"} {
				for _, id := range c.members {
					if matching(sample, id) == 0 {
						t.Errorf("%s of member %s matches no rule", sample, id)
					}
				}
				if got := matching(sample, stranger); c.pinned && got > 0 {
					t.Errorf("%s of %s, in no group, matches %d rule(s) although instanceIds pins the members", sample, stranger, got)
				}
			}
		})
	}
}

// TestDoctorKnowsTheDeployment: the move function is told what the stack
// deployed, and its role may read those things, nothing more.
func TestDoctorKnowsTheDeployment(t *testing.T) {
	s := synth(t, fullContext())
	var env map[string]any
	for _, f := range s.find(tFunction, nil) {
		props := f["Properties"].(obj)
		vars, _ := props["Environment"].(obj)["Variables"].(obj)
		name := literal(props["FunctionName"])
		if strings.HasSuffix(name, "-move") {
			env = vars
		}
		// The failover code acts on the stack's alarms by exact name.
		if (strings.HasSuffix(name, "-failover") || strings.HasSuffix(name, "-fleet")) &&
			(literal(vars[config.EnvAlarmPrefix]) != "${AWS::StackName}" || literal(vars[config.EnvProbedGroups]) != "matlab,mosek") {
			t.Errorf("%s: %s %q, %s %q", name, config.EnvAlarmPrefix, literal(vars[config.EnvAlarmPrefix]), config.EnvProbedGroups, literal(vars[config.EnvProbedGroups]))
		}
	}
	if env == nil {
		t.Fatal("no move function")
	}
	rules := strings.Split(literal(env[config.EnvDoctorRules]), ",")
	var ids []string
	for _, r := range rules {
		id := strings.Trim(r, "${}")
		ids = append(ids, id[:len(id)-8]) // the logical id's hash aside
	}
	if want := []string{"InstanceStateChange", "SpotAndRebalance", "HealthEC2", "AlarmState"}; !slices.Equal(ids, want) {
		t.Errorf("DOCTOR_RULES names %v, want %v", ids, want)
	}
	for k, want := range map[string]string{
		config.EnvAlarmPrefix: "${AWS::StackName}", config.EnvFailoverFunction: "${AWS::StackName}-failover",
		config.EnvProbedGroups: "matlab,mosek", config.EnvDoctorProbeMinutes: "1",
	} {
		if got := literal(env[k]); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	// DOCTOR_FUNCTIONS says what the template deploys.
	var deployed []string
	for _, name := range []string{"failover", "fleet", "move"} {
		for _, f := range s.find(tFunction, nil) {
			props := f["Properties"].(obj)
			if literal(props["FunctionName"]) == "${AWS::StackName}-"+name {
				reserved := 0
				if r, ok := props["ReservedConcurrentExecutions"].(float64); ok {
					reserved = int(r)
				}
				deployed = append(deployed, config.DeployedFunction{Name: "${AWS::StackName}-" + name, TimeoutSeconds: int(props["Timeout"].(float64)),
					ReservedConcurrency: reserved}.Format())
			}
		}
	}
	if got, want := literal(env[config.EnvDoctorFunctions]), strings.Join(deployed, ","); got != want {
		t.Errorf("DOCTOR_FUNCTIONS = %q, the template deploys %q", got, want)
	}
	for id, p := range s.find(tPolicy, nil) {
		if !strings.HasPrefix(id, "MoveRole") {
			continue
		}
		for _, st := range docStatements(t, p["Properties"].(obj)["PolicyDocument"]) {
			if !strings.HasPrefix(st.Sid, "Doctor") {
				continue
			}
			for _, a := range st.actions() {
				_, verb, _ := strings.Cut(a, ":")
				if !slices.ContainsFunc([]string{"Describe", "Get", "List", "Test"}, func(p string) bool { return strings.HasPrefix(verb, p) }) && a != "lambda:InvokeFunction" {
					t.Errorf("%s grants %s: the doctor only reads", st.Sid, a)
				}
				if a == "lambda:InvokeFunction" {
					if r := st.resources(); len(r) != 1 || !strings.HasSuffix(r[0], ":function:${AWS::StackName}-failover") {
						t.Errorf("the move role may invoke %v, want the failover function alone", r)
					}
				}
			}
		}
	}
}

// The operators' way in names them: the move function's URL takes only
// SigV4-signed requests, and the stack says where it is.
func TestMoveFunctionURL(t *testing.T) {
	s := synth(t, nil)
	s.has(t, "AWS::Lambda::Url", obj{"AuthType": "AWS_IAM", "TargetFunctionArn": getAtt("Move", "Arn")})
	s.count(t, "AWS::Lambda::Url", nil, 1)
	s.hasOutput(t, "MoveFunctionUrl", obj{"Value": getAtt("MoveFunctionUrl", "FunctionUrl")})
	// No resource policy opens it: each operator's own policy grants it
	// (docs/security.md), and nothing grants it to everyone.
	for id, p := range s.find("AWS::Lambda::Permission", nil) {
		if literal(p["Properties"].(obj)["Principal"]) == "*" {
			t.Errorf("%s grants the move function to everyone", id)
		}
	}
}

// With admins named, the topic and the queue deny everyone else what would
// silence a failover's news: a subscription (a filter that drops all, an
// outside endpoint), receiving or purging the failed events. Without an
// organization's SCP too.
func TestAdminsOnly(t *testing.T) {
	admin := "arn:aws:iam::123456789012:role/LicenseAdmin"
	s := synth(t, map[string]any{"admins": []any{admin}, "notifyEmail": "oncall@example.com"})
	for typ, want := range map[string][]string{
		"AWS::SNS::TopicPolicy": {"sns:Subscribe", "sns:AddPermission"},
		"AWS::SQS::QueuePolicy": {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:PurgeQueue"},
	} {
		found := false
		for _, p := range s.find(typ, nil) {
			for _, st := range docStatements(t, p["Properties"].(obj)["PolicyDocument"]) {
				if st.Effect != "Deny" || !slices.Equal(st.actions(), want) {
					continue
				}
				found = true
				exempt := literal(st.Condition["ArnNotEquals"]["aws:PrincipalArn"])
				if !strings.Contains(exempt, admin) || !strings.Contains(exempt, "cdk-hnb659fds-cfn-exec-role-") || fmt.Sprint(st.Principal) != "map[AWS:*]" {
					t.Errorf("%s: %+v exempts %s", typ, st, exempt)
				}
			}
		}
		if !found {
			t.Errorf("%s: no deny of %v", typ, want)
		}
	}
	// Without admins, no deny: nobody is locked out by a guess.
	for _, p := range synth(t, nil).find("AWS::SNS::TopicPolicy", nil) {
		for _, st := range docStatements(t, p["Properties"].(obj)["PolicyDocument"]) {
			if st.Effect == "Deny" && slices.Contains(st.actions(), "sns:Subscribe") {
				t.Errorf("a deny without admins: %+v", st)
			}
		}
	}
	for _, bad := range []string{"arn:aws:iam::123456789012:role/Admin*", "LicenseAdmin"} {
		if _, err := ParseConfig(`{"admins": ["` + bad + `"]}`); err == nil || !strings.Contains(err.Error(), "exact IAM role ARN") {
			t.Errorf("admins %q: %v", bad, err)
		}
	}
}
