package report

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
