// Package findings is the probe's contract with the failover function and
// the stack: what one probe invocation found (confirmed failures, licenses
// answering again), the state it hands to its resumed invocation, and the
// names of the metrics it writes. It links no network code: the failover
// function and the CDK app read it without the probe's checker.
package findings

import (
	"crypto/sha256"
	"fmt"
	"time"
)

// FindingsKind marks a probe invocation's result. The probe's Lambda
// destination puts every result on EventBridge; the stack's rule passes
// the ones with findings to the failover function (the whole event) and
// back to the probe (the result alone, to watch on at once).
const FindingsKind = "eni-failover-probe"

// Finding names, in Findings.Findings: what the event rule matches (the
// wire names predate the Go names and stay, so deployed rules match).
const (
	FindingFailure  = "trigger"
	FindingRestored = "restored"
)

// Findings is a probe invocation's result.
type Findings struct {
	Kind string `json:"kind"`
	// Findings lists the kinds present ("trigger", "restored"), empty when
	// the watch ended with nothing to report.
	Findings []string `json:"findings,omitempty"`
	// Failures are confirmed failures: each moves the group's ENI unless
	// the holder changed since the failures began ("triggers" on the
	// wire).
	Failures []Failure `json:"triggers,omitempty"`
	// Restored are groups whose license answers again after a confirmed
	// failure, with the clients' outage.
	Restored []Restored `json:"restored,omitempty"`
	// WatchUntil is when this round of watching ends: a resumed invocation
	// watches until then, so that it does not overlap the next scheduled one.
	WatchUntil time.Time `json:"watch_until"`
	// Checks is how many rounds of checks the invocation ran.
	Checks int `json:"checks"`
	// State carries the detector's episodes to the resumed invocation,
	// should it land in another sandbox.
	State []Episode `json:"state,omitempty"`
	// Results are the last round's checks.
	Results []Result `json:"results"`
}

// Failure is a confirmed failure of one group's license ports.
type Failure struct {
	Group   string `json:"group"`
	Address string `json:"address"`
	// FailingSince is the first of the failed checks that confirmed it:
	// the engine moves the ENI only if its holder held it then.
	FailingSince time.Time `json:"failing_since"`
	ConfirmedAt  time.Time `json:"confirmed_at"`
	Checks       int       `json:"checks"`
	Reason       string    `json:"reason"`
	// RequestID is the same for every probe that saw the same checks fail
	// (checks run on a grid of the wall clock): the engine acts on it once.
	RequestID string `json:"request_id"`
}

// Restored is a group's license answering again.
type Restored struct {
	Group      string    `json:"group"`
	Address    string    `json:"address"`
	DownSince  time.Time `json:"down_since"`
	AnsweredAt time.Time `json:"answered_at"`
	OutageMS   int64     `json:"outage_ms"`
	// Confirmed: the failure was confirmed (and triggered a move); else a
	// brief outage, such as a planned move's.
	Confirmed bool `json:"confirmed"`
}

// Episode is what the detector remembers of a group that is failing or
// whose failure triggered a move and has not yet answered again.
type Episode struct {
	Group string `json:"group"`
	// Failures are the times of the current run of failed checks (the
	// last Confirmations of them).
	Failures []time.Time `json:"failures,omitempty"`
	Count    int         `json:"count"`
	// FirstFailure is the first failed check of the run.
	FirstFailure time.Time `json:"first_failure,omitzero"`
	// DownSince is the first failed check of a confirmed failure;
	// TriggeredAt the last trigger sent for it.
	DownSince   time.Time `json:"down_since,omitzero"`
	TriggeredAt time.Time `json:"triggered_at,omitzero"`
	// Resent counts the times it was sent again.
	Resent int `json:"resent,omitempty"`
}

// RequestID names the trigger of a failure of group that began at since;
// every probe computes the same one. It goes into the journal's request
// tag, so a group name too long to fit beside the rest (names run to 256
// characters) is replaced by a hash of it.
func RequestID(group string, since time.Time) string {
	id := fmt.Sprintf("probe:%d:%s", since.Unix(), group)
	if len(id) <= maxRequestID {
		return id
	}
	sum := sha256.Sum256([]byte(group))
	return fmt.Sprintf("probe:%d:%x", since.Unix(), sum[:8])
}

// maxRequestID bounds a probe's request id (bytes), well within a tag
// value.
const maxRequestID = 100

// PortResult is one port's check.
type PortResult struct {
	Port      int     `json:"port"`
	OK        bool    `json:"ok"`
	LatencyMS float64 `json:"latency_ms"`
	Error     string  `json:"error,omitempty"`
}

// Result is one group's check: reachable when every port answered.
type Result struct {
	Group     string       `json:"group"`
	Address   string       `json:"address"`
	Reachable bool         `json:"reachable"`
	Ports     []PortResult `json:"ports"`
}

// Metric names of the probe.
const (
	MetricReachable = "LicensePortReachable"
	MetricLatency   = "LicensePortLatency"
	// MetricWitness is 1 when the probe's witness answered, 0 when it did
	// not (the probe's own network trouble: its failed checks are not
	// counted and no LicensePortReachable is written for them).
	MetricWitness = "ProbeWitnessReachable"
	// MetricOutage is the clients' outage in seconds, written when a
	// group's license answers again after a confirmed failure.
	MetricOutage = "LicenseOutageSeconds"
)
