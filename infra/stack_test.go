package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/eni-failover/eni-failover/internal/config"
	"github.com/eni-failover/eni-failover/internal/emf"
	"github.com/eni-failover/eni-failover/internal/eventparse"
	"github.com/eni-failover/eni-failover/internal/findings"
	"github.com/eni-failover/eni-failover/internal/metrics"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/probeconfig"
	"github.com/eni-failover/eni-failover/internal/ssmcommand"
)

const (
	tFunction = "AWS::Lambda::Function"
	tRule     = "AWS::Events::Rule"
	tAlarm    = "AWS::CloudWatch::Alarm"
	tPolicy   = "AWS::IAM::Policy"
	tSG       = "AWS::EC2::SecurityGroup"
)

var groupTag = model.NewTags("").Group()

func TestFunctions(t *testing.T) {
	s := synth(t, nil)
	s.count(t, tFunction, nil, 3)
	// The move function's timeout fits a drill: two moves of 30 s and a
	// margin of 15 s to report (config.DrillTime).
	timeouts := map[string]int{"failover": 60, "fleet": 60, "move": 75}
	for _, name := range []string{"failover", "fleet", "move"} {
		s.has(t, tFunction, obj{
			"FunctionName": stackNameJoin("-" + name),
			"Runtime":      "provided.al2023", "Architectures": arr{"arm64"}, "Handler": "bootstrap",
			"MemorySize": 128, "Timeout": timeouts[name],
			"LoggingConfig": obj{"LogFormat": "JSON", "LogGroup": ref(strings.ToUpper(name[:1]) + name[1:] + "Logs")},
			"Environment": obj{"Variables": obj{
				config.EnvTagPrefix: model.DefaultTagPrefix, config.EnvNotifyTopicARN: ref("Notifications"),
				config.EnvHealthEventAction: string(config.HealthMove), config.EnvAllowStartStopped: "false",
				config.EnvCooldown: "15m", emf.EnvNamespace: emf.DefaultNamespace, config.EnvHealthLeadTime: "30m",
			}},
		})
	}
	// Each function waits for its role's policy, not only for the role.
	for id, fn := range s.find(tFunction, nil) {
		deps, _ := fn["DependsOn"].([]any)
		if len(deps) != 1 || !strings.Contains(deps[0].(string), "DefaultPolicy") {
			t.Errorf("%s DependsOn %v, want its role's DefaultPolicy", id, deps)
		}
	}
	// Listed token servers pin the membership of every function that
	// moves the ENI.
	synth(t, fullContext()).count(t, tFunction, obj{"Environment": obj{"Variables": like(obj{
		config.EnvInstanceIDs: "i-0123456789abcdef0,i-0bbbbbbbbbbbbbbb2",
	})}}, 3)
	// The fleet function (state changes, the reconcile) runs in one
	// sandbox, which sweeps the fleet; the failover function (findings,
	// alarms, Spot, Health) runs several events at once; both run the
	// failover code with the failover role.
	s.count(t, tFunction, obj{"FunctionName": stackNameJoin("-fleet"), "ReservedConcurrentExecutions": 1, "Role": getAtt("FailoverRole", "Arn")}, 1)
	s.count(t, tFunction, obj{"FunctionName": stackNameJoin("-failover"), "ReservedConcurrentExecutions": DefaultFailoverConcurrency,
		"Role": getAtt("FailoverRole", "Arn")}, 1)
	s.count(t, tFunction, obj{"FunctionName": stackNameJoin("-move"), "ReservedConcurrentExecutions": absent()}, 1)
	synth(t, map[string]any{"failoverConcurrency": 25}).count(t, tFunction, obj{"FunctionName": stackNameJoin("-failover"), "ReservedConcurrentExecutions": 25}, 1)
	s.count(t, "AWS::IAM::Role", obj{"AssumeRolePolicyDocument": like(obj{"Statement": arr{like(obj{"Principal": obj{"Service": "lambda.amazonaws.com"}})}})}, 2)
	s.count(t, "AWS::Lambda::EventInvokeConfig", nil, 2)
	for _, fn := range []string{"Failover", "Fleet"} {
		s.has(t, "AWS::Lambda::EventInvokeConfig", obj{
			"FunctionName": ref(fn), "MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 900,
			"DestinationConfig": obj{"OnFailure": obj{"Destination": getAtt("FailedEvents", "Arn")}},
		})
	}
	s.count(t, "AWS::Logs::LogGroup", obj{"RetentionInDays": 90}, 3)
	s.count(t, "AWS::Logs::LogGroup", nil, 3)
}

func TestQueueAndTopic(t *testing.T) {
	s := synth(t, fullContext())
	s.count(t, "AWS::SQS::Queue", obj{"SqsManagedSseEnabled": true}, 1)
	s.has(t, "AWS::SQS::QueuePolicy", obj{"PolicyDocument": obj{"Statement": with(
		like(obj{"Effect": "Deny", "Condition": obj{"Bool": obj{"aws:SecureTransport": "false"}}}),
		like(obj{"Effect": "Allow", "Principal": obj{"Service": "events.amazonaws.com"}}),
	)}})
	s.has(t, "AWS::SNS::Topic", obj{"KmsMasterKeyId": anyValue()})
	s.has(t, "AWS::SNS::TopicPolicy", obj{"PolicyDocument": obj{"Statement": with(
		like(obj{"Effect": "Deny", "Condition": obj{"Bool": obj{"aws:SecureTransport": "false"}}}),
	)}})
	s.count(t, "AWS::SNS::Subscription", nil, 1)
	s.has(t, "AWS::SNS::Subscription", obj{"Protocol": "email", "Endpoint": "license-admins@example.com"})
	// CloudFormation replaces SNS's default topic policy, so the topic must
	// allow CloudWatch to publish, and the key let it encrypt, each only
	// for this account's alarms (Amazon SNS Developer Guide, "Enable
	// compatibility between event sources from AWS services and encrypted
	// topics", sns-key-management.html#compatibility-with-aws-services),
	// and only for the stack's own alarms: names CloudFormation gives start
	// with the stack's name, as the given ones do, and any other alarm of
	// the account could otherwise mail the operators.
	fromOwnAlarms := obj{
		"StringEquals": obj{"aws:SourceAccount": obj{"Ref": "AWS::AccountId"}},
		"ArnLike":      obj{"aws:SourceArn": obj{"Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:${AWS::StackName}-*"}},
	}
	for id, a := range s.find(tAlarm, nil) {
		if name, ok := a["Properties"].(obj)["AlarmName"]; ok && !strings.Contains(literal(name), "${AWS::StackName}-") {
			t.Errorf("alarm %s is named %s, outside the topic's grant", id, literal(name))
		}
	}
	// The failed-events alarm counts what was sent, which nobody can hide
	// by receiving the messages.
	s.has(t, tAlarm, obj{"MetricName": "NumberOfMessagesSent", "Namespace": "AWS/SQS", "Statistic": "Sum",
		"Dimensions": arr{obj{"Name": "QueueName", "Value": getAtt("FailedEvents", "QueueName")}}})
	s.has(t, "AWS::SNS::TopicPolicy", obj{"PolicyDocument": obj{"Statement": with(like(obj{
		"Effect": "Allow", "Principal": obj{"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Publish",
		"Resource": ref("Notifications"), "Condition": fromOwnAlarms,
	}))}})
	s.has(t, "AWS::KMS::Key", obj{"EnableKeyRotation": true, "KeyPolicy": obj{"Statement": with(like(obj{
		"Effect": "Allow", "Principal": obj{"Service": "cloudwatch.amazonaws.com"}, "Action": arr{"kms:Decrypt", "kms:GenerateDataKey*"},
		"Condition": fromOwnAlarms,
	}))}})
	synth(t, nil).count(t, "AWS::SNS::Subscription", nil, 0)
}

func TestRules(t *testing.T) {
	s := synth(t, fullContext())
	s.count(t, tRule, nil, 8) // three to the failover function and its readiness schedule, two to the fleet function, the probe's schedule and findings
	target := func(fn string) obj {
		return obj{"Targets": arr{like(obj{
			"Arn": getAtt(fn, "Arn"), "DeadLetterConfig": obj{"Arn": getAtt("FailedEvents", "Arn")},
			"RetryPolicy": obj{"MaximumRetryAttempts": 4, "MaximumEventAgeInSeconds": 900},
		})}}
	}
	failoverTarget, fleetTarget := target("Failover"), target("Fleet")
	s.count(t, tRule, failoverTarget, 3) // Spot, Health, alarms (the probe's findings rule has targets of its own)
	s.count(t, tRule, fleetTarget, 2)    // state changes, the reconcile
	states := append(append(arr{}, toAny(eventparse.UpStates)...), toAny(eventparse.DownStates)...)
	s.has(t, tRule, obj{"EventPattern": obj{
		"source": arr{eventparse.SourceEC2}, "detail-type": arr{eventparse.DetailStateChange},
		"detail": obj{"state": states, "instance-id": arr{"i-0123456789abcdef0", "i-0bbbbbbbbbbbbbbb2"}},
	}, "Targets": fleetTarget["Targets"]})
	// Spot and Health news of other instances would take the failover
	// function's sandboxes ahead of a real failover: scoped to the token
	// servers.
	s.has(t, tRule, obj{"EventPattern": obj{
		"source": arr{eventparse.SourceEC2}, "detail-type": arr{eventparse.DetailSpot, eventparse.DetailRebalance},
		"detail": obj{"instance-id": arr{"i-0123456789abcdef0", "i-0bbbbbbbbbbbbbbb2"}},
	}})
	s.has(t, tRule, obj{"EventPattern": obj{
		"source": arr{eventparse.SourceHealth}, "detail-type": arr{eventparse.DetailHealth},
		"detail": obj{"service": arr{eventparse.HealthServiceEC2}, "affectedEntities": obj{"entityValue": arr{
			obj{"suffix": "i-0123456789abcdef0"}, obj{"suffix": "i-0bbbbbbbbbbbbbbb2"},
		}}},
	}})
	prefix := func(infix string) any {
		return like(obj{"prefix": obj{"Fn::Sub": matches(":alarm:\\$\\{AWS::StackName\\}" + infix + "$")}})
	}
	s.has(t, tRule, obj{"EventPattern": obj{
		"source": arr{eventparse.SourceCloudWatch}, "detail-type": arr{eventparse.DetailAlarm},
		"detail":    obj{"state": obj{"value": arr{eventparse.AlarmStateAlarm}}},
		"resources": arr{prefix(statusAlarmInfix), prefix(probeAlarmInfix), prefix(config.ReadinessAlarmInfix)},
	}})
	s.has(t, tRule, obj{"ScheduleExpression": "rate(5 minutes)", "Targets": fleetTarget["Targets"]})
	// The readiness count runs in the failover function on a schedule of
	// its own, never in the fleet function behind its reconcile; a missed
	// count is not retried. (AWS::Events::Rule Target: Input is the constant
	// JSON passed instead of the event; RetryPolicy.MaximumRetryAttempts 0
	// means no retry: CloudFormation User Guide, AWS::Events::Rule Target,
	// RetryPolicy.)
	s.count(t, tRule, obj{"ScheduleExpression": "rate(5 minutes)", "Targets": arr{like(obj{
		"Arn": getAtt("Failover", "Arn"), "Input": `{"action":"` + eventparse.ActionReadiness + `"}`,
		"RetryPolicy": obj{"MaximumRetryAttempts": 0}, "DeadLetterConfig": absent(),
	})}}, 1)
	// Without configured instances no rule is scoped.
	unscoped := synth(t, nil)
	unscoped.has(t, tRule, obj{"EventPattern": obj{
		"detail-type": arr{eventparse.DetailStateChange}, "detail": obj{"state": states, "instance-id": absent()},
	}})
	unscoped.has(t, tRule, obj{"EventPattern": obj{"detail-type": arr{eventparse.DetailSpot, eventparse.DetailRebalance}, "detail": absent()}})
	unscoped.has(t, tRule, obj{"EventPattern": obj{"detail-type": arr{eventparse.DetailHealth}, "detail": obj{"affectedEntities": absent()}}})
}

// TestRulePatternsFitTheirQuota: an event pattern may have 2048 characters
// ("Amazon EventBridge quotas", event pattern size; adjustable to 4096),
// and every rule scoped to the most instances allowed must fit.
func TestRulePatternsFitTheirQuota(t *testing.T) {
	ids := make([]any, 50)
	for i := range ids {
		ids[i] = fmt.Sprintf("i-0a%015x", i)
	}
	patterns := 0
	for id, r := range synth(t, map[string]any{"instanceIds": ids}).find(tRule, nil) {
		pattern, ok := r["Properties"].(obj)["EventPattern"]
		if !ok {
			continue
		}
		patterns++
		b, err := json.Marshal(pattern)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 2048 {
			t.Errorf("rule %s: event pattern of %d characters with 50 instances; the quota is 2048", id, len(b))
		}
	}
	if patterns != 4 { // state change, Spot and rebalance, Health, alarms
		t.Fatalf("checked %d event patterns, want 4", patterns)
	}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func TestAlarmsAndDashboard(t *testing.T) {
	s := synth(t, fullContext())
	// Status checks (2), the function and queue alarms (4), the probe (2),
	// readiness (1): every one notifies the topic.
	s.count(t, tAlarm, nil, 10)
	s.count(t, tAlarm, obj{"AlarmActions": arr{ref("Notifications")}}, 10)
	// The doctor finds each alarm by its name.
	for _, suffix := range config.StackAlarms {
		s.has(t, tAlarm, obj{"AlarmName": stackNameJoin(suffix)})
	}
	// Two reconcile periods with a group that has no ready standby.
	s.has(t, tAlarm, obj{
		"MetricName": metrics.GroupsWithoutReadyStandby, "Namespace": emf.DefaultNamespace, "Period": 300,
		"EvaluationPeriods": 2, "DatapointsToAlarm": 2, "Threshold": 1, "AlarmName": stackNameJoin(config.ReadinessAlarmInfix),
	})
	for _, id := range []string{"i-0123456789abcdef0", "i-0bbbbbbbbbbbbbbb2"} {
		s.has(t, tAlarm, obj{
			"MetricName": "StatusCheckFailed", "Namespace": "AWS/EC2",
			"Dimensions": arr{obj{"Name": "InstanceId", "Value": id}},
			"AlarmName":  stackNameJoin(statusAlarmInfix + id),
		})
	}
	for _, want := range []string{"FailoverErrors", "FleetErrors", "MoveErrors", "FailedEventsQueued", "FailedMoves"} {
		found := false
		for id := range s.find(tAlarm, nil) {
			found = found || strings.HasPrefix(id, want)
		}
		if !found {
			t.Errorf("no %s alarm", want)
		}
	}
	// The failed-move alarm reads the engine's metric (a labelled metric is
	// written as a metric-stat query).
	s.has(t, tAlarm, obj{"Metrics": with(like(obj{"MetricStat": like(obj{"Metric": like(obj{
		"Namespace": emf.DefaultNamespace, "MetricName": metrics.Failures})})}))})
	s.count(t, "AWS::CloudWatch::Dashboard", nil, 1)
	for _, d := range s.find("AWS::CloudWatch::Dashboard", nil) {
		body := literal(d["Properties"].(obj)["DashboardBody"])
		for _, m := range []string{metrics.Moves, metrics.Failures, metrics.MoveDurationMS, "Errors", "ApproximateNumberOfMessagesVisible"} {
			if !strings.Contains(body, `"`+m+`"`) {
				t.Errorf("dashboard lacks %s", m)
			}
		}
	}
}

// statement is one IAM statement of a synthesized policy.
type statement struct {
	Sid       string
	Effect    string
	Principal any
	Action    any
	Resource  any
	Condition map[string]map[string]any
}

func (st statement) actions() []string {
	switch a := st.Action.(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, x := range a {
			out = append(out, x.(string))
		}
		return out
	}
	return nil
}

func (st statement) resources() []string {
	if rs, ok := st.Resource.([]any); ok {
		var out []string
		for _, r := range rs {
			out = append(out, literal(r))
		}
		return out
	}
	return []string{literal(st.Resource)}
}

// statements returns the statements of the policies of the roles whose
// logical id starts with rolePrefix.
func (s synthesized) statements(t *testing.T, rolePrefix string) []statement {
	t.Helper()
	var out []statement
	for id, p := range s.find(tPolicy, nil) {
		if !strings.HasPrefix(id, rolePrefix) {
			continue
		}
		b, err := json.Marshal(p["Properties"].(obj)["PolicyDocument"])
		if err != nil {
			t.Fatal(err)
		}
		var doc struct{ Statement []statement }
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		out = append(out, doc.Statement...)
	}
	return out
}

func TestLeastPrivilege(t *testing.T) {
	for name, tc := range map[string]struct {
		ctx         map[string]any
		start       bool
		instanceArn string
		eniArn      string
	}{
		"defaults":   {nil, false, ":instance/*", ":network-interface/*"},
		"everything": {fullContext(), true, ":instance/i-0123456789abcdef0", ":network-interface/${LicenseENI"},
		"imported":   {map[string]any{"licenseEni": map[string]any{"importId": "eni-0f1e2d3c4b5a69788"}}, false, ":instance/*", ":network-interface/eni-0f1e2d3c4b5a69788"},
	} {
		t.Run(name, func(t *testing.T) {
			s := synth(t, tc.ctx)
			s.count(t, "AWS::IAM::Role", obj{"ManagedPolicyArns": anyValue()}, 0)
			for _, role := range []string{"FailoverRole", "MoveRole"} {
				sts := s.statements(t, role)
				sids := map[string]bool{}
				for _, st := range sts {
					sids[st.Sid] = true
					acts := strings.Join(st.actions(), " ")
					res := st.resources()
					if st.Sid == "MarkLicenseHolder" {
						// The FIS drills' holder tag: that one key, on
						// members only.
						keys, _ := st.Condition["ForAllValues:StringEquals"]["aws:TagKeys"].([]any)
						if len(keys) != 1 || keys[0] != model.DefaultTagPrefix+":license-holder" || anyIs(res, "*") || !anyContains(res, tc.instanceArn) ||
							st.Condition["StringLike"]["ec2:ResourceTag/"+groupTag] != "?*" {
							t.Errorf("%s: %s on %v with %v", role, acts, res, st.Condition)
						}
						continue
					}
					mutating := strings.Contains(acts, "Attach") || strings.Contains(acts, "Detach") ||
						strings.Contains(acts, "Modify") || strings.Contains(acts, "CreateTags") || strings.Contains(acts, "StartInstances")
					if strings.Contains(acts, "ec2:Describe") && (len(res) != 1 || res[0] != "*") {
						t.Errorf("%s: describe on %v", role, res)
					}
					if mutating {
						if anyIs(res, "*") {
							t.Errorf("%s: %s on *", role, acts)
						}
						if st.Condition["StringLike"]["ec2:ResourceTag/"+groupTag] != "?*" {
							t.Errorf("%s: %s without the group-tag condition: %v", role, acts, st.Condition)
						}
						if !strings.Contains(acts, "StartInstances") && !anyContains(res, tc.eniArn) {
							t.Errorf("%s: %s not scoped to %s: %v", role, acts, tc.eniArn, res)
						}
					}
					if strings.Contains(acts, "AttachNetworkInterface") && !anyContains(res, tc.instanceArn) {
						t.Errorf("%s: attach not scoped to %s: %v", role, tc.instanceArn, res)
					}
					if strings.Contains(acts, "CreateTags") {
						keys, _ := st.Condition["ForAllValues:StringLike"]["aws:TagKeys"].([]any)
						if len(keys) != 1 || keys[0] != model.DefaultTagPrefix+":*" {
							t.Errorf("%s: CreateTags not limited to journal keys: %v", role, st.Condition)
						}
					}
					if strings.Contains(acts, "sns:Publish") && (len(res) != 1 || !strings.HasPrefix(res[0], "${Notifications")) {
						t.Errorf("%s: publish on %v", role, res)
					}
				}
				for _, sid := range []string{"ReadGroups", "MoveTaggedENI", "WriteJournalTags", "WriteOwnLogs"} {
					if !sids[sid] {
						t.Errorf("%s lacks statement %s", role, sid)
					}
				}
				if sids["StartTaggedStandby"] != tc.start {
					t.Errorf("%s: StartInstances granted=%v, want %v", role, sids["StartTaggedStandby"], tc.start)
				}
			}
		})
	}
}

func anyIs(ss []string, v string) bool {
	for _, s := range ss {
		if s == v {
			return true
		}
	}
	return false
}

func anyContains(ss []string, part string) bool {
	for _, s := range ss {
		if strings.Contains(s, part) {
			return true
		}
	}
	return false
}

func TestLicenseENIRecipe(t *testing.T) {
	s := synth(t, fullContext())
	s.count(t, "AWS::EC2::NetworkInterface", nil, 1)
	s.hasResource(t, "AWS::EC2::NetworkInterface", obj{
		"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
		"Properties": obj{"SubnetId": "subnet-0123456789abcdef0", "Tags": with(obj{"Key": groupTag, "Value": "mosek"})},
	})
	// The retained ENI keeps using its security group: deleting that group
	// would fail the stack's deletion.
	s.hasResource(t, tSG, obj{"DeletionPolicy": "Retain", "Properties": obj{"GroupDescription": matches("^Token server ports")}})
	s.count(t, "AWS::EC2::EIP", nil, 1)
	s.has(t, "AWS::EC2::EIPAssociation", obj{"AllocationId": getAtt("LicenseEIP", "AllocationId"), "NetworkInterfaceId": ref("LicenseENI")})
	s.has(t, tSG, obj{"GroupDescription": matches("^Token server ports"), "SecurityGroupIngress": with(
		obj{"CidrIp": "10.0.0.0/16", "FromPort": probeconfig.DefaultPorts[0], "ToPort": probeconfig.DefaultPorts[0], "IpProtocol": "tcp",
			"Description": "license token server port 27007"},
		like(obj{"CidrIp": "10.0.0.0/16", "FromPort": probeconfig.DefaultPorts[1]}),
		like(obj{"CidrIp": "192.168.10.0/24", "FromPort": probeconfig.DefaultPorts[0]}),
	)})
	s.count(t, tSG, obj{"SecurityGroupIngress": with(like(obj{"CidrIp": "0.0.0.0/0"}))}, 0)
	// Security groups are stateful ("Responses to allowed inbound traffic
	// are allowed to leave the instance, regardless of outbound rules":
	// Amazon VPC User Guide, security group rules), and a group without
	// egress rules gets an allow-all one from CloudFormation: the license
	// ENI's group carries only a rule that matches nothing.
	s.has(t, tSG, obj{"GroupDescription": matches("^Token server ports"), "SecurityGroupEgress": arr{
		obj{"IpProtocol": "icmp", "FromPort": 252, "ToPort": 86, "CidrIp": "255.255.255.255/32", "Description": "Disallow all traffic"},
	}})
	s.hasOutput(t, "LicenseENIId", obj{"Value": ref("LicenseENI")})
	imported := synth(t, map[string]any{"licenseEni": map[string]any{"importId": "eni-0f1e2d3c4b5a69788"}})
	imported.count(t, "AWS::EC2::NetworkInterface", nil, 0)
	imported.hasOutput(t, "LicenseENIId", obj{"Value": "eni-0f1e2d3c4b5a69788"})
}

func TestOutputs(t *testing.T) {
	s := synth(t, nil)
	for _, o := range []string{"FailoverFunctionName", "FleetFunctionName", "MoveFunctionName", "NotificationTopicArn", "FailedEventsQueueUrl"} {
		s.hasOutput(t, o, obj{"Value": anyValue()})
	}
	s.hasOutput(t, "StatusCommand", obj{"Value": obj{"Fn::Join": arr{"", with(matches(`^echo '\{"action":"status"\}' \| aws lambda invoke --function-name $`), ref("Move"), matches("--cli-read-timeout 900 --payload fileb:///dev/stdin"))}}})
}

func TestCDKJSONExampleSynthesizes(t *testing.T) {
	var cdk struct {
		App     string         `json:"app"`
		Context map[string]any `json:"context"`
	}
	b := mustRead(t, "../cdk.json")
	if err := json.Unmarshal(b, &cdk); err != nil {
		t.Fatal(err)
	}
	if cdk.App != "go run ./infra" {
		t.Errorf("cdk.json app %q", cdk.App)
	}
	ctx := cdk.Context[ContextKey].(map[string]any)
	delete(ctx, "assetDir")
	synth(t, ctx).count(t, tFunction, nil, 4) // failover, fleet, move and probe
}

func TestActivationAndProbe(t *testing.T) {
	s := synth(t, fullContext())
	// A drill with activation (60 s) and the probe's measurement (45 s):
	// 2 x (30 + 60) + 45, and 15 s to report.
	s.has(t, tFunction, obj{"FunctionName": stackNameJoin("-move"), "Timeout": 240})
	s.count(t, tFunction, obj{"Timeout": 120, "Environment": obj{"Variables": like(obj{
		config.EnvActivationDocument: ref("ActivationDocument"),
		config.EnvActivationTimeout:  "60s",
		config.EnvActivationCommands: absent(),
	})}}, 2) // the move and the activation fit in the failover and fleet functions' timeouts
	s.commandDocument(t, "ActivationDocument", "aws:runShellScript", "systemctl restart lmgrd", "sleep 3; ss -ltn | grep -q ':27007 '")
	for _, role := range []string{"FailoverRole", "MoveRole"} {
		bySid := map[string]statement{}
		for _, st := range s.statements(t, role) {
			bySid[st.Sid] = st
		}
		// The stack's document alone: AWS-RunShellScript would run anything.
		if res := literal(bySid["RunTheStacksDocuments"].Resource); !strings.Contains(res, ":document/${ActivationDocument") || strings.Contains(res, ssmcommand.Document) {
			t.Errorf("%s: documents %s", role, res)
		}
		if c := bySid["RunActivationOnMembers"].Condition["StringLike"]["ssm:resourceTag/"+groupTag]; c != "?*" {
			t.Errorf("%s: SendCommand on members without the group-tag condition: %v", role, bySid["RunActivationOnMembers"])
		}
		if a := bySid["ReadActivationResult"].actions(); !slices.Equal(a, []string{"ssm:GetCommandInvocation", "ssm:DescribeInstanceInformation"}) {
			t.Errorf("%s: result reading %v", role, a)
		}
	}
	// The probe's network-interface permissions are on "*" (Lambda names
	// its own interfaces), so a deny keeps them off every tagged license
	// ENI.
	denied := false
	for _, st := range s.statements(t, "ProbeRole") {
		if st.Effect == "Deny" && strings.Contains(strings.Join(st.actions(), " "), "ec2:DeleteNetworkInterface") &&
			st.Condition["Null"]["ec2:ResourceTag/"+groupTag] == "false" && anyIs(st.resources(), "*") {
			denied = true
		}
	}
	if !denied {
		t.Error("the probe's role may delete a license ENI")
	}
	for _, st := range s.statements(t, "ProbeRole") {
		for _, a := range st.actions() {
			if strings.HasPrefix(a, "ssm:") || a == "ec2:AttachNetworkInterface" || a == "ec2:DetachNetworkInterface" {
				t.Errorf("the probe may do more than probe: %s", a)
			}
		}
	}
	s.has(t, tFunction, obj{
		"FunctionName": stackNameJoin("-probe"), "Runtime": "provided.al2023",
		"VpcConfig": obj{"SubnetIds": arr{"subnet-0123456789abcdef0", "subnet-0123456789abcdef1"},
			"SecurityGroupIds": arr{getAtt("ProbeSecurityGroup", "GroupId")}},
		"Environment": obj{"Variables": obj{
			probeconfig.EnvPorts: "27007,27008", probeconfig.EnvTimeout: "2000ms", emf.EnvNamespace: emf.DefaultNamespace,
			probeconfig.EnvTargets:  obj{"Fn::Join": arr{"", arr{"matlab=10.0.2.40,mosek=", getAtt("LicenseENI", "PrimaryPrivateIpAddress")}}},
			probeconfig.EnvInterval: "5s", probeconfig.EnvWatch: "1m0s", probeconfig.EnvConfirmations: "3", probeconfig.EnvWitnesses: probeconfig.DefaultWitness,
			probeconfig.EnvCheck: probeconfig.CheckConnect,
		}},
		// It watches a minute; one watch at a time.
		"Timeout": 75, "ReservedConcurrentExecutions": 1,
	})
	// Its findings leave through its destination (a bus of their own),
	// never through the VPC; a rule on that bus hands them to the failover
	// function and back to the probe.
	s.has(t, "AWS::Lambda::EventInvokeConfig", obj{
		"FunctionName": ref("Probe"), "MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 120,
		"DestinationConfig": obj{"OnSuccess": obj{"Destination": getAtt("ProbeFindingsBus", "Arn")}},
	})
	s.has(t, tRule, obj{
		"EventBusName": ref("ProbeFindingsBus"),
		"EventPattern": obj{
			"source": arr{eventparse.SourceLambda}, "detail-type": arr{eventparse.DetailInvocationSuccess},
			"detail": obj{
				"requestContext":  obj{"functionArn": arr{getAtt("Probe", "Arn"), obj{"prefix": obj{"Fn::Join": arr{"", arr{getAtt("Probe", "Arn"), ":"}}}}}},
				"responsePayload": obj{"kind": arr{findings.FindingsKind}, "findings": arr{findings.FindingFailure, findings.FindingRestored}},
			},
		},
		"Targets": arr{
			like(obj{"Arn": getAtt("Failover", "Arn"), "RetryPolicy": like(obj{})}),
			like(obj{"Arn": getAtt("Probe", "Arn"), "InputPath": "$.detail.responsePayload"}),
		},
	})
	putEvents := false
	for _, st := range s.statements(t, "ProbeRole") {
		if anyIs(st.actions(), "events:PutEvents") {
			putEvents = true
			if res := literal(st.Resource); !strings.Contains(res, "ProbeFindingsBus") {
				t.Errorf("the probe puts its findings on %s, not on its own bus", res)
			}
		}
	}
	if !putEvents {
		t.Error("the probe's role may not put its findings on the event bus")
	}
	s.has(t, tSG, obj{"GroupDescription": matches("probe"), "SecurityGroupEgress": with(
		like(obj{"CidrIp": "10.0.2.40/32", "FromPort": 27008, "IpProtocol": "tcp"}),
	)})
	s.count(t, tSG, obj{"GroupDescription": matches("probe"), "SecurityGroupEgress": with(like(obj{"CidrIp": "0.0.0.0/0"}))}, 0)
	s.count(t, "AWS::EC2::SecurityGroupIngress", obj{"SourceSecurityGroupId": getAtt("ProbeSecurityGroup", "GroupId")}, 2)
	for _, g := range []string{"mosek", "matlab"} {
		s.has(t, tAlarm, obj{
			"Namespace": emf.DefaultNamespace, "MetricName": findings.MetricReachable,
			"Dimensions": arr{obj{"Name": "Group", "Value": g}}, "AlarmName": stackNameJoin(probeAlarmInfix + g),
			"ComparisonOperator": "LessThanThreshold", "Threshold": 0.5, "Statistic": "Average",
			"DatapointsToAlarm": 2, "EvaluationPeriods": 3, "TreatMissingData": "notBreaching",
		})
	}
	s.count(t, tAlarm, obj{"MetricName": findings.MetricReachable}, 2)
	s.count(t, tRule, obj{"ScheduleExpression": "rate(1 minute)", "Targets": arr{like(obj{"Arn": getAtt("Probe", "Arn")})}}, 1)
}

// TestProbeFindingsCannotBeForged: on the default bus any principal of
// the account allowed events:PutEvents could send a record naming the probe
// (only "aws." sources are reserved: EventBridge PutEvents) and move the
// license off a healthy holder. The findings' bus denies PutEvents to every
// principal but the probe's role, and nothing listens for findings on the
// default bus.
func TestProbeFindingsCannotBeForged(t *testing.T) {
	s := synth(t, fullContext())
	s.has(t, "AWS::Events::EventBus", obj{"Name": stackNameJoin("-probe-findings")})
	s.has(t, "AWS::Events::EventBusPolicy", obj{
		"EventBusName": ref("ProbeFindingsBus"),
		"Statement": obj{
			"Effect": "Deny", "Principal": obj{"AWS": "*"}, "Action": "events:PutEvents",
			"Resource":  getAtt("ProbeFindingsBus", "Arn"),
			"Condition": obj{"ArnNotEquals": obj{"aws:PrincipalArn": getAtt("ProbeRole", "Arn")}},
		},
	})
	s.count(t, "AWS::Events::EventBusPolicy", nil, 1)
	for id, r := range s.find(tRule, nil) {
		props := r["Properties"].(obj)
		pattern, _ := props["EventPattern"].(obj)
		if src, _ := pattern["source"].([]any); len(src) == 1 && src[0] == eventparse.SourceLambda && props["EventBusName"] == nil {
			t.Errorf("rule %s listens for Lambda records on the default bus, where anyone may put one", id)
		}
	}
}

// TestProbeAlarmIdsAreStable: adding a group that sorts first leaves the
// other groups' alarms under their logical ids (a renamed id would make
// CloudFormation replace the alarm).
func TestProbeAlarmIdsAreStable(t *testing.T) {
	ids := func(targets map[string]any) map[string]string {
		ctx := map[string]any{"probe": map[string]any{"vpcId": "vpc-0123456789abcdef0", "subnetIds": []any{"subnet-0123456789abcdef0"}, "targets": targets}}
		out := map[string]string{}
		for id, a := range synth(t, ctx).find(tAlarm, obj{"MetricName": findings.MetricReachable}) {
			dims := a["Properties"].(obj)["Dimensions"].([]any)
			out[dims[0].(obj)["Value"].(string)] = id
		}
		return out
	}
	before := ids(map[string]any{"mosek": "10.0.1.9", "matlab": "10.0.1.10"})
	after := ids(map[string]any{"aaa": "10.0.1.8", "mosek": "10.0.1.9", "matlab": "10.0.1.10"})
	for _, g := range []string{"mosek", "matlab"} {
		if before[g] == "" || before[g] != after[g] {
			t.Errorf("group %s: alarm %q before, %q after adding a group", g, before[g], after[g])
		}
	}
	if a, b := probeAlarmID("R&D #1"), probeAlarmID("R&D #2"); a == b || !strings.HasPrefix(a, "ProbeAlarmRD1") {
		t.Errorf("ids %q and %q", a, b)
	}
}

// TestWindowsActivation: Windows commands reach the functions and IAM
// allows the PowerShell document beside the shell one.
func TestWindowsActivation(t *testing.T) {
	ctx := fullContext()
	ctx["activationCommandsWindows"] = []any{"Restart-Service -Name 'FlexNet License Server - mosek'"}
	s := synth(t, ctx)
	s.count(t, tFunction, obj{"Environment": obj{"Variables": like(obj{
		config.EnvWindowsActivationDoc: ref("ActivationDocumentWindows"),
	})}}, 3)
	s.commandDocument(t, "ActivationDocumentWindows", "aws:runPowerShellScript", "Restart-Service -Name 'FlexNet License Server - mosek'")
	for _, st := range s.statements(t, "FailoverRole") {
		if st.Sid != "RunTheStacksDocuments" {
			continue
		}
		res := literal(st.Resource)
		if !strings.Contains(res, ":document/${ActivationDocument") || !strings.Contains(res, ":document/${ActivationDocumentWindows") {
			t.Errorf("documents %s", res)
		}
		return
	}
	t.Error("no RunTheStacksDocuments statement")
}

// TestMovesQueryIsSaved: the Logs Insights console has the query of every
// move over the logs of the three functions that move the ENI.
func TestMovesQueryIsSaved(t *testing.T) {
	s := synth(t, nil)
	s.count(t, "AWS::Logs::QueryDefinition", nil, 1)
	for _, q := range s.find("AWS::Logs::QueryDefinition", nil) {
		props := q["Properties"].(obj)
		query := literal(props["QueryString"])
		groups, _ := props["LogGroupNames"].([]any)
		if !strings.Contains(query, `filter message = "run finished"`) || !strings.Contains(query, "holder_after") || len(groups) != 3 {
			t.Errorf("query %q over %v", query, groups)
		}
	}
}

// TestDeepCheck: the deep check alone (no activation) grants SSM on the
// shell document and the members, sets its commands, and leaves the
// failover function time for two checks and a move.
func TestDeepCheck(t *testing.T) {
	s := synth(t, map[string]any{"deepCheckCommands": []any{"timeout 15 /opt/mosek/bin/lmutil lmstat -c 27007@localhost"}})
	s.count(t, tFunction, obj{"Environment": obj{"Variables": like(obj{
		config.EnvDeepCheckDocument: ref("DeepCheckDocument"),
		config.EnvDeepCheckTimeout:  "30s",
	})}}, 3)
	s.count(t, tFunction, obj{"Timeout": 60 + 2*30 + 5}, 3)
	s.commandDocument(t, "DeepCheckDocument", "aws:runShellScript", "timeout 15 /opt/mosek/bin/lmutil lmstat -c 27007@localhost")
	bySid := map[string]statement{}
	for _, st := range s.statements(t, "FailoverRole") {
		bySid[st.Sid] = st
	}
	if res := literal(bySid["RunTheStacksDocuments"].Resource); !strings.Contains(res, ":document/${DeepCheckDocument") || strings.Contains(res, "ActivationDocument") {
		t.Errorf("deep check document %s", res)
	}
	if _, err := ParseConfig(map[string]any{"activationCommands": []any{"x"}, "activationTimeoutSeconds": 600.0,
		"deepCheckCommands": []any{"y"}, "deepCheckTimeoutSeconds": 120.0}); err == nil || !strings.Contains(err.Error(), "outlast Lambda's 15 minutes") {
		t.Errorf("too long a reconcile accepted: %v", err)
	}
}

// TestFISRoleScope: the FIS role stops and commands the license holder
// alone, restarts only members of the group (FIS restarts the instance it
// stopped after the engine moved the license-holder tag away: FIS User
// Guide, "Targets"), reaches only the pinned instances when instanceIds is
// set, and may create a KMS grant only for an AWS service (FIS actions
// reference, aws:ec2:stop-instances with encrypted volumes).
func TestFISRoleScope(t *testing.T) {
	for _, pinned := range []bool{false, true} {
		ctx := fullContext()
		if !pinned {
			delete(ctx, "instanceIds")
		}
		s := synth(t, ctx)
		tag := func(st statement, key string) any { return st.Condition["StringEquals"][key] }
		seen := map[string]bool{}
		for _, st := range s.statements(t, "FISDrillRole") {
			for _, a := range st.actions() {
				seen[a] = true
				res := st.resources()
				switch a {
				case "ec2:StopInstances":
					if tag(st, "ec2:ResourceTag/eni-failover:license-holder") != "mosek" || len(st.Condition) != 1 {
						t.Errorf("pinned %v: %s not limited to the holder: %+v", pinned, a, st.Condition)
					}
				case "ec2:StartInstances":
					if tag(st, "ec2:ResourceTag/eni-failover:group") != "mosek" || len(st.Condition) != 1 {
						t.Errorf("pinned %v: %s not limited to the group's members: %+v", pinned, a, st.Condition)
					}
				case "ssm:SendCommand":
					if !strings.Contains(strings.Join(res, " "), ":document/") && tag(st, "ssm:resourceTag/eni-failover:license-holder") != "mosek" {
						t.Errorf("pinned %v: SendCommand on instances without the holder tag: %+v", pinned, st)
					}
				case "kms:CreateGrant":
					if st.Condition["Bool"]["kms:GrantIsForAWSResource"] != "true" {
						t.Errorf("a KMS grant not only for AWS services: %+v", st.Condition)
					}
				}
				if a != "ec2:StopInstances" && a != "ec2:StartInstances" && !(a == "ssm:SendCommand" && tag(st, "ssm:resourceTag/eni-failover:license-holder") != nil) {
					continue
				}
				for _, r := range res {
					if pinned != !strings.HasSuffix(r, ":instance/*") {
						t.Errorf("pinned %v: %s on %s", pinned, a, r)
					}
				}
			}
		}
		for _, a := range []string{"ec2:StopInstances", "ec2:StartInstances", "kms:CreateGrant", "ssm:SendCommand"} {
			if !seen[a] {
				t.Errorf("pinned %v: the FIS role lacks %s", pinned, a)
			}
		}
	}
}

// TestFISDrills: opt-in game-day templates, each stopped by the
// failed-move alarm, finding the holder by the tag the engine keeps. The
// action ids, their target keys (Instances, Roles) and parameters are the
// AWS FIS User Guide's ("AWS FIS Actions reference"); cfn-lint checks the
// resource's schema (TestCfnLint, "everything").
func TestFISDrills(t *testing.T) {
	if s := synth(t, nil); len(s.find("AWS::FIS::ExperimentTemplate", nil)) != 0 {
		t.Fatal("FIS templates without fisDrills")
	}
	s := synth(t, fullContext())
	holder := obj{"Holder": obj{"ResourceType": "aws:ec2:instance", "SelectionMode": "ALL",
		"ResourceTags": obj{model.DefaultTagPrefix + ":license-holder": "mosek"}}}
	stop := arr{obj{"Source": "aws:cloudwatch:alarm", "Value": getAtt("FailedMoves", "Arn")}}
	s.has(t, "AWS::FIS::ExperimentTemplate", obj{"StopConditions": stop, "Targets": holder, "RoleArn": getAtt("FISDrillRole", "Arn"),
		"Actions": obj{"StopHolder": obj{"ActionId": "aws:ec2:stop-instances", "Parameters": obj{"startInstancesAfterDuration": "PT10M"},
			"Targets": obj{"Instances": "Holder"}, "Description": anyValue()}}})
	s.has(t, "AWS::FIS::ExperimentTemplate", obj{"StopConditions": stop, "Targets": holder,
		"Actions": obj{"KillLmgrd": like(obj{"ActionId": "aws:ssm:send-command",
			"Parameters": like(obj{"documentParameters": `{"commands":["pkill -KILL -x lmgrd"]}`})})}})
	s.has(t, "AWS::FIS::ExperimentTemplate", obj{"StopConditions": stop,
		"Targets": like(obj{"FailoverRole": obj{"ResourceType": "aws:iam:role", "SelectionMode": "ALL", "ResourceArns": arr{getAtt("FailoverRole", "Arn")}}}),
		"Actions": like(obj{"ThrottleEC2": like(obj{"ActionId": "aws:fis:inject-api-throttle-error",
			"Parameters": like(obj{"service": "ec2", "percentage": "50"}), "Targets": obj{"Roles": "FailoverRole"}})})})
	s.count(t, "AWS::FIS::ExperimentTemplate", nil, 3)
	// The functions keep the tag FIS looks for.
	s.count(t, tFunction, obj{"Environment": obj{"Variables": like(obj{config.EnvHolderTag: "true"})}}, 3)
	// Without a created ENI the group must be named.
	if _, err := ParseConfig(map[string]any{"fisDrills": map[string]any{}}); err == nil || !strings.Contains(err.Error(), "fisDrills.group") {
		t.Errorf("fisDrills without a group: %v", err)
	}
}

// TestGroupNamesInAnyScriptDeploy: a group name is any tag value, but
// alarm names and dimensions take ASCII only (CloudWatch "Dimension"),
// alarm names at most 255 characters, and security-group rule
// descriptions only a-zA-Z0-9. _-:/()#,@[]+=&;{}!$* (EC2
// "SecurityGroupRule"). The stack renders such names with model.SafeName,
// as the functions do in their metrics.
func TestGroupNamesInAnyScriptDeploy(t *testing.T) {
	long := strings.Repeat("ü", 200)
	s := synth(t, map[string]any{"probe": map[string]any{"vpcId": "vpc-0123456789abcdef0", "subnetIds": []any{"subnet-0123456789abcdef0"},
		"targets": map[string]any{"Lizenz München": "10.0.1.9", long: "10.0.1.10"}}})
	description := regexp.MustCompile(`^[a-zA-Z0-9. _\-:/()#,@\[\]+=&;{}!$*]*$`)
	for _, g := range []string{"Lizenz München", long} {
		safe := model.SafeName(g)
		s.has(t, tAlarm, obj{"MetricName": findings.MetricReachable, "Dimensions": arr{obj{"Name": "Group", "Value": safe}},
			"AlarmName": obj{"Fn::Join": arr{"", arr{obj{"Ref": "AWS::StackName"}, probeAlarmInfix + safe}}}})
		if len(probeAlarmInfix+safe)+128 > 255 {
			t.Errorf("alarm name of %q can pass 255 characters", g)
		}
	}
	for _, sg := range s.find(tSG, obj{"GroupDescription": matches("probe")}) {
		for _, rule := range sg["Properties"].(obj)["SecurityGroupEgress"].([]any) {
			if d, _ := rule.(obj)["Description"].(string); !description.MatchString(d) {
				t.Errorf("security-group rule description %q has characters EC2 refuses", d)
			}
		}
	}
}

// commandDocument checks that the stack's SSM document id holds the
// commands, run by the given action within the executionTimeout the
// functions pass.
func (s synthesized) commandDocument(t *testing.T, id, action string, commands ...string) {
	t.Helper()
	var found bool
	for logical, d := range s.find("AWS::SSM::Document", obj{"DocumentType": "Command"}) {
		if !strings.HasPrefix(logical, id) || strings.HasPrefix(logical, id+"Windows") && !strings.HasSuffix(id, "Windows") {
			continue
		}
		found = true
		b, _ := json.Marshal(d["Properties"].(obj)["Content"])
		var content struct {
			SchemaVersion string `json:"schemaVersion"`
			MainSteps     []struct {
				Action string
				Inputs struct {
					RunCommand     []string `json:"runCommand"`
					TimeoutSeconds string   `json:"timeoutSeconds"`
				}
			} `json:"mainSteps"`
		}
		if err := json.Unmarshal(b, &content); err != nil || content.SchemaVersion != "2.2" || len(content.MainSteps) != 1 ||
			content.MainSteps[0].Action != action || !slices.Equal(content.MainSteps[0].Inputs.RunCommand, commands) ||
			content.MainSteps[0].Inputs.TimeoutSeconds != "{{ executionTimeout }}" {
			t.Errorf("document %s: %s", logical, b)
		}
	}
	if !found {
		t.Errorf("no SSM document %s", id)
	}
}

// The FIS role's cdk-nag suppressions name each wildcard they accept
// (appliesTo), each with its reason: a new wildcard in the role is a
// finding, not hidden by a suppression of the whole rule.
func TestFISNagSuppressionsAreGranular(t *testing.T) {
	for _, ctx := range []map[string]any{fullContext(), {"fisDrills": map[string]any{"group": "mosek"}}} {
		s := synth(t, ctx)
		found := 0
		for id, r := range s.find(tPolicy, nil) {
			if !strings.HasPrefix(id, "FISDrillRole") {
				continue
			}
			meta, _ := r["Metadata"].(obj)
			nag, _ := meta["cdk_nag"].(obj)
			rules, _ := nag["rules_to_suppress"].([]any)
			for _, rule := range rules {
				rl := rule.(obj)
				applies, _ := rl["applies_to"].([]any)
				if rl["id"] == "AwsSolutions-IAM5" {
					found++
					if len(applies) != 1 || len(literal(rl["reason"])) < 40 {
						t.Errorf("suppression without a single finding or a reason: %v", rl)
					}
				}
			}
		}
		if found < 3 {
			t.Errorf("%d granular IAM5 suppressions on the FIS role", found)
		}
	}
}
