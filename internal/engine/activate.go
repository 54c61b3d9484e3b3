package engine

import (
	"cmp"
	"context"
	"log/slog"

	"github.com/eni-failover/eni-failover/internal/model"
)

// Activation is what the activation command on the new holder did.
type Activation struct {
	InstanceID string `json:"instance_id"`
	CommandID  string `json:"command_id,omitempty"`
	// Status is SSM's final status (Success, Failed, TimedOut, Cancelled,
	// ...), or "Error" when the command could not be sent or followed.
	Status     string `json:"status"`
	Output     string `json:"output,omitempty"`
	Error      string `json:"error,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}

// OK reports whether the token server was (re)started successfully.
func (a *Activation) OK() bool { return a != nil && a.Status == "Success" }

// Activator (re)starts the token server on a new holder.
type Activator interface {
	// windows: the holder runs Windows (EC2's platform "windows"), whose
	// commands and SSM document differ.
	Activate(ctx context.Context, instanceID string, windows bool) Activation
}

// activate runs the activation on the new holder and records it. A failed
// activation is logged as an error and reported, and changes nothing else:
// moving again would not start a token server that will not start.
func (e *Engine) activate(ctx context.Context, g model.Group, r *Report, log *slog.Logger) {
	start := e.clk.Now()
	m, _ := g.Member(r.HolderAfter)
	a := e.opts.Activator.Activate(ctx, r.HolderAfter, m.Windows)
	r.Activation = &a
	step := Step{Name: "activate", InstanceID: r.HolderAfter, Detail: a.Status, DurationMS: e.clk.Now().Sub(start).Milliseconds()}
	if !a.OK() {
		step.Error = cmp.Or(a.Error, a.Status)
		log.ErrorContext(ctx, "activation failed: the ENI moved but the token server may not serve",
			"instance_id", r.HolderAfter, "status", a.Status, "command_id", a.CommandID, "error", a.Error, "output", a.Output)
	} else {
		log.InfoContext(ctx, "token server activated", "instance_id", r.HolderAfter, "command_id", a.CommandID, "duration_ms", step.DurationMS)
	}
	r.Steps = append(r.Steps, step)
}
