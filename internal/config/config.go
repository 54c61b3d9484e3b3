// Package config reads eni-failover's configuration from environment
// variables, once, into a validated struct. Core code never reads the
// environment itself.
package config

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/eni-failover/eni-failover/internal/emf"
	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/envvar"
	"github.com/eni-failover/eni-failover/internal/model"
)

// HealthAction is what an AWS Health event for a holder does.
type HealthAction string

// Health actions.
const (
	HealthMove   HealthAction = "move"
	HealthNotify HealthAction = "notify"
)

// Config is the whole configuration.
type Config struct {
	// TagPrefix prefixes every tag key (ENI_FAILOVER_TAG_PREFIX).
	TagPrefix string
	// DeviceIndex the ENI is attached at (DEVICE_INDEX).
	DeviceIndex int32
	// AllowStartStopped starts a stopped standby when no running one can
	// take the ENI (ALLOW_START_STOPPED).
	AllowStartStopped bool
	// Cooldown is the anti-flap window (COOLDOWN).
	Cooldown time.Duration
	// GracefulDetachWait precedes a force detach (GRACEFUL_DETACH_WAIT).
	GracefulDetachWait time.Duration
	// PollInterval and PollMax shape the polling (POLL_INTERVAL, POLL_MAX).
	PollInterval time.Duration
	PollMax      time.Duration
	// DeadlineMargin is kept before the Lambda deadline (DEADLINE_MARGIN).
	DeadlineMargin time.Duration
	// HealthAction: move or notify (HEALTH_EVENT_ACTION).
	HealthAction HealthAction
	// HealthLead: a holder named by a scheduled AWS Health change leaves
	// this long before it starts (HEALTH_LEAD_TIME).
	HealthLead time.Duration
	// DrillOutageWait is how long a drill waits for the probe's outage
	// measurement (DRILL_OUTAGE_WAIT).
	DrillOutageWait time.Duration
	// HolderTag keeps the license-holder tag on the holder (HOLDER_TAG).
	HolderTag bool
	// MaxAutomaticMoves caps automatic moves off a healthy holder per
	// group and hour (MAX_AUTOMATIC_MOVES; 0: no cap).
	MaxAutomaticMoves int
	// NotifyTopicARN receives a message per move or failed move
	// (NOTIFY_TOPIC_ARN); empty disables notifications.
	NotifyTopicARN string
	// MetricsNamespace of the embedded-metric-format lines
	// (METRICS_NAMESPACE).
	MetricsNamespace string
	// ActivationCommands run on a new holder through SSM
	// (ACTIVATION_COMMANDS, one per line); none disables activation.
	ActivationCommands []string
	// WindowsActivationCommands run on a Windows holder with PowerShell
	// (ACTIVATION_COMMANDS_WINDOWS, one per line).
	WindowsActivationCommands []string
	// ActivationTimeout bounds an activation (ACTIVATION_TIMEOUT).
	ActivationTimeout time.Duration
	// DeepCheckCommands run on each healthy holder at every scheduled
	// reconcile (DEEP_CHECK_COMMANDS, and _WINDOWS); DeepCheckTimeout
	// bounds one run.
	DeepCheckCommands, WindowsDeepCheckCommands []string
	DeepCheckTimeout                            time.Duration
	// ActivationDocuments and DeepCheckDocuments name SSM documents that
	// hold the commands (ACTIVATION_DOCUMENT, DEEP_CHECK_DOCUMENT and their
	// _WINDOWS): the stack's own, which its roles alone may send. They
	// take the place of the command lists.
	ActivationDocuments, DeepCheckDocuments Documents
	// InstanceIDs pins membership (ENI_FAILOVER_INSTANCE_IDS, comma
	// separated): when set, no other instance is ever chosen, whatever
	// its tags say. Empty: every tagged instance is a member.
	InstanceIDs []string
}

// The environment variables of the failover and move functions. The CDK
// app sets them by these names.
const (
	EnvTagPrefix          = "ENI_FAILOVER_TAG_PREFIX"
	EnvDeviceIndex        = "DEVICE_INDEX"
	EnvAllowStartStopped  = "ALLOW_START_STOPPED"
	EnvCooldown           = "COOLDOWN"
	EnvGracefulDetachWait = "GRACEFUL_DETACH_WAIT"
	EnvPollInterval       = "POLL_INTERVAL"
	EnvPollMax            = "POLL_MAX"
	EnvDeadlineMargin     = "DEADLINE_MARGIN"
	EnvHealthEventAction  = "HEALTH_EVENT_ACTION"
	EnvHealthLeadTime     = "HEALTH_LEAD_TIME"
	EnvMaxAutomaticMoves  = "MAX_AUTOMATIC_MOVES"
	// DefaultMaxAutomaticMoves is MAX_AUTOMATIC_MOVES when unset.
	DefaultMaxAutomaticMoves = 3
	EnvHolderTag             = "HOLDER_TAG"
	EnvDrillOutageWait       = "DRILL_OUTAGE_WAIT"
	EnvNotifyTopicARN        = "NOTIFY_TOPIC_ARN"
	EnvActivationCommands    = "ACTIVATION_COMMANDS"
	EnvWindowsActivation     = "ACTIVATION_COMMANDS_WINDOWS"
	EnvActivationTimeout     = "ACTIVATION_TIMEOUT"
	EnvDeepCheckCommands     = "DEEP_CHECK_COMMANDS"
	EnvActivationDocument    = "ACTIVATION_DOCUMENT"
	EnvWindowsActivationDoc  = "ACTIVATION_DOCUMENT_WINDOWS"
	EnvDeepCheckDocument     = "DEEP_CHECK_DOCUMENT"
	EnvWindowsDeepCheckDoc   = "DEEP_CHECK_DOCUMENT_WINDOWS"
	EnvWindowsDeepCheck      = "DEEP_CHECK_COMMANDS_WINDOWS"
	EnvDeepCheckTimeout      = "DEEP_CHECK_TIMEOUT"
	EnvInstanceIDs           = "ENI_FAILOVER_INSTANCE_IDS"
)

// Vars lists every variable with its default; the README's table and the
// tests are checked against it.
var Vars = []envvar.Var{
	{Name: EnvTagPrefix, Default: model.DefaultTagPrefix, Meaning: "prefix of every tag key read or written"},
	{Name: EnvDeviceIndex, Default: "1", Meaning: "device index the ENI is attached at on a standby (1-31)"},
	{Name: EnvAllowStartStopped, Default: "false", Meaning: "start a stopped standby when no running one can take the ENI"},
	{Name: EnvCooldown, Default: "15m", Meaning: "a member that failed within this window is chosen only as a last resort"},
	{Name: EnvGracefulDetachWait, Default: "8s", Meaning: "time in `detaching` before a force detach"},
	{Name: EnvPollInterval, Default: "100ms", Meaning: "poll interval while EC2 transitions (grows by 1.5x after 10 s of one wait)"},
	{Name: EnvPollMax, Default: "2s", Meaning: "longest poll interval"},
	{Name: EnvDeadlineMargin, Default: "1500ms", Meaning: "time kept free before the Lambda deadline to stop cleanly"},
	{Name: EnvHealthEventAction, Default: "move", Meaning: "`move` the ENI off a holder named by an AWS Health event, or only `notify`"},
	{Name: EnvMaxAutomaticMoves, Default: strconv.Itoa(DefaultMaxAutomaticMoves), Meaning: "automatic moves off a holder EC2 finds healthy (the token server failed there), per group and hour; beyond them the automation only notifies (outcome `capped`) until an operator moves, fails back, drills, pauses or resumes; 0 for no cap, at most 10"},
	{Name: EnvHolderTag, Default: "false", Meaning: "keep the tag `eni-failover:license-holder` (value: the group) on whichever member holds the ENI, and off the others (AWS FIS experiments find the holder by it); costs one or two more tag calls per move, after the ENI is in place"},
	{Name: EnvDrillOutageWait, Default: "0s", Meaning: "how long the drill action waits, after its second move, for the probe's measurement of the clients' outage to reach the history (the stack sets 45s when the probe is deployed); 0s: no wait"},
	{Name: EnvHealthLeadTime, Default: "30m", Meaning: "a holder named by a scheduled AWS Health change is moved off this long before the change starts (by the reconcile; at once when the event arrives later than that)"},
	{Name: EnvNotifyTopicARN, Default: "", Meaning: "SNS topic for one message per move or failed move; empty: no notifications"},
	emf.NamespaceVar,
	{Name: EnvActivationCommands, Default: "", Meaning: "shell commands, one per line, run with SSM (AWS-RunShellScript) on the new holder after each move, e.g. `systemctl restart lmgrd`; empty: no activation"},
	{Name: EnvWindowsActivation, Default: "", Meaning: "PowerShell commands, one per line, run with SSM (AWS-RunPowerShellScript) instead when the new holder runs Windows, e.g. `Restart-Service -Name 'FlexNet License Server - mosek'`; empty: a Windows holder is reported as not activated"},
	{Name: EnvActivationTimeout, Default: "60s", Meaning: "bound on an activation (sending, running, reading the result); within the Lambda deadline"},
	{Name: EnvDeepCheckCommands, Default: "", Meaning: "shell commands, one per line, run with SSM on each healthy holder at every scheduled reconcile, e.g. `timeout 15 /opt/mosek/bin/lmutil lmstat -c 27007@localhost`: a non-zero exit, twice 5 s apart, fails the holder over; empty: no deep check"},
	{Name: EnvWindowsDeepCheck, Default: "", Meaning: "PowerShell commands for the deep check of a Windows holder"},
	{Name: EnvActivationDocument, Default: "", Meaning: "an SSM Command document that holds the activation commands (the stack creates it from `activationCommands` and sets this instead of `ACTIVATION_COMMANDS`, so that the role may send that document alone)"},
	{Name: EnvWindowsActivationDoc, Default: "", Meaning: "the same, with the PowerShell activation commands"},
	{Name: EnvDeepCheckDocument, Default: "", Meaning: "an SSM Command document that holds the deep-check commands (the stack's, in place of `DEEP_CHECK_COMMANDS`)"},
	{Name: EnvWindowsDeepCheckDoc, Default: "", Meaning: "the same, with the PowerShell deep-check commands"},
	{Name: EnvDeepCheckTimeout, Default: "30s", Meaning: "bound on one deep check (sending, running, reading the result); one that does not end in time moves nothing"},
	{Name: EnvInstanceIDs, Default: "", Meaning: "the token servers, comma separated (the CDK app sets it from `instanceIds`): no other instance is ever given the ENI, whatever its tags say; empty: every instance tagged with the group is a member"},
}

var topicARN = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$`)

// Load reads the configuration through getenv (os.Getenv in production).
// All problems are reported together.
func Load(getenv func(string) string) (Config, error) {
	get := envvar.Reader(getenv, Vars)
	var errs []error
	bad := func(name, v, why string) { errs = append(errs, fmt.Errorf("%s=%q: %s", name, v, why)) }
	dur := func(name string, min, max time.Duration) time.Duration {
		v := get(name)
		d, err := time.ParseDuration(v)
		if err != nil {
			bad(name, v, "not a duration (e.g. 250ms, 8s, 15m)")
			return 0
		}
		if d < min || d > max {
			bad(name, v, fmt.Sprintf("must be between %s and %s", min, max))
		}
		return d
	}
	c := Config{
		TagPrefix:          get(EnvTagPrefix),
		Cooldown:           dur(EnvCooldown, time.Second, 24*time.Hour),
		GracefulDetachWait: dur(EnvGracefulDetachWait, time.Second, 5*time.Minute),
		PollInterval:       dur(EnvPollInterval, 10*time.Millisecond, 10*time.Second),
		PollMax:            dur(EnvPollMax, 10*time.Millisecond, 30*time.Second),
		DeadlineMargin:     dur(EnvDeadlineMargin, 100*time.Millisecond, time.Minute),
		HealthLead:         dur(EnvHealthLeadTime, time.Minute, 7*24*time.Hour),
		NotifyTopicARN:     get(EnvNotifyTopicARN),
		ActivationTimeout:  dur(EnvActivationTimeout, 5*time.Second, 15*time.Minute),
		DeepCheckTimeout:   dur(EnvDeepCheckTimeout, 5*time.Second, 2*time.Minute),
		DrillOutageWait:    dur(EnvDrillOutageWait, 0, 10*time.Minute),
		MetricsNamespace:   get(emf.EnvNamespace),
	}
	if !model.ValidTagPrefix(c.TagPrefix) {
		bad(EnvTagPrefix, c.TagPrefix, model.TagPrefixRule)
	}
	idx, err := strconv.Atoi(get(EnvDeviceIndex))
	if err != nil || idx < 1 || idx > 31 {
		bad(EnvDeviceIndex, get(EnvDeviceIndex), "an integer from 1 to 31 (0 is the primary interface, which cannot move)")
	}
	c.DeviceIndex = int32(idx)
	if c.MaxAutomaticMoves, err = strconv.Atoi(get(EnvMaxAutomaticMoves)); err != nil || c.MaxAutomaticMoves < 0 || c.MaxAutomaticMoves > 10 {
		// The history journal keeps about a dozen moves: the cap counts them.
		bad(EnvMaxAutomaticMoves, get(EnvMaxAutomaticMoves), "an integer from 0 (no cap) to 10")
	}
	if c.HolderTag, err = strconv.ParseBool(get(EnvHolderTag)); err != nil {
		bad(EnvHolderTag, get(EnvHolderTag), "true or false")
	}
	if c.AllowStartStopped, err = strconv.ParseBool(get(EnvAllowStartStopped)); err != nil {
		bad(EnvAllowStartStopped, get(EnvAllowStartStopped), "true or false")
	}
	switch v := HealthAction(strings.ToLower(get(EnvHealthEventAction))); v {
	case HealthMove, HealthNotify:
		c.HealthAction = v
	default:
		bad(EnvHealthEventAction, string(v), "move or notify")
	}
	if c.NotifyTopicARN != "" && !topicARN.MatchString(c.NotifyTopicARN) {
		bad(EnvNotifyTopicARN, c.NotifyTopicARN, "not an SNS topic ARN")
	}
	if c.MetricsNamespace == "" || len(c.MetricsNamespace) > 255 || strings.HasPrefix(c.MetricsNamespace, "AWS/") {
		bad(emf.EnvNamespace, c.MetricsNamespace, "1-255 characters, not starting with AWS/")
	}
	c.readLists(getenv, bad)
	if c.PollMax < c.PollInterval {
		bad(EnvPollMax, get(EnvPollMax), "must not be shorter than POLL_INTERVAL")
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("invalid configuration: %w", err)
	}
	return c, nil
}

// readLists reads the command lists and the pinned instances.
func (c *Config) readLists(getenv func(string) string, bad func(name, v, why string)) {
	c.ActivationCommands = lines(getenv(EnvActivationCommands))
	c.WindowsActivationCommands = lines(getenv(EnvWindowsActivation))
	c.DeepCheckCommands = lines(getenv(EnvDeepCheckCommands))
	c.WindowsDeepCheckCommands = lines(getenv(EnvWindowsDeepCheck))
	c.ActivationDocuments = Documents{Linux: document(getenv, EnvActivationDocument, bad), Windows: document(getenv, EnvWindowsActivationDoc, bad)}
	c.DeepCheckDocuments = Documents{Linux: document(getenv, EnvDeepCheckDocument, bad), Windows: document(getenv, EnvWindowsDeepCheckDoc, bad)}
	for _, id := range strings.Split(getenv(EnvInstanceIDs), ",") {
		switch id = strings.TrimSpace(id); {
		case id == "":
		case !model.IsInstanceID(id):
			bad(EnvInstanceIDs, id, "not an instance id (i-...)")
		default:
			c.InstanceIDs = append(c.InstanceIDs, id)
		}
	}
}

// Documents are a command's SSM documents by platform ("" where none).
type Documents struct{ Linux, Windows string }

// Any reports whether a document is named.
func (d Documents) Any() bool { return d.Linux != "" || d.Windows != "" }

// DrillMoveAllowance is what one move of a drill may take before its
// activation: 5-15 s with EC2's real timings, twice that allowed.
const DrillMoveAllowance = 30 * time.Second

// DrillTime is the longest a drill may need: two moves, each followed by
// its activation (activation: ACTIVATION_TIMEOUT, 0 when none is
// configured), then the wait for the probe's measurement (outageWait).
// The stack sizes the move function's timeout for it, and the drill
// refuses to start with less time left.
func DrillTime(activation, outageWait time.Duration) time.Duration {
	return 2*(DrillMoveAllowance+activation) + outageWait
}

// DrillTime is the longest this configuration's drill may need.
func (c Config) DrillTime() time.Duration {
	var activation time.Duration
	if len(c.ActivationCommands) > 0 || len(c.WindowsActivationCommands) > 0 || c.ActivationDocuments.Any() {
		activation = c.ActivationTimeout
	}
	return DrillTime(activation, c.DrillOutageWait)
}

// EngineOptions turns the configuration into engine options.
func (c Config) EngineOptions() engine.Options {
	return engine.Options{
		TagPrefix:          c.TagPrefix,
		DeviceIndex:        c.DeviceIndex,
		AllowStartStopped:  c.AllowStartStopped,
		Cooldown:           c.Cooldown,
		GracefulDetachWait: c.GracefulDetachWait,
		PollInitial:        c.PollInterval,
		PollMax:            c.PollMax,
		DeadlineMargin:     c.DeadlineMargin,
		Allowed:            c.InstanceIDs,
		HealthLead:         c.HealthLead,
		MaxAutomaticMoves:  c.MaxAutomaticMoves,
		HolderTag:          c.HolderTag,
	}
}

// ssmDocumentName is SSM's rule for a document name (CreateDocument).
var ssmDocumentName = regexp.MustCompile(`^[a-zA-Z0-9_.\-]{3,128}$`)

// document reads a document name variable ("" when unset).
func document(getenv func(string) string, name string, bad func(name, v, why string)) string {
	v := strings.TrimSpace(getenv(name))
	if v != "" && !ssmDocumentName.MatchString(v) {
		bad(name, v, "not an SSM document name (3-128 letters, digits, _ . -)")
	}
	return v
}

// lines are the non-empty lines of v, trimmed.
func lines(v string) []string {
	var out []string
	for _, line := range strings.Split(v, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}
