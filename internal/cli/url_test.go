package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// The command line reaches the move function's URL with a SigV4 signature
// of the lambda service (which Lambda verifies and hands the function as
// the caller), sends each request once, and reads the function's refusals
// as a direct invocation's.
func TestURLInvoker(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		body, _ := io.ReadAll(r.Body)
		auth := r.Header.Get("Authorization")
		switch {
		case r.Method != http.MethodPost || !strings.Contains(auth, "Credential=AKIDOPERATOR/") || !strings.Contains(auth, "/eu-west-1/lambda/aws4_request"):
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"Message":"Forbidden"}`)
		case bytes.Contains(body, []byte(`"move"`)):
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"Message":"Rate Exceeded."}`)
		case bytes.Contains(body, []byte(`"dance"`)):
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"errorType":"BadRequestError","errorMessage":"unknown action \"dance\""}`)
		default:
			_, _ = io.WriteString(w, `{"action":"status","group":"mosek","outcome":"status","holder":"i-0123456789abcdef0","attachment_state":"attached"}`)
		}
	}))
	defer srv.Close()
	u := &URLInvoker{URL: srv.URL, Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDOPERATOR", "secret", "")}
	resolve := func(context.Context, Flags, bool) (Target, error) { return Target{Invoker: u, Function: srv.URL}, nil }
	var out, errOut bytes.Buffer
	if code := Run(context.Background(), []string{"status", "--json"}, resolve, &out, &errOut); code != ExitDegraded && code != ExitOK {
		t.Fatalf("status: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), `"holder":"i-0123456789abcdef0"`) {
		t.Fatalf("status: %s", out.String())
	}
	errOut.Reset()
	if code := Run(context.Background(), []string{"move", "--reason", "x"}, resolve, &out, &errOut); code != ExitUnreached || !strings.Contains(errOut.String(), "429") {
		t.Fatalf("throttled move: exit %d: %s", code, errOut.String())
	}
	before := requests.Load()
	_, err := u.Invoke(context.Background(), testInvoke(`{"action":"move"}`))
	if err == nil || requests.Load() != before+1 {
		t.Fatalf("a throttled move was sent %d times (err %v), want once", requests.Load()-before, err)
	}
	errOut.Reset()
	u2 := *u
	u2.Credentials = credentials.NewStaticCredentialsProvider("AKIDSOMEONE", "secret", "")
	if _, err := u2.Invoke(context.Background(), testInvoke(`{"action":"status"}`)); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("unsigned by the operator: %v", err)
	}
	out2, err := u.Invoke(context.Background(), testInvoke(`{"action":"dance"}`))
	if err != nil || aws.ToString(out2.FunctionError) == "" || !strings.Contains(string(out2.Payload), "BadRequestError") {
		t.Fatalf("the function's refusal: %+v %v", out2, err)
	}
}

func testInvoke(payload string) *lambda.InvokeInput {
	return &lambda.InvokeInput{FunctionName: aws.String("move"), Payload: []byte(payload)}
}
