package storm

import (
	"encoding/binary"
	"os"
	"sort"
	"strconv"
	"testing"
)

// historiesPerRun is how many seeded histories `make test` plays;
// STORM_HISTORIES overrides it (e.g. 20000 for a long soak).
const historiesPerRun = 2000

const stepsPerHistory = 40

// TestStorms plays seeded histories; a failure names the seed, which
// TestReplay (STORM_SEED=n) plays again with its full trace.
func TestStorms(t *testing.T) {
	n := historiesPerRun
	if v, err := strconv.Atoi(os.Getenv("STORM_HISTORIES")); err == nil && v > 0 {
		n = v
	}
	if testing.Short() {
		n = 200
	}
	exercised := map[string]int{}
	steps := 0
	for seed := int64(1); seed <= int64(n); seed++ {
		res := Run(Seeded(seed), stepsPerHistory)
		if res.Failed() {
			t.Fatalf("seed %d (replay: STORM_SEED=%d go test -run TestReplay ./internal/testkit/storm/):\n%s", seed, seed, res.Report())
		}
		steps += res.Steps
		for k, v := range res.Exercised {
			exercised[k] += v
		}
	}
	keys := make([]string, 0, len(exercised))
	for k := range exercised {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t.Logf("%d histories, %d steps", n, steps)
	for _, k := range keys {
		t.Logf("  %-24s %d", k, exercised[k])
	}
	for _, want := range []string{"invoke", "stop", "start", "terminate", "impair", "throttle", "5xx", "refuse-attach", "stuck-detach",
		"console-detach", "console-dot", "killed-invocation", "concurrent-batch", "trigger:state", "trigger:alarm", "trigger:probe-alarm", "trigger:spot", "trigger:health", "trigger:health-now", "trigger:reconcile",
		"deny-member", "refuse-detach",
		"trigger:move", "trigger:failback",
		"trigger:finding", "trigger:finding-again", "finding:stale", "trigger:drill", "trigger:pause", "trigger:resume",
		"daemon-dies", "quiet", "deep-check:failed", "deep-check:flaky", "deep-check:not-run", "deep-check:timed-out",
		"outcome:capped", "outcome:paused"} {
		if exercised[want] == 0 {
			t.Errorf("no history exercised %s", want)
		}
	}
}

// TestReplay plays one seed with its trace: STORM_SEED=n.
func TestReplay(t *testing.T) {
	seed, err := strconv.ParseInt(os.Getenv("STORM_SEED"), 10, 64)
	if err != nil {
		t.Skip("set STORM_SEED to replay a history")
	}
	res := Run(Seeded(seed), stepsPerHistory)
	t.Log("\n" + res.Report())
	if res.Failed() {
		t.Fail()
	}
}

// FuzzStorm lets the fuzzer drive every choice of a history.
func FuzzStorm(f *testing.F) {
	for _, seed := range []uint64{1, 2, 3, 42, 1 << 40} {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint64(b, seed)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res := Run(Bytes(data), 25)
		if res.Failed() {
			t.Fatalf("input %x:\n%s", data, res.Report())
		}
	})
}
