// Package report holds what a run decided and did (Plan, Report, Step,
// Outcome) and what set it off (Kind): the engine writes them, and the
// handlers, notifications, metrics and the operator's command line read
// them without linking the engine.
package report

import "time"

// Outcome is how a run ended for one group.
type Outcome string

// Outcomes.
const (
	// Moved: the ENI left its holder and is attached to a new one.
	Moved Outcome = "moved"
	// Attached: an available ENI was attached.
	Attached Outcome = "attached"
	// Repaired: the holder stays; DeleteOnTermination or the journal fixed.
	Repaired Outcome = "repaired"
	// NothingToDo: the observed state needed no change.
	NothingToDo Outcome = "nothing-to-do"
	// Planned: a dry run; nothing was changed.
	Planned Outcome = "planned"
	// AttachedByOther: someone else attached the ENI meanwhile; verified
	// and left alone.
	AttachedByOther Outcome = "attached-by-other"
	// ReturnedToFormer: every standby refused the attach, so the ENI went
	// back to its former holder rather than stay orphaned.
	ReturnedToFormer Outcome = "returned-to-former-holder"
	// Deferred: an AWS Health change names the holder but starts later
	// than the lead time; it is recorded, and the reconcile moves the
	// ENI when it is due.
	Deferred Outcome = "scheduled"
	// Paused: the group is in maintenance mode, so an automatic trigger
	// changed nothing (also the outcome of the pause action itself).
	Paused Outcome = "paused"
	// Resumed: the resume action ended a pause.
	Resumed Outcome = "resumed"
	// Repeated: the request (its request_id) was already carried out;
	// answered from the journal, nothing done.
	Repeated Outcome = "repeat"
	// Capped: the automation has made its automatic moves for the hour
	// (Options.MaxAutomaticMoves) and no operator acted since; it only
	// notifies until one does.
	Capped Outcome = "capped"
	// Confirmed: the license answers again after a failure (the probe saw
	// it); OutageMS is what the clients saw.
	Confirmed Outcome = "license-confirmed"
	// Failed: the run did not reach its goal; see Error.
	Failed Outcome = "failed"
)

// Changed reports whether the outcome means the ENI's holder changed.
func (o Outcome) Changed() bool { return o == Moved || o == Attached || o == ReturnedToFormer }

// StepName names a step of a run; the notification, metrics and drill
// report pick steps by these names.
type StepName string

// Steps, in the order a move makes them.
const (
	// StepRead: the group's ENI and members read from EC2.
	StepRead StepName = "read"
	// StepVerify: an attachment someone else made, checked and left alone.
	StepVerify StepName = "verify"
	// StepStartInstance: a stopped standby started (allowStartStopped).
	StepStartInstance StepName = "start-instance"
	// StepWaitRunning: waiting for the started standby to run.
	StepWaitRunning StepName = "wait-running"
	// StepDetach: the graceful detach from a healthy holder.
	StepDetach StepName = "detach"
	// StepForceDetach: the forced detach from a stopped or impaired holder.
	StepForceDetach StepName = "force-detach"
	// StepWaitAvailable: waiting for the detached ENI to be available.
	StepWaitAvailable StepName = "wait-available"
	// StepAttach: the attach to the new holder.
	StepAttach StepName = "attach"
	// StepWaitAttached: waiting for the attachment to be attached.
	StepWaitAttached StepName = "wait-attached"
	// StepDeleteOnTermination: DeleteOnTermination set to false on the attachment.
	StepDeleteOnTermination StepName = "delete-on-termination"
	// StepJournal: the journal tags written on the ENI.
	StepJournal StepName = "journal"
	// StepHolderTag: the license-holder tag moved to the holder.
	StepHolderTag StepName = "holder-tag"
	// StepHistory: the move added to the history journal.
	StepHistory StepName = "history"
	// StepRecordHealth: an AWS Health notice recorded in the journal.
	StepRecordHealth StepName = "record-health"
	// StepConfirmJournal: waiting until EC2's Describe shows the journal
	// just written (read-after-write: a pause, a request id).
	StepConfirmJournal StepName = "confirm-journal"
	// StepActivate: the token server (re)started on the new holder.
	StepActivate StepName = "activate"
)

// Step is one timed step of a run.
type Step struct {
	Name       StepName `json:"name"`
	InstanceID string   `json:"instance_id,omitempty"`
	Detail     string   `json:"detail,omitempty"`
	Error      string   `json:"error,omitempty"`
	DurationMS int64    `json:"duration_ms"`
}

// Report says what a run did for one group.
type Report struct {
	Group        string    `json:"group"`
	ENIID        string    `json:"eni_id"`
	MAC          string    `json:"mac"`
	PrivateIP    string    `json:"private_ip"`
	AZ           string    `json:"availability_zone"`
	Trigger      Kind      `json:"trigger,omitempty"`
	Action       Action    `json:"action,omitempty"`
	Reason       string    `json:"reason"`
	HolderBefore string    `json:"holder_before,omitempty"`
	HolderAfter  string    `json:"holder_after,omitempty"`
	Outcome      Outcome   `json:"outcome"`
	DryRun       bool      `json:"dry_run,omitempty"`
	Plan         *Plan     `json:"plan,omitempty"`
	Steps        []Step    `json:"steps,omitempty"`
	StartedAt    time.Time `json:"started_at,omitzero"`
	DurationMS   int64     `json:"duration_ms,omitempty"`
	Error        string    `json:"error,omitempty"`
	// Names are the Name tags of the holders before and after, for
	// people.
	Names map[string]string `json:"names,omitempty"`
	// Activation is the result of (re)starting the token server on the
	// new holder, when activation is configured.
	Activation *CommandResult `json:"activation,omitempty"`
	// OutageMS is the clients' outage the probe measured (license
	// confirmed reports).
	OutageMS int64 `json:"outage_ms,omitempty"`
	// Warnings are journal values the run ignored because no function
	// could have written them (model.Tags.Distrust): someone else wrote
	// the ENI's tags. Each is notified.
	Warnings []string `json:"warnings,omitempty"`
}

// StepMS sums the durations of the named steps.
func (r *Report) StepMS(name StepName) int64 {
	var total int64
	for _, s := range r.Steps {
		if s.Name == name {
			total += s.DurationMS
		}
	}
	return total
}
