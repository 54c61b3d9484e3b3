package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/eni-failover/eni-failover/internal/eventparse"
	"github.com/eni-failover/eni-failover/internal/probe"
)

// Daemon states of a simulated token server.
const (
	Serving = "serving"
	Killed  = "killed" // its port refuses connections
	Hung    = "hung"   // the kernel accepts for it; it never replies
)

// Daemon is lmgrd on one instance.
type Daemon struct {
	State string
	// ServeAt is when a starting daemon begins to answer.
	ServeAt time.Time
}

// TokenServers stands for lmgrd on each member of the demo group, as the
// probe sees it at the license ENI's address (probe.Checker): the ENI's
// holder answers if it runs, is reachable and its daemon serves. An
// instance never set serves.
type TokenServers struct {
	Region *Region
	// Timeout is what a check that gets no answer takes (PROBE_TIMEOUT);
	// RTT what one that does.
	Timeout, RTT time.Duration
	// ENIs maps a license address to its ENI; nil: every address is the
	// demo group's (ENIID).
	ENIs map[string]string

	mu          sync.Mutex
	daemons     map[string]Daemon
	unreachable map[string]bool
	netDown     bool
}

// Set puts instance id's daemon in d.
func (t *TokenServers) Set(id string, d Daemon) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.daemons == nil {
		t.daemons = map[string]Daemon{}
	}
	t.daemons[id] = d
}

// SetUnreachable cuts an instance off the network (a kernel hang): EC2
// still says running.
func (t *TokenServers) SetUnreachable(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.unreachable == nil {
		t.unreachable = map[string]bool{}
	}
	t.unreachable[id] = true
}

// SetProbeNetworkDown cuts the probe off: every check and the witness
// time out.
func (t *TokenServers) SetProbeNetworkDown() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.netDown = true
}

// state is what the ENI's address shows clients now: "" when nothing
// answers at all (no holder, or a holder stopped or unreachable).
func (t *TokenServers) state(eniID string) string {
	st := t.Region.EC2.ENI(eniID)
	if st.InstanceID == "" || st.AttachmentStatus != "attached" || t.Region.EC2.InstanceState(st.InstanceID) != "running" {
		return ""
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.unreachable[st.InstanceID] {
		return ""
	}
	d, ok := t.daemons[st.InstanceID]
	switch {
	case !ok:
		return Serving
	case d.State == Serving && t.Region.Clock.Now().Before(d.ServeAt):
		return Killed // still starting: nothing listens yet
	}
	return d.State
}

// Answering reports whether the license answers clients.
func (t *TokenServers) Answering() bool { return t.state(ENIID) == Serving }

// AnsweringOn reports whether the license on an ENI answers clients.
func (t *TokenServers) AnsweringOn(eniID string) bool { return t.state(eniID) == Serving }

func (t *TokenServers) eniAt(address string) string {
	if id, ok := t.ENIs[address]; ok {
		return id
	}
	return ENIID
}

// Check is one probe check of the license address.
func (t *TokenServers) Check(ctx context.Context, address string, _ int, answer bool) error {
	t.mu.Lock()
	netDown := t.netDown
	t.mu.Unlock()
	switch s := t.state(t.eniAt(address)); {
	case s == "" || netDown:
		_ = t.Region.Clock.Sleep(ctx, t.Timeout)
		return probe.ErrTimeout
	case s == Hung && answer:
		_ = t.Region.Clock.Sleep(ctx, t.Timeout)
		return probe.ErrNoAnswer
	case s == Killed:
		_ = t.Region.Clock.Sleep(ctx, t.RTT)
		return probe.ErrRefused
	}
	_ = t.Region.Clock.Sleep(ctx, t.RTT)
	return nil
}

// Reach is the probe's witness: it answers unless the probe is cut off.
func (t *TokenServers) Reach(ctx context.Context, _ string) bool {
	t.mu.Lock()
	down := t.netDown
	t.mu.Unlock()
	if down {
		_ = t.Region.Clock.Sleep(ctx, t.Timeout)
		return false
	}
	_ = t.Region.Clock.Sleep(ctx, t.RTT)
	return true
}

// ProbeFunctionARN is the probe as its invocation records name it.
const ProbeFunctionARN = "arn:aws:lambda:us-east-1:123456789012:function:eni-failover-probe:$LATEST"

// FindingsEvent is a probe invocation's result as its on-success Lambda
// destination puts it on EventBridge (the invocation record as the
// detail, source "lambda"; the CDK's aws-lambda-destinations README,
// "Destination-specific JSON format"), and the rule hands it to the
// failover function.
func FindingsEvent(at time.Time, request, response []byte) []byte {
	if len(request) == 0 {
		request = []byte("{}")
	}
	b, err := json.Marshal(map[string]any{
		"version": "0", "id": fmt.Sprintf("findings-%d", at.UnixNano()),
		"detail-type": eventparse.DetailInvocationSuccess, "source": eventparse.SourceLambda,
		"account": "123456789012", "time": at.UTC().Format(time.RFC3339), "region": "us-east-1",
		"resources": []string{"arn:aws:events:us-east-1:123456789012:event-bus/default", ProbeFunctionARN},
		"detail": map[string]any{
			"version": "1.0", "timestamp": at.UTC().Format(time.RFC3339Nano),
			"requestContext": map[string]any{"requestId": fmt.Sprintf("req-%d", at.UnixNano()), "functionArn": ProbeFunctionARN,
				"condition": "Success", "approximateInvokeCount": 1},
			"requestPayload":  json.RawMessage(request),
			"responseContext": map[string]any{"statusCode": 200, "executedVersion": "$LATEST"},
			"responsePayload": json.RawMessage(response),
		},
	})
	if err != nil {
		panic(err) // only maps and raw JSON: cannot fail on valid input
	}
	return b
}
