package notify

import (
	"strings"
	"testing"
	"time"

	"github.com/eni-failover/eni-failover/internal/report"
)

func TestTextSaysWhatToDoWhenAMoveFailed(t *testing.T) {
	r := &report.Report{Group: "mosek", ENIID: "eni-1", AZ: "us-east-1a", HolderBefore: "i-a", Outcome: report.Failed,
		Trigger: report.InstanceDown, StartedAt: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC), DurationMS: 1200,
		Names: map[string]string{"i-a": "token-1"},
		Error: `group "mosek": no viable standby in us-east-1a (i-b: stopped (starting standbys is off))`}
	text := Text(r, "EC2 Instance State-change Notification", false)
	for _, want := range []string{"FAILED to move eni-1 off i-a", "From:        i-a (token-1)", "To:          (none)",
		"Started:     2026-11-26T09:00:00Z, took 1.2s", "What to do: no member can take the ENI now: start or repair a standby in us-east-1a"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	moved := &report.Report{Group: "mosek", HolderBefore: "i-a", HolderAfter: "i-b", Outcome: report.Moved}
	if text := Text(moved, "x", false); strings.Contains(text, "What to do") {
		t.Errorf("a good move asks for action:\n%s", text)
	}
}
