// Package moveapi is the move function's contract: the actions an
// operator may ask for, the request and its validation, and the response.
// The function (internal/handler) and the command line (internal/cli) both
// read it; it links neither the engine nor any AWS SDK.
package moveapi

import (
	"slices"
	"strings"
)

// ActionName names an action of the move function.
type ActionName string

// The actions, in the order usage lists them.
const (
	ActionStatus   ActionName = "status"
	ActionPlan     ActionName = "plan"
	ActionMove     ActionName = "move"
	ActionFailback ActionName = "failback"
	ActionPause    ActionName = "pause"
	ActionResume   ActionName = "resume"
	ActionHistory  ActionName = "history"
	ActionDrill    ActionName = "drill"
	ActionDoctor   ActionName = "doctor"
)

// Field names a request field an action may take besides "action",
// "group" and "request_id", which every action takes.
type Field string

// Fields.
const (
	FieldTarget  Field = "target"
	FieldReason  Field = "reason"
	FieldMinutes Field = "minutes"
	FieldLimit   Field = "limit"
)

// Action is one row of the table every list of actions derives from: the
// request's validation, the command line's commands, usage and retry
// policy, the stack's output help, and the README (tested against it).
type Action struct {
	Name ActionName
	// Help is the one line usage and the README show.
	Help string
	// Mutates: the action may change the ENI or its journal, so a caller
	// must not retry it blindly (the command line makes one attempt).
	Mutates bool
	// Idempotent: the command line sends a fresh request_id, so that a
	// repeat of the invocation is answered from the journal, not carried
	// out again.
	Idempotent bool
	// Fields are the optional fields the action takes.
	Fields []Field
	// Requires are the fields it cannot do without.
	Requires []Field
}

// Takes reports whether the action accepts the field.
func (a Action) Takes(f Field) bool { return slices.Contains(a.Fields, f) }

// Actions is the table.
var Actions = []Action{
	{Name: ActionStatus, Help: "where the ENI is, each member and whether it could take it, the pause, the last moves"},
	{Name: ActionPlan, Help: "what a move would do (changes nothing)", Fields: []Field{FieldTarget, FieldReason}},
	{Name: ActionMove, Help: "move the ENI to the best standby, or to --target", Mutates: true, Idempotent: true,
		Fields: []Field{FieldTarget, FieldReason}},
	{Name: ActionFailback, Help: "move the ENI back to the group's home", Mutates: true, Idempotent: true,
		Fields: []Field{FieldReason}},
	{Name: ActionPause, Help: "maintenance mode: no automatic move until resume or --minutes pass (--reason required)", Mutates: true,
		Fields: []Field{FieldReason, FieldMinutes}, Requires: []Field{FieldReason}},
	{Name: ActionResume, Help: "end maintenance mode", Mutates: true, Fields: []Field{FieldReason}},
	{Name: ActionHistory, Help: "the last moves, newest first", Fields: []Field{FieldLimit}},
	{Name: ActionDrill, Help: "a failover exercise: a planned move to the best standby and back, each timed", Mutates: true, Idempotent: true,
		Fields: []Field{FieldReason}},
	{Name: ActionDoctor, Help: "check, changing nothing, that a failover would succeed here: IAM (EC2 DryRun with both roles), the rules, the standbys, the watchers"},
}

// Lookup finds an action by name.
func Lookup(name ActionName) (Action, bool) {
	i := slices.IndexFunc(Actions, func(a Action) bool { return a.Name == name })
	if i < 0 {
		return Action{}, false
	}
	return Actions[i], true
}

// Names lists the actions for messages: "status, plan, ... or drill".
func Names() string {
	names := make([]string, len(Actions))
	for i, a := range Actions {
		names[i] = string(a.Name)
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Taking lists the actions that take the field: "move and plan".
func Taking(f Field) string {
	var names []string
	for _, a := range Actions {
		if a.Takes(f) {
			names = append(names, string(a.Name))
		}
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
