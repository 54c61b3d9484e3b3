package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/findings"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/report"
	"github.com/eni-failover/eni-failover/internal/testkit/fakeec2"
	"github.com/eni-failover/eni-failover/internal/testkit/simclock"
)

// Every journal value the engine writes fits EC2's tag limits at the
// longest inputs: a group name of 256 two-byte characters (the holder tag
// carries it), the probe's request id for it, a long reason, five failed
// members. The simulated EC2 refuses what EC2 refuses ("Tag restrictions":
// 256 Unicode characters a value, 128 a key, 50 tags a resource), so a
// value that did not fit would fail the move's journal write here.
func TestJournalFitsTagLimitsAtTheLongestInputs(t *testing.T) {
	long := strings.Repeat("ü", model.MaxTagValue)
	clk := simclock.NewVirtual(t0)
	f := fakeec2.New(clk, fakeec2.RealisticTimings(), 1)
	ids := []string{"i-0000000000000000a", "i-0000000000000000b", "i-0000000000000000c", "i-0000000000000000d", "i-0000000000000000e", "i-0000000000000000f"}
	for i, id := range ids {
		f.AddInstance(fakeec2.InstanceSpec{ID: id, AZ: az, Tags: map[string]string{"eni-failover:group": long, "eni-failover:priority": itoa(int64(i))}})
	}
	f.AddENI(fakeec2.ENISpec{ID: eniID, AZ: az, MAC: "02:4c:69:63:65:6e", PrivateIP: "10.0.1.50", AttachTo: ids[0], DeviceIndex: 1,
		Tags: map[string]string{"eni-failover:group": long}})
	eng := engine.New(f, clk, nil, engine.Options{HolderTag: true})
	for i := range 5 {
		clk.Advance(time.Minute)
		since := clk.Now().Add(-15 * time.Second)
		ctx := simclock.WithDeadline(context.Background(), clk.Now().Add(time.Minute))
		reps, err := eng.Run(ctx, engine.Trigger{Kind: report.Impaired, Group: long, Since: since, At: clk.Now(),
			RequestID: findings.RequestID(long, since), Reason: "probe: " + strings.Repeat("license port 27007 refused; ", 20)}, false)
		if err != nil || len(reps) != 1 || reps[0].Outcome != report.Moved {
			t.Fatalf("finding %d: %+v %v", i+1, reps, err)
		}
	}
	tags := f.ENI(eniID).Tags
	for k, v := range tags {
		if utf8.RuneCountInString(v) > model.MaxTagValue || utf8.RuneCountInString(k) > model.MaxTagKey {
			t.Errorf("%s: %d characters", k, utf8.RuneCountInString(v))
		}
	}
	if len(tags) > model.MaxTagsPerResource || tags["eni-failover:failed"] == "" || len(model.NewTags("").History(tags)) != 5 {
		t.Errorf("journal: %v", tags)
	}
}

// A probe alarm names its group by the rendering CloudWatch can carry
// (model.SafeName): the alarm for "Lizenz München" moves that group.
func TestProbeAlarmForAGroupNamedInAnyScript(t *testing.T) {
	name := "Lizenz München"
	clk := simclock.NewVirtual(t0)
	f := fakeec2.New(clk, fakeec2.RealisticTimings(), 1)
	for i, id := range []string{"i-0000000000000000a", "i-0000000000000000b"} {
		f.AddInstance(fakeec2.InstanceSpec{ID: id, AZ: az, Tags: map[string]string{"eni-failover:group": name, "eni-failover:priority": itoa(int64(i))}})
	}
	f.AddENI(fakeec2.ENISpec{ID: eniID, AZ: az, MAC: "02:4c:69:63:65:6e", PrivateIP: "10.0.1.50", AttachTo: "i-0000000000000000a", DeviceIndex: 1,
		Tags: map[string]string{"eni-failover:group": name}})
	eng := engine.New(f, clk, nil, engine.Options{})
	clk.Advance(time.Minute)
	ctx := simclock.WithDeadline(context.Background(), clk.Now().Add(time.Minute))
	reps, err := eng.Run(ctx, engine.Trigger{Kind: report.Impaired, Group: model.SafeName(name), Since: clk.Now().Add(-time.Minute), At: clk.Now(),
		Reason: "alarm: license ports of group " + model.SafeName(name) + " do not answer"}, false)
	if err != nil || len(reps) != 1 || reps[0].Group != name || reps[0].Outcome != report.Moved {
		t.Fatalf("alarm for %q: %+v %v", model.SafeName(name), reps, err)
	}
}
