package handler_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/eni-failover/eni-failover/internal/handler"
	"github.com/eni-failover/eni-failover/internal/moveapi"
	"github.com/eni-failover/eni-failover/internal/report"
)

// urlEvent is a function URL request as Lambda delivers it with AWS_IAM
// auth (the Lambda Developer Guide, "Invoking Lambda function URLs":
// request payload format 2.0).
func urlEvent(method, body, signer string, base64Body bool) []byte {
	req := events.LambdaFunctionURLRequest{Version: "2.0", RawPath: "/", Body: body, IsBase64Encoded: base64Body,
		Headers: map[string]string{"content-type": "application/json"},
		RequestContext: events.LambdaFunctionURLRequestContext{AccountID: "123456789012", RequestID: "r-1", APIID: "abc", DomainName: "abc.lambda-url.us-east-1.on.aws",
			HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: method, Path: "/", Protocol: "HTTP/1.1", SourceIP: "10.0.0.1", UserAgent: "eni-failover"}}}
	if signer != "" {
		req.RequestContext.Authorizer = &events.LambdaFunctionURLRequestContextAuthorizerDescription{IAM: &events.LambdaFunctionURLRequestContextAuthorizerIAMDescription{
			AccessKey: "ASIAEXAMPLE", AccountID: "123456789012", CallerID: "AROAEXAMPLE:jo", UserARN: signer, UserID: "AROAEXAMPLE:jo"}}
	}
	b, _ := json.Marshal(req)
	return b
}

func (e *env) url(payload []byte) events.LambdaFunctionURLResponse {
	e.t.Helper()
	out, err := e.manual.Invoke(e.region.Context(time.Minute), payload)
	if err != nil {
		e.t.Fatalf("a URL request is answered with an HTTP response, not an error: %v", err)
	}
	var resp events.LambdaFunctionURLResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// Through the function's URL the caller is who signed, as Lambda verified
// it; a direct invocation's client context is shown as claimed.
func TestURLCallerIsVerified(t *testing.T) {
	e := newEnv(t)
	signer := "arn:aws:sts::123456789012:assumed-role/LicenseAdmin/jo"
	r := e.url(urlEvent("POST", `{"action":"pause","reason":"patching","minutes":30}`, signer, false))
	var resp moveapi.Response
	if r.StatusCode != 200 || json.Unmarshal([]byte(r.Body), &resp) != nil || resp.Pause == nil || resp.Pause.By != signer {
		t.Fatalf("pause through the URL: %+v", r)
	}
	if st, err := e.invoke(`{"action":"status"}`); err != nil || st.Pause == nil || st.Pause.By != signer {
		t.Fatalf("status: %+v %v", st.Pause, err)
	}
	// A base64 body (Lambda encodes one it does not take for text).
	r = e.url(urlEvent("POST", base64.StdEncoding.EncodeToString([]byte(`{"action":"resume"}`)), signer, true))
	if r.StatusCode != 200 || !strings.Contains(r.Body, `"outcome":"resumed"`) {
		t.Fatalf("resume through the URL: %+v", r)
	}
	ctx := lambdacontext.NewContext(e.region.Context(time.Minute), &lambdacontext.LambdaContext{
		ClientContext: lambdacontext.ClientContext{Custom: map[string]string{"operator": signer}}})
	direct, err := e.manual.Handle(ctx, json.RawMessage(`{"action":"pause","reason":"direct"}`))
	if err != nil || direct.Pause == nil || direct.Pause.By != signer+handler.ClaimedSuffix {
		t.Fatalf("direct pause: %+v %v", direct.Pause, err)
	}
}

func TestURLRefusals(t *testing.T) {
	e := newEnv(t)
	for name, c := range map[string]struct {
		payload []byte
		status  int
		says    string
	}{
		"no AWS_IAM auth":   {urlEvent("POST", `{"action":"status"}`, "", false), 403, "SigV4-signed requests only"},
		"a GET":             {urlEvent("GET", ``, "arn:aws:iam::123456789012:user/jo", false), 405, "POST the action's JSON payload, not GET"},
		"a bad payload":     {urlEvent("POST", `{"action":"move","target":"web-1"}`, "arn:aws:iam::123456789012:user/jo", false), 400, "target"},
		"an unknown action": {urlEvent("POST", `{"action":"dance"}`, "arn:aws:iam::123456789012:user/jo", false), 400, "unknown action"},
		"bad base64":        {urlEvent("POST", `{{{`, "arn:aws:iam::123456789012:user/jo", true), 400, "not valid base64"},
	} {
		r := e.url(c.payload)
		var fe struct{ ErrorType, ErrorMessage string }
		if r.StatusCode != c.status || json.Unmarshal([]byte(r.Body), &fe) != nil || fe.ErrorType != "BadRequestError" || !strings.Contains(fe.ErrorMessage, c.says) {
			t.Errorf("%s: %+v", name, r)
		}
	}
	if e.region.EC2.MutatingCalls() != 0 || e.holder() == "" {
		t.Fatal("a refused request changed EC2")
	}
	// A move through the URL moves.
	r := e.url(urlEvent("POST", `{"action":"move","reason":"url"}`, "arn:aws:iam::123456789012:user/jo", false))
	if r.StatusCode != 200 || !strings.Contains(r.Body, `"outcome":"`+string(report.Moved)+`"`) {
		t.Fatalf("move through the URL: %+v", r)
	}
}
