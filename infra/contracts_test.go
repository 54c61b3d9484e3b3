package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/eni-failover/eni-failover/internal/config"
	"github.com/eni-failover/eni-failover/internal/eventparse"
	"github.com/eni-failover/eni-failover/internal/probeconfig"
)

// TestContractsHaveOneSource: the CDK app and its tests name EventBridge
// sources, detail-types and the functions' environment variables through
// the packages that define them, never as literals that could drift.
func TestContractsHaveOneSource(t *testing.T) {
	contracts := []string{
		eventparse.SourceEC2, eventparse.SourceCloudWatch, eventparse.SourceHealth, eventparse.SourceEvents,
		eventparse.DetailStateChange, eventparse.DetailSpot, eventparse.DetailRebalance, eventparse.DetailAlarm,
		eventparse.DetailHealth, eventparse.DetailScheduled,
	}
	for _, v := range append(config.Vars, probeconfig.Vars...) {
		contracts = append(contracts, v.Name)
	}
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no sources: %v", err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range contracts {
			for _, lit := range []string{strconv.Quote(c), "`" + c + "`"} {
				if strings.Contains(string(src), lit) {
					t.Errorf("%s writes %s as a literal: use its definition", f, lit)
				}
			}
		}
	}
}
