// Package fakessm simulates SSM Run Command for activation tests: each
// instance's command ends with a chosen status after a chosen time on an
// injected clock; the first reads of a new invocation fail with
// InvocationDoesNotExist, as they do on SSM.
package fakessm

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/eni-failover/eni-failover/internal/clock"
)

// Outcome is how a command on one instance ends.
type Outcome struct {
	Status types.CommandInvocationStatus // Success, Failed, ...; "" never ends
	After  time.Duration
	Output string
	Code   int32
	// Details is SSM's StatusDetails (default: the status), e.g.
	// "Undeliverable" for a Failed command that never ran.
	Details string
}

// Fake is the simulated SSM. It is safe for concurrent use.
type Fake struct {
	Clock clock.Clock
	mu    sync.Mutex
	// Outcomes by instance id; missing instances succeed after 2 s.
	Outcomes map[string]Outcome
	// SendErr fails every SendCommand.
	SendErr  error
	commands map[string]*command
	seq      int
	Sent     []ssm.SendCommandInput
	// OnSend, when set, learns of each command sent, with the instance it
	// runs on (a test starts the token server there).
	OnSend func(instanceID string)
}

type command struct {
	instance string
	at       time.Time
	reads    int
}

// New returns a fake on clk.
func New(clk clock.Clock) *Fake {
	return &Fake{Clock: clk, Outcomes: map[string]Outcome{}, commands: map[string]*command{}}
}

// SendCommand records the command.
func (f *Fake) SendCommand(_ context.Context, in *ssm.SendCommandInput, _ ...func(*ssm.Options)) (*ssm.SendCommandOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.SendErr != nil {
		return nil, f.SendErr
	}
	f.Sent = append(f.Sent, *in)
	f.seq++
	id := fmt.Sprintf("cmd-%04d", f.seq)
	f.commands[id] = &command{instance: in.InstanceIds[0], at: f.Clock.Now()}
	if f.OnSend != nil {
		f.OnSend(in.InstanceIds[0])
	}
	return &ssm.SendCommandOutput{Command: &types.Command{CommandId: aws.String(id)}}, nil
}

// GetCommandInvocation reports the command's state on the instance.
func (f *Fake) GetCommandInvocation(_ context.Context, in *ssm.GetCommandInvocationInput, _ ...func(*ssm.Options)) (*ssm.GetCommandInvocationOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.commands[aws.ToString(in.CommandId)]
	if c == nil || c.instance != aws.ToString(in.InstanceId) {
		return nil, &types.InvocationDoesNotExist{Message: aws.String("no such invocation")}
	}
	if c.reads++; c.reads == 1 {
		return nil, &types.InvocationDoesNotExist{Message: aws.String("not registered yet")}
	}
	o, ok := f.Outcomes[c.instance]
	if !ok {
		o = Outcome{Status: types.CommandInvocationStatusSuccess, After: 2 * time.Second, Output: "lmgrd restarted\n"}
	}
	out := &ssm.GetCommandInvocationOutput{CommandId: in.CommandId, InstanceId: in.InstanceId, Status: types.CommandInvocationStatusInProgress}
	if o.Status != "" && !f.Clock.Now().Before(c.at.Add(o.After)) {
		out.Status, out.StatusDetails = o.Status, aws.String(cmp.Or(o.Details, string(o.Status)))
		out.StandardOutputContent, out.ResponseCode = aws.String(o.Output), o.Code
	}
	return out, nil
}
