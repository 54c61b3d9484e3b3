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

// Journal values someone else wrote, and automatic triggers a pause
// skipped, are notified; a dry run and the pause action's own report
// follow the usual rules.
func TestWarningsAndSkipsAreNotified(t *testing.T) {
	forged := &report.Report{Group: "mosek", ENIID: "eni-1", Outcome: report.NothingToDo, Trigger: report.Reconcile,
		Warnings: []string{"eni-failover:paused ends 2027-12-06T00:00:00Z, beyond the 168h0m0s a pause may last: ignored"}}
	skipped := &report.Report{Group: "mosek", Outcome: report.Paused, Trigger: report.InstanceDown, HolderBefore: "i-a"}
	for _, c := range []struct {
		r       *report.Report
		worth   bool
		subject string
	}{
		{forged, true, "journal values IGNORED"},
		{skipped, true, "group paused, instance-down NOT acted on"},
		{&report.Report{Group: "mosek", Outcome: report.Paused}, false, ""},
		{&report.Report{Group: "mosek", Outcome: report.NothingToDo, Trigger: report.Reconcile}, false, ""},
		{&report.Report{Group: "mosek", Outcome: report.Paused, Trigger: report.Move}, false, ""},
	} {
		if got := Worth(c.r, false); got != c.worth || c.worth && !strings.Contains(Subject(c.r, false), c.subject) {
			t.Errorf("%+v: worth %v, subject %q", c.r, got, Subject(c.r, false))
		}
	}
	if text := Text(forged, "reconcile", false); !strings.Contains(text, "Ignored") || !strings.Contains(text, "CloudTrail") {
		t.Errorf("text:\n%s", text)
	}
}
