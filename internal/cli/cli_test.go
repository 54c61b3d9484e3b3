package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// fakeLambda answers every invocation with one payload and records it.
type fakeLambda struct {
	payload  string
	funcErr  string
	err      error
	requests []map[string]any
	context  []string
}

func (f *fakeLambda) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	var req map[string]any
	_ = json.Unmarshal(in.Payload, &req)
	f.requests = append(f.requests, req)
	f.context = append(f.context, aws.ToString(in.ClientContext))
	if f.err != nil {
		return nil, f.err
	}
	out := &lambda.InvokeOutput{Payload: []byte(f.payload)}
	if f.funcErr != "" {
		out.FunctionError = aws.String("Unhandled")
		out.Payload = []byte(f.funcErr)
	}
	return out, nil
}

func run(t *testing.T, f *fakeLambda, args ...string) (int, string, string, bool) {
	t.Helper()
	var out, errOut bytes.Buffer
	var mutating bool
	resolve := func(_ context.Context, fl Flags, m bool) (Target, error) {
		mutating = m
		return Target{Invoker: f, Function: "EniFailover-move", Operator: "jo@laptop"}, nil
	}
	code := Run(context.Background(), args, resolve, &out, &errOut)
	return code, out.String(), errOut.String(), mutating
}

const status = `{"action":"status","group":"mosek","eni_id":"eni-1","mac":"0a:1b","private_ip":"10.0.1.27","availability_zone":"us-east-1a","outcome":"status",
"holder":"i-a","attachment_state":"attached","delete_on_termination":false,"home":"i-a",
"members":[{"instance_id":"i-a","name":"token-1","state":"%s","health":"ok","availability_zone":"us-east-1a","priority":1,"holder":true,"home":true,"can_take_eni":false},
{"instance_id":"i-b","name":"token-2","state":"stopped","health":"unknown","availability_zone":"us-east-1a","priority":2,"can_take_eni":false,"why_not":"stopped (starting standbys is off)"}],
"history":[{"at":"2026-11-26T09:00:00Z","from":"i-b","to":"i-a","trigger":"failback","outcome":"moved","duration_ms":5400}]}`

func TestStatusTableAndExitCode(t *testing.T) {
	f := &fakeLambda{payload: strings.Replace(status, "%s", "running", 1)}
	code, out, _, mutating := run(t, f, "status", "--group", "mosek")
	if code != ExitOK || mutating {
		t.Fatalf("exit %d, mutating %v", code, mutating)
	}
	for _, want := range []string{"holder i-a (token-1), attached", "automatic moves on", "token-2", "no: stopped (starting standbys is off)",
		"holder, home", "2026-11-26T09:00:00Z", "failback", "5.4s"} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "{") {
		t.Errorf("JSON in the table:\n%s", out)
	}
	f.payload = strings.Replace(status, "%s", "stopped", 1)
	if code, _, _, _ := run(t, f, "status"); code != ExitDegraded {
		t.Fatalf("holder stopped: exit %d, want %d", code, ExitDegraded)
	}
	if code, out, _, _ := run(t, f, "status", "--json"); code != ExitDegraded || !json.Valid([]byte(out)) {
		t.Fatalf("--json: exit %d, %s", code, out)
	}
	if got := f.requests[0]["group"]; got != "mosek" {
		t.Fatalf("request %v", f.requests[0])
	}
}

func TestMoveSendsARequestIDAndTheOperator(t *testing.T) {
	f := &fakeLambda{payload: `{"action":"move","group":"mosek","outcome":"moved","holder_before":"i-a","holder_after":"i-b","duration_ms":5400,
"steps":[{"name":"detach","instance_id":"i-a","duration_ms":100}]}`}
	code, out, _, mutating := run(t, f, "move", "--target", "i-0bbbbbbbbbbbbbbb2", "--reason", "patching")
	if code != ExitOK || !mutating || !strings.Contains(out, "move: moved, i-a -> i-b in 5.4s") || !strings.Contains(out, "detach") {
		t.Fatalf("exit %d mutating %v:\n%s", code, mutating, out)
	}
	id, _ := f.requests[0]["request_id"].(string)
	if !strings.HasPrefix(id, "cli-") || f.requests[0]["target"] != "i-0bbbbbbbbbbbbbbb2" {
		t.Fatalf("request %v", f.requests[0])
	}
	cc, _ := base64.StdEncoding.DecodeString(f.context[0])
	if !strings.Contains(string(cc), `"operator":"jo@laptop"`) {
		t.Fatalf("client context %s", cc)
	}
	run(t, f, "move")
	if f.requests[1]["request_id"] == id {
		t.Fatal("two moves share a request id")
	}
	f.payload = `{"action":"move","outcome":"failed","error":"no viable standby"}`
	if code, out, _, _ := run(t, f, "move"); code != ExitFailed || !strings.Contains(out, "error: no viable standby") {
		t.Fatalf("failed move: exit %d\n%s", code, out)
	}
}

func TestExitCodes(t *testing.T) {
	for name, tc := range map[string]struct {
		f     *fakeLambda
		args  []string
		want  int
		calls int
	}{
		"no command":               {&fakeLambda{}, nil, ExitUsage, 0},
		"unknown command":          {&fakeLambda{}, []string{"teleport"}, ExitUsage, 0},
		"pause without a reason":   {&fakeLambda{}, []string{"pause", "--minutes", "30"}, ExitUsage, 0},
		"a target that is not one": {&fakeLambda{}, []string{"move", "--target", "web-1"}, ExitUsage, 0},
		"stray argument":           {&fakeLambda{}, []string{"status", "mosek"}, ExitUsage, 0},
		"refused by the function":  {&fakeLambda{funcErr: `{"errorType":"BadRequestError","errorMessage":"unknown group"}`}, []string{"status", "--group", "x"}, ExitUsage, 1},
		"function error":           {&fakeLambda{funcErr: `{"errorType":"RetryableError","errorMessage":"throttled"}`}, []string{"failback"}, ExitFailed, 1},
		"unreachable":              {&fakeLambda{err: errors.New("connection refused")}, []string{"status"}, ExitUnreached, 1},
		"pause":                    {&fakeLambda{payload: `{"action":"pause","outcome":"paused"}`}, []string{"pause", "--reason", "patching", "--minutes", "90"}, ExitOK, 1},
		"history":                  {&fakeLambda{payload: `{"action":"history","group":"g","history":[]}`}, []string{"history", "--limit", "5"}, ExitOK, 1},
		"history over its limit":   {&fakeLambda{}, []string{"history", "--limit", "51"}, ExitUsage, 0},
		"help":                     {&fakeLambda{}, []string{"--help"}, ExitOK, 0},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, _, _ := run(t, tc.f, tc.args...)
			if code != tc.want || len(tc.f.requests) != tc.calls {
				t.Fatalf("exit %d after %d invocations, want %d after %d", code, len(tc.f.requests), tc.want, tc.calls)
			}
		})
	}
}
