package findings_test

import (
	"strings"
	"testing"
	"time"

	"github.com/eni-failover/eni-failover/internal/findings"
)

// A probe's request id fits the journal whatever the group's name, and
// every probe computes the same one.
func TestProbeRequestIDFits(t *testing.T) {
	since := time.Unix(1800000000, 0)
	long := strings.Repeat("Lizenz München ", 17)[:256]
	id := findings.RequestID(long, since)
	if len(id) > 100 || id != findings.RequestID(long, since) || id == findings.RequestID(long[:255], since) {
		t.Errorf("long group: %q", id)
	}
	if id := findings.RequestID("mosek", since); id != "probe:1800000000:mosek" {
		t.Errorf("short group: %q", id)
	}
}
