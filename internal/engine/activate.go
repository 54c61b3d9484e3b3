package engine

import (
	"cmp"
	"context"
	"log/slog"

	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/report"
)

// CommandRunner (re)starts the token server on a new holder.
type CommandRunner interface {
	// windows: the holder runs Windows (EC2's platform "windows"), whose
	// commands and SSM document differ.
	Run(ctx context.Context, instanceID string, windows bool) report.CommandResult
}

// activate runs the activation on the new holder and records it. A failed
// activation is logged as an error and reported, and changes nothing else:
// moving again would not start a token server that will not start.
func (e *Engine) activate(ctx context.Context, g model.Group, r *report.Report, log *slog.Logger) {
	start := e.clk.Now()
	m, _ := g.Member(r.HolderAfter)
	a := e.opts.Activator.Run(ctx, r.HolderAfter, m.Windows)
	r.Activation = &a
	step := report.Step{Name: report.StepActivate, InstanceID: r.HolderAfter, Detail: string(a.Status), DurationMS: e.clk.Now().Sub(start).Milliseconds()}
	if !a.OK() {
		step.Error = cmp.Or(a.Error, string(a.Status))
		log.ErrorContext(ctx, "activation failed: the ENI moved but the token server may not serve",
			"instance_id", r.HolderAfter, "status", a.Status, "command_id", a.CommandID, "error", a.Error, "output", a.Output)
	} else {
		log.InfoContext(ctx, "token server activated", "instance_id", r.HolderAfter, "command_id", a.CommandID, "duration_ms", step.DurationMS)
	}
	r.Steps = append(r.Steps, step)
}
