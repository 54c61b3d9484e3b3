package doctor

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/moveapi"
)

// ReadinessDryRuns bounds the attach DryRuns of one scheduled pass, which
// then never waits for the pacer (pace.go): 20 leave EC2's bucket of
// mutating requests more than half full. A fleet with more standbys is
// covered over several passes, in turn.
const ReadinessDryRuns = DryRunsAtOnce

// attachMemoAge is how long a pass trusts an earlier pass's DryRun of a
// standby it did not try again.
const attachMemoAge = time.Hour

// attachMemo is what the passes of one process learnt of the attaches.
type attachMemo struct {
	mu   sync.Mutex
	next int
	seen map[string]attachSeen // instance id -> the last DryRun
}

type attachSeen struct {
	denied string // "" when allowed
	at     time.Time
}

type standby struct {
	st *engine.Status
	m  engine.MemberStatus
}

// Readiness is the scheduled, cheap part over one fleet read: each
// standby's state and AZ from the read, the SSM agents in one pass, and an
// attach DryRun for at most ReadinessDryRuns standbys, taken in turn; a
// standby not tried this time counts with its last answer of the hour.
func (d *Doctor) Readiness(ctx context.Context, statuses []engine.Status) []Readiness {
	pol := d.Engine.Policy()
	var all []standby
	var ids []string
	for i := range statuses {
		for _, m := range statuses[i].Members {
			ids = append(ids, m.InstanceID)
			if !m.Holder && pol.Allows(m.InstanceID) {
				all = append(all, standby{&statuses[i], m})
			}
		}
	}
	slices.SortFunc(all, func(a, b standby) int {
		return cmp.Or(cmp.Compare(a.st.Group.Name, b.st.Group.Name), cmp.Compare(a.m.InstanceID, b.m.InstanceID))
	})
	denied := d.tryAttaches(ctx, all, pol)
	seen := ReadAgents(ctx, d.Agents, d.Platforms, ids)
	out := make([]Readiness, 0, len(statuses))
	for _, st := range statuses {
		out = append(out, Standbys(st, pol, seen, d.Platforms, denied))
	}
	return out
}

// tryAttaches DryRuns the next standbys in turn and returns the denials
// known within the hour.
func (d *Doctor) tryAttaches(ctx context.Context, all []standby, pol engine.Policy) map[string]string {
	memo := &d.attaches
	memo.mu.Lock()
	if memo.seen == nil {
		memo.seen = map[string]attachSeen{}
	}
	start := 0
	if len(all) > 0 {
		start = memo.next % len(all)
	}
	n := min(ReadinessDryRuns, len(all))
	memo.next = start + n
	memo.mu.Unlock()
	for i := range n {
		s := all[(start+i)%len(all)]
		one := engine.Status{Group: s.st.Group, Members: []engine.MemberStatus{s.m}}
		for _, c := range AttachDryRuns(ctx, nil, d.EC2, one, pol, d.Role) {
			seen := attachSeen{at: pol.Now}
			if c.Result == moveapi.Fail {
				seen.denied = c.Detail
			}
			memo.mu.Lock()
			memo.seen[s.m.InstanceID] = seen
			memo.mu.Unlock()
		}
	}
	denied := map[string]string{}
	memo.mu.Lock()
	defer memo.mu.Unlock()
	for _, s := range all {
		if seen, ok := memo.seen[s.m.InstanceID]; ok && seen.denied != "" && pol.Now.Sub(seen.at) < attachMemoAge {
			denied[s.m.InstanceID] = seen.denied
		}
	}
	return denied
}
