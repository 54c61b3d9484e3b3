package main

import (
	"strings"
	"testing"
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
	c := map[string]any{"instanceIds": []any{"i-123"}, "notifyEmail": "x", "healthEventAction": "panic", "logRetentionDays": 42.0, "tagPrefix": "aws:x", "reconcileMinutes": 99.0}
	_, err = ParseConfig(c)
	for _, want := range []string{"i-123", "notifyEmail", "healthEventAction", "logRetentionDays", "tagPrefix", "reconcileMinutes"} {
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
