package metrics_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/eni-failover/eni-failover/internal/metrics"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/report"
)

// The Group dimension is always ASCII: CloudWatch refuses a dimension
// value with other characters ("Dimension", CloudWatch API Reference), and
// an EMF record that fails validation yields no metric at all (it is
// counted in AWS/Logs EMFValidationErrors), which would blind FailedMoves,
// the drills' stop condition.
func TestGroupDimensionIsASCII(t *testing.T) {
	var out bytes.Buffer
	e := metrics.New(&out, "ENIFailover", "failover", func() time.Time { return time.Unix(1800000000, 0) })
	if err := e.Report(&report.Report{Group: "Lizenz München", Outcome: report.Failed, Trigger: report.Impaired}); err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(out.Bytes(), &rec); err != nil {
		t.Fatalf("%s: %v", out.Bytes(), err)
	}
	g, _ := rec["Group"].(string)
	if g != model.SafeName("Lizenz München") || g == "Lizenz München" {
		t.Fatalf("Group dimension %q", g)
	}
	for _, r := range g {
		if r > 127 {
			t.Fatalf("Group dimension %q is not ASCII", g)
		}
	}
}
