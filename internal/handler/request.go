package handler

import (
	"context"
	"errors"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/moveapi"
)

// badRequestFrom is the caller's fault the engine found (ErrBadRequest:
// an unknown group, a target outside it), as the response's error; nil
// for any other error.
func badRequestFrom(err error) error {
	if errors.Is(err, engine.ErrBadRequest) {
		return moveapi.BadRequest("%v", err)
	}
	return nil
}

// operator is who invoked: the IAM identity Lambda verified for a request
// through the function's URL, or else what the invocation's client
// context claims (custom.operator; Lambda does not pass the caller of a
// direct invocation), marked as claimed.
func operator(ctx context.Context) string {
	if who := verifiedCaller(ctx); who != "" {
		return model.Clip(who, 120)
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		if who := lc.ClientContext.Custom["operator"]; who != "" {
			return model.Clip(who, 110) + ClaimedSuffix
		}
	}
	return ""
}

// ClaimedSuffix marks an operator's name the caller claimed.
const ClaimedSuffix = " (claimed)"
