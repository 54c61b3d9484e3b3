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

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"

	"github.com/eni-failover/eni-failover/internal/config"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/probe"
	"github.com/eni-failover/eni-failover/internal/strictjson"
)

// ContextKey is the CDK context key holding the configuration.
const ContextKey = "eniFailover"

// Config is the deployment configuration, read from CDK context (cdk.json
// or `cdk deploy -c eniFailover='{...}'`).
type Config struct {
	// TagPrefix of the group tags; IAM conditions use it too.
	TagPrefix string `json:"tagPrefix"`
	// InstanceIDs are the token servers: the state-change rule is scoped to
	// them and each gets a status-check alarm. Empty: every instance's
	// events reach the function, which ignores those in no group.
	InstanceIDs []string `json:"instanceIds"`
	// NotifyEmail subscribes an address to the notification topic.
	NotifyEmail string `json:"notifyEmail"`
	// ReconcileMinutes is the period of the scheduled reconcile.
	ReconcileMinutes int `json:"reconcileMinutes"`
	// FailoverConcurrency is the failover function's reserved concurrency:
	// how many of the probe's findings, alarms, Spot and Health events
	// run at once (the fleet function, which takes state changes and the
	// reconcile, has 1).
	FailoverConcurrency int `json:"failoverConcurrency"`
	// AllowStartStopped lets the engine start a stopped standby.
	AllowStartStopped bool `json:"allowStartStopped"`
	// HealthEventAction: move or notify.
	HealthEventAction string `json:"healthEventAction"`
	// HealthLeadMinutes before a scheduled AWS Health change starts, the
	// reconcile moves the ENI off a holder it names.
	HealthLeadMinutes int `json:"healthLeadMinutes"`
	// CooldownMinutes is the anti-flap window.
	CooldownMinutes int `json:"cooldownMinutes"`
	// MaxAutomaticMovesPerHour caps automatic moves off healthy holders
	// (MAX_AUTOMATIC_MOVES; 0: no cap; unset: 3).
	MaxAutomaticMovesPerHour *int `json:"maxAutomaticMovesPerHour"`
	// LogRetentionDays of the functions' log groups.
	LogRetentionDays int `json:"logRetentionDays"`
	// AssetDir holds <function>/bootstrap from `make build`.
	AssetDir string `json:"assetDir"`
	// LicenseENI optionally creates or imports the license ENI.
	LicenseENI *LicenseENI `json:"licenseEni"`
	// ActivationCommands run through SSM on each new holder.
	ActivationCommands []string `json:"activationCommands"`
	// ActivationCommandsWindows run with PowerShell on a Windows holder.
	ActivationCommandsWindows []string `json:"activationCommandsWindows"`
	// ActivationTimeoutSeconds bounds one activation.
	ActivationTimeoutSeconds int `json:"activationTimeoutSeconds"`
	// DeepCheckCommands (and the Windows ones) run on each healthy holder
	// at every reconcile: the vendor's status command.
	DeepCheckCommands        []string `json:"deepCheckCommands"`
	DeepCheckCommandsWindows []string `json:"deepCheckCommandsWindows"`
	DeepCheckTimeoutSeconds  int      `json:"deepCheckTimeoutSeconds"`
	// Probe optionally deploys the license-port probe in the VPC.
	Probe *Probe `json:"probe"`
	// FISDrills optionally creates AWS FIS experiment templates for game
	// days, and has the engine keep the license-holder tag they target.
	FISDrills *FISDrills `json:"fisDrills"`
}

// FISDrills configures the game-day experiment templates.
type FISDrills struct {
	// Group whose holder the experiments target (default: the created
	// license ENI's group).
	Group string `json:"group"`
	// KillCommands stop lmgrd on the holder (through SSM).
	KillCommands []string `json:"killCommands"`
	// RestartAfterMinutes: FIS starts the stopped holder again after.
	RestartAfterMinutes int `json:"restartAfterMinutes"`
	// ThrottlePercent of the failover function's EC2 calls that FIS
	// throttles while the holder stops.
	ThrottlePercent int `json:"throttlePercent"`
}

// Probe configures the license-port probe and its alarms.
type Probe struct {
	// VPCID and SubnetIDs place the probe function; it needs no internet
	// or AWS endpoint access (it only writes logs).
	VPCID     string   `json:"vpcId"`
	SubnetIDs []string `json:"subnetIds"`
	// SecurityGroupID is used when given; otherwise one is created that
	// may reach the targets' license ports.
	SecurityGroupID string `json:"securityGroupId"`
	// Targets are the license ENI addresses by group; a created license
	// ENI is added under its group.
	Targets map[string]string `json:"targets"`
	Ports   []int             `json:"ports"`
	// ScheduleMinutes between invocations, each watching for that long;
	// the backstop alarm fires after DatapointsToAlarm failed periods out
	// of EvaluationPeriods.
	ScheduleMinutes   int `json:"scheduleMinutes"`
	EvaluationPeriods int `json:"evaluationPeriods"`
	DatapointsToAlarm int `json:"datapointsToAlarm"`
	TimeoutMillis     int `json:"timeoutMillis"`
	// IntervalSeconds between rounds of checks (PROBE_INTERVAL).
	IntervalSeconds int `json:"intervalSeconds"`
	// Confirmations: consecutive failed checks that confirm a failure.
	Confirmations int `json:"confirmations"`
	// Witnesses ("ip:port") show the probe's own network works.
	Witnesses []string `json:"witnesses"`
	// Check is "connect" or "answer" (PROBE_CHECK).
	Check string `json:"check"`
}

// LicenseENI is MOSEK's EC2 recipe: a license ENI, an Elastic IP on it and
// a security group for the token server ports, or an existing ENI.
type LicenseENI struct {
	// ImportID names an existing ENI (eni-...).
	ImportID string `json:"importId"`
	// Create describes a new ENI.
	Create *CreateENI `json:"create"`
}

// CreateENI describes a license ENI to create.
type CreateENI struct {
	Group     string   `json:"group"`
	VPCID     string   `json:"vpcId"`
	SubnetID  string   `json:"subnetId"`
	ElasticIP bool     `json:"elasticIp"`
	Ports     []int    `json:"ports"`
	CIDRs     []string `json:"allowedCidrs"`
}

var (
	eniRe    = regexp.MustCompile(`^eni-[0-9a-f]{8}(?:[0-9a-f]{9})?$`)
	vpcRe    = regexp.MustCompile(`^vpc-[0-9a-f]{8}(?:[0-9a-f]{9})?$`)
	subnetRe = regexp.MustCompile(`^subnet-[0-9a-f]{8}(?:[0-9a-f]{9})?$`)
)

// retentionDays are the values CloudWatch Logs accepts.
var retentionDays = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

// ParseConfig decodes the context value (nil: all defaults) and validates
// it; every problem is reported at once. Keys are matched exactly
// (encoding/json alone would take "InstanceIds" for "instanceIds").
func ParseConfig(raw any) (Config, error) {
	c := Config{}
	if raw != nil {
		b, err := json.Marshal(raw)
		if err != nil {
			return c, fmt.Errorf("context %s: %w", ContextKey, err)
		}
		if s, ok := raw.(string); ok { // -c eniFailover='{...}' arrives as a string
			b = []byte(s)
		}
		keyErr := strictjson.Check(b, &c)
		if err := json.Unmarshal(b, &c); err != nil {
			return c, fmt.Errorf("context %s: %w", ContextKey, errors.Join(keyErr, err))
		}
		if keyErr != nil {
			c.defaults()
			return c, fmt.Errorf("context %s: %w", ContextKey, errors.Join(keyErr, c.validate()))
		}
	}
	c.defaults()
	if err := c.validate(); err != nil {
		return c, fmt.Errorf("context %s: %w", ContextKey, err)
	}
	return c, nil
}

// MergeOverCDKJSON resolves the context value when it came from the command
// line: `-c eniFailover='{...}'` arrives as a string and would replace the
// whole object of cdk.json, silently dropping the license ENI, the probe
// and the e-mail. It is merged over cdk.json's object instead, as a JSON
// merge patch (RFC 7386): objects merge key by key, any other value
// (arrays included) replaces, null removes. note says what happened, for
// the person running cdk.
func MergeOverCDKJSON(raw any, cdkJSON []byte) (merged any, note string, err error) {
	override, ok := raw.(string)
	if !ok || cdkJSON == nil {
		return raw, "", nil
	}
	var file struct {
		Context map[string]json.RawMessage `json:"context"`
	}
	if err := json.Unmarshal(cdkJSON, &file); err != nil {
		return nil, "", fmt.Errorf("cdk.json: %w", err)
	}
	base, ok := file.Context[ContextKey]
	if !ok {
		return raw, "", nil
	}
	var patch any
	if err := strictjson.Decode([]byte(override), &patch); err != nil {
		return nil, "", fmt.Errorf("-c %s: %w", ContextKey, err)
	}
	patchObj, ok := patch.(map[string]any)
	if !ok {
		return nil, "", fmt.Errorf("-c %s: want a JSON object, got %s", ContextKey, override)
	}
	var baseObj map[string]any
	if err := json.Unmarshal(base, &baseObj); err != nil {
		return nil, "", fmt.Errorf("cdk.json: context.%s: want a JSON object: %w", ContextKey, err)
	}
	keys := slices.Sorted(maps.Keys(patchObj))
	note = fmt.Sprintf("-c %s was merged over cdk.json's %s: the command line sets %s; every other key is cdk.json's",
		ContextKey, ContextKey, strings.Join(keys, ", "))
	return mergePatch(baseObj, patchObj), note, nil
}

// mergePatch applies patch to target (RFC 7386, section 2).
func mergePatch(target, patch map[string]any) map[string]any {
	out := maps.Clone(target)
	if out == nil {
		// RFC 7386: a patch object over a missing or non-object value
		// starts from an empty object, so {} sets an empty object.
		out = map[string]any{}
	}
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(out, k)
		case map[string]any:
			t, _ := out[k].(map[string]any)
			out[k] = mergePatch(t, pv)
		default:
			out[k] = v
		}
	}
	return out
}

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
			cr.Ports = slices.Clone(probe.DefaultPorts)
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
			p.Ports = slices.Clone(probe.DefaultPorts)
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
			p.Witnesses = []string{probe.DefaultWitness}
		}
		if p.Check == "" {
			p.Check = probe.CheckConnect
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

func (c Config) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
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
	if c.ReconcileMinutes < 1 || c.ReconcileMinutes > 60 {
		bad("reconcileMinutes %d: from 1 to 60", c.ReconcileMinutes)
	}
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
	if p := c.Probe; p != nil {
		errs = append(errs, p.validate(c.LicenseENI)...)
	}
	if d := c.FISDrills; d != nil {
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
	if l := c.LicenseENI; l != nil {
		switch {
		case l.ImportID != "" && l.Create != nil:
			bad("licenseEni: give importId or create, not both")
		case l.ImportID != "" && !eniRe.MatchString(l.ImportID):
			bad("licenseEni.importId %q is not a network interface id", l.ImportID)
		case l.ImportID == "" && l.Create == nil:
			bad("licenseEni: give importId or create")
		case l.Create != nil:
			errs = append(errs, l.Create.validate()...)
		}
	}
	return errors.Join(errs...)
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
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
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
		if ip, _, err := probe.ParseWitness(w); err != nil || ip.To4() == nil {
			bad("probe.witnesses: %q is not an IPv4 ip:port", w)
		}
	}
	if p.Check != probe.CheckConnect && p.Check != probe.CheckAnswer {
		bad("probe.check %q: %q or %q", p.Check, probe.CheckConnect, probe.CheckAnswer)
	}
	if p.DatapointsToAlarm < 1 || p.DatapointsToAlarm > p.EvaluationPeriods || p.EvaluationPeriods > 10 {
		bad("probe: datapointsToAlarm %d out of evaluationPeriods %d: 1 <= N <= M <= 10", p.DatapointsToAlarm, p.EvaluationPeriods)
	}
	if p.TimeoutMillis < 100 || p.TimeoutMillis > 10000 {
		bad("probe.timeoutMillis %d: from 100 to 10000", p.TimeoutMillis)
	}
	return errs
}
