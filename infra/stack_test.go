package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// resources returns the template's resources of one type, by logical id.
func (s synthesized) resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range s.json["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

func props(r map[string]any) map[string]any { return r["Properties"].(map[string]any) }

// js renders any template fragment as JSON, for substring checks on
// intrinsic-laden values.
func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func firstWithPrefix(m map[string]map[string]any, prefix string) string {
	for id := range m {
		if strings.HasPrefix(id, prefix) {
			return id
		}
	}
	return ""
}

func functionsByName(s synthesized) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range s.resources("AWS::Lambda::Function") {
		switch {
		case strings.HasPrefix(id, "Failover"):
			out["failover"] = r
		case strings.HasPrefix(id, "Move"):
			out["move"] = r
		}
	}
	return out
}

func TestFunctions(t *testing.T) {
	s := synth(t, nil)
	fns := functionsByName(s)
	if len(fns) != 2 || len(s.resources("AWS::Lambda::Function")) != 2 {
		t.Fatalf("functions %v", fns)
	}
	for name, fn := range fns {
		p := props(fn)
		if p["Runtime"] != "provided.al2023" || js(p["Architectures"]) != `["arm64"]` || p["Handler"] != "bootstrap" ||
			p["MemorySize"] != 128.0 || p["Timeout"] != 60.0 {
			t.Errorf("%s: %s", name, js(p))
		}
		if !strings.Contains(js(p["LoggingConfig"]), `"LogFormat":"JSON"`) || !strings.Contains(js(p["LoggingConfig"]), `"LogGroup"`) {
			t.Errorf("%s logging %s", name, js(p["LoggingConfig"]))
		}
		env := js(p["Environment"])
		for _, v := range []string{"ENI_FAILOVER_TAG_PREFIX", "NOTIFY_TOPIC_ARN", "HEALTH_EVENT_ACTION", "ALLOW_START_STOPPED", "COOLDOWN", "METRICS_NAMESPACE"} {
			if !strings.Contains(env, v) {
				t.Errorf("%s lacks %s: %s", name, v, env)
			}
		}
		if !strings.Contains(js(fn["DependsOn"]), "DefaultPolicy") {
			t.Errorf("%s DependsOn %s", name, js(fn["DependsOn"]))
		}
	}
	if props(fns["failover"])["ReservedConcurrentExecutions"] != 1.0 {
		t.Errorf("failover reserved concurrency %v", props(fns["failover"])["ReservedConcurrentExecutions"])
	}
	if _, ok := props(fns["move"])["ReservedConcurrentExecutions"]; ok {
		t.Error("move function has reserved concurrency")
	}
	cfgs := s.resources("AWS::Lambda::EventInvokeConfig")
	if len(cfgs) != 1 {
		t.Fatalf("event invoke configs %v", cfgs)
	}
	for _, c := range cfgs {
		p := props(c)
		if p["MaximumRetryAttempts"] != 2.0 || p["MaximumEventAgeInSeconds"] != 900.0 || !strings.Contains(js(p["DestinationConfig"]), "FailedEvents") {
			t.Errorf("event invoke config %s", js(p))
		}
	}
	logs := s.resources("AWS::Logs::LogGroup")
	if len(logs) != 2 {
		t.Fatalf("log groups %d", len(logs))
	}
	for id, l := range logs {
		if props(l)["RetentionInDays"] != 90.0 {
			t.Errorf("%s retention %v", id, props(l)["RetentionInDays"])
		}
	}
}

func TestQueueAndTopic(t *testing.T) {
	s := synth(t, fullContext())
	for _, q := range s.resources("AWS::SQS::Queue") {
		if props(q)["SqsManagedSseEnabled"] != true {
			t.Errorf("queue not encrypted: %s", js(props(q)))
		}
	}
	for _, p := range s.resources("AWS::SQS::QueuePolicy") {
		doc := js(props(p)["PolicyDocument"])
		if !strings.Contains(doc, `"aws:SecureTransport":"false"`) || !strings.Contains(doc, "events.amazonaws.com") {
			t.Errorf("queue policy %s", doc)
		}
	}
	topics := s.resources("AWS::SNS::Topic")
	for _, tp := range topics {
		if props(tp)["KmsMasterKeyId"] == nil {
			t.Errorf("topic not encrypted")
		}
	}
	for _, p := range s.resources("AWS::SNS::TopicPolicy") {
		if !strings.Contains(js(props(p)["PolicyDocument"]), `"aws:SecureTransport":"false"`) {
			t.Errorf("topic policy does not enforce SSL: %s", js(props(p)))
		}
	}
	subs := s.resources("AWS::SNS::Subscription")
	if len(subs) != 1 || !strings.Contains(js(subs), "license-admins@example.com") {
		t.Errorf("subscriptions %s", js(subs))
	}
	for _, k := range s.resources("AWS::KMS::Key") {
		if props(k)["EnableKeyRotation"] != true || !strings.Contains(js(props(k)["KeyPolicy"]), "cloudwatch.amazonaws.com") {
			t.Errorf("key %s", js(props(k)))
		}
	}
	if len(synth(t, nil).resources("AWS::SNS::Subscription")) != 0 {
		t.Error("subscription without notifyEmail")
	}
}

func TestRules(t *testing.T) {
	s := synth(t, fullContext())
	rules := s.resources("AWS::Events::Rule")
	delete(rules, firstWithPrefix(rules, "ProbeSchedule")) // tested with the probe
	if len(rules) != 5 {
		t.Fatalf("%d rules", len(rules))
	}
	byKind := map[string]string{}
	for id, r := range rules {
		p := props(r)
		byKind[id[:len(id)-8]] = js(p) // drop CDK's 8-character hash
		targets := js(p["Targets"])
		if !strings.Contains(targets, "Failover") || !strings.Contains(targets, "DeadLetterConfig") || !strings.Contains(targets, `"MaximumRetryAttempts":4`) {
			t.Errorf("%s targets %s", id, targets)
		}
	}
	want := map[string][]string{
		"InstanceStateChange": {`"source":["aws.ec2"]`, "EC2 Instance State-change Notification", `"stopping"`, `"terminated"`, `"running"`, `"instance-id":["i-0123456789abcdef0","i-0bbbbbbbbbbbbbbb2"]`},
		"SpotAndRebalance":    {"EC2 Spot Instance Interruption Warning", "EC2 Instance Rebalance Recommendation"},
		"HealthEC2":           {`"source":["aws.health"]`, `"service":["EC2"]`},
		"AlarmState":          {`"source":["aws.cloudwatch"]`, `"value":["ALARM"]`, `"prefix"`, `-status-`, `-probe-`},
		"Reconcile":           {`"ScheduleExpression":"rate(5 minutes)"`},
	}
	for kind, subs := range want {
		got, ok := byKind[kind]
		if !ok {
			t.Errorf("no %s rule among %v", kind, byKind)
			continue
		}
		for _, sub := range subs {
			if !strings.Contains(got, sub) {
				t.Errorf("%s rule lacks %s: %s", kind, sub, got)
			}
		}
	}
	// Without configured instances the state-change rule is not scoped.
	for id, r := range synth(t, nil).resources("AWS::Events::Rule") {
		if strings.HasPrefix(id, "InstanceStateChange") && strings.Contains(js(r), "instance-id") {
			t.Errorf("unscoped rule expected: %s", js(r))
		}
	}
}

func TestAlarmsAndDashboard(t *testing.T) {
	s := synth(t, fullContext())
	alarms := s.resources("AWS::CloudWatch::Alarm")
	status, other := 0, map[string]bool{}
	for id, a := range alarms {
		p := props(a)
		if !strings.Contains(js(p["AlarmActions"]), "Notifications") {
			t.Errorf("%s does not notify: %s", id, js(p))
		}
		if p["MetricName"] == "StatusCheckFailed" {
			status++
			if !strings.Contains(js(p["Dimensions"]), "InstanceId") || !strings.Contains(js(p["AlarmName"]), "-status-i-") {
				t.Errorf("status alarm %s", js(p))
			}
			continue
		}
		other[id[:len(id)-8]] = true
	}
	if status != 2 {
		t.Errorf("%d status-check alarms, want 2", status)
	}
	for _, want := range []string{"FailoverErrors", "MoveErrors", "FailedEventsQueued", "FailedMoves"} {
		if !other[want] {
			t.Errorf("no %s alarm among %v", want, other)
		}
	}
	dash := s.resources("AWS::CloudWatch::Dashboard")
	if len(dash) != 1 {
		t.Fatalf("dashboards %d", len(dash))
	}
	body := js(dash)
	for _, m := range []string{"Moves", "Failures", "MoveDuration", "Errors", "ApproximateNumberOfMessagesVisible"} {
		if !strings.Contains(body, m) {
			t.Errorf("dashboard lacks %s", m)
		}
	}
}

func TestLeastPrivilege(t *testing.T) {
	for name, tc := range map[string]struct {
		ctx         map[string]any
		start       bool
		instanceArn string
		eniArn      string
	}{
		"defaults":   {nil, false, ":instance/*", ":network-interface/*"},
		"everything": {fullContext(), true, ":instance/i-0123456789abcdef0", `{"Ref":"LicenseENI"}`},
		"imported":   {map[string]any{"licenseEni": map[string]any{"importId": "eni-0f1e2d3c4b5a69788"}}, false, ":instance/*", ":network-interface/eni-0f1e2d3c4b5a69788"},
	} {
		t.Run(name, func(t *testing.T) {
			s := synth(t, tc.ctx)
			for id, r := range s.resources("AWS::IAM::Role") {
				if _, ok := props(r)["ManagedPolicyArns"]; ok {
					t.Errorf("%s uses managed policies", id)
				}
			}
			policies := s.resources("AWS::IAM::Policy")
			delete(policies, firstWithPrefix(policies, "ProbeRole")) // tested with the probe
			if len(policies) != 2 {
				t.Fatalf("%d policies", len(policies))
			}
			for id, p := range policies {
				var doc struct {
					Statement []struct {
						Sid       string
						Effect    string
						Action    any
						Resource  any
						Condition map[string]map[string]any
					}
				}
				if err := json.Unmarshal([]byte(js(props(p)["PolicyDocument"])), &doc); err != nil {
					t.Fatal(err)
				}
				sids := map[string]bool{}
				for _, st := range doc.Statement {
					sids[st.Sid] = true
					actions := js(st.Action)
					mutating := strings.Contains(actions, "Attach") || strings.Contains(actions, "Detach") ||
						strings.Contains(actions, "Modify") || strings.Contains(actions, "CreateTags") || strings.Contains(actions, "StartInstances")
					if strings.Contains(actions, "ec2:Describe") && js(st.Resource) != `"*"` {
						t.Errorf("%s: describe on %s", id, js(st.Resource))
					}
					if mutating {
						if js(st.Resource) == `"*"` {
							t.Errorf("%s: %s on *", id, actions)
						}
						if !strings.Contains(js(st.Condition), `"ec2:ResourceTag/eni-failover:group":"?*"`) {
							t.Errorf("%s: %s without the group-tag condition: %s", id, actions, js(st.Condition))
						}
						if !strings.Contains(actions, "StartInstances") && !strings.Contains(js(st.Resource), tc.eniArn) {
							t.Errorf("%s: %s not scoped to %s: %s", id, actions, tc.eniArn, js(st.Resource))
						}
					}
					if strings.Contains(actions, "AttachNetworkInterface") && !strings.Contains(js(st.Resource), tc.instanceArn) {
						t.Errorf("%s: attach not scoped to %s: %s", id, tc.instanceArn, js(st.Resource))
					}
					if strings.Contains(actions, "CreateTags") && !strings.Contains(js(st.Condition), `"aws:TagKeys":["eni-failover:*"]`) {
						t.Errorf("%s: CreateTags not limited to journal keys: %s", id, js(st.Condition))
					}
					if strings.Contains(actions, "sns:Publish") && !strings.Contains(js(st.Resource), "Notifications") {
						t.Errorf("%s: publish on %s", id, js(st.Resource))
					}
				}
				for _, sid := range []string{"ReadGroups", "MoveTaggedENI", "WriteJournalTags", "WriteOwnLogs"} {
					if !sids[sid] {
						t.Errorf("%s lacks statement %s", id, sid)
					}
				}
				if sids["StartTaggedStandby"] != tc.start {
					t.Errorf("%s: StartInstances granted=%v, want %v", id, sids["StartTaggedStandby"], tc.start)
				}
			}
		})
	}
}

func TestLicenseENIRecipe(t *testing.T) {
	s := synth(t, fullContext())
	enis := s.resources("AWS::EC2::NetworkInterface")
	if len(enis) != 1 {
		t.Fatalf("%d ENIs", len(enis))
	}
	for _, e := range enis {
		if e["DeletionPolicy"] != "Retain" || e["UpdateReplacePolicy"] != "Retain" {
			t.Errorf("ENI not retained: %s", js(e))
		}
		if !strings.Contains(js(props(e)["Tags"]), `{"Key":"eni-failover:group","Value":"mosek"}`) || props(e)["SubnetId"] != "subnet-0123456789abcdef0" {
			t.Errorf("ENI %s", js(props(e)))
		}
	}
	if len(s.resources("AWS::EC2::EIP")) != 1 || len(s.resources("AWS::EC2::EIPAssociation")) != 1 {
		t.Error("no Elastic IP on the ENI")
	}
	for id, sg := range s.resources("AWS::EC2::SecurityGroup") {
		if !strings.HasPrefix(id, "LicenseSecurityGroup") {
			continue
		}
		in := js(props(sg)["SecurityGroupIngress"])
		for _, want := range []string{`"CidrIp":"10.0.0.0/16","Description":"license token server port 27007","FromPort":27007`,
			`"FromPort":27008`, `"CidrIp":"192.168.10.0/24"`} {
			if !strings.Contains(in, want) {
				t.Errorf("ingress lacks %s: %s", want, in)
			}
		}
		if strings.Contains(in, "0.0.0.0/0") {
			t.Errorf("ingress open to the world: %s", in)
		}
	}
	if outs := js(s.json["Outputs"]); !strings.Contains(outs, "LicenseENIId") {
		t.Errorf("outputs %s", outs)
	}
	imported := synth(t, map[string]any{"licenseEni": map[string]any{"importId": "eni-0f1e2d3c4b5a69788"}})
	if len(imported.resources("AWS::EC2::NetworkInterface")) != 0 || !strings.Contains(js(imported.json["Outputs"]), "eni-0f1e2d3c4b5a69788") {
		t.Error("imported ENI created or not output")
	}
}

func TestOutputs(t *testing.T) {
	outs := js(synth(t, nil).json["Outputs"])
	for _, o := range []string{"FailoverFunctionName", "MoveFunctionName", "NotificationTopicArn", "FailedEventsQueueUrl", "StatusCommand", "aws lambda invoke"} {
		if !strings.Contains(outs, o) {
			t.Errorf("outputs lack %s: %s", o, outs)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	if _, err := ParseConfig(nil); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if c, err := ParseConfig(`{"reconcileMinutes": 2}`); err != nil || c.ReconcileMinutes != 2 {
		t.Fatalf("string context: %+v %v", c, err)
	}
	bad := map[string]any{
		"instanceIds":       []any{"i-123", "i-0123456789abcdef0", "i-0123456789abcdef0"},
		"notifyEmail":       "not-an-address",
		"reconcileMinutes":  0.5,
		"healthEventAction": "panic",
		"logRetentionDays":  42,
		"tagPrefix":         "aws:x",
	}
	_, err := ParseConfig(bad)
	if err == nil {
		t.Fatal("no error")
	}
	for name, v := range map[string]any{
		"unknown key":            map[string]any{"instances": []any{}},
		"both import and create": map[string]any{"licenseEni": map[string]any{"importId": "eni-0f1e2d3c4b5a69788", "create": map[string]any{}}},
		"bad create":             map[string]any{"licenseEni": map[string]any{"create": map[string]any{"group": "g", "vpcId": "v", "subnetId": "s", "allowedCidrs": []any{"0.0.0.0/0", "nope"}, "ports": []any{0}}}},
		"bad import":             map[string]any{"licenseEni": map[string]any{"importId": "eni-x"}},
	} {
		if _, err := ParseConfig(v); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	c := map[string]any{"instanceIds": []any{"i-123"}, "notifyEmail": "x", "healthEventAction": "panic", "logRetentionDays": 42.0, "tagPrefix": "aws:x", "reconcileMinutes": 99.0}
	_, err = ParseConfig(c)
	for _, want := range []string{"i-123", "notifyEmail", "healthEventAction", "logRetentionDays", "tagPrefix", "reconcileMinutes"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
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
	s := synth(t, ctx)
	if n := len(s.resources("AWS::Lambda::Function")); n != 3 {
		t.Fatalf("example synthesized %d functions, want failover, move and probe", n)
	}
}

func TestActivationAndProbe(t *testing.T) {
	s := synth(t, fullContext())
	fns := functionsByName(s)
	for name, fn := range fns {
		p := props(fn)
		env := js(p["Environment"])
		if !strings.Contains(env, `"ACTIVATION_COMMANDS":"systemctl restart lmgrd\nsleep 3; ss -ltn | grep -q ':27007 '"`) || !strings.Contains(env, `"ACTIVATION_TIMEOUT":"60s"`) {
			t.Errorf("%s env %s", name, env)
		}
		if p["Timeout"] != 120.0 {
			t.Errorf("%s timeout %v: the move and the activation must fit", name, p["Timeout"])
		}
	}
	for id, pol := range s.resources("AWS::IAM::Policy") {
		doc := js(props(pol)["PolicyDocument"])
		if strings.HasPrefix(id, "Probe") {
			if strings.Contains(doc, "ssm:") || strings.Contains(doc, "AttachNetworkInterface") {
				t.Errorf("the probe may do more than probe: %s", doc)
			}
			continue
		}
		for _, want := range []string{`"ssm:SendCommand"`, `document/AWS-RunShellScript`, `"ssm:resourceTag/eni-failover:group":"?*"`, `"ssm:GetCommandInvocation"`} {
			if !strings.Contains(doc, want) {
				t.Errorf("%s lacks %s: %s", id, want, doc)
			}
		}
	}
	var probe map[string]any
	for id, r := range s.resources("AWS::Lambda::Function") {
		if strings.HasPrefix(id, "Probe") {
			probe = r
		}
	}
	if probe == nil {
		t.Fatal("no probe function")
	}
	p := props(probe)
	vpc := js(p["VpcConfig"])
	if !strings.Contains(vpc, "subnet-0123456789abcdef1") || !strings.Contains(vpc, "ProbeSecurityGroup") || p["Runtime"] != "provided.al2023" {
		t.Errorf("probe %s", js(p))
	}
	env := js(p["Environment"])
	for _, want := range []string{`"PROBE_PORTS":"27007,27008"`, `"PROBE_TIMEOUT":"2000ms"`, "matlab=", "mosek=", "PrimaryPrivateIpAddress"} {
		if !strings.Contains(env, want) {
			t.Errorf("probe env lacks %s: %s", want, env)
		}
	}
	for id, sg := range s.resources("AWS::EC2::SecurityGroup") {
		if strings.HasPrefix(id, "ProbeSecurityGroup") {
			eg := js(props(sg)["SecurityGroupEgress"])
			if !strings.Contains(eg, `"10.0.2.40/32"`) || !strings.Contains(eg, `"FromPort":27008`) || strings.Contains(eg, "0.0.0.0/0") {
				t.Errorf("probe egress %s", eg)
			}
		}
	}
	if ing := s.resources("AWS::EC2::SecurityGroupIngress"); len(ing) != 2 || !strings.Contains(js(ing), "SourceSecurityGroupId") {
		t.Errorf("license ENI ingress from the probe: %s", js(ing))
	}
	alarms := 0
	for _, a := range s.resources("AWS::CloudWatch::Alarm") {
		ap := props(a)
		if ap["MetricName"] != "LicensePortReachable" {
			continue
		}
		alarms++
		if ap["ComparisonOperator"] != "LessThanThreshold" || ap["DatapointsToAlarm"] != 2.0 || ap["EvaluationPeriods"] != 3.0 ||
			ap["TreatMissingData"] != "notBreaching" || !strings.Contains(js(ap["AlarmName"]), "-probe-") || !strings.Contains(js(ap["Dimensions"]), "Group") {
			t.Errorf("probe alarm %s", js(ap))
		}
	}
	if alarms != 2 {
		t.Errorf("%d probe alarms, want 2 (mosek, matlab)", alarms)
	}
	schedules := 0
	for _, r := range s.resources("AWS::Events::Rule") {
		if strings.Contains(js(r), "rate(1 minute)") && strings.Contains(js(r), "Probe") {
			schedules++
		}
	}
	if schedules != 1 {
		t.Errorf("probe schedule rules: %d", schedules)
	}
}

func TestProbeConfigValidation(t *testing.T) {
	_, err := ParseConfig(map[string]any{"probe": map[string]any{"vpcId": "vpc-1", "subnetIds": []any{"x"}, "targets": map[string]any{"g": "nowhere"},
		"datapointsToAlarm": 5.0, "evaluationPeriods": 3.0}})
	for _, want := range []string{"vpcId", "subnetIds", "nowhere", "datapointsToAlarm"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s: %v", want, err)
		}
	}
	if _, err := ParseConfig(map[string]any{"activationCommands": []any{"a\nb"}}); err == nil {
		t.Error("multi-line activation command accepted")
	}
}
