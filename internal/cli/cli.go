// Package cli is the operator's command line (cmd/eni-failover): it invokes
// the deployed move function and prints what a person reads at a glance,
// or JSON for scripts. It never ships in a function.
package cli

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/moveapi"
	"github.com/eni-failover/eni-failover/internal/report"
)

// Exit codes scripts can use.
const (
	ExitOK         = 0 // done, or nothing to do; status: the ENI is on a healthy member
	ExitFailed     = 1 // the action ran and failed (outcome failed, a function error)
	ExitUsage      = 2 // bad command line, or the function refused the request
	ExitUnreached  = 3 // the function could not be invoked
	ExitDegraded   = 4 // status: the ENI is unattached, or on a member that is not healthy
	defaultTimeout = 16 * time.Minute
)

// Invoker is the one Lambda call the command line makes.
type Invoker interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// Target says how to reach the move function.
type Target struct {
	Invoker  Invoker
	Function string
	// Operator is who runs the command, passed in the client context so
	// that a pause records it.
	Operator string
}

// Resolve turns the common flags into a Target (the AWS wiring lives in
// cmd/eni-failover); mutating says whether the action changes anything,
// so that the client makes one attempt only.
type Resolve func(ctx context.Context, f Flags, mutating bool) (Target, error)

// Flags are the options every command takes.
type Flags struct {
	Function, URL, Stack, Region, Endpoint, Group string
	JSON                                          bool
	Timeout                                       time.Duration
}

// flagHelp is how usage shows each field's flag.
var flagHelp = map[moveapi.Field]string{
	moveapi.FieldTarget:  "--target i-...",
	moveapi.FieldReason:  "--reason TEXT",
	moveapi.FieldMinutes: "--minutes N",
	moveapi.FieldLimit:   "--limit N",
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: eni-failover COMMAND [flags]")
	fmt.Fprintln(w, "\ncommands:")
	for _, a := range moveapi.Actions {
		fmt.Fprintf(w, "  %-9s %s\n", a.Name, a.Help)
	}
	fmt.Fprintln(w, "\nflags (all commands): --group G --url URL --function NAME --stack NAME --region R --endpoint-url URL --json --timeout D")
	for _, a := range moveapi.Actions {
		if len(a.Fields) == 0 {
			continue
		}
		flags := make([]string, len(a.Fields))
		for i, f := range a.Fields {
			flags[i] = flagHelp[f]
		}
		fmt.Fprintf(w, "  %-9s %s\n", a.Name+":", strings.Join(flags, " "))
	}
	fmt.Fprintln(w, "\nexit codes: 0 done (status: ENI on a healthy member), 1 failed, 2 usage or refused, 3 function unreachable, 4 status degraded;")
	fmt.Fprintln(w, "doctor: 0 every check passed, 1 warnings, 2 failures (a failover would not succeed)")
}

// Run executes one command line and returns the exit code.
func Run(ctx context.Context, args []string, resolve Resolve, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	cmd := args[0]
	action, ok := moveapi.Lookup(moveapi.ActionName(cmd))
	if !ok {
		fmt.Fprintf(stderr, "eni-failover: unknown command %q\n", cmd)
		usage(stderr)
		return ExitUsage
	}
	f, req, ok := parseFlags(action, args[1:], stderr)
	if !ok {
		return ExitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, f.Timeout)
	defer cancel()
	t, err := resolve(ctx, f, action.Mutates)
	if err != nil {
		fmt.Fprintf(stderr, "eni-failover %s: %v\n", cmd, err)
		return ExitUnreached
	}
	in := &lambda.InvokeInput{FunctionName: aws.String(t.Function), Payload: mustJSON(req)}
	if t.Operator != "" {
		cc := mustJSON(map[string]any{"custom": map[string]string{"operator": t.Operator}})
		in.ClientContext = aws.String(base64.StdEncoding.EncodeToString(cc))
	}
	out, err := t.Invoker.Invoke(ctx, in)
	if err != nil {
		fmt.Fprintf(stderr, "eni-failover %s: invoking %s: %v\n", cmd, t.Function, err)
		return ExitUnreached
	}
	var fe struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	// Lambda flags a function error in a header; some emulators only in
	// the body's shape.
	if json.Unmarshal(out.Payload, &fe) == nil && fe.Type != "" || out.FunctionError != nil {
		fmt.Fprintf(stderr, "eni-failover %s: %s: %s\n", cmd, fe.Type, fe.Message)
		if fe.Type == badRequestType {
			return ExitUsage
		}
		return ExitFailed
	}
	var resp moveapi.Response
	if err := json.Unmarshal(out.Payload, &resp); err != nil {
		fmt.Fprintf(stderr, "eni-failover %s: reading the answer %.200s: %v\n", cmd, out.Payload, err)
		return ExitFailed
	}
	if f.JSON {
		fmt.Fprintf(stdout, "%s\n", out.Payload)
	} else {
		render(stdout, &resp)
	}
	return exitCode(&resp)
}

// parseFlags reads a command's flags into the common flags and the
// request, and checks the request as the function would; false: a usage
// error, already reported on stderr.
func parseFlags(action moveapi.Action, args []string, stderr io.Writer) (Flags, moveapi.Request, bool) {
	cmd := string(action.Name)
	fs := flag.NewFlagSet("eni-failover "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f Flags
	fs.StringVar(&f.Group, "group", "", "group name (optional when only one exists)")
	fs.StringVar(&f.Function, "function", "", "move function name or ARN, invoked directly: who you are is then claimed, not verified")
	fs.StringVar(&f.URL, "url", "", "move function URL (default: the stack's output MoveFunctionUrl): requests are SigV4-signed, and Lambda tells the function who signed")
	fs.StringVar(&f.Stack, "stack", "EniFailover", "CloudFormation stack whose outputs name the function")
	fs.StringVar(&f.Region, "region", "", "AWS Region (default: the SDK's configuration)")
	fs.StringVar(&f.Endpoint, "endpoint-url", "", "Lambda endpoint (aws-lambda-rie or another emulator)")
	fs.BoolVar(&f.JSON, "json", false, "print the function's JSON response")
	fs.DurationVar(&f.Timeout, "timeout", defaultTimeout, "how long to wait for the answer (above the function's timeout)")
	target := fs.String("target", "", "instance to move to ("+moveapi.Taking(moveapi.FieldTarget)+")")
	reason := fs.String("reason", "", "why (recorded in the journal and the notification)")
	minutes := fs.Int("minutes", 0, "pause length in minutes (default 240, at most 10080)")
	limit := fs.Int("limit", 0, fmt.Sprintf("history entries (default %d, at most %d)", moveapi.DefaultHistory, moveapi.MaxHistory))
	if err := fs.Parse(args); err != nil {
		return f, moveapi.Request{}, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "eni-failover %s: unexpected argument %q\n", cmd, fs.Arg(0))
		return f, moveapi.Request{}, false
	}
	req := moveapi.Request{Action: action.Name, Group: f.Group, Target: *target, Reason: *reason, Minutes: *minutes, Limit: *limit}
	if action.Idempotent {
		// A repeat of this invocation is answered, never carried out again.
		req.RequestID = newRequestID()
	}
	if _, err := moveapi.ParseRequest(mustJSON(req)); err != nil {
		fmt.Fprintf(stderr, "eni-failover %s: %v\n", cmd, err)
		return f, req, false
	}
	return f, req, true
}

func exitCode(r *moveapi.Response) int {
	switch {
	case r.Action == moveapi.ActionDoctor:
		// The doctor's own codes: 0 all passed, 1 warnings, 2 failures.
		return moveapi.ExitCode(moveapi.Worst(r.Checks))
	case r.Outcome == report.Failed || r.Error != "":
		return ExitFailed
	case r.Action == moveapi.ActionStatus && !healthy(r):
		return ExitDegraded
	}
	return ExitOK
}

// healthy: the ENI is attached to a running member whose checks pass.
func healthy(r *moveapi.Response) bool {
	if r.Holder == "" || r.AttachmentState != string(model.Attached) {
		return false
	}
	for _, m := range r.Members {
		if m.InstanceID == r.Holder {
			return m.State == model.StateRunning && m.Health == model.HealthOK
		}
	}
	return false
}

func newRequestID() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return fmt.Sprintf("cli-%d", time.Now().UnixNano())
	}
	return "cli-" + hex.EncodeToString(b)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs and maps are marshalled here
	}
	return b
}

// badRequestType is the errorType Lambda gives a moveapi.BadRequestError
// (the error's type name).
var badRequestType = reflect.TypeFor[moveapi.BadRequestError]().Name()

// ErrNoFunction says how to name the function when the stack has none.
var ErrNoFunction = errors.New("no move function: pass --url (or ENI_FAILOVER_URL), --function (or ENI_FAILOVER_FUNCTION), or deploy the stack (--stack) whose outputs MoveFunctionUrl and MoveFunctionName name it")

// short keeps a line readable: one line, clipped.
func short(s string, n int) string { return model.Clip(strings.Join(strings.Fields(s), " "), n) }
