package main

import (
	"slices"

	"github.com/eni-failover/eni-failover/internal/config"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/probeconfig"
)

// DefaultFailoverConcurrency is the failover function's reserved
// concurrency unless configured: findings about many groups arrive in a
// few records, and each record's groups move alongside each other.
const DefaultFailoverConcurrency = 10

func (c *Config) defaults() {
	if c.TagPrefix == "" {
		c.TagPrefix = model.DefaultTagPrefix
	}
	if c.ReconcileMinutes == 0 {
		c.ReconcileMinutes = 5
	}
	if c.FailoverConcurrency == 0 {
		c.FailoverConcurrency = DefaultFailoverConcurrency
	}
	if c.HealthEventAction == "" {
		c.HealthEventAction = string(config.HealthMove)
	}
	if c.HealthLeadMinutes == 0 {
		c.HealthLeadMinutes = 30
	}
	if d := c.FISDrills; d != nil {
		if d.Group == "" && c.created() != nil {
			d.Group = c.created().Group
		}
		if len(d.KillCommands) == 0 {
			d.KillCommands = []string{"pkill -KILL -x lmgrd"}
		}
		if d.RestartAfterMinutes == 0 {
			d.RestartAfterMinutes = 10
		}
		if d.ThrottlePercent == 0 {
			d.ThrottlePercent = 50
		}
	}
	if c.MaxAutomaticMovesPerHour == nil {
		three := 3
		c.MaxAutomaticMovesPerHour = &three
	}
	if c.CooldownMinutes == 0 {
		c.CooldownMinutes = 15
	}
	if c.LogRetentionDays == 0 {
		c.LogRetentionDays = 90
	}
	if c.AssetDir == "" {
		c.AssetDir = "build"
	}
	if c.DeepCheckTimeoutSeconds == 0 {
		c.DeepCheckTimeoutSeconds = 30
	}
	if c.ActivationTimeoutSeconds == 0 {
		c.ActivationTimeoutSeconds = 60
	}
	if c.LicenseENI != nil && c.LicenseENI.Create != nil {
		cr := c.LicenseENI.Create
		if len(cr.Ports) == 0 {
			cr.Ports = slices.Clone(probeconfig.DefaultPorts)
		}
	}
	if p := c.Probe; p != nil {
		// The probe checks the created ENI's ports in its VPC unless told
		// otherwise (and validate refuses otherwise).
		if cr := c.created(); cr != nil {
			if len(p.Ports) == 0 {
				p.Ports = slices.Clone(cr.Ports)
			}
			if p.VPCID == "" {
				p.VPCID = cr.VPCID
			}
		}
		if len(p.Ports) == 0 {
			p.Ports = slices.Clone(probeconfig.DefaultPorts)
		}
		if p.ScheduleMinutes == 0 {
			p.ScheduleMinutes = 1
		}
		if p.EvaluationPeriods == 0 {
			p.EvaluationPeriods = 3
		}
		if p.IntervalSeconds == 0 {
			p.IntervalSeconds = 5
		}
		if p.Confirmations == 0 {
			p.Confirmations = 3
		}
		if p.Witnesses == nil {
			p.Witnesses = []string{probeconfig.DefaultWitness}
		}
		if p.Check == "" {
			p.Check = probeconfig.CheckConnect
		}
		if p.DatapointsToAlarm == 0 {
			p.DatapointsToAlarm = 2
		}
		if p.TimeoutMillis == 0 {
			p.TimeoutMillis = 2000
		}
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
