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

// operator is who invoked, as the invocation's client context says
// (custom.operator, which the eni-failover command line sets to the
// caller's IAM identity); Lambda itself does not pass the caller.
func operator(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		if who := lc.ClientContext.Custom["operator"]; who != "" {
			return model.Clip(who, 120)
		}
	}
	return ""
}
