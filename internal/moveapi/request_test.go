package moveapi_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/eni-failover/eni-failover/internal/moveapi"
)

func TestParseRequest(t *testing.T) {
	cases := []struct {
		payload string
		refusal string // "" accepted
	}{
		{`{"action":"status"}`, ""},
		{`{"action":"plan","target":"i-0bbbbbbbbbbbbbbb2","reason":"what if"}`, ""},
		{`{"action":"move","group":"mosek","target":"i-0bbbbbbbbbbbbbbb2","reason":"patching","request_id":"cli-1"}`, ""},
		{`{"action":"pause","reason":"patching","minutes":10080}`, ""},
		{`{"action":"history","limit":50}`, ""},
		{`{"action":"drill","request_id":"cli-2"}`, ""},
		{`{"action":""}`, `"action" is required: status, plan, move, failback, pause, resume, history, drill or doctor`},
		{`{"action":"teleport"}`, `unknown action "teleport"`},
		{`{"action":"failback","target":"i-0bbbbbbbbbbbbbbb2"}`, "target applies to plan and move, not failback"},
		{`{"action":"status","reason":"x"}`, "reason applies to plan, move, failback, pause, resume and drill, not status"},
		{`{"action":"move","minutes":5}`, "minutes applies to pause, not move"},
		{`{"action":"status","limit":5}`, "limit applies to history, not status"},
		{`{"action":"pause","reason":"  "}`, `pause needs a "reason"`},
		{`{"action":"pause","reason":"x","minutes":10081}`, "minutes 10081: from 1 to 10080"},
		{`{"action":"pause","reason":"x","minutes":-1}`, "minutes -1"},
		{`{"action":"history","limit":51}`, "limit 51: from 1 to 50"},
		{`{"action":"move","target":"eni-1"}`, `target "eni-1" is not an instance id`},
		{`{"action":"move","group":""}`, ""},
		{`{"action":"move","request_id":"a b"}`, `request_id "a b"`},
		{`{"action":"move","reason":"` + strings.Repeat("x", 201) + `"}`, "reason is longer than 200 characters"},
		{`{"action":"move"} {"action":"plan"}`, "payload is not one object"},
	}
	for _, tc := range cases {
		req, err := moveapi.ParseRequest([]byte(tc.payload))
		var bad *moveapi.BadRequestError
		switch {
		case tc.refusal == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.payload, err)
		case tc.refusal != "" && (!errors.As(err, &bad) || !strings.Contains(err.Error(), tc.refusal)):
			t.Errorf("%s: %v, want a BadRequestError saying %q", tc.payload, err, tc.refusal)
		case tc.refusal == "" && req.Action == "":
			t.Errorf("%s: no action parsed", tc.payload)
		}
	}
}

// Every field an action takes is accepted, every other is refused naming
// the actions that take it: the table alone decides.
func TestFieldsFollowTheTable(t *testing.T) {
	values := map[moveapi.Field]string{
		moveapi.FieldTarget: `"target":"i-0bbbbbbbbbbbbbbb2"`, moveapi.FieldReason: `"reason":"r"`,
		moveapi.FieldMinutes: `"minutes":5`, moveapi.FieldLimit: `"limit":5`,
	}
	for _, a := range moveapi.Actions {
		for f, v := range values {
			payload := `{"action":"` + string(a.Name) + `",` + v + `}`
			if slices.Contains(a.Requires, moveapi.FieldReason) && f != moveapi.FieldReason {
				payload = `{"action":"` + string(a.Name) + `","reason":"r",` + v + `}`
			}
			_, err := moveapi.ParseRequest([]byte(payload))
			if a.Takes(f) != (err == nil) {
				t.Errorf("%s: takes %s %v, err %v", payload, f, a.Takes(f), err)
			}
			if err != nil && !strings.Contains(err.Error(), moveapi.Taking(f)) {
				t.Errorf("%s: %v does not name the actions that take %s", payload, err, f)
			}
		}
	}
}

func TestTable(t *testing.T) {
	seen := map[moveapi.ActionName]bool{}
	for _, a := range moveapi.Actions {
		if seen[a.Name] || a.Help == "" {
			t.Errorf("%s: repeated, or without help", a.Name)
		}
		seen[a.Name] = true
		if a.Idempotent && !a.Mutates {
			t.Errorf("%s: a request id only matters to an action that changes something", a.Name)
		}
		for _, f := range a.Requires {
			if !a.Takes(f) {
				t.Errorf("%s requires %s but does not take it", a.Name, f)
			}
		}
		if got, ok := moveapi.Lookup(a.Name); !ok || got.Name != a.Name {
			t.Errorf("lookup %s: %v", a.Name, ok)
		}
	}
	if _, ok := moveapi.Lookup("teleport"); ok {
		t.Error("lookup of an unknown action succeeded")
	}
}
