package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.TagPrefix != "eni-failover" || c.DeviceIndex != 1 || c.AllowStartStopped || c.Cooldown != 15*time.Minute ||
		c.GracefulDetachWait != 8*time.Second || c.PollInterval != 100*time.Millisecond || c.PollMax != 2*time.Second ||
		c.HealthAction != HealthMove || c.NotifyTopicARN != "" || c.MetricsNamespace != "ENIFailover" {
		t.Fatalf("defaults %+v", c)
	}
	o := c.EngineOptions()
	if o.DeviceIndex != 1 || o.Cooldown != 15*time.Minute || o.PollInitial != 100*time.Millisecond || o.MaxAutomaticMoves != 3 {
		t.Fatalf("engine options %+v", o)
	}
}

// MAX_AUTOMATIC_MOVES=0 means no cap, and so does the engine's 0: one
// meaning at every layer.
func TestNoCapIsZeroEverywhere(t *testing.T) {
	c, err := Load(env(map[string]string{EnvMaxAutomaticMoves: "0"}))
	if err != nil || c.MaxAutomaticMoves != 0 || c.EngineOptions().MaxAutomaticMoves != 0 {
		t.Fatalf("no cap: %+v %v", c.EngineOptions(), err)
	}
}

func TestOverrides(t *testing.T) {
	c, err := Load(env(map[string]string{
		"ENI_FAILOVER_TAG_PREFIX": "acme-lic", "DEVICE_INDEX": "2", "ALLOW_START_STOPPED": "true",
		"COOLDOWN": "1h", "HEALTH_EVENT_ACTION": "NOTIFY",
		"NOTIFY_TOPIC_ARN":    "arn:aws:sns:eu-west-1:123456789012:license-events",
		"ACTIVATION_COMMANDS": "systemctl restart lmgrd\n\n  sleep 2 ", "ACTIVATION_TIMEOUT": "90s",
		"ENI_FAILOVER_INSTANCE_IDS": "i-0123456789abcdef0, i-0bbbbbbbbbbbbbbb2",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.TagPrefix != "acme-lic" || c.DeviceIndex != 2 || !c.AllowStartStopped || c.Cooldown != time.Hour ||
		c.HealthAction != HealthNotify || !strings.HasSuffix(c.NotifyTopicARN, "license-events") ||
		len(c.ActivationCommands) != 2 || c.ActivationCommands[1] != "sleep 2" || c.ActivationTimeout != 90*time.Second ||
		!slices.Equal(c.EngineOptions().Allowed, []string{"i-0123456789abcdef0", "i-0bbbbbbbbbbbbbbb2"}) {
		t.Fatalf("overrides %+v", c)
	}
}

func TestInvalidValuesAreAllReported(t *testing.T) {
	_, err := Load(env(map[string]string{
		"DEVICE_INDEX": "0", "ALLOW_START_STOPPED": "maybe", "COOLDOWN": "soon", "HEALTH_EVENT_ACTION": "panic",
		"NOTIFY_TOPIC_ARN": "my-topic", "ENI_FAILOVER_TAG_PREFIX": "aws:x", "POLL_INTERVAL": "3s",
		"POLL_MAX": "1s", "METRICS_NAMESPACE": "AWS/EC2", "ENI_FAILOVER_INSTANCE_IDS": "i-0123456789abcdef0,web-1",
	}))
	if err == nil {
		t.Fatal("no error")
	}
	for _, name := range []string{"DEVICE_INDEX", "ALLOW_START_STOPPED", "COOLDOWN", "HEALTH_EVENT_ACTION", "NOTIFY_TOPIC_ARN",
		"ENI_FAILOVER_TAG_PREFIX", "POLL_MAX", "METRICS_NAMESPACE", "ENI_FAILOVER_INSTANCE_IDS=\"web-1\""} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

// The stack's own SSM documents are read in place of the command lists,
// and count as activation for the drill's time.
func TestDocuments(t *testing.T) {
	c, err := Load(env(map[string]string{EnvActivationDocument: "EniFailover-Activation-1A2B", EnvWindowsDeepCheckDoc: "EniFailover-DeepCheckWindows-3C"}))
	if err != nil || c.ActivationDocuments.Linux != "EniFailover-Activation-1A2B" || c.DeepCheckDocuments.Windows != "EniFailover-DeepCheckWindows-3C" ||
		c.DrillTime() != DrillTime(c.ActivationTimeout, 0) {
		t.Fatalf("%+v %v", c, err)
	}
	if _, err := Load(env(map[string]string{EnvDeepCheckDocument: "no spaces allowed"})); err == nil || !strings.Contains(err.Error(), EnvDeepCheckDocument) {
		t.Fatalf("a bad document name: %v", err)
	}
}
