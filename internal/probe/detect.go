package probe

import (
	"cmp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/eni-failover/eni-failover/internal/findings"
)

// Detector turns rounds of checks into findings. A group's failure is
// confirmed after Confirmations consecutive failed checks that the witness
// vouched for; while it lasts it is sent again every Retrigger (with the
// latest failures as evidence, so that a new holder that fails too is
// moved on); the first check that passes after a failed one reports the
// outage, confirmed or brief (a planned move's, or a blip shorter than the
// confirmations: the failover function records it only when a move was
// made during it).
type Detector struct {
	Confirmations int
	Retrigger     time.Duration
	episodes      map[string]*findings.Episode
}

// DefaultRetrigger is how long a confirmed failure waits before it is sent
// again: longer than a move and the token server's start on the new holder.
const DefaultRetrigger = 2 * time.Minute

func (d *Detector) episode(group string) *findings.Episode {
	if d.episodes == nil {
		d.episodes = map[string]*findings.Episode{}
	}
	ep := d.episodes[group]
	if ep == nil {
		ep = &findings.Episode{Group: group}
		d.episodes[group] = ep
	}
	return ep
}

// Observe feeds one group's check at time at. witnessOK false means the
// probe's own network failed too: a failed check then counts for nothing.
func (d *Detector) Observe(r findings.Result, at time.Time, witnessOK bool) (*findings.Failure, *findings.Restored) {
	ep := d.episode(r.Group)
	if r.Reachable {
		var restored *findings.Restored
		if since := cmp.Or(ep.DownSince, ep.FirstFailure); !since.IsZero() {
			restored = &findings.Restored{Group: r.Group, Address: r.Address, DownSince: since, AnsweredAt: at,
				OutageMS: at.Sub(since).Milliseconds(), Confirmed: !ep.DownSince.IsZero()}
		}
		delete(d.episodes, r.Group)
		return nil, restored
	}
	if !witnessOK {
		return nil, nil
	}
	k := max(d.Confirmations, 1)
	ep.Count++
	if ep.Count == 1 {
		ep.FirstFailure = at
	}
	ep.Failures = append(ep.Failures, at)
	if len(ep.Failures) > k {
		ep.Failures = ep.Failures[len(ep.Failures)-k:]
	}
	if ep.Count < k {
		return nil, nil
	}
	retrigger := d.Retrigger
	if retrigger <= 0 {
		retrigger = DefaultRetrigger
	}
	// Each resend waits twice as long as the one before, up to an hour:
	// a failure nothing can move (a paused group, the automatic moves
	// used up) is not announced every two minutes.
	for range min(ep.Resent, 5) {
		retrigger *= 2
	}
	retrigger = min(retrigger, time.Hour)
	if !ep.TriggeredAt.IsZero() && at.Sub(ep.TriggeredAt) < retrigger {
		return nil, nil
	}
	if !ep.TriggeredAt.IsZero() {
		ep.Resent++
	}
	since := ep.Failures[0]
	if ep.DownSince.IsZero() {
		ep.DownSince = since
	}
	ep.TriggeredAt = at
	return &findings.Failure{Group: r.Group, Address: r.Address, FailingSince: since, ConfirmedAt: at, Checks: ep.Count,
		Reason: reason(r, ep.Count), RequestID: findings.RequestID(r.Group, since)}, nil
}

func reason(r findings.Result, checks int) string {
	var errs, ports []string
	for _, p := range r.Ports {
		if !p.OK {
			errs = append(errs, p.Error)
			ports = append(ports, strconv.Itoa(p.Port))
		}
	}
	// The same error on every port reads once.
	slices.Sort(errs)
	return "license port " + strings.Join(ports, ",") + " of " + r.Address + " failed " + strconv.Itoa(checks) + " checks in a row: " +
		strings.Join(slices.Compact(errs), "; ")
}

// State returns the episodes, by group, for a resumed invocation.
func (d *Detector) State() []findings.Episode {
	out := make([]findings.Episode, 0, len(d.episodes))
	for _, ep := range d.episodes {
		out = append(out, *ep)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	return out
}

// Restore adopts episodes from a previous invocation for groups this
// detector knows nothing of (a resumed invocation in another sandbox).
func (d *Detector) Restore(eps []findings.Episode) {
	for _, ep := range eps {
		if _, known := d.episodes[ep.Group]; known || ep.Group == "" {
			continue
		}
		if d.episodes == nil {
			d.episodes = map[string]*findings.Episode{}
		}
		d.episodes[ep.Group] = &ep
	}
}
