package handler_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/eni-failover/eni-failover/events"
	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/handler"
	"github.com/eni-failover/eni-failover/internal/report"
	"github.com/eni-failover/eni-failover/internal/ssmcommand"
	"github.com/eni-failover/eni-failover/internal/testkit/fakeec2"
	"github.com/eni-failover/eni-failover/internal/testkit/fakessm"
	"github.com/eni-failover/eni-failover/internal/testkit/sim"
)

// The deep check through the real SSM runner: lmstat failing on the
// holder (SSM's Failed, exit code 1), twice, moves the ENI at the
// scheduled reconcile; lmstat passing moves nothing.
func TestDeepCheckThroughSSM(t *testing.T) {
	for _, failing := range []bool{true, false} {
		r := sim.NewRegion(fakeec2.RealisticTimings(), 1)
		r.AddGroup(sim.Mosek())
		ssmFake := fakessm.New(r.Clock)
		if failing {
			ssmFake.Outcomes[sim.Primary] = fakessm.Outcome{Status: types.CommandInvocationStatusFailed, After: 2 * time.Second,
				Output: "lmgrd is not running: License server machine is down or not responding.", Code: 1}
		}
		check := &ssmcommand.Runner{SSM: ssmFake, Commands: []string{"timeout 15 lmutil lmstat -c 27007@localhost"}, Timeout: 30 * time.Second,
			Clock: r.Clock, Purpose: "deep check", Setting: "DEEP_CHECK_COMMANDS"}
		h := &handler.Failover{Deps: r.Deps(engine.Options{DeepCheck: check}, nil, nil)}
		res, err := h.Handle(r.Context(5*time.Minute), events.MustSample("scheduled-reconcile.json"))
		if err != nil || len(res.Reports) != 1 {
			t.Fatalf("failing=%v: %+v %v", failing, res, err)
		}
		got := res.Reports[0]
		if failing && (got.Outcome != report.Moved || got.HolderAfter != sim.Standby || len(ssmFake.Sent) != 2 ||
			!strings.Contains(got.Reason, "exited 1 twice") || strings.Contains(got.Reason, "License server machine is down") ||
			strings.Contains(r.EC2.ENI(sim.ENIID).Tags["eni-failover:reason"], "License server")) {
			// The command's output stays in the log: the reason is a tag
			// anyone allowed to describe the ENI reads.
			t.Fatalf("lmstat failing: %+v, %d commands", got, len(ssmFake.Sent))
		}
		if !failing && (got.Outcome != report.NothingToDo || len(ssmFake.Sent) != 1) {
			t.Fatalf("lmstat passing: %+v, %d commands", got, len(ssmFake.Sent))
		}
	}
}
