package report

// CommandStatus is how an SSM command on one instance ended: SSM's final
// invocation status, or CommandError when it could not be sent or
// followed.
type CommandStatus string

// Command statuses.
const (
	CommandSuccess   CommandStatus = "Success"
	CommandFailed    CommandStatus = "Failed"
	CommandTimedOut  CommandStatus = "TimedOut"
	CommandCancelled CommandStatus = "Cancelled"
	// CommandError: the command could not be sent, or its result not read.
	CommandError CommandStatus = "Error"
)

// notRun are SSM's StatusDetails of a Failed or TimedOut command that
// never ran on the instance ("Understanding command statuses", AWS Systems
// Manager User Guide): its ResponseCode is -1 and it says nothing about
// the token server.
var notRun = map[string]string{
	"Undeliverable":    "SSM agent unreachable",
	"Terminated":       "instance terminated",
	"InvalidPlatform":  "the document does not suit the instance's platform",
	"AccessDenied":     "the SSM agent was denied access",
	"DeliveryTimedOut": "not delivered before its timeout",
}

// CommandResult is what an SSM command on one instance did: the activation
// on a new holder, or the deep check on the holder.
type CommandResult struct {
	InstanceID string        `json:"instance_id"`
	CommandID  string        `json:"command_id,omitempty"`
	Status     CommandStatus `json:"status"`
	// Details is SSM's StatusDetails (for Failed: "Failed" when the
	// commands ran and exited non-zero, otherwise why they never ran).
	Details string `json:"status_details,omitempty"`
	// ExitCode is SSM's ResponseCode: the commands' exit code, -1 when
	// they never ran.
	ExitCode   int    `json:"exit_code,omitempty"`
	Output     string `json:"output,omitempty"`
	Error      string `json:"error,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}

// OK reports whether the commands ran and succeeded.
func (a *CommandResult) OK() bool { return a != nil && a.Status == CommandSuccess }

// RanAndFailed reports whether the commands ran on the instance and
// exited non-zero: the only failure that says something about the token
// server.
func (a *CommandResult) RanAndFailed() bool {
	if a == nil || a.Status != CommandFailed || a.ExitCode == -1 {
		return false
	}
	_, never := notRun[a.Details]
	return !never
}

// NotRun says why the commands never ran on the instance ("" when they
// did, or when it is not known).
func (a *CommandResult) NotRun() string {
	if a == nil {
		return ""
	}
	return notRun[a.Details]
}
