package bench

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/eni-failover/eni-failover/internal/testkit/fakeec2"
)

// fleetSeeds is how many seeded runs each fleet scenario plays in `make
// test` (FLEET_SEEDS for more).
func fleetSeeds() int {
	if n, err := strconv.Atoi(os.Getenv("FLEET_SEEDS")); err == nil && n > 0 {
		return n
	}
	return 3
}

// FleetSummary is a scenario over several seeds.
type FleetSummary struct {
	Scenario         FleetScenario
	P50, P99, Worst  time.Duration
	Runs, Unrestored int
	Throttles        int
	Problems         []string
	PeakPerSecond    map[string]int
	MinTokens        map[string]float64
}

// MissedTarget says how the summary misses its scenario's target ("": it
// meets it); worst holds the worst figures of the scenarios played before.
func (s FleetSummary) MissedTarget(worst map[string]time.Duration) string {
	sc := s.Scenario
	switch {
	case sc.Target == 0:
		return ""
	case !sc.TargetP50 && s.Worst > sc.Target:
		return fmt.Sprintf("modelled worst license-restored %.1fs, target %.0fs", s.Worst.Seconds(), sc.Target.Seconds())
	case sc.TargetP50 && s.P50 > sc.Target:
		return fmt.Sprintf("modelled median license-restored %.1fs, target %.0fs", s.P50.Seconds(), sc.Target.Seconds())
	case sc.Baseline != "" && worst[sc.Baseline] > 0 && s.Worst > worst[sc.Baseline]+time.Second:
		return fmt.Sprintf("modelled worst %.1fs, more than a second above %s alone (%.1fs): the other group's work held it up",
			s.Worst.Seconds(), sc.Baseline, worst[sc.Baseline].Seconds())
	}
	return ""
}

// SummarizeFleet plays a scenario with seeds 1..n.
func SummarizeFleet(sc FleetScenario, n int) FleetSummary {
	s := FleetSummary{Scenario: sc, Runs: n, PeakPerSecond: map[string]int{}, MinTokens: map[string]float64{}}
	var all []time.Duration
	for seed := int64(1); seed <= int64(n); seed++ {
		run := PlayFleet(sc, fakeec2.RealisticTimings(), RealisticFleetLatencies(), seed)
		all = append(all, run.Restored...)
		s.Unrestored += run.Unrestored
		s.Throttles += run.FleetThrottles + run.FailoverThrottles
		for _, p := range run.Problems {
			s.Problems = append(s.Problems, fmt.Sprintf("seed %d: %s", seed, p))
		}
		for _, u := range run.Usage {
			s.PeakPerSecond[u.Bucket] = max(s.PeakPerSecond[u.Bucket], u.PeakPerSecond)
			if v, ok := s.MinTokens[u.Bucket]; !ok || u.MinTokens < v {
				s.MinTokens[u.Bucket] = u.MinTokens
			}
		}
	}
	slices.Sort(all)
	if len(all) > 0 {
		s.P50 = all[len(all)/2]
		s.P99 = all[min(len(all)-1, len(all)*99/100)]
		s.Worst = all[len(all)-1]
	}
	return s
}

// TestFleetModelMeetsItsTargets is the model's regression test: every
// fleet scenario, played with the documented latencies, restores each
// license within its target, moves each failing group exactly once and
// no other, activates each new holder once, and keeps every EC2 API within
// its documented bucket. The figures are modelled, not measured.
func TestFleetModelMeetsItsTargets(t *testing.T) {
	worst := map[string]time.Duration{}
	for _, sc := range FleetScenarios {
		t.Run(sc.Name, func(t *testing.T) {
			n := fleetSeeds()
			if sc.TestSeeds > 0 && os.Getenv("FLEET_SEEDS") == "" {
				n = sc.TestSeeds
			}
			s := SummarizeFleet(sc, n)
			worst[sc.Name] = s.Worst
			t.Logf("modelled %s: p50 %.1fs p99 %.1fs worst %.1fs over %d runs; %d throttled deliveries", sc.Name,
				s.P50.Seconds(), s.P99.Seconds(), s.Worst.Seconds(), s.Runs, s.Throttles)
			for _, p := range s.Problems {
				t.Error(p)
			}
			if err := s.MissedTarget(worst); err != "" {
				t.Error(err)
			}
		})
	}
}

// BenchmarkFleet plays each fleet scenario b.N times (seeds 1..N) and
// reports modelled license-restored times (p50, p99, worst), the throttled
// deliveries per run, and the busiest second and fewest tokens left of
// the EC2 buckets the moves lean on. Every figure is modelled: the real
// handlers on the discrete-event clock, with assumed latencies.
func BenchmarkFleet(b *testing.B) {
	worst := map[string]time.Duration{}
	for _, sc := range FleetScenarios {
		b.Run(sc.Name, func(b *testing.B) {
			s := SummarizeFleet(sc, b.N)
			worst[sc.Name] = s.Worst
			for _, p := range s.Problems {
				b.Error(p)
			}
			if err := s.MissedTarget(worst); err != "" {
				b.Error(err)
			}
			b.ReportMetric(s.P50.Seconds(), "modelled-p50-s")
			b.ReportMetric(s.P99.Seconds(), "modelled-p99-s")
			b.ReportMetric(s.Worst.Seconds(), "modelled-worst-s")
			b.ReportMetric(float64(s.Throttles)/float64(s.Runs), "throttled/run")
			for _, api := range []string{"DescribeNetworkInterfaces", "DescribeInstances", "AttachNetworkInterface", "DetachNetworkInterface", "CreateTags"} {
				b.ReportMetric(float64(s.PeakPerSecond[api]), "peak-"+api+"/s")
				b.ReportMetric(s.MinTokens[api], "min-tokens-"+api)
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}
