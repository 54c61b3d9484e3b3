package engine

import (
	"time"

	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/report"
)

// Trigger is one request to the engine.
type Trigger struct {
	Kind report.Kind
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
	// NeedsEC2Impaired: the trigger counts only when EC2's own status
	// checks find the instance impaired. A status-check alarm can be set
	// by anyone allowed cloudwatch:SetAlarmState ("the action configured
	// for the appropriate state is invoked"), so it may not move the
	// license off a holder EC2 finds healthy.
	NeedsEC2Impaired bool
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
