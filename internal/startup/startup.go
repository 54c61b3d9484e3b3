// Package startup is what a function's main does when it cannot start.
package startup

import (
	"context"
	"encoding/json"
	"fmt"
)

// Failing is a handler that reports a start-up error on every invocation,
// so a misconfiguration shows in each response and log instead of as an
// opaque init crash.
func Failing(err error) func(context.Context, json.RawMessage) (any, error) {
	return func(context.Context, json.RawMessage) (any, error) {
		return nil, fmt.Errorf("eni-failover cannot start: %w", err)
	}
}
