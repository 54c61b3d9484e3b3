package engine_test

import (
	"strings"
	"testing"
	"time"

	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/model"
)

// Why a member cannot take the ENI, for each reason in turn; a member in
// another VPC of the same AZ (the ENI's subnet is in one VPC) is refused
// even when the AZ matches, and an unknown VPC is not held against it.
func TestUnusable(t *testing.T) {
	eni := model.Interface{ID: "eni-1", AZ: "us-east-1a", VPCID: "vpc-1"}
	pol := engine.Policy{Now: time.Now(), DeviceIndex: 1, Allowed: map[string]bool{"i-a": true}}
	ok := model.Member{InstanceID: "i-a", State: model.StateRunning, AZ: "us-east-1a", VPCID: "vpc-1", Health: model.HealthOK, UsedIndexes: []int32{0}}
	for name, c := range map[string]struct {
		change func(*model.Member)
		want   string
	}{
		"usable":            {func(*model.Member) {}, ""},
		"not pinned":        {func(m *model.Member) { m.InstanceID = "i-b" }, engine.NotAllowed},
		"another AZ":        {func(m *model.Member) { m.AZ = "us-east-1b" }, "an ENI cannot leave its AZ"},
		"another VPC":       {func(m *model.Member) { m.VPCID = "vpc-2" }, "in vpc-2, the ENI is in vpc-1"},
		"VPC unknown":       {func(m *model.Member) { m.VPCID = "" }, ""},
		"device index used": {func(m *model.Member) { m.UsedIndexes = []int32{0, 1} }, "device index 1 in use"},
		"stopped":           {func(m *model.Member) { m.State = model.StateStopped }, "stopped (starting standbys is off)"},
		"impaired":          {func(m *model.Member) { m.Health = model.HealthImpaired }, "status checks impaired"},
		"terminated":        {func(m *model.Member) { m.State = model.StateTerminated }, model.StateTerminated},
	} {
		m := ok
		c.change(&m)
		got := engine.Unusable(m, eni, pol)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want %q", name, got, c.want)
		}
	}
	// An ENI whose VPC is unknown holds no member's VPC against it.
	eni.VPCID = ""
	if got := engine.Unusable(model.Member{InstanceID: "i-a", State: model.StateRunning, AZ: "us-east-1a", VPCID: "vpc-2", UsedIndexes: []int32{0}}, eni, pol); got != "" {
		t.Errorf("unknown ENI VPC: %q", got)
	}
}
