package doctor

import (
	"context"
	"errors"
	"time"

	"github.com/eni-failover/eni-failover/internal/clock"
)

// Pacing of the DryRuns. Each is a request to EC2's bucket of mutating
// requests (50, refilled 5 a second; "Request throttling for the Amazon
// EC2 API"), which a failover may need at that very moment: after the
// first DryRunsAtOnce, one every DryRunEvery keeps the bucket filling.
const (
	DryRunsAtOnce = 20
	DryRunEvery   = 250 * time.Millisecond
	// dryRunReserve is the time a run keeps to answer: DryRuns it would
	// make later are reported as not tried.
	dryRunReserve = 5 * time.Second
)

// errNoTime says a DryRun was not tried: the invocation is ending.
var errNoTime = errors.New("not tried: the invocation is ending (check fewer groups at once: --group)")

// Pacer spaces one run's DryRuns.
type Pacer struct {
	Clock clock.Clock
	n     int
}

// wait is called before each DryRun.
func (p *Pacer) wait(ctx context.Context) error {
	if p == nil || p.Clock == nil {
		return nil
	}
	if dl, ok := p.Clock.Deadline(ctx); ok && dl.Sub(p.Clock.Now()) < dryRunReserve {
		return errNoTime
	}
	p.n++
	if p.n <= DryRunsAtOnce {
		return nil
	}
	return p.Clock.Sleep(ctx, DryRunEvery)
}
