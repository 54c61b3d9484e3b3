package ssmcommand_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/eni-failover/eni-failover/internal/report"
	"github.com/eni-failover/eni-failover/internal/ssmcommand"
	"github.com/eni-failover/eni-failover/internal/testkit/fakessm"
	"github.com/eni-failover/eni-failover/internal/testkit/simclock"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func setup(o *fakessm.Outcome) (*ssmcommand.Runner, *fakessm.Fake, context.Context) {
	clk := simclock.NewVirtual(t0)
	f := fakessm.New(clk)
	if o != nil {
		f.Outcomes["i-b"] = *o
	}
	a := &ssmcommand.Runner{SSM: f, Commands: []string{"systemctl restart lmgrd", "sleep 2; ss -ltn | grep -q ':27007 '"}, Timeout: 30 * time.Second, Clock: clk}
	return a, f, simclock.WithDeadline(context.Background(), t0.Add(60*time.Second))
}

func TestSuccess(t *testing.T) {
	a, f, ctx := setup(nil)
	res := a.Run(ctx, "i-b", false)
	if !res.OK() || res.CommandID == "" || !strings.Contains(res.Output, "lmgrd") || res.DurationMS < 2000 {
		t.Fatalf("result %+v", res)
	}
	sent := f.Sent[0]
	if aws.ToString(sent.DocumentName) != "AWS-RunShellScript" || sent.InstanceIds[0] != "i-b" || len(sent.Parameters["commands"]) != 2 {
		t.Fatalf("sent %+v", sent)
	}
}

func TestFailure(t *testing.T) {
	a, _, ctx := setup(&fakessm.Outcome{Status: types.CommandInvocationStatusFailed, After: time.Second, Output: "Job for lmgrd.service failed", Code: 1})
	res := a.Run(ctx, "i-b", false)
	if res.OK() || res.Status != "Failed" || !strings.Contains(res.Error, "exit code 1") || !strings.Contains(res.Output, "lmgrd.service") {
		t.Fatalf("result %+v", res)
	}
}

// A command SSM could not deliver ends Failed with StatusDetails
// Undeliverable and ResponseCode -1 ("Understanding command statuses",
// SSM User Guide): it failed, but it never ran, so it says nothing about
// the token server.
func TestUndeliverableNeverRan(t *testing.T) {
	a, _, ctx := setup(&fakessm.Outcome{Status: types.CommandInvocationStatusFailed, Details: "Undeliverable", After: time.Second, Code: -1})
	res := a.Run(ctx, "i-b", false)
	if res.OK() || res.Status != report.CommandFailed || res.Details != "Undeliverable" || res.ExitCode != -1 ||
		res.RanAndFailed() || res.NotRun() != "SSM agent unreachable" {
		t.Fatalf("result %+v", res)
	}
	a, _, ctx = setup(&fakessm.Outcome{Status: types.CommandInvocationStatusFailed, After: time.Second, Code: 1})
	if res := a.Run(ctx, "i-b", false); !res.RanAndFailed() || res.NotRun() != "" || res.ExitCode != 1 {
		t.Fatalf("a command that ran and exited 1: %+v", res)
	}
}

// With a document of its own (the stack's, holding the commands), the
// runner sends that document and no commands: the role may send it alone,
// so nobody who changes the function's configuration chooses what runs.
func TestOwnDocument(t *testing.T) {
	a, f, ctx := setup(nil)
	a.Commands, a.OwnDocument = nil, "EniFailover-Activation-EXAMPLE"
	if res := a.Run(ctx, "i-b", false); !res.OK() {
		t.Fatalf("result %+v", res)
	}
	sent := f.Sent[0]
	if aws.ToString(sent.DocumentName) != "EniFailover-Activation-EXAMPLE" || sent.Parameters["commands"] != nil || len(sent.Parameters["executionTimeout"]) != 1 {
		t.Fatalf("sent %s with %v", aws.ToString(sent.DocumentName), sent.Parameters)
	}
	// No Windows document and no Windows commands: reported, nothing sent.
	if res := a.Run(ctx, "i-b", true); res.OK() || !strings.Contains(res.Error, "_WINDOWS") || len(f.Sent) != 1 {
		t.Fatalf("windows without a document: %+v, %d sent", res, len(f.Sent))
	}
}

func TestTimeout(t *testing.T) {
	a, _, ctx := setup(&fakessm.Outcome{}) // never ends
	res := a.Run(ctx, "i-b", false)
	if res.OK() || res.Status != "TimedOut" || res.DurationMS > 30000 {
		t.Fatalf("result %+v", res)
	}
}

func TestBoundedByTheDeadline(t *testing.T) {
	a, _, _ := setup(&fakessm.Outcome{})
	ctx := simclock.WithDeadline(context.Background(), t0.Add(5*time.Second))
	if res := a.Run(ctx, "i-b", false); res.Status != "TimedOut" || res.DurationMS > 5000 {
		t.Fatalf("result %+v", res)
	}
	ctx = simclock.WithDeadline(context.Background(), t0.Add(time.Second))
	if res := a.Run(ctx, "i-b", false); res.Status != "Error" || !strings.Contains(res.Error, "no time left") {
		t.Fatalf("result %+v", res)
	}
}

func TestSendError(t *testing.T) {
	a, f, ctx := setup(nil)
	f.SendErr = errors.New("AccessDeniedException: not authorized to perform ssm:SendCommand")
	if res := a.Run(ctx, "i-b", false); res.Status != "Error" || !strings.Contains(res.Error, "ssm:SendCommand") {
		t.Fatalf("result %+v", res)
	}
}

// TestWindowsHolder: a Windows holder gets PowerShell (AWS-RunPowerShellScript)
// with its own commands; without them it is reported, not sent shell.
func TestWindowsHolder(t *testing.T) {
	a, f, ctx := setup(nil)
	if res := a.Run(ctx, "i-b", true); res.Status != "Error" || !strings.Contains(res.Error, "ACTIVATION_COMMANDS_WINDOWS") || len(f.Sent) != 0 {
		t.Fatalf("no Windows commands: %+v, %d sent", res, len(f.Sent))
	}
	a.WindowsCommands = []string{"Restart-Service -Name 'FlexNet License Server - mosek'"}
	res := a.Run(ctx, "i-b", true)
	if !res.OK() || len(f.Sent) != 1 || aws.ToString(f.Sent[0].DocumentName) != ssmcommand.WindowsDocument ||
		f.Sent[0].Parameters["commands"][0] != a.WindowsCommands[0] {
		t.Fatalf("result %+v, sent %+v", res, f.Sent)
	}
}
