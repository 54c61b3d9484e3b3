// Package awserr classifies AWS API errors in one place, so that every caller
// agrees on what is worth retrying and what means "already done".
package awserr

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Class is the engine's view of an error.
type Class int

const (
	// Fatal errors will not go away by retrying (permissions, bad input).
	Fatal Class = iota
	// Retryable errors are transient: throttling, 5xx, network trouble.
	Retryable
	// Conflict means EC2 state differs from what the caller observed
	// (IncorrectState, in use, attachment gone): re-read and decide again.
	Conflict
	// NotFound means the named resource does not exist (any more).
	NotFound
)

func (c Class) String() string {
	switch c {
	case Retryable:
		return "retryable"
	case Conflict:
		return "conflict"
	case NotFound:
		return "not-found"
	default:
		return "fatal"
	}
}

var throttleCodes = map[string]bool{
	"RequestLimitExceeded":                   true,
	"Throttling":                             true,
	"ThrottlingException":                    true,
	"TooManyRequestsException":               true,
	"RequestThrottled":                       true,
	"RequestThrottledException":              true,
	"ProvisionedThroughputExceededException": true,
	"SlowDown":                               true,
	"InternalError":                          true,
	"InternalFailure":                        true,
	"ServiceUnavailable":                     true,
	"Unavailable":                            true,
	"RequestTimeout":                         true,
	"RequestTimeoutException":                true,
	"RequestExpired":                         true,
}

var conflictCodes = map[string]bool{
	"IncorrectState":                true,
	"IncorrectInstanceState":        true,
	"InvalidNetworkInterface.InUse": true,
	"InvalidAttachmentID.NotFound":  true,
	"OperationNotPermitted":         true,
	"InvalidParameterValue":         true,
	"InvalidParameterCombination":   true,
	"AttachmentLimitExceeded":       true,
	"InvalidInstanceID":             true,
	"UnsupportedOperation":          true,
	"InsufficientInstanceCapacity":  true,
}

var notFoundCodes = map[string]bool{
	"InvalidNetworkInterfaceID.NotFound":  true,
	"InvalidNetworkInterfaceId.NotFound":  true,
	"InvalidNetworkInterfaceID.Malformed": true,
	"InvalidInstanceID.NotFound":          true,
	"InvalidInstanceID.Malformed":         true,
}

// Code returns the AWS error code, or "" when err is not an API error.
func Code(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// Classify tells how the engine should react to err.
func Classify(err error) Class {
	if err == nil {
		return Fatal
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Retryable
	}
	code := Code(err)
	switch {
	case throttleCodes[code]:
		return Retryable
	case notFoundCodes[code]:
		return NotFound
	case conflictCodes[code]:
		return Conflict
	}
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500 {
		return Retryable
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorFault() == smithy.FaultServer {
		return Retryable
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return Retryable
	}
	if code == "" && strings.Contains(err.Error(), "connection reset") {
		return Retryable
	}
	return Fatal
}

// IsRetryable reports whether retrying the same call may succeed.
func IsRetryable(err error) bool { return err != nil && Classify(err) == Retryable }

// IsNotFound reports whether err says the resource does not exist.
func IsNotFound(err error) bool { return err != nil && Classify(err) == NotFound }

// NotFoundError is the error EC2 would give for a resource it does not
// know, for reads that learn it from an empty answer (a filtered Describe).
func NotFoundError(code, id string) error {
	return &smithy.GenericAPIError{Code: code, Message: "The ID '" + id + "' does not exist", Fault: smithy.FaultClient}
}
