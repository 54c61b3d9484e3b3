package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"
	"github.com/eni-failover/eni-failover/internal/config"
)

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
	c := map[string]any{"instanceIds": []any{"i-123"}, "notifyEmail": "x", "healthEventAction": "panic", "logRetentionDays": 42.0, "tagPrefix": "aws:x", "reconcileMinutes": 99.0,
		"healthLeadMinutes": 2.0, "failoverConcurrency": 1.0}
	_, err = ParseConfig(c)
	for _, want := range []string{"i-123", "notifyEmail", "healthEventAction", "logRetentionDays", "tagPrefix", "reconcileMinutes", "healthLeadMinutes 2", "failoverConcurrency 1"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
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
	_, err = ParseConfig(map[string]any{"maxAutomaticMovesPerHour": 11.0, "probe": map[string]any{"vpcId": "vpc-0123456789abcdef0",
		"subnetIds": []any{"subnet-0123456789abcdef0"}, "targets": map[string]any{"g": "10.0.1.9"}, "scheduleMinutes": 15.0,
		"intervalSeconds": 3.0, "timeoutMillis": 2000.0, "confirmations": -1.0, "witnesses": []any{"10.0.0.2"}, "check": "deep"}})
	for _, want := range []string{"maxAutomaticMovesPerHour 11", "scheduleMinutes 15", "timeoutMillis 2000 is more than half of intervalSeconds 3",
		"confirmations -1", `"10.0.0.2" is not an IPv4 ip:port`, `check "deep"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s: %v", want, err)
		}
	}
	c, err := ParseConfig(map[string]any{"maxAutomaticMovesPerHour": 0.0})
	if err != nil || *c.MaxAutomaticMovesPerHour != 0 {
		t.Errorf("no cap: %v %v", c.MaxAutomaticMovesPerHour, err)
	}
}

// TestProbedGroupNamesFitProbeTargets: any tag value may name a group, but
// a probed group's name travels in PROBE_TARGETS ("group=ip,...").
func TestProbedGroupNamesFitProbeTargets(t *testing.T) {
	probe := func(targets map[string]any) map[string]any {
		return map[string]any{"probe": map[string]any{"vpcId": "vpc-0123456789abcdef0", "subnetIds": []any{"subnet-0123456789abcdef0"}, "targets": targets}}
	}
	if _, err := ParseConfig(probe(map[string]any{"R&D (prod) #1": "10.0.1.9"})); err != nil {
		t.Errorf("a group named like any tag value: %v", err)
	}
	for _, g := range []string{"a,b", "a=b"} {
		if _, err := ParseConfig(probe(map[string]any{g: "10.0.1.9"})); err == nil || !strings.Contains(err.Error(), g) {
			t.Errorf("group %q: %v", g, err)
		}
	}
}

// TestCommandLineContextMergesOverCDKJSON: the README's
// -c eniFailover='{"instanceIds":[...]}' arrives as a string and, taken as
// is, replaced cdk.json's whole object (47 resources became 31).
func TestCommandLineContextMergesOverCDKJSON(t *testing.T) {
	cdkJSON, err := os.ReadFile("../cdk.json")
	if err != nil {
		t.Fatal(err)
	}
	raw, note, err := MergeOverCDKJSON(`{"instanceIds":["i-0aaaaaaaaaaaaaaa1"],"probe":{"timeoutMillis":500},"notifyEmail":null}`, cdkJSON)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig(raw)
	if err != nil {
		t.Fatalf("merged configuration refused: %v", err)
	}
	if !slices.Equal(c.InstanceIDs, []string{"i-0aaaaaaaaaaaaaaa1"}) {
		t.Errorf("instanceIds %v: the command line's list replaces cdk.json's", c.InstanceIDs)
	}
	if c.LicenseENI == nil || c.LicenseENI.Create == nil || c.LicenseENI.Create.Group != "mosek" || len(c.ActivationCommands) == 0 {
		t.Errorf("cdk.json's license ENI or activation were dropped: %+v", c)
	}
	if c.Probe == nil || c.Probe.TimeoutMillis != 500 || c.Probe.VPCID != "vpc-0123456789abcdef0" {
		t.Errorf("probe %+v: objects merge key by key", c.Probe)
	}
	if c.NotifyEmail != "" {
		t.Errorf("notifyEmail %q: null removes a key", c.NotifyEmail)
	}
	if !strings.Contains(note, "instanceIds") || !strings.Contains(note, "cdk.json") {
		t.Errorf("note %q does not say what was merged", note)
	}
	// An empty object is a value: {"fisDrills":{}} turns the drills on
	// (RFC 7386 merges it over nothing as an empty object, not null).
	raw, _, err = MergeOverCDKJSON(`{"fisDrills":{}}`, cdkJSON)
	if c, perr := ParseConfig(raw); err != nil || perr != nil || c.FISDrills == nil || c.FISDrills.Group != "mosek" {
		t.Errorf("fisDrills {} merged to %+v (%v, %v)", c.FISDrills, err, perr)
	}
	for _, bad := range []string{`{"instanceIds":[],"instanceIds":["i-0aaaaaaaaaaaaaaa1"]}`, `["i-0aaaaaaaaaaaaaaa1"]`, `{"x":1}}`} {
		if _, _, err := MergeOverCDKJSON(bad, cdkJSON); err == nil {
			t.Errorf("-c %s accepted", bad)
		}
	}
	// From cdk.json alone (an object, not a string) nothing is merged.
	if raw, note, _ := MergeOverCDKJSON(map[string]any{"reconcileMinutes": 2.0}, cdkJSON); note != "" || raw.(map[string]any)["licenseEni"] != nil {
		t.Errorf("an object context was merged: %v %q", raw, note)
	}
}

// TestConfigRulesAWSWouldNotCatch: keys in another case, a CIDR of any
// address with prefix /0, a probe on other ports or in another VPC than
// the created ENI; all reported at once.
func TestConfigRulesAWSWouldNotCatch(t *testing.T) {
	create := map[string]any{"group": "mosek", "vpcId": "vpc-0123456789abcdef0", "subnetId": "subnet-0123456789abcdef0",
		"ports": []any{27007.0, 27008.0}, "allowedCidrs": []any{"10.0.0.0/16", "10.1.2.3/0"}}
	_, err := ParseConfig(map[string]any{
		"InstanceIds": []any{"i-0aaaaaaaaaaaaaaa1"},
		"licenseEni":  map[string]any{"create": create},
		"probe": map[string]any{"vpcId": "vpc-0fffffffffffffff0", "subnetIds": []any{"subnet-0123456789abcdef0"},
			"ports": []any{27000.0}},
	})
	for _, want := range []string{`"InstanceIds" (keys are case-sensitive: "instanceIds")`, `"10.1.2.3/0" (prefix /0)`,
		`probe.vpcId "vpc-0fffffffffffffff0" is not the license ENI's VPC`, "probe.ports [27000] differ"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s:\n%v", want, err)
		}
	}
	// Left out, the probe takes the created ENI's ports and VPC.
	c, err := ParseConfig(map[string]any{"licenseEni": map[string]any{"create": map[string]any{"group": "mosek", "vpcId": "vpc-0123456789abcdef0",
		"subnetId": "subnet-0123456789abcdef0", "ports": []any{1234.0}, "allowedCidrs": []any{"10.0.0.0/16"}}},
		"probe": map[string]any{"subnetIds": []any{"subnet-0123456789abcdef0"}}})
	if err != nil || !slices.Equal(c.Probe.Ports, []int{1234}) || c.Probe.VPCID != "vpc-0123456789abcdef0" {
		t.Errorf("probe defaults %+v: %v", c.Probe, err)
	}
}

// Quotas a deploy would meet are refused at synth, naming the values: a
// security group holds 60 rules per direction (Amazon VPC quotas), and a
// function's environment variables 4 KB together (Lambda quotas).
func TestQuotasAtSynth(t *testing.T) {
	probeWith := func(groups int, witnesses []any) map[string]any {
		targets := map[string]any{}
		for i := range groups {
			targets[fmt.Sprintf("group-%02d", i)] = fmt.Sprintf("10.0.1.%d", i+1)
		}
		return map[string]any{"probe": map[string]any{"vpcId": "vpc-0123456789abcdef0", "subnetIds": []any{"subnet-0123456789abcdef0"},
			"targets": targets, "witnesses": witnesses}}
	}
	// 30 groups x 2 ports: 60 rules, the quota.
	if _, err := ParseConfig(probeWith(30, nil)); err != nil {
		t.Errorf("60 rules refused: %v", err)
	}
	_, err := ParseConfig(probeWith(30, []any{"10.0.0.2:53"}))
	if err == nil || !strings.Contains(err.Error(), "61 egress rules") || !strings.Contains(err.Error(), "probe.securityGroupId") {
		t.Errorf("61 rules: %v", err)
	}
	own := probeWith(40, nil)
	own["probe"].(map[string]any)["securityGroupId"] = "sg-0123456789abcdef0"
	if _, err := ParseConfig(own); err != nil {
		t.Errorf("a security group of the operator's own has no rules of ours to count: %v", err)
	}

	many := probeWith(220, nil)
	many["probe"].(map[string]any)["securityGroupId"] = "sg-0123456789abcdef0"
	if _, err := ParseConfig(many); err == nil || !strings.Contains(err.Error(), "the probe's environment variables would take") {
		t.Errorf("a probe environment over 4 KB: %v", err)
	}
}

// The failover and move functions' environment fits Lambda's 4 KB at the
// largest configuration: 50 pinned instances, every SSM document (names of
// 128 characters), the longest topic ARN. The commands themselves live in
// the documents, so no command list can push it over.
func TestFunctionEnvironmentFits(t *testing.T) {
	var ids []any
	for i := range 50 {
		ids = append(ids, fmt.Sprintf("i-%017d", i))
	}
	long := make([]any, 40)
	for i := range long {
		long[i] = strings.Repeat("x", 450)
	}
	c, err := ParseConfig(map[string]any{"instanceIds": ids, "activationCommands": long, "activationCommandsWindows": long,
		"deepCheckCommands": long, "deepCheckCommandsWindows": long, "fisDrills": map[string]any{"group": "mosek"}})
	if err != nil {
		t.Fatal(err)
	}
	docs := commandDocuments{}
	for _, v := range []string{config.EnvActivationDocument, config.EnvWindowsActivationDoc, config.EnvDeepCheckDocument, config.EnvWindowsDeepCheckDoc} {
		docs[v] = jsii.String(strings.Repeat("d", 128))
	}
	if n := envBytes(functionEnv(c, jsii.String(strings.Repeat("x", topicARNBound)), docs)); n > lambdaEnvBytes || n < 1000 {
		t.Fatalf("%d bytes of environment, Lambda allows %d", n, lambdaEnvBytes)
	}
}
