package probeconfig_test

import (
	"strings"
	"testing"
	"time"

	"github.com/eni-failover/eni-failover/internal/probeconfig"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestProbeConfig(t *testing.T) {
	p, err := probeconfig.LoadConfig(env(map[string]string{"PROBE_TARGETS": "mosek=10.0.1.27, matlab=10.0.2.9"}))
	if err != nil || len(p.Targets) != 2 || p.Targets[1].Group != "matlab" || len(p.Ports) != 2 || p.Ports[0] != 27007 || p.Timeout != 2*time.Second {
		t.Fatalf("%+v %v", p, err)
	}
	_, err = probeconfig.LoadConfig(env(map[string]string{"PROBE_TARGETS": "mosek=nowhere", "PROBE_PORTS": "27007,x", "PROBE_TIMEOUT": "1h"}))
	for _, want := range []string{"mosek=nowhere", `"x"`, "PROBE_TIMEOUT"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s: %v", want, err)
		}
	}
	if _, err := probeconfig.LoadConfig(env(nil)); err == nil || !strings.Contains(err.Error(), "PROBE_TARGETS is empty") {
		t.Errorf("empty targets: %v", err)
	}
}

func TestWatchConfig(t *testing.T) {
	p, err := probeconfig.LoadConfig(env(map[string]string{"PROBE_TARGETS": "mosek=10.0.1.27"}))
	if err != nil || p.Interval != 5*time.Second || p.Watch != time.Minute || p.Confirmations != 3 || p.Answer ||
		len(p.Witnesses) != 1 || p.Witnesses[0] != probeconfig.DefaultWitness {
		t.Fatalf("defaults %+v %v", p, err)
	}
	p, err = probeconfig.LoadConfig(env(map[string]string{"PROBE_TARGETS": "mosek=10.0.1.27", "PROBE_CHECK": "answer", "PROBE_WITNESSES": "none"}))
	if err != nil || !p.Answer || len(p.Witnesses) != 0 {
		t.Fatalf("answer, no witness: %+v %v", p, err)
	}
	_, err = probeconfig.LoadConfig(env(map[string]string{"PROBE_TARGETS": "mosek=10.0.1.27", "PROBE_INTERVAL": "3s", "PROBE_CONFIRMATIONS": "0",
		"PROBE_WITNESSES": "10.0.0.2,dns:53", "PROBE_CHECK": "deep", "PROBE_WATCH": "20m"}))
	for _, want := range []string{"more than half of PROBE_INTERVAL=3s", "PROBE_CONFIRMATIONS=\"0\"", `"10.0.0.2" is not ip:port`, `"dns:53"`, `PROBE_CHECK="deep"`, `PROBE_WATCH="20m"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s: %v", want, err)
		}
	}
}
