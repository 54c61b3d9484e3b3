// Package ssmcommand runs the configured commands on one instance with SSM
// Run Command (AWS-RunShellScript, or AWS-RunPowerShellScript on Windows)
// and waits for their result within a bound. It (re)starts the token
// server on a new holder (moving the ENI is half the job: the clients are
// served again only when lmgrd runs there) and runs the deep check.
package ssmcommand

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/eni-failover/eni-failover/internal/awsapi"
	"github.com/eni-failover/eni-failover/internal/awserr"
	"github.com/eni-failover/eni-failover/internal/clock"
	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/report"
)

// The SSM documents run on the holder: shell on Linux, PowerShell on
// Windows.
const (
	Document        = "AWS-RunShellScript"
	WindowsDocument = "AWS-RunPowerShellScript"
)

// Runner runs the configured commands on a new holder.
type Runner struct {
	SSM      awsapi.SSM
	Commands []string
	// WindowsCommands run on a Windows holder; none: a Windows holder is
	// reported as not activated.
	WindowsCommands []string
	// Timeout bounds the whole activation (send, run, result).
	Timeout time.Duration
	// Poll is the interval between result checks (default 500 ms).
	Poll  time.Duration
	Clock clock.Clock
	// Purpose is the command's comment in SSM (default: activating the
	// token server); the deep check runs through a Runner too.
	Purpose string
	// Setting names the configuration the commands come from, for errors
	// (default ACTIVATION_COMMANDS; with "_WINDOWS" for Windows).
	Setting string
	// OwnDocument and OwnWindowsDocument name SSM documents that hold
	// the commands themselves (the stack's own): when one is set for a
	// platform, it is sent instead of the AWS-Run*Script document, and no
	// commands travel with it, so that the function's role may run those
	// commands and nothing else.
	OwnDocument, OwnWindowsDocument string
}

var _ engine.CommandRunner = (*Runner)(nil)

// terminal are SSM's final invocation statuses.
var terminal = map[types.CommandInvocationStatus]bool{
	types.CommandInvocationStatusSuccess:   true,
	types.CommandInvocationStatusFailed:    true,
	types.CommandInvocationStatusCancelled: true,
	types.CommandInvocationStatusTimedOut:  true,
}

// Run sends the commands to instanceID and waits for their result.
func (a *Runner) Run(ctx context.Context, instanceID string, windows bool) (res report.CommandResult) {
	clk := cmp.Or[clock.Clock](a.Clock, clock.Real{})
	start := clk.Now()
	res.InstanceID = instanceID
	defer func() { res.DurationMS = clk.Now().Sub(start).Milliseconds() }()
	deadline := start.Add(a.Timeout)
	// Keep a second before the invocation's deadline to report.
	if dl, ok := clk.Deadline(ctx); ok && dl.Add(-time.Second).Before(deadline) {
		deadline = dl.Add(-time.Second)
	}
	budget := deadline.Sub(start)
	if budget < 2*time.Second {
		res.Status, res.Error = report.CommandError, "no time left before the deadline to run the activation"
		return res
	}
	doc, commands, own, setting := Document, a.Commands, a.OwnDocument, cmp.Or(a.Setting, "ACTIVATION_COMMANDS")
	if windows {
		doc, commands, own, setting = WindowsDocument, a.WindowsCommands, a.OwnWindowsDocument, setting+"_WINDOWS"
	}
	params := map[string][]string{"executionTimeout": {strconv.Itoa(int(budget.Seconds()))}}
	switch {
	case own != "":
		doc = own
	case len(commands) > 0:
		params["commands"] = commands
	default:
		res.Status, res.Error = report.CommandError, fmt.Sprintf("no activation commands for %s's platform (%s is empty)", instanceID, setting)
		return res
	}
	out, err := a.SSM.SendCommand(ctx, &ssm.SendCommandInput{
		DocumentName:   aws.String(doc),
		InstanceIds:    []string{instanceID},
		Comment:        aws.String("eni-failover: " + cmp.Or(a.Purpose, "activate the token server on the new license ENI holder")),
		Parameters:     params,
		TimeoutSeconds: aws.Int32(int32(max(30, budget.Seconds()))),
	})
	if err != nil {
		res.Status, res.Error = report.CommandError, fmt.Sprintf("sending %s to %s: %v", doc, instanceID, err)
		return res
	}
	res.CommandID = aws.ToString(out.Command.CommandId)
	poll := cmp.Or(a.Poll, 500*time.Millisecond)
	for {
		if !clk.Now().Add(poll).Before(deadline) {
			res.Status, res.Error = report.CommandTimedOut, fmt.Sprintf("no result from command %s on %s within %s", res.CommandID, instanceID, budget.Round(time.Second))
			return res
		}
		if err := clk.Sleep(ctx, poll); err != nil {
			res.Status, res.Error = report.CommandError, fmt.Sprintf("waiting for command %s on %s: %v", res.CommandID, instanceID, err)
			return res
		}
		inv, err := a.SSM.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: aws.String(res.CommandID), InstanceId: aws.String(instanceID)})
		var notYet *types.InvocationDoesNotExist
		switch {
		case errors.As(err, &notYet), awserr.IsRetryable(err):
			continue // SSM has not registered the invocation yet, or throttles
		case err != nil:
			res.Status, res.Error = report.CommandError, fmt.Sprintf("reading command %s on %s: %v", res.CommandID, instanceID, err)
			return res
		}
		if terminal[inv.Status] {
			res.Status = report.CommandStatus(inv.Status)
			res.Details, res.ExitCode = aws.ToString(inv.StatusDetails), int(inv.ResponseCode)
			res.Output = model.Clip(aws.ToString(inv.StandardOutputContent)+aws.ToString(inv.StandardErrorContent), 1000)
			if inv.Status != types.CommandInvocationStatusSuccess {
				res.Error = fmt.Sprintf("command %s on %s ended %s (%s), exit code %d", res.CommandID, instanceID, inv.Status, aws.ToString(inv.StatusDetails), inv.ResponseCode)
			}
			return res
		}
	}
}
