package fakeec2

import (
	"bytes"
	"io"
	"net/http"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Fault makes calls fail with a real smithy API error.
type Fault struct {
	// Op is the operation it applies to; "" means every operation.
	Op string
	// Code and Message of the API error; HTTPStatus defaults to 400, and
	// 5xx makes it a server fault.
	Code       string
	Message    string
	HTTPStatus int
	// Times is how often it fires before it stops; 0 means without limit.
	Times int
	// Probability that a matching call fails; 0 means always.
	Probability float64
	// Match, when set, must accept the call's input for the fault to apply.
	Match func(input any) bool

	fired int
}

// AddFault installs a fault rule. Rules are checked in the order added.
func (f *Fake) AddFault(fl Fault) *Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := &fl
	f.faults = append(f.faults, p)
	return p
}

// ClearFaults removes every fault rule.
func (f *Fake) ClearFaults() {
	f.mu.Lock()
	f.faults = nil
	f.mu.Unlock()
}

// Throttle makes a share of all calls fail with RequestLimitExceeded.
func (f *Fake) Throttle(probability float64) {
	f.AddFault(Fault{Code: "RequestLimitExceeded", Message: "Request limit exceeded.", HTTPStatus: 503, Probability: probability})
}

// injected returns the error of the first rule that fires; f.mu must be held.
func (f *Fake) injected(op string, input any) error {
	for _, fl := range f.faults {
		if fl.Op != "" && fl.Op != op {
			continue
		}
		if fl.Times > 0 && fl.fired >= fl.Times {
			continue
		}
		if fl.Match != nil && !fl.Match(input) {
			continue
		}
		if fl.Probability > 0 && f.rng.Float64() >= fl.Probability {
			continue
		}
		fl.fired++
		return apiError(op, fl.Code, fl.Message, fl.HTTPStatus)
	}
	return nil
}

// apiError builds the error the SDK returns for an API failure: an
// OperationError around an HTTP ResponseError around the API error.
func apiError(op, code, msg string, status int) error {
	if status == 0 {
		status = 400
	}
	fault := smithy.FaultClient
	if status >= 500 {
		fault = smithy.FaultServer
	}
	api := &smithy.GenericAPIError{Code: code, Message: msg, Fault: fault}
	resp := &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(nil))}
	return &smithy.OperationError{
		ServiceID:     "EC2",
		OperationName: op,
		Err: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: resp},
			Err:      api,
		},
	}
}
