package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"

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
	// Admins are the role ARNs that alone, besides the deployment, may
	// subscribe to the notification topic and read or purge the
	// failed-events queue: the resource policies deny everyone else, with
	// or without an organization's SCP. Empty: no such deny.
	Admins []string `json:"admins"`
	// DeployRoleArn is the role CloudFormation deploys the stack with,
	// exempt from those denies (default: the CDK bootstrap's
	// cdk-hnb659fds-cfn-exec-role of the account and Region).
	DeployRoleArn string `json:"deployRoleArn"`
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
