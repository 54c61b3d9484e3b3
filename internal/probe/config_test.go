package probe

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestProbeConfig(t *testing.T) {
	p, err := LoadConfig(env(map[string]string{"PROBE_TARGETS": "mosek=10.0.1.27, matlab=10.0.2.9"}))
	if err != nil || len(p.Targets) != 2 || p.Targets[1].Group != "matlab" || len(p.Ports) != 2 || p.Ports[0] != 27007 || p.Timeout != 2*time.Second {
		t.Fatalf("%+v %v", p, err)
	}
	_, err = LoadConfig(env(map[string]string{"PROBE_TARGETS": "mosek=nowhere", "PROBE_PORTS": "27007,x", "PROBE_TIMEOUT": "1h"}))
	for _, want := range []string{"mosek=nowhere", `"x"`, "PROBE_TIMEOUT"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s: %v", want, err)
		}
	}
	if _, err := LoadConfig(env(nil)); err == nil || !strings.Contains(err.Error(), "PROBE_TARGETS is empty") {
		t.Errorf("empty targets: %v", err)
	}
}
