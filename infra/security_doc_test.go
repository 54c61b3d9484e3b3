package main

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The service control policy and the operator policy of docs/security.md
// are valid policy documents that close the doors the threat model says
// they close: tag writes on every resource carrying the group tag (a Null
// check, so that DeleteTags without keys is covered), new eni-failover
// keys, the probe's namespace, the stack's alarms, functions, topic and
// queue, each exempting exact role ARNs (no wildcard a look-alike role
// could match).
func TestSecurityDocPolicies(t *testing.T) {
	b, err := os.ReadFile("../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(string(b), -1)
	if len(blocks) != 2 {
		t.Fatalf("%d policy documents, want the SCP and the operator policy", len(blocks))
	}
	type statement struct {
		Sid       string
		Effect    string
		Action    any
		Resource  any
		Condition map[string]map[string]any
	}
	var policies [2]struct {
		Version   string
		Statement []statement
	}
	for i, blk := range blocks {
		if err := json.Unmarshal([]byte(blk[1]), &policies[i]); err != nil || policies[i].Version != "2012-10-17" || len(policies[i].Statement) == 0 {
			t.Fatalf("policy %d: %v", i, err)
		}
	}
	list := func(v any) []string {
		switch x := v.(type) {
		case string:
			return []string{x}
		case []any:
			var out []string
			for _, e := range x {
				out = append(out, e.(string))
			}
			return out
		}
		return nil
	}
	bySid := map[string]statement{}
	for _, st := range policies[0].Statement {
		bySid[st.Sid] = st
		if st.Effect != "Deny" {
			t.Errorf("%s: an SCP here only denies", st.Sid)
		}
		exempt := list(st.Condition["ArnNotEquals"]["aws:PrincipalArn"])
		if len(exempt) == 0 {
			t.Errorf("%s: exempts nobody by exact ARN", st.Sid)
		}
		for _, arn := range exempt {
			if strings.ContainsAny(arn, "*?") {
				t.Errorf("%s: exempts %s, a pattern a look-alike role matches", st.Sid, arn)
			}
		}
	}
	tags := bySid["NoTagWritesOnLicenseResources"]
	if a := list(tags.Action); !slices.Contains(a, "ec2:CreateTags") || !slices.Contains(a, "ec2:DeleteTags") ||
		tags.Condition["Null"]["aws:ResourceTag/eni-failover:group"] != "false" {
		t.Errorf("tag writes on license resources: %+v", tags)
	}
	if st := bySid["NoNewEniFailoverTags"]; !slices.Contains(list(st.Condition["ForAnyValue:StringLike"]["aws:TagKeys"]), "eni-failover:*") {
		t.Errorf("new eni-failover keys: %+v", st)
	}
	if st := bySid["OnlyTheProbeWritesItsMetrics"]; st.Condition["StringEquals"]["cloudwatch:namespace"] != "ENIFailover" {
		t.Errorf("the probe's namespace: %+v", st)
	}
	// EventBridge invokes as a service, which an SCP does not govern; the
	// move role asks the failover function for its DryRuns.
	if st := bySid["OnlyTheMoveRoleAsksTheFailoverFunctions"]; !slices.Contains(list(st.Action), "lambda:InvokeFunction") || len(list(st.Resource)) != 2 {
		t.Errorf("direct invocations of the failover functions: %+v", st)
	}
	// Operators reach the move function through its URL, where Lambda
	// verifies who signed.
	if st := bySid["OperatorsComeThroughTheURL"]; !slices.Contains(list(st.Action), "lambda:InvokeFunction") ||
		st.Condition["BoolIfExists"]["lambda:InvokedViaFunctionUrl"] != "false" {
		t.Errorf("direct invocations of the move function: %+v", st)
	}
	stack := bySid["NobodyElseChangesTheStack"]
	for _, a := range []string{"cloudwatch:SetAlarmState", "cloudwatch:PutMetricAlarm", "lambda:UpdateFunctionConfiguration",
		"sns:Subscribe", "sns:SetSubscriptionAttributes", "sqs:ReceiveMessage", "sqs:PurgeQueue", "ssm:UpdateDocument"} {
		if !slices.Contains(list(stack.Action), a) {
			t.Errorf("the stack's resources: %s not denied", a)
		}
	}
	for _, st := range policies[1].Statement {
		if st.Effect != "Allow" || slices.Contains(list(st.Resource), "*") {
			t.Errorf("operator policy %s: %+v", st.Sid, st)
		}
		if slices.Contains(list(st.Action), "lambda:InvokeFunction") && st.Condition["Bool"]["lambda:InvokedViaFunctionUrl"] != "true" {
			t.Errorf("operator policy %s lets an operator invoke the move function directly, where who they are is only claimed", st.Sid)
		}
	}
}
