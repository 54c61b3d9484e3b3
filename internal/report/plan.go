package report

import "github.com/eni-failover/eni-failover/internal/model"

// Action is what a plan does to the ENI.
type Action string

// Plan actions.
const (
	// ActNone leaves everything as it is.
	ActNone Action = "none"
	// ActAttach attaches an available ENI.
	ActAttach Action = "attach"
	// ActMove detaches the ENI from its holder and attaches it elsewhere.
	ActMove Action = "move"
	// ActRepair keeps the holder and fixes the attachment's
	// DeleteOnTermination flag or the journal tags.
	ActRepair Action = "repair"
)

// Candidate is a member the ENI may be attached to, in order of preference.
type Candidate struct {
	InstanceID string       `json:"instance_id"`
	State      string       `json:"state"`
	Health     model.Health `json:"health"`
	Priority   *int         `json:"priority,omitempty"`
	// Start: the member is stopped and is started before the attach.
	Start bool `json:"start,omitempty"`
	// Booting: the member is pending; the move waits until it runs.
	Booting bool `json:"booting,omitempty"`
	// Cooldown: the member failed recently; it is a last resort.
	Cooldown bool `json:"cooldown,omitempty"`
	// Scheduled: a pending AWS Health change names the member; it is
	// the very last resort.
	Scheduled bool `json:"scheduled,omitempty"`
}

// Plan is a decision: what to do with one group's ENI, and why.
type Plan struct {
	Group  string `json:"group"`
	Action Action `json:"action"`
	Reason string `json:"reason"`
	// Holder and AttachmentID are the observed attachment a move detaches.
	Holder       string `json:"holder,omitempty"`
	AttachmentID string `json:"attachment_id,omitempty"`
	// Force: detach with Force at once (holder stopped or impaired).
	Force bool `json:"force,omitempty"`
	// Planned: the holder is healthy and asked to leave; detach gracefully.
	Planned bool `json:"planned,omitempty"`
	// FormerHolder is the last holder named by the journal, when the ENI
	// is available.
	FormerHolder string `json:"former_holder,omitempty"`
	// FailedHolder is recorded in the anti-flap journal after the move.
	FailedHolder string      `json:"failed_holder,omitempty"`
	Candidates   []Candidate `json:"candidates,omitempty"`
	// Skipped says why members were not candidates.
	Skipped []string `json:"skipped,omitempty"`
}

// NeedsBoot reports whether the member must be running before the ENI
// can move to it.
func (c Candidate) NeedsBoot() bool { return c.Start || c.Booting }
