package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// IAM accepts a statement that can never match: a condition key the action
// does not support, or a resource of a type the action does not take. moto
// checks neither (only actions), so the infra tests hold every statement
// the stack grants against this table, taken from the Service
// Authorization Reference ("Actions, resources, and condition keys for
// Amazon EC2 / AWS Systems Manager / Amazon SNS / AWS KMS / Amazon
// CloudWatch Logs / Amazon SQS / Amazon EventBridge / AWS Fault Injection Service"). An action the stack starts to grant must
// be added here, with what the reference says of it.

// actionRef is one row of an action table: the resource types it takes
// (required ones marked), and the condition keys of the action itself.
type actionRef struct {
	required, optional []string
	keys               []string
}

// resourceKeys are the condition keys of each resource type (the resource
// types tables); ${TagKey} stands for any tag key.
var resourceKeys = map[string][]string{
	"ec2:instance": {"aws:ResourceTag/${TagKey}", "ec2:ResourceTag/${TagKey}", "ec2:AvailabilityZone", "ec2:EbsOptimized",
		"ec2:InstanceID", "ec2:InstanceProfile", "ec2:InstanceType", "ec2:PlacementGroup", "ec2:ProductCode", "ec2:Region",
		"ec2:RootDeviceType", "ec2:Tenancy"},
	"ec2:network-interface": {"aws:ResourceTag/${TagKey}", "ec2:ResourceTag/${TagKey}", "ec2:AssociatePublicIpAddress",
		"ec2:AuthorizedService", "ec2:AuthorizedUser", "ec2:AvailabilityZone", "ec2:NetworkInterfaceID", "ec2:Permission",
		"ec2:Region", "ec2:Subnet", "ec2:Vpc"},
	"ec2:subnet":           {"aws:ResourceTag/${TagKey}", "ec2:ResourceTag/${TagKey}", "ec2:AvailabilityZone", "ec2:Region", "ec2:SubnetID", "ec2:Vpc"},
	"ec2:security-group":   {"aws:ResourceTag/${TagKey}", "ec2:ResourceTag/${TagKey}", "ec2:Region", "ec2:SecurityGroupID", "ec2:Vpc"},
	"ec2:vpc":              {"aws:ResourceTag/${TagKey}", "ec2:ResourceTag/${TagKey}", "ec2:Region", "ec2:Tenancy", "ec2:VpcID"},
	"ssm:document":         {"aws:ResourceTag/${TagKey}", "ssm:resourceTag/${TagKey}"},
	"ssm:instance":         {"aws:ResourceTag/${TagKey}", "ssm:resourceTag/${TagKey}"}, // EC2 instance ARNs, as SendCommand targets
	"sns:topic":            {"aws:ResourceTag/${TagKey}"},
	"sqs:queue":            {"aws:ResourceTag/${TagKey}"},
	"kms:key":              {"aws:ResourceTag/${TagKey}", "kms:KeyOrigin", "kms:KeySpec", "kms:KeyUsage", "kms:ResourceAliases"},
	"logs:log-group":       {"aws:ResourceTag/${TagKey}"},
	"logs:log-stream":      nil,
	"ssm:managed-instance": {"aws:ResourceTag/${TagKey}", "ssm:resourceTag/${TagKey}"},
	"events:event-bus":     {"aws:ResourceTag/${TagKey}"},
	"fis:experiment":       {"aws:ResourceTag/${TagKey}"},
	"events:rule":          {"aws:ResourceTag/${TagKey}", "events:creatorAccount", "events:ManagedBy"},
	"cloudwatch:alarm":     {"aws:ResourceTag/${TagKey}"},
	"lambda:function":      {"aws:ResourceTag/${TagKey}"},
}

var serviceAuthorizationReference = map[string]actionRef{
	// Describe actions take no resource: Resource must be "*".
	"ec2:DescribeInstances":         {keys: []string{"ec2:Region"}},
	"ec2:DescribeInstanceStatus":    {keys: []string{"ec2:Region"}},
	"ec2:DescribeNetworkInterfaces": {keys: []string{"ec2:Region"}},
	"ec2:DescribeSubnets":           {keys: []string{"ec2:Region"}},
	"ec2:AttachNetworkInterface":    {required: []string{"ec2:instance", "ec2:network-interface"}},
	"ec2:DetachNetworkInterface":    {required: []string{"ec2:instance", "ec2:network-interface"}},
	"ec2:ModifyNetworkInterfaceAttribute": {required: []string{"ec2:network-interface"},
		optional: []string{"ec2:instance", "ec2:security-group", "ec2:vpc"}},
	"ec2:CreateTags": {optional: []string{"ec2:instance", "ec2:network-interface", "ec2:security-group", "ec2:subnet", "ec2:vpc"},
		keys: []string{"aws:RequestTag/${TagKey}", "aws:TagKeys", "ec2:CreateAction"}},
	"ec2:StartInstances": {required: []string{"ec2:instance"}},
	"ec2:StopInstances":  {required: []string{"ec2:instance"}},
	"ec2:DeleteTags": {optional: []string{"ec2:instance", "ec2:network-interface", "ec2:security-group", "ec2:subnet", "ec2:vpc"},
		keys: []string{"aws:RequestTag/${TagKey}", "aws:TagKeys"}},
	// The FIS drill role's (the send-command action follows its command).
	"ssm:ListCommands":               {},
	"ssm:CancelCommand":              {},
	"fis:InjectApiThrottleError":     {required: []string{"fis:experiment"}, keys: []string{"fis:Operations", "fis:Percentage", "fis:Service", "fis:Targets"}},
	"ec2:CreateNetworkInterface":     {required: []string{"ec2:network-interface", "ec2:subnet"}, optional: []string{"ec2:security-group"}},
	"ec2:DeleteNetworkInterface":     {required: []string{"ec2:network-interface"}},
	"ec2:AssignPrivateIpAddresses":   {required: []string{"ec2:network-interface"}},
	"ec2:UnassignPrivateIpAddresses": {required: []string{"ec2:network-interface"}},
	"ssm:SendCommand":                {required: []string{"ssm:document"}, optional: []string{"ssm:instance", "ssm:managed-instance"}},
	"ssm:GetCommandInvocation":       {},
	// The doctor's reads.
	"ssm:DescribeInstanceInformation": {},
	"events:DescribeRule":             {required: []string{"events:rule"}, keys: []string{"events:creatorAccount"}},
	"events:TestEventPattern":         {},
	"cloudwatch:DescribeAlarms":       {optional: []string{"cloudwatch:alarm"}},
	"cloudwatch:GetMetricStatistics":  {},
	"sns:ListSubscriptionsByTopic":    {required: []string{"sns:topic"}},
	"lambda:GetFunctionConfiguration": {required: []string{"lambda:function"}},
	"lambda:GetFunctionConcurrency":   {required: []string{"lambda:function"}},
	"lambda:InvokeFunction":           {required: []string{"lambda:function"}},
	"sns:Publish":                     {required: []string{"sns:topic"}},
	"sns:Subscribe":                   {required: []string{"sns:topic"}, keys: []string{"sns:Endpoint", "sns:Protocol"}},
	"sns:AddPermission":               {required: []string{"sns:topic"}},
	"sqs:ReceiveMessage":              {required: []string{"sqs:queue"}},
	"sqs:DeleteMessage":               {required: []string{"sqs:queue"}},
	"sqs:PurgeQueue":                  {required: []string{"sqs:queue"}},
	"sqs:SendMessage":                 {required: []string{"sqs:queue"}},
	"sqs:GetQueueAttributes":          {required: []string{"sqs:queue"}},
	"sqs:GetQueueUrl":                 {required: []string{"sqs:queue"}},
	"kms:CreateGrant": {required: []string{"kms:key"}, keys: []string{"kms:CallerAccount", "kms:EncryptionContext:${TagKey}", "kms:EncryptionContextKeys",
		"kms:GrantConstraintType", "kms:GrantIsForAWSResource", "kms:GrantOperations", "kms:GranteePrincipal", "kms:RetiringPrincipal", "kms:ViaService"}},
	"kms:Decrypt":          {required: []string{"kms:key"}, keys: []string{"kms:CallerAccount", "kms:EncryptionContext:${TagKey}", "kms:EncryptionContextKeys", "kms:ViaService"}},
	"kms:GenerateDataKey*": {required: []string{"kms:key"}, keys: []string{"kms:CallerAccount", "kms:EncryptionContext:${TagKey}", "kms:EncryptionContextKeys", "kms:ViaService"}},
	"logs:CreateLogStream": {required: []string{"logs:log-group"}},
	"logs:PutLogEvents":    {required: []string{"logs:log-stream"}},
	// The probe's on-success destination puts its findings on the bus.
	"events:PutEvents": {required: []string{"events:event-bus"}, keys: []string{"events:detail-type", "events:source", "events:eventBusInvocation"}},
}

// globalKeys are the condition keys every action supports.
var globalKeys = []string{"aws:SecureTransport", "aws:SourceAccount", "aws:SourceArn", "aws:SourceIp", "aws:SourceVpc",
	"aws:PrincipalArn", "aws:PrincipalAccount", "aws:PrincipalOrgID", "aws:CurrentTime", "aws:RequestedRegion",
	"aws:ViaAWSService", "aws:CalledVia", "aws:PrincipalTag/${TagKey}"}

var tagKeyPart = regexp.MustCompile(`^((?:aws|ec2|ssm):(?:Resource|Request|Principal)Tag|ssm:resourceTag)/.+$`)

// normalKey writes a tag-bearing condition key the reference's way.
func normalKey(k string) string {
	if m := tagKeyPart.FindStringSubmatch(k); m != nil {
		return m[1] + "/${TagKey}"
	}
	return k
}

// policyProblems checks one role's statements (or a resource policy's)
// against the reference; typeOf names the resource type of an ARN.
func policyProblems(sts []statement, typeOf func(string) string, resourcePolicy bool) []string {
	var problems []string
	covered := map[string]map[string]bool{} // action -> resource types granted
	for _, st := range sts {
		for _, action := range st.actions() {
			if strings.HasSuffix(action, ":*") && resourcePolicy {
				continue // a resource policy's service-wide deny or allow on its own resource
			}
			ref, ok := serviceAuthorizationReference[action]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s (%s): not in the Service Authorization Reference table of this test; add its row", action, st.Sid))
				continue
			}
			types := map[string]bool{}
			for _, r := range st.resources() {
				if r == "*" {
					for _, t := range append(slices.Clone(ref.required), ref.optional...) {
						types[t] = true
					}
					continue
				}
				typ := typeOf(r)
				if typ == "logs:log-group" && slices.Contains(ref.required, "logs:log-stream") {
					// A log group's Arn attribute ends in ":*": it names its
					// streams too.
					typ = "logs:log-stream"
				}
				if len(ref.required)+len(ref.optional) == 0 {
					problems = append(problems, fmt.Sprintf("%s (%s): takes no resource, so Resource must be \"*\", not %s", action, st.Sid, r))
					continue
				}
				if !slices.Contains(ref.required, typ) && !slices.Contains(ref.optional, typ) {
					problems = append(problems, fmt.Sprintf("%s (%s): %s is a %q, a resource type the action does not take", action, st.Sid, r, typ))
					continue
				}
				types[typ] = true
			}
			if covered[action] == nil {
				covered[action] = map[string]bool{}
			}
			for t := range types {
				covered[action][t] = true
			}
			supported := append(slices.Clone(globalKeys), ref.keys...)
			for t := range types {
				supported = append(supported, resourceKeys[t]...)
			}
			if len(types) == 0 {
				for _, t := range append(slices.Clone(ref.required), ref.optional...) {
					supported = append(supported, resourceKeys[t]...)
				}
			}
			for op, kv := range st.Condition {
				for k := range kv {
					if !slices.Contains(supported, normalKey(k)) {
						problems = append(problems, fmt.Sprintf("%s (%s): condition %s on %s, a key neither the action nor its resources support: the statement never matches", action, st.Sid, op, k))
					}
				}
			}
		}
	}
	if !resourcePolicy {
		actions := make([]string, 0, len(covered))
		for a := range covered {
			actions = append(actions, a)
		}
		sort.Strings(actions)
		for _, a := range actions {
			for _, t := range serviceAuthorizationReference[a].required {
				if !covered[a][t] {
					problems = append(problems, fmt.Sprintf("%s: no statement grants its required resource type %s, so every call is denied", a, t))
				}
			}
		}
	}
	return problems
}

// arnType names the resource type of a literal ARN from the template:
// "service:type", with the type of an intrinsic's target resolved through
// the template's resource types.
func (s synthesized) arnType(r string) string {
	r = pseudo.Replace(r)
	if strings.HasPrefix(r, "${") && strings.Contains(r, ":log-stream:") {
		return "logs:log-stream" // ${LogGroup.Arn}:log-stream:*
	}
	if strings.HasPrefix(r, "${") {
		// ${Logical.Arn} or ${Logical}: the type of that resource.
		id, _, _ := strings.Cut(strings.Trim(r, "${}"), ".")
		for _, typ := range []struct{ cfn, ref string }{
			{"AWS::SNS::Topic", "sns:topic"}, {"AWS::SQS::Queue", "sqs:queue"}, {"AWS::KMS::Key", "kms:key"}, {"AWS::Logs::LogGroup", "logs:log-group"},
			{"AWS::Events::EventBus", "events:event-bus"}, {"AWS::Events::Rule", "events:rule"}, {"AWS::Lambda::Function", "lambda:function"},
		} {
			if _, ok := s.find(typ.cfn, nil)[id]; ok {
				return typ.ref
			}
		}
		return "unknown:" + r
	}
	parts := strings.SplitN(r, ":", 6)
	if len(parts) < 6 {
		return "unknown:" + r
	}
	service, res := parts[2], parts[5]
	switch {
	case service == "logs" && strings.Contains(res, ":log-stream:"):
		return "logs:log-stream"
	case service == "logs" && strings.HasPrefix(res, "log-group:") && strings.HasSuffix(res, ":*"):
		// A log group's streams: the pattern names log-stream ARNs.
		return "logs:log-stream"
	}
	typ, _, _ := strings.Cut(res, "/")
	typ, _, _ = strings.Cut(typ, ":")
	return service + ":" + typ
}

var pseudo = strings.NewReplacer("${AWS::Partition}", "aws", "${AWS::Region}", "us-east-1", "${AWS::AccountId}", "123456789012")

func TestEveryStatementCanMatchInAWS(t *testing.T) {
	for name, ctx := range map[string]map[string]any{"defaults": nil, "everything": fullContext(),
		"imported": {"licenseEni": map[string]any{"importId": "eni-0f1e2d3c4b5a69788"}}} {
		t.Run(name, func(t *testing.T) {
			s := synth(t, ctx)
			roles := map[string][]statement{}
			for id, p := range s.find(tPolicy, nil) {
				role, _, _ := strings.Cut(id, "DefaultPolicy")
				roles[role] = append(roles[role], docStatements(t, p["Properties"].(obj)["PolicyDocument"])...)
			}
			if len(roles) < 2 {
				t.Fatalf("found the policies of %d roles", len(roles))
			}
			typeOf := s.arnType
			for role, sts := range roles {
				for _, p := range policyProblems(ssmInstances(sts), typeOf, false) {
					t.Errorf("%s: %s", role, p)
				}
			}
			for _, typ := range []string{"AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"} {
				for id, r := range s.find(typ, nil) {
					for _, p := range policyProblems(docStatements(t, r["Properties"].(obj)["PolicyDocument"]), typeOf, true) {
						t.Errorf("%s: %s", id, p)
					}
				}
			}
			for id, r := range s.find("AWS::KMS::Key", nil) {
				for _, p := range policyProblems(docStatements(t, r["Properties"].(obj)["KeyPolicy"]), typeOf, true) {
					t.Errorf("%s: %s", id, p)
				}
			}
		})
	}
}

// ssmInstances renames, for ssm:SendCommand, EC2 instance ARNs to SSM's
// resource type "instance" (the same ARN, listed under Systems Manager).
func ssmInstances(sts []statement) []statement {
	out := make([]statement, 0, len(sts))
	for _, st := range sts {
		if slices.Equal(st.actions(), []string{"ssm:SendCommand"}) {
			var rs []any
			for _, r := range st.resources() {
				rs = append(rs, strings.Replace(r, ":ec2:", ":ssm:", 1))
			}
			st.Resource = rs
		}
		out = append(out, st)
	}
	return out
}

func docStatements(t *testing.T, doc any) []statement {
	t.Helper()
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var d struct{ Statement []statement }
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d.Statement
}

// TestPolicyCheckFindsStatementsThatNeverMatch shows the check failing:
// IAM accepts each of these, and none would ever allow anything.
func TestPolicyCheckFindsStatementsThatNeverMatch(t *testing.T) {
	typeOf := func(r string) string { return synthesized{}.arnType(r) }
	for name, tc := range map[string]struct {
		st   statement
		want string
	}{
		"tag condition on a Describe": {statement{Sid: "S", Effect: "Allow", Action: "ec2:DescribeInstances", Resource: "*",
			Condition: map[string]map[string]any{"StringLike": {"ec2:ResourceTag/eni-failover:group": "?*"}}}, "never matches"},
		"SSM's tag key on an EC2 action": {statement{Sid: "S", Effect: "Allow", Action: "ec2:AttachNetworkInterface",
			Resource:  []any{("arn:aws:ec2:us-east-1:123456789012:instance/*"), ("arn:aws:ec2:us-east-1:123456789012:network-interface/*")},
			Condition: map[string]map[string]any{"StringLike": {"ssm:resourceTag/eni-failover:group": "?*"}}}, "never matches"},
		"a resource type the action does not take": {statement{Sid: "S", Effect: "Allow", Action: "ec2:StartInstances",
			Resource: ("arn:aws:ec2:us-east-1:123456789012:network-interface/*")}, "does not take"},
		"a required resource type missing": {statement{Sid: "S", Effect: "Allow", Action: "ec2:AttachNetworkInterface",
			Resource: ("arn:aws:ec2:us-east-1:123456789012:network-interface/*")}, "required resource type ec2:instance"},
		"a resource on an action without resources": {statement{Sid: "S", Effect: "Allow", Action: "ec2:DescribeInstances",
			Resource: ("arn:aws:ec2:us-east-1:123456789012:instance/*")}, `Resource must be "*"`},
	} {
		t.Run(name, func(t *testing.T) {
			problems := policyProblems([]statement{tc.st}, typeOf, false)
			if !strings.Contains(strings.Join(problems, "\n"), tc.want) {
				t.Fatalf("problems %q, want one saying %q", problems, tc.want)
			}
		})
	}
}

// TestEveryAlarmActionCanPublish: CloudFormation replaces SNS's default
// topic policy, so each topic an alarm notifies must allow CloudWatch to
// publish, or every alarm action fails (Amazon SNS Developer Guide, "Enable
// compatibility between event sources from AWS services and encrypted
// topics").
func TestEveryAlarmActionCanPublish(t *testing.T) {
	s := synth(t, fullContext())
	allowed := map[string]bool{}
	for _, p := range s.find("AWS::SNS::TopicPolicy", nil) {
		props := p["Properties"].(obj)
		for _, st := range docStatements(t, props["PolicyDocument"]) {
			if st.Effect != "Allow" || !slices.Contains(st.actions(), "sns:Publish") || !strings.Contains(literal(st.Principal), "cloudwatch.amazonaws.com") {
				continue
			}
			for _, topic := range props["Topics"].([]any) {
				allowed[literal(topic)] = true
			}
		}
	}
	alarms := s.find("AWS::CloudWatch::Alarm", nil)
	if len(alarms) == 0 {
		t.Fatal("no alarms")
	}
	for id, a := range alarms {
		actions, _ := a["Properties"].(obj)["AlarmActions"].([]any)
		for _, act := range actions {
			if !allowed[literal(act)] {
				t.Errorf("alarm %s notifies %s, whose policy does not let cloudwatch.amazonaws.com publish", id, literal(act))
			}
		}
	}
}

// e2eActions is where the end-to-end tier reads the actions each
// function's role is granted: its users in moto carry exactly these.
const e2eActions = "../internal/testkit/e2e/testdata/iam-actions.json"

// TestE2EUsersCarryTheStacksActions keeps that file equal to what the stack
// grants (with activation and notifications, as the e2e functions run).
// UPDATE_E2E_ACTIONS=1 rewrites it.
func TestE2EUsersCarryTheStacksActions(t *testing.T) {
	s := synth(t, fullContext())
	want := map[string][]string{}
	for id, p := range s.find(tPolicy, nil) {
		role, _, _ := strings.Cut(id, "Role")
		fn := strings.ToLower(role)
		for _, st := range docStatements(t, p["Properties"].(obj)["PolicyDocument"]) {
			if st.Effect != "Allow" {
				continue // denies carry conditions, which moto cannot evaluate
			}
			for _, a := range st.actions() {
				if !slices.Contains(want[fn], a) {
					want[fn] = append(want[fn], a)
				}
			}
		}
	}
	for fn := range want {
		sort.Strings(want[fn])
	}
	b, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	if os.Getenv("UPDATE_E2E_ACTIONS") != "" {
		if err := os.WriteFile(e2eActions, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(e2eActions)
	if err != nil || !bytes.Equal(have, b) {
		t.Fatalf("%s differs from the stack's grants (err %v); run UPDATE_E2E_ACTIONS=1 go test -run TestE2EUsersCarryTheStacksActions ./infra/\nwant:\n%s", e2eActions, err, b)
	}
}
