// Package sim assembles a simulated region (the fake EC2, a recording SNS
// and a virtual clock) with tagged groups, and the handlers on top of it.
// The demo, the handler tests, the benchmarks and the storms share it.
package sim

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/eni-failover/eni-failover/events"
	"github.com/eni-failover/eni-failover/internal/clock"
	"github.com/eni-failover/eni-failover/internal/doctor"
	"github.com/eni-failover/eni-failover/internal/doctor/account"
	"github.com/eni-failover/eni-failover/internal/emf"
	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/handler"
	"github.com/eni-failover/eni-failover/internal/metrics"
	"github.com/eni-failover/eni-failover/internal/notify"
	"github.com/eni-failover/eni-failover/internal/testkit/fakeec2"
	"github.com/eni-failover/eni-failover/internal/testkit/simclock"
)

// Start is the virtual clock's start.
var Start = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// TopicARN is the simulated notification topic.
const TopicARN = "arn:aws:sns:us-east-1:123456789012:eni-failover"

// Clock is a simulated clock that can also be moved by hand.
type Clock interface {
	clock.Clock
	Advance(time.Duration)
}

// Region is one simulated region.
type Region struct {
	Clock Clock
	EC2   *fakeec2.Fake
	SNS   *SNS
}

// NewRegion returns an empty region on virtual time (clock.Virtual: each
// sleep moves time at once, so runs take microseconds).
func NewRegion(t fakeec2.Timings, seed int64) *Region {
	return NewRegionOn(simclock.NewVirtual(Start), t, seed)
}

// NewRegionOn returns an empty region on the given clock (clock.Sim for
// measurements, where concurrent calls overlap as on the wall clock).
func NewRegionOn(clk Clock, t fakeec2.Timings, seed int64) *Region {
	return &Region{Clock: clk, EC2: fakeec2.New(clk, t, seed), SNS: &SNS{}}
}

// MemberSpec is one instance of a group.
type MemberSpec struct {
	ID       string
	Priority int // 0: no priority tag
	AZ       string
	State    string
	// Windows: the instance runs Windows.
	Windows bool
}

// GroupSpec is a group to create; the ENI starts on Holder (or unattached).
type GroupSpec struct {
	Name, ENIID, AZ, MAC, PrivateIP, Holder string
	Members                                 []MemberSpec
}

// The demo group's instances, matching the placeholders of the samples
// in events/.
const (
	Primary = events.HolderPlaceholder
	Standby = "i-0bbbbbbbbbbbbbbb2"
	Second  = events.StandbyPlaceholder
	ENIID   = "eni-0f1e2d3c4b5a69788"
	AZ      = "us-east-1a"
)

// Mosek is the demo group: primary (priority 1) holding the ENI, a hot
// standby (2) and a second standby (3), all in us-east-1a.
func Mosek() GroupSpec {
	return GroupSpec{
		Name: events.GroupPlaceholder, ENIID: ENIID, AZ: AZ, MAC: "0a:1b:2c:3d:4e:5f", PrivateIP: "10.0.1.27", Holder: Primary,
		Members: []MemberSpec{{ID: Primary, Priority: 1}, {ID: Standby, Priority: 2}, {ID: Second, Priority: 3}},
	}
}

// AddGroup creates a group's instances and ENI.
func (r *Region) AddGroup(g GroupSpec) {
	for _, m := range g.Members {
		tags := map[string]string{"eni-failover:group": g.Name, "Name": g.Name + "-" + m.ID[len(m.ID)-4:]}
		if m.Priority != 0 {
			tags["eni-failover:priority"] = fmt.Sprint(m.Priority)
		}
		r.EC2.AddInstance(fakeec2.InstanceSpec{ID: m.ID, AZ: cmp.Or(m.AZ, g.AZ), State: m.State, Tags: tags, Windows: m.Windows})
	}
	tags := map[string]string{"eni-failover:group": g.Name, "Name": g.Name + "-license"}
	if g.Holder != "" {
		tags["eni-failover:holder"] = g.Holder
	}
	r.EC2.AddENI(fakeec2.ENISpec{ID: g.ENIID, AZ: g.AZ, MAC: g.MAC, PrivateIP: g.PrivateIP, Tags: tags, AttachTo: g.Holder, DeviceIndex: 1})
}

// Deps builds the handlers' dependencies on this region: metrics go to
// metricsOut, notifications to the recording SNS.
func (r *Region) Deps(opts engine.Options, metricsOut io.Writer, log *slog.Logger) handler.Deps {
	if metricsOut == nil {
		metricsOut = io.Discard
	}
	eng := engine.New(r.EC2, r.Clock, log, opts)
	doc := &doctor.Doctor{Engine: eng, EC2: r.EC2, Role: doctor.FailoverRole}
	return handler.Deps{
		Engine:   eng,
		Notifier: &notify.Notifier{SNS: r.SNS, TopicARN: TopicARN},
		Metrics:  metrics.New(metricsOut, emf.DefaultNamespace, "sim", r.Clock.Now),
		Log:      log,
		// The simulated EC2 answers DryRuns; the other services' checks
		// are left out (their clients are nil).
		Doctor:  doc,
		Checkup: &account.Checkup{Doctor: doc, TopicARN: TopicARN},
	}
}

// Context is an invocation context with a Lambda-like deadline on the
// region's virtual clock.
func (r *Region) Context(timeout time.Duration) context.Context {
	return simclock.WithDeadline(context.Background(), r.Clock.Now().Add(timeout))
}

// Settle lets EC2 finish its transitions.
func (r *Region) Settle(d time.Duration) {
	r.Clock.Advance(d)
	r.EC2.Advance()
}

// SNS records published messages.
type SNS struct {
	mu   sync.Mutex
	msgs []sns.PublishInput
}

// Publish records the message.
func (s *SNS) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, *in)
	return &sns.PublishOutput{MessageId: aws.String(fmt.Sprintf("msg-%d", len(s.msgs)))}, nil
}

// Messages returns the recorded messages.
func (s *SNS) Messages() []sns.PublishInput {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sns.PublishInput(nil), s.msgs...)
}
