// Package doctor checks, without changing anything, what a failover needs
// of EC2 and SSM: DryRuns of a failover's calls with this function's role,
// and the standbys' readiness. The scheduled reconcile runs the cheap part
// (Readiness) and publishes the count of ready standbys; the move
// function's checkup (internal/doctor/account) adds the rules and the
// watchers, whose SDK clients the failover function does not link.
package doctor

import (
	"github.com/eni-failover/eni-failover/internal/awsapi"
	"github.com/eni-failover/eni-failover/internal/config"
	"github.com/eni-failover/eni-failover/internal/engine"
)

// Roles of the functions, as the checks name them.
const (
	MoveRole     = "move role"
	FailoverRole = "failover role"
)

// Doctor holds the clients (this function's role) and what the stack
// deployed. A nil client leaves its checks out.
type Doctor struct {
	Engine *engine.Engine
	EC2    awsapi.EC2
	// Role names this function's role in the checks.
	Role      string
	Agents    Agents
	Platforms Platforms
	// Deployed is what the stack deployed (its alarms' names too, which
	// the failover function acts on alone).
	Deployed config.Doctor

	// attaches remembers the scheduled passes' attach DryRuns (readiness.go).
	attaches attachMemo
}

// MemberIDs are the group's instances.
func MemberIDs(st engine.Status) []string {
	ids := make([]string, len(st.Members))
	for i, m := range st.Members {
		ids[i] = m.InstanceID
	}
	return ids
}
