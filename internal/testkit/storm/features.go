package storm

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/eni-failover/eni-failover/internal/findings"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/report"
	"github.com/eni-failover/eni-failover/internal/testkit/sim"
)

// The newer features the storms draw, and the invariants that hold them:
// the probe's findings (fresh, about an earlier holder, delivered again by
// an overlapping probe), the deep check's results, drills, the cap on
// automatic moves, and the license-holder tag.

// features is what the storm knows of them.
type features struct {
	// gotAt is when the current holder got the ENI (EC2's attach time).
	gotAt time.Time
	// dead: the token server on the instance has died (a finding or the
	// deep check says so truly); a start or a recovery restarts it.
	dead map[string]bool
	// flakyNext: the instance's last deep check failed once; the next
	// passes.
	flakyNext map[string]bool
	// lastFinding is the last finding sent, for a second delivery.
	lastFinding *sentFinding
	// findingMoves counts, per request id, the detaches of a holder made
	// by runs of that finding.
	findingMoves map[string]int
	// batchAt is when the running batch began; autoMoves the automatic
	// moves off a holder EC2 found healthy, by the start of the batch that
	// detached it; leaving, such a detach whose attach is still to come
	// (whichever run makes it); operatorActs the starts of batches in
	// which an operator moved, failed back, drilled, paused or resumed.
	batchAt      time.Time
	autoMoves    []time.Time
	leaving      *autoDetach
	operatorActs []time.Time
}

// autoDetach is an automatic detach off a healthy holder.
type autoDetach struct {
	from string
	at   time.Time
}

type sentFinding struct {
	requestID string
	since     time.Time
	raw       []byte
}

func newFeatures() features {
	return features{gotAt: sim.Start, dead: map[string]bool{}, flakyNext: map[string]bool{}, findingMoves: map[string]int{}}
}

// capWindow is the window in which more automatic moves than the cap
// break the invariant: the engine counts an hour from the journal's move
// times, which lie within a run's 60 s of its batch's start; two runs'
// worth less than an hour keeps the check free of that slack.
const capWindow = time.Hour - 2*time.Minute

// licenseHolderTag is the tag the engine keeps on the holder (HOLDER_TAG).
var licenseHolderTag = model.NewTags("").LicenseHolder()

// finding makes a probe finding for the group: fresh (its failures began
// after the current holder got the ENI; the storm takes it as the truth
// that the token server died there) or about an earlier holder, or, when
// again, the last one delivered once more (overlapping probes compute the
// same request id).
func (s *storm) finding(inv *invocation, again bool) []byte {
	now, holder := s.region.Clock.Now(), s.holder()
	inv.about = holder
	if again && s.lastFinding != nil {
		f := s.lastFinding
		inv.requestID, inv.stale = f.requestID, holder != "" && f.since.Before(s.gotAt)
		if !inv.stale && holder != "" {
			// A retry of a finding about this holder asserts its failure
			// again, even after a repair: the engine cannot tell.
			s.alarmed[holder] = true
		}
		inv.label = fmt.Sprintf("finding again %s (holder %q since %s)", f.requestID, holder, s.at(s.gotAt))
		return f.raw
	}
	var since time.Time
	inv.stale = holder == "" || s.pick(2) == 0
	if inv.stale {
		since = s.gotAt.Add(-[]time.Duration{time.Second, 30 * time.Second, 5 * time.Minute}[s.pick(3)])
	} else {
		since = now.Add(-[]time.Duration{5 * time.Second, 15 * time.Second, 40 * time.Second, 2 * time.Minute}[s.pick(4)])
		if since.Before(s.gotAt) {
			since = s.gotAt
		}
		s.dead[holder], s.alarmed[holder] = true, true
	}
	id := findings.RequestID("mosek", since)
	result := findings.Findings{Kind: findings.FindingsKind, Findings: []string{findings.FindingFailure}, WatchUntil: now.Add(time.Minute), Checks: 6,
		Failures: []findings.Failure{{Group: "mosek", Address: "10.0.1.9", FailingSince: since, ConfirmedAt: now, Checks: 3, RequestID: id,
			Reason: "license port 27007 of 10.0.1.9 failed 3 checks in a row: connection refused"}}}
	body, err := json.Marshal(result)
	if err != nil {
		panic(err) // plain values: cannot fail
	}
	raw := sim.FindingsEvent(now, nil, body)
	s.lastFinding = &sentFinding{requestID: id, since: since, raw: raw}
	inv.requestID = id
	fresh := "fresh"
	if inv.stale {
		fresh = "about an earlier holder"
		s.res.Exercised["finding:stale"]++
	}
	inv.label = fmt.Sprintf("finding %s, failing since %s (holder %q since %s)", fresh, s.at(since), holder, s.at(s.gotAt))
	return raw
}

func (s *storm) at(t time.Time) string { return t.Sub(sim.Start).Round(time.Millisecond).String() }

// findingKind reports whether the invocation delivers a probe finding.
func findingKind(kind string) bool { return kind == "finding" || kind == "finding-again" }

// checkFindingDetach holds the findings' invariants at each accepted detach
// of an attached ENI: a finding whose failures began before the holder
// got the ENI never moves it (only EC2's own view may: the holder down,
// impaired, or named by AWS Health), and one finding, however often
// delivered, moves the ENI once.
func (s *storm) checkFindingDetach(inv *invocation, holder string) {
	if !findingKind(inv.kind) || !s.healthy(holder) || s.evacuating[holder] || s.noticed(holder) {
		// EC2's own view (the holder down or impaired, an interruption, a
		// due AWS Health change) moves it whatever the finding says.
		return
	}
	if s.findingMoves[inv.requestID]++; s.findingMoves[inv.requestID] > 1 {
		s.violate("finding %s moved %s %d times (invocation #%d, %s)", inv.requestID, eniID, s.findingMoves[inv.requestID], inv.id, inv.label)
	}
	if inv.stale && holder == inv.about {
		s.violate("invocation #%d (%s): a finding whose failures began before %s got %s moved it", inv.id, inv.label, holder, eniID)
	}
}

// healthy: EC2 shows the instance up with its status checks not failing.
func (s *storm) healthy(id string) bool {
	st := s.region.EC2.InstanceState(id)
	return (st == "running" || st == "pending") && s.region.EC2.Status(id) != "impaired"
}

// recordAutoDetach notes an automatic run's detach off a healthy holder;
// an operator's detach forgets it.
func (s *storm) recordAutoDetach(inv *invocation, holder string) {
	s.leaving = nil
	if !inv.manual && s.healthy(holder) {
		s.leaving = &autoDetach{from: holder, at: s.batchAt}
	}
}

// recordAttach completes a move the cap counts: the ENI that an automatic
// run detached from a healthy holder arrives elsewhere (the ENI back on
// the same instance is no move).
func (s *storm) recordAttach(to string) {
	if l := s.leaving; l != nil && to != l.from {
		s.autoMoves = append(s.autoMoves, l.at)
	}
	s.leaving = nil
}

// checkCap: no more automatic moves off a healthy holder than the cap
// within an hour, unless an operator acted in between.
func (s *storm) checkCap() {
	n := s.opts.MaxAutomaticMoves
	if n <= 0 {
		return
	}
	for k := n; k < len(s.autoMoves); k++ {
		first, last := s.autoMoves[k-n], s.autoMoves[k]
		if last.Sub(first) >= capWindow || s.operatorActed(first, last) {
			continue
		}
		s.violate("%d automatic moves off healthy holders from %s to %s with no operator acting: the cap is %d an hour",
			n+1, s.at(first), s.at(last), n)
		return
	}
}

func (s *storm) operatorActed(from, to time.Time) bool {
	for _, t := range s.operatorActs {
		if !t.Before(from) && !t.After(to) {
			return true
		}
	}
	return false
}

// checkHolderTag: with HOLDER_TAG on and the ENI attached, the holder
// alone carries the license-holder tag.
func (s *storm) checkHolderTag(when string) {
	f := s.region.EC2
	st := f.ENI(eniID)
	if !s.opts.HolderTag || st.AttachmentStatus != "attached" {
		return
	}
	for _, id := range append(memberIDs(), outsider) {
		got, want := f.Tags(id)[licenseHolderTag], ""
		if id == st.InstanceID {
			want = "mosek"
		}
		if got != want {
			s.violate("%s: %s on %s is %q, want %q (the holder is %s)", when, licenseHolderTag, id, got, want, st.InstanceID)
		}
	}
}

func memberIDs() []string {
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.ID
	}
	return ids
}

// deepChecker is the deep check's SSM command as the storm decides it: a
// dead token server fails it; on a live one it passes, fails once, never
// runs (the agent unreachable) or times out.
type deepChecker struct{ s *storm }

// Run is called between two EC2 calls of one invocation, while the
// scheduler lets no other run: the storm's state and source are its own.
func (d deepChecker) Run(ctx context.Context, id string, _ bool) report.CommandResult {
	s := d.s
	res := report.CommandResult{InstanceID: id, CommandID: fmt.Sprintf("deep-%d", s.region.Clock.Now().UnixNano())}
	if err := s.region.Clock.Sleep(ctx, 2*time.Second); err != nil {
		res.Status, res.Error = report.CommandError, err.Error()
		return res
	}
	failed := func(details string, code int) {
		res.Status, res.Details, res.ExitCode = report.CommandFailed, details, code
	}
	res.Status = report.CommandSuccess
	switch {
	case s.dead[id]:
		failed("Failed", 1)
		s.res.Exercised["deep-check:failed"]++
	case s.flakyNext[id]:
		delete(s.flakyNext, id)
	default:
		switch s.pick(10) {
		case 0:
			failed("Failed", 1)
			s.flakyNext[id] = true
			s.res.Exercised["deep-check:flaky"]++
		case 1:
			failed("Undeliverable", -1)
			s.res.Exercised["deep-check:not-run"]++
		case 2:
			res.Status = report.CommandTimedOut
			s.res.Exercised["deep-check:timed-out"]++
		default:
			s.res.Exercised["deep-check:ok"]++
		}
	}
	return res
}
