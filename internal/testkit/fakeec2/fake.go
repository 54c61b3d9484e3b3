// Package fakeec2 is a stateful, in-process simulation of the slice of EC2
// that eni-failover uses. It keeps real state (instances, ENIs, attachments),
// moves attachments and instances through EC2's transitional states on an
// injected clock, injects faults as real smithy API errors, and records every
// call, so tests and the demo exercise the production code paths.
package fakeec2

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/eni-failover/eni-failover/internal/awsapi"
	"github.com/eni-failover/eni-failover/internal/clock"
)

// Operation names, as in the EC2 API.
const (
	OpDescribeNetworkInterfaces       = "DescribeNetworkInterfaces"
	OpDescribeInstances               = "DescribeInstances"
	OpDescribeInstanceStatus          = "DescribeInstanceStatus"
	OpDetachNetworkInterface          = "DetachNetworkInterface"
	OpAttachNetworkInterface          = "AttachNetworkInterface"
	OpModifyNetworkInterfaceAttribute = "ModifyNetworkInterfaceAttribute"
	OpCreateTags                      = "CreateTags"
	OpDeleteTags                      = "DeleteTags"
	OpStartInstances                  = "StartInstances"
)

// MutatingOps are the operations that change EC2 state.
var MutatingOps = map[string]bool{
	OpDetachNetworkInterface:          true,
	OpAttachNetworkInterface:          true,
	OpModifyNetworkInterfaceAttribute: true,
	OpCreateTags:                      true,
	OpDeleteTags:                      true,
	OpStartInstances:                  true,
}

// Timings are how long EC2 takes for its transitions and calls.
type Timings struct {
	// Attach is attaching -> attached.
	Attach time.Duration
	// Detach is detaching -> available for a graceful detach.
	Detach time.Duration
	// ForceDetach is detaching -> available after a force detach.
	ForceDetach time.Duration
	// Stop is stopping -> stopped; Start is pending -> running;
	// Terminate is shutting-down -> terminated.
	Stop, Start, Terminate time.Duration
	// Call is the round-trip latency of every API call, unless PerOp names
	// the operation.
	Call  time.Duration
	PerOp map[string]time.Duration
	// Spread varies every latency and transition uniformly by up to this
	// fraction either way (0.2: 80% to 120%), drawn from the fake's seed,
	// so that measurements average over how polls and transitions align.
	Spread float64
}

// vary applies the spread to d; f.mu must be held.
func (f *Fake) vary(d time.Duration) time.Duration {
	if f.timings.Spread <= 0 || d <= 0 {
		return d
	}
	return time.Duration(float64(d) * (1 + f.timings.Spread*(2*f.rng.Float64()-1)))
}

// RealisticTimings are what EC2 takes in one region, as seen from a Lambda
// function there: API round trips of 40-50 ms for reads and 50-150 ms for
// writes, a graceful detach in about 3 s, a force detach or an attach in
// about 2 s. The benchmarks use them (scalable, see docs/benchmarks.md).
func RealisticTimings() Timings {
	return Timings{
		Attach:      2 * time.Second,
		Detach:      3 * time.Second,
		ForceDetach: 2 * time.Second,
		Stop:        20 * time.Second,
		Start:       15 * time.Second,
		Terminate:   20 * time.Second,
		Call:        40 * time.Millisecond,
		PerOp: map[string]time.Duration{
			OpDescribeNetworkInterfaces:       40 * time.Millisecond,
			OpDescribeInstances:               50 * time.Millisecond,
			OpDescribeInstanceStatus:          45 * time.Millisecond,
			OpCreateTags:                      50 * time.Millisecond,
			OpDetachNetworkInterface:          100 * time.Millisecond,
			OpAttachNetworkInterface:          120 * time.Millisecond,
			OpModifyNetworkInterfaceAttribute: 60 * time.Millisecond,
			OpStartInstances:                  150 * time.Millisecond,
		},
	}
}

// Scaled returns the timings with call latencies multiplied by calls and
// transitions by transitions.
func (t Timings) Scaled(calls, transitions float64) Timings {
	sc := func(d time.Duration, f float64) time.Duration { return time.Duration(float64(d) * f) }
	out := Timings{
		Attach: sc(t.Attach, transitions), Detach: sc(t.Detach, transitions), ForceDetach: sc(t.ForceDetach, transitions),
		Stop: sc(t.Stop, transitions), Start: sc(t.Start, transitions), Terminate: sc(t.Terminate, transitions),
		Call: sc(t.Call, calls), PerOp: map[string]time.Duration{}, Spread: t.Spread,
	}
	for op, d := range t.PerOp {
		out.PerOp[op] = sc(d, calls)
	}
	return out
}

// Latency is the round trip of one call of op.
func (t Timings) Latency(op string) time.Duration {
	if d, ok := t.PerOp[op]; ok {
		return d
	}
	return t.Call
}

// Call is one recorded API call.
type Call struct {
	Op    string
	Input any
	Err   error
	At    time.Time
	// Latency is the call's round trip; Transition the attach or detach
	// transition it started (what EC2 itself takes).
	Latency, Transition time.Duration
	// DryRun: the call asked only whether it was allowed.
	DryRun bool
}

// Fake is the simulated EC2. It is safe for concurrent use.
type Fake struct {
	awsapi.EC2 // nil: a call the fake does not implement panics loudly

	clk     clock.Clock
	timings Timings

	mu        sync.Mutex
	rng       *rand.Rand
	seq       int
	instances map[string]*instance
	enis      map[string]*networkInterface
	faults    []*Fault
	calls     []Call
	// afterCall runs after each call, outside the lock (crash injection).
	afterCall func(op string, input any, err error)
	// gate runs before each call, outside the lock: a scheduler may block
	// there, or fail the call (a killed invocation).
	gate func(ctx context.Context, op string) error
	// started is the transition the current call started, for its record.
	started time.Duration
}

type instance struct {
	id, az, subnet, vpc string
	state               string
	nextState           string
	transitionAt        time.Time
	tags                map[string]string
	systemStatus        string
	instanceStatus      string
	launched            time.Time
	windows             bool
	// events are EC2's scheduled events for the instance (a retirement,
	// a stop, a maintenance), as DescribeInstanceStatus lists them.
	events []types.InstanceStatusEvent
}

type attachment struct {
	id           string
	instanceID   string
	deviceIndex  int32
	status       string // attaching, attached, detaching
	dot          bool
	transitionAt time.Time
	attachedAt   time.Time
}

type networkInterface struct {
	id, mac, ip, az, subnet, vpc string
	tags                         map[string]string
	att                          *attachment
	stuckDetaching               bool
	deleted                      bool
}

// New returns an empty fake on clk with the given timings. The seed makes
// probabilistic faults repeatable.
func New(clk clock.Clock, t Timings, seed int64) *Fake {
	return &Fake{
		clk:       clk,
		timings:   t,
		rng:       rand.New(rand.NewSource(seed)),
		instances: map[string]*instance{},
		enis:      map[string]*networkInterface{},
	}
}

// InstanceSpec describes an instance to add.
type InstanceSpec struct {
	ID     string
	AZ     string
	Subnet string
	VPC    string
	State  string // default running
	Tags   map[string]string
	// Status is the status-check result (ok, impaired, initializing); default ok.
	Status string
	// Windows: EC2 reports the platform "windows".
	Windows bool
}

// AddInstance adds an instance with its primary interface at index 0.
func (f *Fake) AddInstance(s InstanceSpec) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s.State == "" {
		s.State = "running"
	}
	if s.Status == "" {
		s.Status = "ok"
	}
	if s.VPC == "" {
		s.VPC = "vpc-0sim"
	}
	if s.Subnet == "" {
		s.Subnet = "subnet-" + s.AZ
	}
	f.instances[s.ID] = &instance{
		id: s.ID, az: s.AZ, subnet: s.Subnet, vpc: s.VPC, state: s.State,
		tags: copyTags(s.Tags), systemStatus: s.Status, instanceStatus: s.Status,
		launched: f.clk.Now(), windows: s.Windows,
	}
}

// ENISpec describes a network interface to add.
type ENISpec struct {
	ID        string
	AZ        string
	Subnet    string
	VPC       string
	MAC       string
	PrivateIP string
	Tags      map[string]string
	// AttachTo attaches it at once (status attached) at DeviceIndex.
	AttachTo    string
	DeviceIndex int32
	// DeleteOnTermination of that attachment.
	DeleteOnTermination bool
}

// AddENI adds a network interface, attached when AttachTo is set.
func (f *Fake) AddENI(s ENISpec) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s.VPC == "" {
		s.VPC = "vpc-0sim"
	}
	if s.Subnet == "" {
		s.Subnet = "subnet-" + s.AZ
	}
	f.seq++
	if s.MAC == "" {
		s.MAC = fmt.Sprintf("02:00:00:00:%02x:%02x", f.seq/256%256, f.seq%256)
	}
	if s.PrivateIP == "" {
		s.PrivateIP = fmt.Sprintf("10.0.%d.%d", f.seq/250%250, 10+f.seq%240)
	}
	n := &networkInterface{
		id: s.ID, mac: s.MAC, ip: s.PrivateIP, az: s.AZ, subnet: s.Subnet, vpc: s.VPC,
		tags: copyTags(s.Tags),
	}
	if s.AttachTo != "" {
		n.att = &attachment{
			id: f.newID("eni-attach-"), instanceID: s.AttachTo, deviceIndex: s.DeviceIndex,
			status: "attached", dot: s.DeleteOnTermination, attachedAt: f.clk.Now(),
		}
	}
	f.enis[s.ID] = n
}

func (f *Fake) newID(prefix string) string {
	f.seq++
	return fmt.Sprintf("%s%017x", prefix, f.seq)
}

// StopInstance begins a stop, as a user or a failure would: running ->
// stopping -> stopped. Attached interfaces stay attached.
func (f *Fake) StopInstance(id string) { f.transition(id, "stopping", "stopped", f.timings.Stop) }

// TerminateInstance begins a termination. When it completes, secondary
// interfaces with DeleteOnTermination=false become available; others are
// deleted with the instance.
func (f *Fake) TerminateInstance(id string) {
	f.transition(id, "shutting-down", "terminated", f.timings.Terminate)
}

// StartInstance begins a start of a stopped instance, as a user would.
func (f *Fake) StartInstance(id string) { f.transition(id, "pending", "running", f.timings.Start) }

func (f *Fake) transition(id, now, next string, after time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advance()
	in := f.instances[id]
	if in == nil || in.state == "terminated" {
		return
	}
	in.state, in.nextState, in.transitionAt = now, next, f.clk.Now().Add(f.vary(after))
	f.advance()
}

// SetStatus sets the status-check result of an instance (ok, impaired,
// initializing).
func (f *Fake) SetStatus(id, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in := f.instances[id]; in != nil {
		in.systemStatus, in.instanceStatus = status, status
	}
}

// ScheduleEvent gives the instance one of EC2's scheduled events (code
// "instance-stop", "instance-retirement", "system-maintenance", ...), as
// AWS does when it announces a change through AWS Health.
func (f *Fake) ScheduleEvent(id, code string, notBefore time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in := f.instances[id]; in != nil {
		in.events = append(in.events, types.InstanceStatusEvent{Code: types.EventCode(code), NotBefore: aws.Time(notBefore),
			Description: aws.String("The instance is scheduled for " + code)})
	}
}

// SetStuckDetaching makes graceful detaches of the interface hang in
// detaching until a force detach. Unsticking lets a hanging detach finish
// after the usual detach time.
func (f *Fake) SetStuckDetaching(eniID string, stuck bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.enis[eniID]
	if n == nil {
		return
	}
	n.stuckDetaching = stuck
	if a := n.att; !stuck && a != nil && a.status == "detaching" && a.transitionAt.After(f.clk.Now().Add(f.timings.Detach)) {
		a.transitionAt = f.clk.Now().Add(f.timings.Detach)
	}
}

// SetDeleteOnTermination flips the attachment's flag, as a careless
// console edit would.
func (f *Fake) SetDeleteOnTermination(eniID string, dot bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := f.enis[eniID]; n != nil && n.att != nil {
		n.att.dot = dot
	}
}

// DetachNow removes the interface's attachment at once, as an operator
// with the console would.
func (f *Fake) DetachNow(eniID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := f.enis[eniID]; n != nil {
		n.att = nil
	}
}

// SetGate registers a hook run before every call (nil removes it).
func (f *Fake) SetGate(g func(ctx context.Context, op string) error) {
	f.mu.Lock()
	f.gate = g
	f.mu.Unlock()
}

// AttachNow attaches an interface at once, as someone in the console would.
func (f *Fake) AttachNow(eniID, instanceID string, deviceIndex int32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advance()
	if n := f.enis[eniID]; n != nil && n.att == nil {
		n.att = &attachment{id: f.newID("eni-attach-"), instanceID: instanceID, deviceIndex: deviceIndex, status: "attached", attachedAt: f.clk.Now()}
	}
}

// DeleteENI deletes an interface, as someone with the console would.
func (f *Fake) DeleteENI(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.enis, id)
}

// Advance applies every transition that is due at the clock's time.
func (f *Fake) Advance() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advance()
}

// advance applies due transitions; f.mu must be held.
func (f *Fake) advance() {
	now := f.clk.Now()
	for _, in := range f.instances {
		if in.nextState != "" && !now.Before(in.transitionAt) {
			in.state, in.nextState = in.nextState, ""
			switch in.state {
			case "running":
				in.systemStatus, in.instanceStatus = "ok", "ok"
				in.launched = now
			case "terminated":
				f.releaseOnTerminate(in.id)
			}
		}
	}
	for _, n := range f.enis {
		a := n.att
		if a == nil || a.transitionAt.IsZero() || now.Before(a.transitionAt) {
			continue
		}
		switch a.status {
		case "attaching":
			a.status, a.transitionAt = "attached", time.Time{}
		case "detaching":
			n.att = nil
		}
	}
}

func (f *Fake) releaseOnTerminate(instanceID string) {
	for id, n := range f.enis {
		if n.att == nil || n.att.instanceID != instanceID {
			continue
		}
		if n.att.dot {
			n.deleted = true
			delete(f.enis, id)
			continue
		}
		n.att = nil
	}
}

// ENIState is a snapshot of an interface for assertions.
type ENIState struct {
	ID, MAC, PrivateIP, AZ string
	Exists                 bool
	Status                 string // available or in-use
	AttachmentID           string
	InstanceID             string
	AttachmentStatus       string
	DeviceIndex            int32
	DeleteOnTermination    bool
	Tags                   map[string]string
}

// ENI returns a snapshot of an interface after applying due transitions.
func (f *Fake) ENI(id string) ENIState {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advance()
	n := f.enis[id]
	if n == nil {
		return ENIState{ID: id}
	}
	s := ENIState{ID: id, MAC: n.mac, PrivateIP: n.ip, AZ: n.az, Exists: true, Status: "available", Tags: copyTags(n.tags)}
	if n.att != nil {
		s.Status = "in-use"
		s.AttachmentID, s.InstanceID, s.AttachmentStatus = n.att.id, n.att.instanceID, n.att.status
		s.DeviceIndex, s.DeleteOnTermination = n.att.deviceIndex, n.att.dot
	}
	return s
}

// AttachmentsOf counts attachments of an interface (0 or 1; more would be a
// simulator bug, which tests assert against too).
func (f *Fake) AttachmentsOf(eniID string) int {
	st := f.ENI(eniID)
	if st.AttachmentID == "" {
		return 0
	}
	return 1
}

// Tags returns a copy of an instance's tags (nil for an unknown one).
func (f *Fake) Tags(instanceID string) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i := f.instances[instanceID]; i != nil {
		return copyTags(i.tags)
	}
	return nil
}

// InstanceState returns an instance's state after due transitions.
func (f *Fake) InstanceState(id string) string {
	return f.instanceField(id, func(in *instance) string { return in.state })
}

// instanceField reads one field of an instance after due transitions; ""
// for an unknown instance.
func (f *Fake) instanceField(id string, field func(*instance) string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advance()
	if in := f.instances[id]; in != nil {
		return field(in)
	}
	return ""
}

// Calls returns the recorded calls.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// ResetCalls forgets the recorded calls.
func (f *Fake) ResetCalls() {
	f.mu.Lock()
	f.calls = nil
	f.mu.Unlock()
}

// CallCount counts recorded calls of op, successful or not.
func (f *Fake) CallCount(op string) int {
	n := 0
	for _, c := range f.Calls() {
		if c.Op == op {
			n++
		}
	}
	return n
}

// MutatingCalls counts calls of mutating operations, successful or not.
func (f *Fake) MutatingCalls() int {
	n := 0
	for _, c := range f.Calls() {
		if MutatingOps[c.Op] && !c.DryRun {
			n++
		}
	}
	return n
}

// AcceptedMutations counts mutating calls that EC2 accepted, by operation.
func (f *Fake) AcceptedMutations() map[string]int {
	m := map[string]int{}
	for _, c := range f.Calls() {
		if MutatingOps[c.Op] && c.Err == nil && !c.DryRun {
			m[c.Op]++
		}
	}
	return m
}

// TotalCalls counts every recorded call.
func (f *Fake) TotalCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// AfterCall registers a hook run after every call with its operation,
// input and error (for crash injection and pacing checks); nil removes it.
func (f *Fake) AfterCall(h func(op string, input any, err error)) {
	f.mu.Lock()
	f.afterCall = h
	f.mu.Unlock()
}

func copyTags(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Status returns an instance's status-check result (ok, impaired,
// initializing).
func (f *Fake) Status(id string) string {
	return f.instanceField(id, func(in *instance) string { return in.instanceStatus })
}
