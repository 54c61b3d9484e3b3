package discovery_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/eni-failover/eni-failover/internal/discovery"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/testkit/fakeec2"
	"github.com/eni-failover/eni-failover/internal/testkit/simclock"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func region(t *testing.T, groups, extraRunning int) *fakeec2.Fake {
	t.Helper()
	f := fakeec2.New(simclock.NewVirtual(t0), fakeec2.Timings{}, 1)
	for g := 0; g < groups; g++ {
		name := fmt.Sprintf("g%03d", g)
		for m := 0; m < 2; m++ {
			f.AddInstance(fakeec2.InstanceSpec{ID: fmt.Sprintf("i-%03d%d", g, m), AZ: "us-east-1a",
				Tags: map[string]string{"eni-failover:group": name, "eni-failover:priority": fmt.Sprint(2 - m)}})
		}
		f.AddENI(fakeec2.ENISpec{ID: "eni-" + name, AZ: "us-east-1a", Tags: map[string]string{"eni-failover:group": name}, AttachTo: fmt.Sprintf("i-%03d1", g), DeviceIndex: 1})
	}
	for i := 0; i < extraRunning; i++ {
		f.AddInstance(fakeec2.InstanceSpec{ID: fmt.Sprintf("i-x%05d", i), AZ: "us-east-1a"})
	}
	return f
}

func TestAllGroupsInThreeCalls(t *testing.T) {
	f := region(t, 300, 0)
	d := &discovery.Discoverer{EC2: f, Tags: model.NewTags("")}
	gs, err := d.All(context.Background())
	if err != nil || len(gs) != 300 {
		t.Fatalf("%d groups, err %v", len(gs), err)
	}
	if n := f.TotalCalls(); n != 3 {
		t.Fatalf("%d calls for 300 groups, want 3", n)
	}
	g := gs[7]
	if g.Name != "g007" || len(g.Members) != 2 || g.ENI.InstanceID != "i-0071" {
		t.Fatalf("group %+v", g)
	}
	// Priority 1 (the second instance) is home; health came from the listing.
	if home := g.Members[0]; home.InstanceID != "i-0071" || home.Health != model.HealthOK || !home.HasPriority {
		t.Fatalf("home %+v", home)
	}
	if g.Members[0].IndexFree(1) || !g.Members[1].IndexFree(1) {
		t.Fatalf("used indexes %v %v", g.Members[0].UsedIndexes, g.Members[1].UsedIndexes)
	}
}

func TestOneGroupInABigAccount(t *testing.T) {
	// 2,500 running instances: the status listing's first page misses the
	// group's members, which are then asked for by id.
	f := region(t, 1, 2500)
	f.SetStatus("i-0000", "impaired")
	d := &discovery.Discoverer{EC2: f, Tags: model.NewTags("")}
	g, err := d.Group(context.Background(), "g000")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := g.Member("i-0000")
	if m.Health != model.HealthImpaired {
		t.Fatalf("member health %s", m.Health)
	}
	if n := f.CallCount(fakeec2.OpDescribeInstanceStatus); n > 2 {
		t.Fatalf("%d status calls, want at most 2", n)
	}
}

func TestUnknownAndDuplicatedGroups(t *testing.T) {
	f := region(t, 2, 0)
	f.AddENI(fakeec2.ENISpec{ID: "eni-dup", AZ: "us-east-1a", Tags: map[string]string{"eni-failover:group": "g001"}})
	d := &discovery.Discoverer{EC2: f, Tags: model.NewTags(""), Clock: simclock.NewVirtual(t0)}
	if _, err := d.Group(context.Background(), "nope"); !errors.Is(err, discovery.ErrGroupNotFound) {
		t.Fatalf("error %v", err)
	}
	gs, err := d.All(context.Background())
	if len(gs) != 1 || gs[0].Name != "g000" || err == nil || !strings.Contains(err.Error(), "tagged on 2 network interfaces (eni-dup, eni-g001)") {
		t.Fatalf("groups %d, err %v", len(gs), err)
	}
	if name, err := d.GroupOfInstance(context.Background(), "i-0010"); name != "g001" || err != nil {
		t.Fatalf("group of instance %q %v", name, err)
	}
	if name, err := d.GroupOfInstance(context.Background(), "i-unknown"); name != "" || err != nil {
		t.Fatalf("group of unknown instance %q %v", name, err)
	}
}

func TestFailedJournal(t *testing.T) {
	now := t0
	m := model.ParseFailed("i-a@" + fmt.Sprint(now.Add(-time.Minute).Unix()) + " junk i-b@x i-c@" + fmt.Sprint(now.Add(-time.Hour).Unix()))
	if len(m) != 2 {
		t.Fatalf("parsed %v", m)
	}
	m["i-d"] = now
	out := model.FormatFailed(m, now, 15*time.Minute, 5)
	if !strings.HasPrefix(out, "i-d@") || !strings.Contains(out, "i-a@") || strings.Contains(out, "i-c@") {
		t.Fatalf("formatted %q", out)
	}
	many := map[string]time.Time{}
	for i := 0; i < 20; i++ {
		many[fmt.Sprintf("i-%017d", i)] = now.Add(-time.Duration(i) * time.Second)
	}
	if out := model.FormatFailed(many, now, time.Hour, 5); len(out) > 256 || strings.Count(out, "@") != 5 {
		t.Fatalf("formatted %q", out)
	}
}

// EC2 tag keys are case-sensitive, and so is discovery: a decoy ENI or
// instance tagged Eni-Failover:Group (a key the SCP's aws:TagKeys rule,
// itself case-sensitive, would not cover) is no member and no group.
func TestTagKeyCaseVariantsAreIgnored(t *testing.T) {
	f := region(t, 1, 0)
	f.AddENI(fakeec2.ENISpec{ID: "eni-decoy", AZ: "us-east-1a", Tags: map[string]string{"Eni-Failover:Group": "g000", "ENI-FAILOVER:GROUP": "g000"}})
	f.AddInstance(fakeec2.InstanceSpec{ID: "i-0intruder", AZ: "us-east-1a", Tags: map[string]string{"Eni-Failover:Group": "g000", "eni-failover:Priority": "0"}})
	d := &discovery.Discoverer{EC2: f, Tags: model.NewTags(""), Clock: simclock.NewVirtual(t0)}
	gs, err := d.All(context.Background())
	if err != nil || len(gs) != 1 || gs[0].ENI.ID == "eni-decoy" {
		t.Fatalf("groups %+v, err %v", gs, err)
	}
	if _, ok := gs[0].Member("i-0intruder"); ok {
		t.Fatal("an instance tagged with a case variant of the group key joined the group")
	}
}
