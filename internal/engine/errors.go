package engine

import (
	"errors"
	"fmt"
	"strings"

	"github.com/eni-failover/eni-failover/internal/awserr"
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

// DeadlineError says the engine stopped because the invocation's deadline
// was near. The state it left is resumable: a rerun finishes the move.
type DeadlineError struct {
	Group string
	Step  string
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
	switch {
	case errors.Is(err, ErrBadRequest), errors.Is(err, ErrENINotFound):
		return false
	case errors.As(err, &nt), errors.As(err, &dl):
		return true
	}
	return awserr.IsRetryable(err) || awserr.Classify(err) == awserr.Conflict
}
