package engine

import (
	"errors"
	"fmt"
	"strings"

	"github.com/eni-failover/eni-failover/internal/awserr"
	"github.com/eni-failover/eni-failover/internal/report"
)

// ErrBadRequest marks a request that cannot be served as asked (unknown
// group, target outside the group). Retrying does not help.
var ErrBadRequest = errors.New("bad request")

// ErrENINotFound means the group's license ENI vanished under the engine.
var ErrENINotFound = errors.New("license network interface not found")

// NoTargetError says that no member can take the ENI. The ENI was not
// detached because of it.
type NoTargetError struct {
	Group   string
	AZ      string
	Reasons []string
}

func (e *NoTargetError) Error() string {
	msg := fmt.Sprintf("group %q: no viable standby in %s", e.Group, e.AZ)
	if len(e.Reasons) > 0 {
		msg += " (" + strings.Join(e.Reasons, "; ") + ")"
	}
	return msg
}

// PrimaryInterfaceError says that the license ENI is its holder's primary
// interface (device index 0), which EC2 never detaches ("You can't detach
// a primary network interface", Amazon EC2 User Guide, network
// interfaces): the group cannot fail over until the ENI is a secondary
// interface. Nothing was changed.
type PrimaryInterfaceError struct {
	Group, ENI, InstanceID string
}

func (e *PrimaryInterfaceError) Error() string {
	return fmt.Sprintf("group %q: %s is the primary interface (device index 0) of %s, and EC2 never detaches a primary interface: "+
		"make the license ENI a secondary interface (launch the token server with its own primary interface and attach %s at device index 1), "+
		"then eni-failover can move it", e.Group, e.ENI, e.InstanceID, e.ENI)
}

// DeadlineError says the engine stopped because the invocation's deadline
// was near. The state it left is resumable: a rerun finishes the move.
type DeadlineError struct {
	Group string
	Step  report.StepName
}

func (e *DeadlineError) Error() string {
	return fmt.Sprintf("group %q: stopped at step %s: deadline near; the move resumes on the next run", e.Group, e.Step)
}

// Retryable reports whether running the same trigger again may succeed:
// throttling and 5xx, a deadline, no standby yet. Bad requests and
// permission errors are not.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var nt *NoTargetError
	var dl *DeadlineError
	var primary *PrimaryInterfaceError
	switch {
	case errors.Is(err, ErrBadRequest), errors.Is(err, ErrENINotFound), errors.As(err, &primary):
		return false
	case errors.As(err, &nt), errors.As(err, &dl):
		return true
	}
	return awserr.IsRetryable(err) || awserr.Classify(err) == awserr.Conflict
}
