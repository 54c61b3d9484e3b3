package e2e

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/eni-failover/eni-failover/internal/moveapi"
)

type failoverResult struct {
	Ignored   string `json:"ignored"`
	Malformed bool   `json:"malformed"`
	Reports   []struct {
		Outcome     string `json:"outcome"`
		HolderAfter string `json:"holder_after"`
		Activation  *struct {
			Status    string `json:"status"`
			CommandID string `json:"command_id"`
		} `json:"activation"`
	} `json:"reports"`
}

func (w *world) failover(name string) failoverResult {
	w.t.Helper()
	res, ferr := w.failoverMayFail(name)
	if ferr != nil {
		w.t.Fatalf("failover %s: %s: %s", name, ferr.Type, ferr.Message)
	}
	return res
}

// failoverMayFail returns the function's error instead of failing the test.
func (w *world) failoverMayFail(name string) (failoverResult, *lambdaError) {
	w.t.Helper()
	body, ferr := functions["failover"].invoke(w.t, w.sample(name))
	if ferr != nil {
		return failoverResult{}, ferr
	}
	var res failoverResult
	if err := json.Unmarshal(body, &res); err != nil {
		w.t.Fatalf("failover %s: result %s: %v", name, body, err)
	}
	return res, nil
}

func (w *world) manual(payload string) (moveapi.Response, *lambdaError) {
	w.t.Helper()
	body, ferr := functions["move"].invoke(w.t, []byte(payload))
	var resp moveapi.Response
	if ferr == nil {
		if err := json.Unmarshal(body, &resp); err != nil {
			w.t.Fatalf("move %s: response %s: %v", payload, body, err)
		}
	}
	return resp, ferr
}

func TestEventsMoveTheENI(t *testing.T) {
	cases := []struct {
		event  string
		before func(w *world)
		want   func(w *world) string
		notify bool
		// deferred: a change announced (one notification), nothing moved.
		deferred bool
	}{
		{"ec2-state-stopped.json", func(w *world) { w.stop(w.primary) }, func(w *world) string { return w.standby }, true, false},
		{"ec2-state-stopping.json", func(w *world) { w.stop(w.primary) }, func(w *world) string { return w.standby }, true, false},
		{"ec2-state-shutting-down.json", func(w *world) { w.terminate(w.primary) }, func(w *world) string { return w.standby }, true, false},
		{"ec2-state-terminated.json", func(w *world) { w.terminate(w.primary) }, func(w *world) string { return w.standby }, true, false},
		{"ec2-state-running.json", func(w *world) { w.detach() }, func(w *world) string { return w.primary }, true, false},
		{"ec2-state-pending.json", nil, func(w *world) string { return w.primary }, false, false},
		{"spot-interruption.json", nil, func(w *world) string { return w.standby }, true, false},
		{"rebalance-recommendation.json", nil, func(w *world) string { return w.standby }, true, false},
		// moto's status checks pass: an alarm EC2 does not confirm (anyone
		// allowed SetAlarmState can raise it) moves nothing. The handler
		// tests move on one that EC2 confirms.
		{"alarm-status-check.json", nil, func(w *world) string { return w.primary }, false, false},
		{"alarm-ok.json", nil, func(w *world) string { return w.primary }, false, false},
		{"alarm-metric-math.json", nil, func(w *world) string { return w.primary }, false, false},
		{"alarm-composite.json", nil, func(w *world) string { return w.primary }, false, false},
		{"health-ec2-arn-now.json", nil, func(w *world) string { return w.standby }, true, false},
		{"health-ec2-several-entities.json", nil, func(w *world) string { return w.second }, true, false},
		{"health-ec2-closed.json", nil, func(w *world) string { return w.primary }, false, false},
		{"health-ec2-scheduled.json", nil, func(w *world) string { return w.primary }, false, true},
		{"scheduled-reconcile.json", func(w *world) { w.stop(w.primary) }, func(w *world) string { return w.standby }, true, false},
		{"scheduled-reconcile.json", nil, func(w *world) string { return w.primary }, false, false}, // writes the journal only
		{"other-s3-event.json", nil, func(w *world) string { return w.primary }, false, false},
		{"malformed/state-change-without-instance.json", func(w *world) { w.stop(w.primary) }, func(w *world) string { return w.primary }, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.event, func(t *testing.T) {
			w := newWorld(t)
			if tc.before != nil {
				tc.before(w)
			}
			res := w.failover(tc.event)
			want := tc.want(w)
			if got := w.holder(); got != want {
				t.Fatalf("ENI on %q, want %q; result %+v", got, want, res)
			}
			subjects := w.notifications()
			if tc.deferred {
				if len(subjects) != 1 || !strings.Contains(subjects[0], "scheduled") || w.journal()["eni-failover:scheduled"] == "" {
					t.Fatalf("notifications %q, journal %v: want the change recorded and announced", subjects, w.journal())
				}
				return
			}
			if tc.notify && (len(subjects) != 1 || !strings.Contains(subjects[0], want)) {
				t.Fatalf("notifications %q, want one naming %s", subjects, want)
			}
			if !tc.notify && len(subjects) != 0 {
				t.Fatalf("notifications %q for no move", subjects)
			}
			if tc.notify {
				// Each move ran the activation on the new holder (moto's SSM).
				if a := res.Reports[0].Activation; a == nil || a.Status != "Success" || a.CommandID == "" {
					t.Fatalf("activation %+v", a)
				}
			}
			if tc.notify && w.journal()["eni-failover:holder"] != want {
				t.Fatalf("journal %v", w.journal())
			}
		})
	}
}

func TestManualActions(t *testing.T) {
	w := newWorld(t)
	status, ferr := w.manual(`{"action":"status"}`)
	if ferr != nil {
		t.Fatalf("status: %+v", ferr)
	}
	if status.ENIID != w.eni || !strings.EqualFold(status.MAC, w.mac) || status.Holder != w.primary || status.Home != w.primary || len(status.Members) != 3 || status.PrivateIP == "" {
		t.Fatalf("status %+v", status)
	}

	plan, ferr := w.manual(`{"action":"plan","group":"mosek"}`)
	if ferr != nil || plan.Outcome != "planned" || plan.Plan == nil || plan.Plan.Candidates[0].InstanceID != w.standby || w.holder() != w.primary {
		t.Fatalf("plan %+v %v", plan, ferr)
	}

	moved, ferr := w.manual(`{"action":"move","group":"mosek","reason":"e2e"}`)
	if ferr != nil || moved.Outcome != "moved" || moved.HolderBefore != w.primary || moved.HolderAfter != w.standby || w.holder() != w.standby {
		t.Fatalf("move %+v %v", moved, ferr)
	}
	// EC2's transitions take time in the strict layer: the waits show it,
	// and the steps fit within the run.
	var sum int64
	waited := map[string]int64{}
	for _, s := range moved.Steps {
		sum += s.DurationMS
		waited[string(s.Name)] += s.DurationMS
	}
	if waited["wait-available"] <= 0 || waited["wait-attached"] <= 0 || sum > moved.DurationMS {
		t.Fatalf("steps %+v (%d ms of %d ms)", moved.Steps, sum, moved.DurationMS)
	}

	targeted, ferr := w.manual(`{"action":"move","target":"` + w.second + `"}`)
	if ferr != nil || targeted.HolderAfter != w.second || w.holder() != w.second {
		t.Fatalf("move to target %+v %v", targeted, ferr)
	}

	back, ferr := w.manual(`{"action":"failback"}`)
	if ferr != nil || back.Outcome != "moved" || w.holder() != w.primary {
		t.Fatalf("failback %+v %v", back, ferr)
	}
	again, ferr := w.manual(`{"action":"failback"}`)
	if ferr != nil || again.Outcome != "nothing-to-do" {
		t.Fatalf("second failback %+v %v", again, ferr)
	}
	if subjects := w.notifications(); len(subjects) != 3 {
		t.Fatalf("notifications %q, want 3 (move, move, failback)", subjects)
	}
}

func TestBadPayloadsChangeNothing(t *testing.T) {
	w := newWorld(t)
	journal := w.journal()
	for name, payload := range map[string]string{
		"unknown action":            `{"action":"teleport"}`,
		"unknown group":             `{"action":"move","group":"matlab"}`,
		"target outside the group":  `{"action":"move","target":"` + w.outsider + `"}`,
		"target not an instance id": `{"action":"move","target":"web-1"}`,
		// aws-lambda-go's typed handlers decode only the first JSON value:
		// these reach the function whole only through its byte-level
		// handler.
		"data after the object":  `{"action":"plan"} trailing`,
		"a second object":        `{"action":"plan"} {"action":"move"}`,
		"a bracket after a move": `{"action":"move"}]`,
	} {
		t.Run(name, func(t *testing.T) {
			_, ferr := w.manual(payload)
			if ferr == nil || ferr.Type != "BadRequestError" || len(ferr.Message) < 10 {
				t.Fatalf("error %+v", ferr)
			}
			if w.holder() != w.primary {
				t.Fatal("ENI moved")
			}
		})
	}
	if after := w.journal(); !maps.Equal(after, journal) {
		t.Fatalf("journal changed: %v -> %v", journal, after)
	}
	if subjects := w.notifications(); len(subjects) != 0 {
		t.Fatalf("notifications %q", subjects)
	}
}

func TestProbe(t *testing.T) {
	need(t)
	body, ferr := functions["probe"].invoke(t, []byte(`{"source":"aws.events","detail-type":"Scheduled Event","detail":{}}`))
	if ferr != nil {
		t.Fatalf("probe: %+v", ferr)
	}
	var res struct {
		Results []struct {
			Group     string `json:"group"`
			Reachable bool   `json:"reachable"`
		} `json:"results"`
	}
	if err := json.Unmarshal(body, &res); err != nil || len(res.Results) != 1 {
		t.Fatalf("result %s (%v)", body, err)
	}
	if !res.Results[0].Reachable || res.Results[0].Group != "mosek" {
		t.Fatalf("results %+v", res.Results)
	}
	out, ok := functions["probe"].out.WaitFor(10*time.Second, `"LicensePortReachable":1`)
	if !ok {
		t.Fatalf("no metric lines in the probe's output:\n%s", tail(out, 2000))
	}
}

// TestPauseIgnoresAStopUntilResume: the real bootstraps share the pause
// through the ENI's journal: paused through the move function, the
// failover function skips a stop; after resume it moves the ENI.
func TestPauseIgnoresAStopUntilResume(t *testing.T) {
	w := newWorld(t)
	if resp, ferr := w.manual(`{"action":"pause","reason":"e2e maintenance","minutes":30}`); ferr != nil || resp.Outcome != "paused" {
		t.Fatalf("pause: %+v %v", resp, ferr)
	}
	if status, ferr := w.manual(`{"action":"status"}`); ferr != nil || status.Pause == nil || status.Pause.Reason != "e2e maintenance" {
		t.Fatalf("status: %+v %v", status, ferr)
	}
	w.stop(w.primary)
	res := w.failover("ec2-state-stopped.json")
	if len(res.Reports) != 1 || res.Reports[0].Outcome != "paused" || w.holder() != w.primary {
		t.Fatalf("stop while paused: %+v, ENI on %s", res, w.holder())
	}
	if resp, ferr := w.manual(`{"action":"resume"}`); ferr != nil || resp.Outcome != "resumed" {
		t.Fatalf("resume: %+v %v", resp, ferr)
	}
	w.failover("ec2-state-stopped.json")
	if got := w.holder(); got != w.standby {
		t.Fatalf("after resume: ENI on %s, want %s", got, w.standby)
	}
}
