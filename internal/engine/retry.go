package engine

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/eni-failover/eni-failover/internal/awserr"
)

// retry runs call until it succeeds, fails for good, or runs out of tries;
// only throttling, 5xx and network errors are retried, with backoff. It is
// the only retry layer of EC2 calls (the functions' EC2 client makes one
// attempt per call): it knows the invocation's deadline and never sleeps
// into the margin kept before it, which the SDK's retryer cannot, and with
// both layers one call could become 3 x 8 requests.
func (e *Engine) retry(ctx context.Context, call func(context.Context) error) error {
	backoff := e.opts.RetryBase
	for attempt := 1; ; attempt++ {
		err := call(ctx)
		if err == nil || !awserr.IsRetryable(err) || ctx.Err() != nil || attempt >= e.opts.RetryAttempts {
			return err
		}
		d := e.opts.Jitter(backoff)
		if dl, ok := e.clk.Deadline(ctx); ok && e.clk.Now().Add(d+e.opts.DeadlineMargin).After(dl) {
			return err
		}
		if serr := e.clk.Sleep(ctx, d); serr != nil {
			return err
		}
		backoff = min(backoff*2, e.opts.RetryMax)
	}
}

// retried is retry for a call that returns a value: the value of the
// attempt that succeeded, or the last error.
func retried[T any](ctx context.Context, e *Engine, call func(context.Context) (T, error)) (T, error) {
	var v T
	err := e.retry(ctx, func(ctx context.Context) (err error) {
		v, err = call(ctx)
		return err
	})
	return v, err
}

// jitter spreads retries of concurrent callers ("equal jitter").
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
}
