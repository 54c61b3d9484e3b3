package handler

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"

	"github.com/aws/aws-lambda-go/events"

	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/moveapi"
)

// The move function's URL (AWS_IAM auth): Lambda authenticates the
// caller's SigV4 signature and puts who signed in the request context, so
// the operator a pause records is verified, not claimed. That holds as
// long as nobody may invoke the function directly with a payload shaped
// like a URL request: the operator policy and the SCP in docs/security.md
// allow lambda:InvokeFunction on it only through the URL
// (lambda:InvokedViaFunctionUrl).

// callerKey carries the verified caller in the context.
type callerKey struct{}

// verifiedCaller is the IAM identity Lambda authenticated for a URL
// request ("" for a direct invocation).
func verifiedCaller(ctx context.Context) string {
	who, _ := ctx.Value(callerKey{}).(string)
	return who
}

// urlRequest reads a payload as a function URL request; ok is false when it
// is not one (a direct invocation's payload).
func urlRequest(payload []byte) (events.LambdaFunctionURLRequest, bool) {
	var probe struct {
		Version        string `json:"version"`
		RequestContext *struct {
			HTTP *struct {
				Method string `json:"method"`
			} `json:"http"`
		} `json:"requestContext"`
	}
	if json.Unmarshal(payload, &probe) != nil || probe.Version != "2.0" || probe.RequestContext == nil || probe.RequestContext.HTTP == nil {
		return events.LambdaFunctionURLRequest{}, false
	}
	var req events.LambdaFunctionURLRequest
	if json.Unmarshal(payload, &req) != nil {
		return events.LambdaFunctionURLRequest{}, false
	}
	return req, true
}

// serveURL answers a function URL request: the body is the action's
// payload, the caller is who signed, the answer an HTTP response with the
// same JSON a direct invocation gets, or the error as Lambda reports a
// function's ({"errorType", "errorMessage"}).
func (h *Move) serveURL(ctx context.Context, req events.LambdaFunctionURLRequest) events.LambdaFunctionURLResponse {
	fail := func(status int, err error) events.LambdaFunctionURLResponse {
		typ := reflect.TypeOf(err)
		for typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		b, _ := json.Marshal(map[string]string{"errorType": typ.Name(), "errorMessage": err.Error()})
		return events.LambdaFunctionURLResponse{StatusCode: status, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(b)}
	}
	iam := req.RequestContext.Authorizer
	if iam == nil || iam.IAM == nil || iam.IAM.UserARN == "" {
		// Only AWS_IAM auth names the caller: an URL without it is not ours.
		return fail(http.StatusForbidden, moveapi.BadRequest("the move function's URL takes SigV4-signed requests only (AWS_IAM auth)"))
	}
	if req.RequestContext.HTTP.Method != http.MethodPost {
		return fail(http.StatusMethodNotAllowed, moveapi.BadRequest("POST the action's JSON payload, not %s", model.Clip(req.RequestContext.HTTP.Method, 16)))
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
			return fail(http.StatusBadRequest, moveapi.BadRequest("the request body is not valid base64: %v", err))
		}
	}
	ctx = context.WithValue(ctx, callerKey{}, iam.IAM.UserARN)
	out, err := h.respond(ctx, body)
	var bad *moveapi.BadRequestError
	switch {
	case errors.As(err, &bad):
		return fail(http.StatusBadRequest, bad)
	case err != nil:
		return fail(http.StatusInternalServerError, err)
	}
	return events.LambdaFunctionURLResponse{StatusCode: http.StatusOK, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(out)}
}
