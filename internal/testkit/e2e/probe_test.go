package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/eni-failover/eni-failover/internal/eventparse"
	"github.com/eni-failover/eni-failover/internal/findings"
	"github.com/eni-failover/eni-failover/internal/testkit/sim"
)

// destinationEvent wraps a probe invocation's result the way Lambda's
// on-success destination puts it on EventBridge and the bus hands it to a
// rule's target, and checks it carries what the stack's rule matches.
func destinationEvent(t *testing.T, request, response []byte) []byte {
	t.Helper()
	b := sim.FindingsEvent(time.Now(), request, response)
	// What the stack's findings rule matches on.
	var got struct {
		Source string `json:"source"`
		Detail struct {
			RequestContext struct {
				FunctionArn string `json:"functionArn"`
			} `json:"requestContext"`
			ResponsePayload findings.Findings `json:"responsePayload"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(b, &got); err != nil || got.Source != eventparse.SourceLambda || !strings.HasPrefix(got.Detail.RequestContext.FunctionArn, "arn:aws:lambda:") ||
		got.Detail.ResponsePayload.Kind != findings.FindingsKind || len(got.Detail.ResponsePayload.Findings) == 0 {
		t.Fatalf("the findings rule would not match %s (%v)", b, err)
	}
	return b
}

// TestProbeTriggersTheFailover: the probe bootstrap watches a loopback
// listener that the test then closes (lmgrd killed); its result, delivered
// as Lambda's destination and the rule would, reaches the failover
// bootstrap, and the ENI moves in moto. The resumed probe (the rule's
// second target: the findings alone) sees the license answer again; the
// failover function reports the outage and writes it in the history.
func TestProbeTriggersTheFailover(t *testing.T) {
	w := newWorld(t)
	// The failures the probe reports must begin after the holder got the
	// ENI, or the engine rightly takes them for an earlier holder's (a
	// round is labelled with its grid point, up to 2 s before it runs).
	if wait := time.Until(aws.ToTime(w.eniState().Attachment.AttachTime).Add(2500 * time.Millisecond)); wait > 0 {
		time.Sleep(wait)
	}
	defer func() {
		if err := license.start(); err != nil {
			t.Fatal(err)
		}
	}()
	scheduled := []byte(fmt.Sprintf(`{"version":"0","id":"e2e","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":%q,"region":%q,"resources":[],"detail":{}}`,
		time.Now().UTC().Format(time.RFC3339), region))
	type result struct {
		body []byte
		err  *lambdaError
	}
	done := make(chan result, 1)
	go func() {
		body, ferr := functions["probe"].invoke(t, scheduled)
		done <- result{body, ferr}
	}()
	// Whether the probe has run a round yet or not, from now on lmgrd's
	// port refuses: three refused rounds confirm it.
	time.Sleep(300 * time.Millisecond)
	license.kill()
	killed := time.Now()
	res := <-done
	if res.err != nil {
		t.Fatalf("probe: %+v", res.err)
	}
	var f findings.Findings
	if err := json.Unmarshal(res.body, &f); err != nil || len(f.Failures) != 1 || f.Failures[0].Group != w.group || f.Failures[0].Checks != 3 {
		t.Fatalf("probe findings %s (%v)", res.body, err)
	}
	if since := f.Failures[0].FailingSince; since.Before(killed.Add(-2 * time.Second)) {
		t.Fatalf("failing since %s, before the daemon was killed at %s", since, killed)
	}

	out := w.failoverEvent(destinationEvent(t, scheduled, res.body))
	if len(out.Reports) != 1 || out.Reports[0].Outcome != "moved" || w.holder() != w.standby {
		t.Fatalf("failover on the probe's trigger: %+v, ENI on %s", out, w.holder())
	}

	// lmgrd starts on the new holder; the rule resumes the probe with its
	// findings.
	if err := license.start(); err != nil {
		t.Fatal(err)
	}
	body, ferr := functions["probe"].invoke(t, res.body)
	if ferr != nil {
		t.Fatalf("resumed probe: %+v", ferr)
	}
	var resumed findings.Findings
	if err := json.Unmarshal(body, &resumed); err != nil || len(resumed.Restored) != 1 || resumed.Restored[0].OutageMS <= 0 {
		t.Fatalf("resumed findings %s (%v)", body, err)
	}
	w.notifications() // the move's
	out = w.failoverEvent(destinationEvent(t, res.body, body))
	if len(out.Reports) != 1 || out.Reports[0].Outcome != "license-confirmed" || w.holder() != w.standby {
		t.Fatalf("confirmation: %+v", out)
	}
	if subjects := w.notifications(); len(subjects) != 1 || !strings.Contains(subjects[0], "license answers again on "+w.standby) {
		t.Fatalf("notifications %q", subjects)
	}
	if h := w.journal()["eni-failover:history"]; !strings.HasSuffix(h, fmt.Sprint(" ", resumed.Restored[0].OutageMS)) {
		t.Fatalf("history %q lacks the outage %d ms", h, resumed.Restored[0].OutageMS)
	}
}

// failoverEvent sends a raw event to the failover bootstrap.
func (w *world) failoverEvent(event []byte) failoverResult {
	w.t.Helper()
	body, ferr := functions["failover"].invoke(w.t, event)
	if ferr != nil {
		w.t.Fatalf("failover: %s: %s", ferr.Type, ferr.Message)
	}
	var res failoverResult
	if err := json.Unmarshal(body, &res); err != nil {
		w.t.Fatalf("failover: result %s: %v", body, err)
	}
	return res
}
