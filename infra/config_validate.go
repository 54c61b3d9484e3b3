package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/mail"
	"regexp"
	"slices"
	"strings"

	"github.com/eni-failover/eni-failover/internal/config"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/probeconfig"
)

// problems collects every problem of a configuration, so that they are
// reported together.
type problems []error

func (ps *problems) bad(format string, args ...any) { *ps = append(*ps, fmt.Errorf(format, args...)) }

func (c Config) validate() error {
	var ps problems
	c.validateMembership(&ps)
	c.validateTiming(&ps)
	c.validateCommands(&ps)
	if p := c.Probe; p != nil {
		ps = append(ps, p.validate(c.LicenseENI)...)
	}
	if d := c.FISDrills; d != nil {
		d.validate(&ps)
	}
	if l := c.LicenseENI; l != nil {
		l.validate(&ps)
	}
	c.validateQuotas(&ps)
	return errors.Join(ps...)
}

// Quotas a deploy would meet, checked at synth so that a configuration
// that cannot deploy never reaches CloudFormation.
const (
	// lambdaEnvBytes: "4 KB, for all environment variables associated
	// with the function, in aggregate" (Lambda quotas), counted here as the
	// JSON object Lambda's API carries them in.
	lambdaEnvBytes = 4096
	// sgRulesPerDirection: "Inbound or outbound rules per security group:
	// 60" (Amazon VPC quotas, the default).
	sgRulesPerDirection = 60
	// topicARNBound is the longest the topic's ARN can be (a topic name
	// has at most 256 characters): it stands for the ARN, unknown at synth.
	topicARNBound = 320
	// addressBound stands for a created ENI's address (IPv4, dotted).
	addressBound = "255.255.255.255"
)

// validateQuotas: the probe's environment fits Lambda's 4 KB, and its
// security group the rules quota. (The failover and move functions'
// environment fits by construction: the commands live in SSM documents,
// and at most 50 instances are pinned; TestFunctionEnvironmentFits.)
func (c Config) validateQuotas(ps *problems) {
	p := c.Probe
	if p == nil {
		return
	}
	addresses := maps.Clone(p.Targets)
	if cr := c.created(); cr != nil {
		if addresses == nil {
			addresses = map[string]string{}
		}
		addresses[cr.Group] = addressBound
	}
	var pairs []string
	for _, g := range slices.Sorted(maps.Keys(addresses)) {
		pairs = append(pairs, g+"="+addresses[g])
	}
	targets := strings.Join(pairs, ",")
	if n := envBytes(probeEnv(p, &targets)); n > lambdaEnvBytes {
		ps.bad("the probe's environment variables would take %d bytes (%d groups in PROBE_TARGETS), and Lambda allows %d for all of them together "+
			"(Lambda quotas): probe fewer groups per deployment, or shorter group names", n, len(addresses), lambdaEnvBytes)
	}
	if p.SecurityGroupID != "" {
		return
	}
	rules := len(addresses) * len(p.Ports)
	for _, w := range p.Witnesses {
		if w != probeconfig.DefaultWitness {
			rules++
		}
	}
	if rules > sgRulesPerDirection {
		ps.bad("probe: its security group would need %d egress rules (%d groups x %d ports, and the witnesses), and a security group has %d per "+
			"direction by default (Amazon VPC quotas): give probe.securityGroupId, a group of your own that reaches the license subnets' CIDR "+
			"on the license ports, or raise the quota and give that group", rules, len(addresses), len(p.Ports), sgRulesPerDirection)
	}
}

// envBytes is the size of a function's environment variables as Lambda's
// API carries them: one JSON object.
func envBytes(env map[string]*string) int {
	plain := make(map[string]string, len(env))
	for k, v := range env {
		plain[k] = *v
	}
	b, _ := json.Marshal(plain)
	return len(b)
}

// validateMembership: the tag prefix, pinned instances, the mail address.
func (c Config) validateMembership(ps *problems) {
	bad := ps.bad
	if !model.ValidTagPrefix(c.TagPrefix) {
		bad("tagPrefix %q: %s", c.TagPrefix, model.TagPrefixRule)
	}
	seen := map[string]bool{}
	for _, id := range c.InstanceIDs {
		if !model.IsInstanceID(id) {
			bad("instanceIds: %q is not an instance id", id)
		}
		if seen[id] {
			bad("instanceIds: %s is listed twice", id)
		}
		seen[id] = true
	}
	if len(c.InstanceIDs) > 50 {
		bad("instanceIds: %d instances; at most 50 (one alarm each)", len(c.InstanceIDs))
	}
	if c.NotifyEmail != "" {
		if a, err := mail.ParseAddress(c.NotifyEmail); err != nil || a.Address != c.NotifyEmail {
			bad("notifyEmail %q is not an e-mail address", c.NotifyEmail)
		}
	}
	// Exact role ARNs: a pattern would exempt any role whose name looks
	// alike, which anyone allowed iam:CreateRole can make.
	for _, arn := range append(slices.Clone(c.Admins), c.DeployRoleArn) {
		if arn != "" && !roleARN.MatchString(arn) {
			bad("admins/deployRoleArn: %q is not an exact IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME, no wildcard)", arn)
		}
	}
	if c.DeployRoleArn != "" && len(c.Admins) == 0 {
		bad("deployRoleArn is only used with admins")
	}
}

// roleARN is an exact role ARN: no wildcard.
var roleARN = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$`)

// validateTiming: schedules, concurrency, the cap, cooldown, Health lead
// time, log retention.
func (c Config) validateTiming(ps *problems) {
	bad := ps.bad
	if c.ReconcileMinutes < 1 || c.ReconcileMinutes > 60 {
		bad("reconcileMinutes %d: from 1 to 60", c.ReconcileMinutes)
	}
	// Lambda keeps 100 of an account's concurrency unreserved ("Lambda
	// function scaling": reserved concurrency), so a reservation beyond
	// what is left fails the deploy; 100 bounds what one stack asks.
	if c.FailoverConcurrency < 2 || c.FailoverConcurrency > 100 {
		bad("failoverConcurrency %d: from 2 to 100 (reserved concurrency: the account keeps at least 100 unreserved)", c.FailoverConcurrency)
	}
	if n := *c.MaxAutomaticMovesPerHour; n < 0 || n > 10 {
		bad("maxAutomaticMovesPerHour %d: from 0 (no cap) to 10", n)
	}
	if c.CooldownMinutes < 1 || c.CooldownMinutes > 1440 {
		bad("cooldownMinutes %d: from 1 to 1440", c.CooldownMinutes)
	}
	if c.HealthLeadMinutes < max(5, c.ReconcileMinutes) || c.HealthLeadMinutes > 10080 {
		// The reconcile must run at least once within the lead time.
		bad("healthLeadMinutes %d: from max(5, reconcileMinutes) to 10080 (a week)", c.HealthLeadMinutes)
	}
	if c.HealthEventAction != string(config.HealthMove) && c.HealthEventAction != string(config.HealthNotify) {
		bad("healthEventAction %q: move or notify", c.HealthEventAction)
	}
	if _, ok := retentionDays[c.LogRetentionDays]; !ok {
		bad("logRetentionDays %d: one of CloudWatch Logs' values (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)", c.LogRetentionDays)
	}
}

// validateCommands: the SSM command lists and their bounds.
func (c Config) validateCommands(ps *problems) {
	bad := ps.bad
	for _, list := range []struct {
		key  string
		cmds []string
	}{{"activationCommands", c.ActivationCommands}, {"activationCommandsWindows", c.ActivationCommandsWindows},
		{"deepCheckCommands", c.DeepCheckCommands}, {"deepCheckCommandsWindows", c.DeepCheckCommandsWindows}} {
		for _, cmd := range list.cmds {
			if strings.TrimSpace(cmd) == "" || strings.Contains(cmd, "\n") {
				bad("%s: %q: one non-empty command per entry", list.key, cmd)
			}
		}
	}
	if c.ActivationTimeoutSeconds < 5 || c.ActivationTimeoutSeconds > 600 {
		bad("activationTimeoutSeconds %d: from 5 to 600", c.ActivationTimeoutSeconds)
	}
	if c.DeepCheckTimeoutSeconds < 5 || c.DeepCheckTimeoutSeconds > 120 {
		bad("deepCheckTimeoutSeconds %d: from 5 to 120", c.DeepCheckTimeoutSeconds)
	} else if c.functionTimeoutSeconds() > 900 {
		bad("activationTimeoutSeconds %d and deepCheckTimeoutSeconds %d: a reconcile (two deep checks, a move, an activation) would outlast Lambda's 15 minutes",
			c.ActivationTimeoutSeconds, c.DeepCheckTimeoutSeconds)
	}
}

func (d FISDrills) validate(ps *problems) {
	bad := ps.bad
	if !model.ValidGroupName(d.Group) {
		bad("fisDrills.group %q: name the group whose holder the experiments target (it defaults to a created license ENI's group)", d.Group)
	}
	for _, cmd := range d.KillCommands {
		if strings.TrimSpace(cmd) == "" || strings.Contains(cmd, "\n") {
			bad("fisDrills.killCommands: %q: one non-empty command per entry", cmd)
		}
	}
	if d.RestartAfterMinutes < 1 || d.RestartAfterMinutes > 720 {
		bad("fisDrills.restartAfterMinutes %d: from 1 to 720", d.RestartAfterMinutes)
	}
	if d.ThrottlePercent < 1 || d.ThrottlePercent > 100 {
		bad("fisDrills.throttlePercent %d: from 1 to 100", d.ThrottlePercent)
	}
}

func (l LicenseENI) validate(ps *problems) {
	bad := ps.bad
	switch {
	case l.ImportID != "" && l.Create != nil:
		bad("licenseEni: give importId or create, not both")
	case l.ImportID != "" && !eniRe.MatchString(l.ImportID):
		bad("licenseEni.importId %q is not a network interface id", l.ImportID)
	case l.ImportID == "" && l.Create == nil:
		bad("licenseEni: give importId or create")
	case l.Create != nil:
		*ps = append(*ps, l.Create.validate()...)
	}
}

func (cr CreateENI) validate() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !model.ValidGroupName(cr.Group) {
		bad("licenseEni.create.group %q: the group name (a tag value) is required", cr.Group)
	}
	if !vpcRe.MatchString(cr.VPCID) {
		bad("licenseEni.create.vpcId %q is not a VPC id", cr.VPCID)
	}
	if !subnetRe.MatchString(cr.SubnetID) {
		bad("licenseEni.create.subnetId %q is not a subnet id", cr.SubnetID)
	}
	for _, p := range cr.Ports {
		if p < 1 || p > 65535 {
			bad("licenseEni.create.ports: %d is not a port", p)
		}
	}
	if len(cr.CIDRs) == 0 {
		bad("licenseEni.create.allowedCidrs: name the networks of the license clients")
	}
	for _, c := range cr.CIDRs {
		_, n, err := net.ParseCIDR(c)
		if err != nil || strings.Contains(c, ":") {
			bad("licenseEni.create.allowedCidrs: %q is not an IPv4 CIDR", c)
			continue
		}
		// Any /0 (1.2.3.4/0 too) is every address.
		if ones, _ := n.Mask.Size(); ones == 0 {
			bad("licenseEni.create.allowedCidrs: %q (prefix /0) opens the token server to the internet", c)
		}
	}
	return errs
}

func sortedPorts(ports []int) []int {
	s := slices.Clone(ports)
	slices.Sort(s)
	return slices.Compact(s)
}

var sgRe = regexp.MustCompile(`^sg-[0-9a-f]{8}(?:[0-9a-f]{9})?$`)

func (p Probe) validate(l *LicenseENI) []error {
	var ps problems
	p.validatePlacement(l, &ps)
	p.validateRounds(&ps)
	return ps
}

// validatePlacement: where the probe runs and what it reaches.
func (p Probe) validatePlacement(l *LicenseENI, ps *problems) {
	bad := ps.bad
	if !vpcRe.MatchString(p.VPCID) {
		bad("probe.vpcId %q is not a VPC id", p.VPCID)
	}
	if len(p.SubnetIDs) == 0 {
		bad("probe.subnetIds: name the subnets the probe runs in (those of the license ENI's VPC)")
	}
	for _, s := range p.SubnetIDs {
		if !subnetRe.MatchString(s) {
			bad("probe.subnetIds: %q is not a subnet id", s)
		}
	}
	if p.SecurityGroupID != "" && !sgRe.MatchString(p.SecurityGroupID) {
		bad("probe.securityGroupId %q is not a security group id", p.SecurityGroupID)
	}
	creates := l != nil && l.Create != nil
	if creates {
		cr := l.Create
		if p.VPCID != cr.VPCID {
			bad("probe.vpcId %q is not the license ENI's VPC %q: the probe must reach the ENI's address", p.VPCID, cr.VPCID)
		}
		if !slices.Equal(sortedPorts(p.Ports), sortedPorts(cr.Ports)) {
			bad("probe.ports %v differ from licenseEni.create.ports %v: the probe would check ports the security group does not open, or miss one the clients use", p.Ports, cr.Ports)
		}
	}
	if len(p.Targets) == 0 && !creates {
		bad("probe.targets: name each group's license ENI address (group: private IP)")
	}
	probed := make([]string, 0, len(p.Targets)+1)
	for g := range p.Targets {
		probed = append(probed, g)
	}
	if creates {
		probed = append(probed, l.Create.Group)
	}
	for _, g := range probed {
		// PROBE_TARGETS is "group=ip,group=ip".
		if strings.ContainsAny(g, ",=") {
			bad("probe: group %q: a probed group's name may not contain \",\" or \"=\"", g)
		}
	}
	for g, ip := range p.Targets {
		if !model.ValidGroupName(g) {
			bad("probe.targets: %q is not a group name", g)
		}
		if parsed := net.ParseIP(ip); parsed == nil || parsed.To4() == nil {
			bad("probe.targets.%s: %q is not an IPv4 address", g, ip)
		}
	}
}

// validateRounds: the ports, the rounds of checks and the alarm.
func (p Probe) validateRounds(ps *problems) {
	bad := ps.bad
	for _, port := range p.Ports {
		if port < 1 || port > 65535 {
			bad("probe.ports: %d is not a port", port)
		}
	}
	if p.ScheduleMinutes < 1 || p.ScheduleMinutes > 14 {
		// Each invocation watches for the whole period, within Lambda's
		// 15-minute timeout.
		bad("probe.scheduleMinutes %d: from 1 to 14 (each invocation watches for the whole period)", p.ScheduleMinutes)
	}
	if p.IntervalSeconds < 1 || p.IntervalSeconds > 60*p.ScheduleMinutes {
		bad("probe.intervalSeconds %d: from 1 to the schedule's period (%d s)", p.IntervalSeconds, 60*p.ScheduleMinutes)
	} else if 2*p.TimeoutMillis > 1000*p.IntervalSeconds {
		bad("probe.timeoutMillis %d is more than half of intervalSeconds %d: a round (the checks, then the witness) would outlast the interval", p.TimeoutMillis, p.IntervalSeconds)
	}
	if p.Confirmations < 1 || p.Confirmations > 10 {
		bad("probe.confirmations %d: from 1 to 10", p.Confirmations)
	}
	for _, w := range p.Witnesses {
		// IPv4: the probe's security group opens a /32 to it.
		if ip, _, err := probeconfig.ParseWitness(w); err != nil || ip.To4() == nil {
			bad("probe.witnesses: %q is not an IPv4 ip:port", w)
		}
	}
	if p.Check != probeconfig.CheckConnect && p.Check != probeconfig.CheckAnswer {
		bad("probe.check %q: %q or %q", p.Check, probeconfig.CheckConnect, probeconfig.CheckAnswer)
	}
	if p.DatapointsToAlarm < 1 || p.DatapointsToAlarm > p.EvaluationPeriods || p.EvaluationPeriods > 10 {
		bad("probe: datapointsToAlarm %d out of evaluationPeriods %d: 1 <= N <= M <= 10", p.DatapointsToAlarm, p.EvaluationPeriods)
	}
	if p.TimeoutMillis < 100 || p.TimeoutMillis > 10000 {
		bad("probe.timeoutMillis %d: from 100 to 10000", p.TimeoutMillis)
	}
}
