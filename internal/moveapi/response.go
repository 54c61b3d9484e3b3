package moveapi

import (
	"time"

	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/report"
)

// Response is the move function's answer: the run's report, under the
// action the operator asked for, and for status the attachment and the
// members.
type Response struct {
	// Action is the request's action (the report's plan action is in
	// plan.action).
	Action ActionName `json:"action"`
	report.Report
	// Holder is, for status, the instance that holds the ENI ("" when
	// it is unattached).
	Holder              string            `json:"holder,omitempty"`
	AttachmentState     string            `json:"attachment_state,omitempty"`
	DeleteOnTermination *bool             `json:"delete_on_termination,omitempty"`
	Home                string            `json:"home,omitempty"`
	Members             []MemberStatus    `json:"members,omitempty"`
	Journal             map[string]string `json:"journal,omitempty"`
	// Pause is the group's maintenance mode while it holds.
	Pause *PauseStatus `json:"paused,omitempty"`
	// History is the group's last moves, newest first (history, and the
	// last few in status).
	History []model.Move `json:"history,omitempty"`
	// Drill is the exercise's two moves, there and back.
	Drill []DrillMove `json:"drill,omitempty"`
	// Checks are the doctor's findings (doctor, and a drill it refused).
	Checks []Check `json:"checks,omitempty"`
}

// Outcomes of the actions that only read: the report's outcome in their
// responses.
const (
	OutcomeStatus  report.Outcome = "status"
	OutcomeHistory report.Outcome = "history"
)

// MemberStatus describes a member in a status response.
type MemberStatus struct {
	InstanceID string       `json:"instance_id"`
	Name       string       `json:"name,omitempty"`
	State      string       `json:"state"`
	Health     model.Health `json:"health"`
	AZ         string       `json:"availability_zone"`
	Priority   *int         `json:"priority,omitempty"`
	Holder     bool         `json:"holder,omitempty"`
	Home       bool         `json:"home,omitempty"`
	// CanTakeENI: a move could choose it now; WhyNot says otherwise.
	CanTakeENI bool   `json:"can_take_eni"`
	WhyNot     string `json:"why_not,omitempty"`
}

// PauseStatus says who paused a group, why and until when.
type PauseStatus struct {
	Until  time.Time `json:"until"`
	By     string    `json:"by,omitempty"`
	Reason string    `json:"reason"`
}

// DrillMove is one move of a drill: how long it took, and how long the ENI
// was away from any instance (the longest the clients can have been
// without a license; the probe measures what they saw).
type DrillMove struct {
	From       string         `json:"from"`
	To         string         `json:"to"`
	Outcome    report.Outcome `json:"outcome"`
	DurationMS int64          `json:"duration_ms"`
	ENIAwayMS  int64          `json:"eni_away_ms"`
	// OutageMS is the clients' outage the probe measured for this move
	// (both moves' when the license did not answer in between: then it
	// is on the second move), once the history has it.
	OutageMS   int64                `json:"outage_ms,omitempty"`
	Activation report.CommandStatus `json:"activation,omitempty"`
	Error      string               `json:"error,omitempty"`
}
