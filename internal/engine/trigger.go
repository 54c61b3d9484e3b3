package engine

import (
	"time"

	"github.com/eni-failover/eni-failover/internal/model"
)

// Kind is what happened, independent of how the news arrived.
type Kind string

// Trigger kinds. The automatic ones come from events; Move and Failback
// from an operator.
const (
	// InstanceDown: the instance is stopping, stopped, shutting down or
	// terminated (EC2 state-change).
	InstanceDown Kind = "instance-down"
	// InstanceUp: the instance is pending or running (EC2 state-change).
	InstanceUp Kind = "instance-up"
	// Impaired: an alarm says the instance or its token server failed.
	Impaired Kind = "impaired"
	// Evacuate: the instance is about to go away (Spot interruption,
	// rebalance recommendation, scheduled Health event): move off now.
	Evacuate Kind = "evacuate"
	// LicenseRestored: the probe saw a group's license answer again after
	// a confirmed failure (Since: the first failed check; At: the answer).
	// Nothing moves: the outage is reported and added to the history.
	LicenseRestored Kind = "license-restored"
	// Reconcile: the scheduled level-triggered check of every group.
	Reconcile Kind = "reconcile"
	// Move: an operator moves the ENI, to Target or to the best standby.
	Move Kind = "move"
	// Failback: an operator moves the ENI back to the group's home.
	Failback Kind = "failback"
)

// Manual reports whether an operator asked for this.
func (k Kind) Manual() bool { return k == Move || k == Failback }

// Trigger is one request to the engine.
type Trigger struct {
	Kind Kind
	// InstanceID is the instance an event is about.
	InstanceID string
	// Group limits the trigger to one group (manual actions, reconcile).
	Group string
	// Target is the instance a manual move goes to ("" = best standby).
	Target string
	// Reason is a short human text recorded in the journal and report.
	Reason string
	// At is when the event happened, when known.
	At time.Time
	// Since is when the evidence of an alarm about a whole group (the
	// license-port probe) began: a holder that got the ENI after it was
	// not the one probed.
	Since time.Time
	// RequestID names a manual request; the journal keeps the last one
	// carried out, and a repeat of it is answered without acting.
	RequestID string
	// Brief marks a LicenseRestored whose outage the probe never confirmed
	// (a planned move's, or a blip): it is recorded only when a move was
	// made during it.
	Brief bool
	// Scheduled is the change an AWS Health event announces: the holder
	// it names leaves shortly before it starts (at once when that is
	// near), and the members it names are not targets until it ends.
	Scheduled *model.HealthNotice
}
