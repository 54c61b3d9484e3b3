package main

import (
	"slices"
	"time"

	"github.com/eni-failover/eni-failover/internal/config"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/probeconfig"
)

// DefaultFailoverConcurrency is the failover function's reserved
// concurrency unless configured: findings about many groups arrive in a
// few records, and each record's groups move alongside each other.
const DefaultFailoverConcurrency = 10

func (c *Config) defaults() {
	orDefault(&c.TagPrefix, model.DefaultTagPrefix)
	orDefault(&c.ReconcileMinutes, 5)
	orDefault(&c.FailoverConcurrency, DefaultFailoverConcurrency)
	orDefault(&c.HealthEventAction, string(config.HealthMove))
	orDefault(&c.HealthLeadMinutes, 30)
	if c.MaxAutomaticMovesPerHour == nil {
		n := config.DefaultMaxAutomaticMoves
		c.MaxAutomaticMovesPerHour = &n
	}
	orDefault(&c.CooldownMinutes, 15)
	orDefault(&c.LogRetentionDays, 90)
	orDefault(&c.AssetDir, "build")
	orDefault(&c.DeepCheckTimeoutSeconds, 30)
	orDefault(&c.ActivationTimeoutSeconds, 60)
	if cr := c.created(); cr != nil && len(cr.Ports) == 0 {
		cr.Ports = slices.Clone(probeconfig.DefaultPorts)
	}
	if d := c.FISDrills; d != nil {
		if cr := c.created(); cr != nil {
			orDefault(&d.Group, cr.Group)
		}
		if len(d.KillCommands) == 0 {
			d.KillCommands = []string{"pkill -KILL -x lmgrd"}
		}
		orDefault(&d.RestartAfterMinutes, 10)
		orDefault(&d.ThrottlePercent, 50)
	}
	if c.Probe != nil {
		c.Probe.defaults(c.created())
	}
}

// defaults of the probe: a created ENI's ports and VPC unless told
// otherwise (and validate refuses otherwise).
func (p *Probe) defaults(cr *CreateENI) {
	if cr != nil {
		if len(p.Ports) == 0 {
			p.Ports = slices.Clone(cr.Ports)
		}
		orDefault(&p.VPCID, cr.VPCID)
	}
	if len(p.Ports) == 0 {
		p.Ports = slices.Clone(probeconfig.DefaultPorts)
	}
	orDefault(&p.ScheduleMinutes, 1)
	orDefault(&p.EvaluationPeriods, 3)
	orDefault(&p.IntervalSeconds, 5)
	orDefault(&p.Confirmations, 3)
	if p.Witnesses == nil {
		p.Witnesses = []string{probeconfig.DefaultWitness}
	}
	orDefault(&p.Check, probeconfig.CheckConnect)
	orDefault(&p.DatapointsToAlarm, 2)
	orDefault(&p.TimeoutMillis, 2000)
}

// orDefault sets *v to d when it holds its type's zero value (not given).
func orDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// activates: activation commands are configured for some platform.
func (c Config) activates() bool {
	return len(c.ActivationCommands)+len(c.ActivationCommandsWindows) > 0
}

// deepChecks reports whether the reconcile runs the deep check.
func (c Config) deepChecks() bool {
	return len(c.DeepCheckCommands)+len(c.DeepCheckCommandsWindows) > 0
}

// drillOutageWait is how long a drill waits for the probe's measurement
// (DRILL_OUTAGE_WAIT) when the probe is deployed.
const drillOutageWait = 45 * time.Second

// moveTimeoutSeconds is the move function's timeout: a drill fits it
// (config.DrillTime, and a margin to report), within Lambda's 15 minutes.
// With activationTimeoutSeconds over about 390 a drill cannot fit, and
// the function refuses it before it moves.
func (c Config) moveTimeoutSeconds() int {
	var activation, wait time.Duration
	if c.activates() {
		activation = time.Duration(c.ActivationTimeoutSeconds) * time.Second
	}
	if c.Probe != nil {
		wait = drillOutageWait
	}
	drill := int((config.DrillTime(activation, wait) + 15*time.Second).Seconds())
	return min(900, max(c.functionTimeoutSeconds(), drill))
}

// functionTimeoutSeconds is the failover and move functions' timeout: a
// move (60 s), then the activation, and the reconcile's two deep checks
// 5 s apart.
func (c Config) functionTimeoutSeconds() int {
	t := 60
	if c.activates() {
		t += c.ActivationTimeoutSeconds
	}
	if c.deepChecks() {
		t += 2*c.DeepCheckTimeoutSeconds + 5
	}
	return t
}

// runsCommands reports whether the functions send SSM commands.
func (c Config) runsCommands() bool { return c.activates() || c.deepChecks() }

// created is the license ENI the stack creates, or nil.
func (c Config) created() *CreateENI {
	if c.LicenseENI == nil {
		return nil
	}
	return c.LicenseENI.Create
}
