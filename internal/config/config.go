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

	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/metrics"
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
	// NotifyTopicARN receives a message per move or failed move
	// (NOTIFY_TOPIC_ARN); empty disables notifications.
	NotifyTopicARN string
	// MetricsNamespace of the embedded-metric-format lines
	// (METRICS_NAMESPACE).
	MetricsNamespace string
	// ActivationCommands run on a new holder through SSM
	// (ACTIVATION_COMMANDS, one per line); none disables activation.
	ActivationCommands []string
	// ActivationTimeout bounds an activation (ACTIVATION_TIMEOUT).
	ActivationTimeout time.Duration
}

// Var documents one environment variable.
type Var struct {
	Name, Default, Meaning string
}

// Vars lists every variable with its default; the README's table and the
// tests are checked against it.
var Vars = []Var{
	{"ENI_FAILOVER_TAG_PREFIX", model.DefaultTagPrefix, "prefix of every tag key read or written"},
	{"DEVICE_INDEX", "1", "device index the ENI is attached at on a standby (1-31)"},
	{"ALLOW_START_STOPPED", "false", "start a stopped standby when no running one can take the ENI"},
	{"COOLDOWN", "15m", "a member that failed within this window is chosen only as a last resort"},
	{"GRACEFUL_DETACH_WAIT", "8s", "time in `detaching` before a force detach"},
	{"POLL_INTERVAL", "100ms", "poll interval while EC2 transitions (grows by 1.5x after 10 s of one wait)"},
	{"POLL_MAX", "2s", "longest poll interval"},
	{"DEADLINE_MARGIN", "1500ms", "time kept free before the Lambda deadline to stop cleanly"},
	{"HEALTH_EVENT_ACTION", "move", "`move` the ENI off a holder named by an AWS Health event, or only `notify`"},
	{"NOTIFY_TOPIC_ARN", "", "SNS topic for one message per move or failed move; empty: no notifications"},
	{"METRICS_NAMESPACE", metrics.DefaultNamespace, "CloudWatch namespace of the embedded-metric-format lines"},
	{"ACTIVATION_COMMANDS", "", "shell commands, one per line, run with SSM (AWS-RunShellScript) on the new holder after each move, e.g. `systemctl restart lmgrd`; empty: no activation"},
	{"ACTIVATION_TIMEOUT", "60s", "bound on an activation (sending, running, reading the result); within the Lambda deadline"},
}

var topicARN = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$`)

// withDefaults reads a variable through getenv, trimmed, or its
// documented default from the first table that lists it.
func withDefaults(getenv func(string) string, tables ...[]Var) func(string) string {
	return func(name string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		for _, vars := range tables {
			for _, v := range vars {
				if v.Name == name {
					return v.Default
				}
			}
		}
		return ""
	}
}

// Load reads the configuration through getenv (os.Getenv in production).
// All problems are reported together.
func Load(getenv func(string) string) (Config, error) {
	get := withDefaults(getenv, Vars)
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
		TagPrefix:          get("ENI_FAILOVER_TAG_PREFIX"),
		Cooldown:           dur("COOLDOWN", time.Second, 24*time.Hour),
		GracefulDetachWait: dur("GRACEFUL_DETACH_WAIT", time.Second, 5*time.Minute),
		PollInterval:       dur("POLL_INTERVAL", 10*time.Millisecond, 10*time.Second),
		PollMax:            dur("POLL_MAX", 10*time.Millisecond, 30*time.Second),
		DeadlineMargin:     dur("DEADLINE_MARGIN", 100*time.Millisecond, time.Minute),
		NotifyTopicARN:     get("NOTIFY_TOPIC_ARN"),
		ActivationTimeout:  dur("ACTIVATION_TIMEOUT", 5*time.Second, 15*time.Minute),
		MetricsNamespace:   get("METRICS_NAMESPACE"),
	}
	if !model.ValidTagPrefix(c.TagPrefix) {
		bad("ENI_FAILOVER_TAG_PREFIX", c.TagPrefix, model.TagPrefixRule)
	}
	idx, err := strconv.Atoi(get("DEVICE_INDEX"))
	if err != nil || idx < 1 || idx > 31 {
		bad("DEVICE_INDEX", get("DEVICE_INDEX"), "an integer from 1 to 31 (0 is the primary interface, which cannot move)")
	}
	c.DeviceIndex = int32(idx)
	if c.AllowStartStopped, err = strconv.ParseBool(get("ALLOW_START_STOPPED")); err != nil {
		bad("ALLOW_START_STOPPED", get("ALLOW_START_STOPPED"), "true or false")
	}
	switch v := HealthAction(strings.ToLower(get("HEALTH_EVENT_ACTION"))); v {
	case HealthMove, HealthNotify:
		c.HealthAction = v
	default:
		bad("HEALTH_EVENT_ACTION", string(v), "move or notify")
	}
	if c.NotifyTopicARN != "" && !topicARN.MatchString(c.NotifyTopicARN) {
		bad("NOTIFY_TOPIC_ARN", c.NotifyTopicARN, "not an SNS topic ARN")
	}
	if c.MetricsNamespace == "" || len(c.MetricsNamespace) > 255 || strings.HasPrefix(c.MetricsNamespace, "AWS/") {
		bad("METRICS_NAMESPACE", c.MetricsNamespace, "1-255 characters, not starting with AWS/")
	}
	for _, line := range strings.Split(getenv("ACTIVATION_COMMANDS"), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			c.ActivationCommands = append(c.ActivationCommands, line)
		}
	}
	if c.PollMax < c.PollInterval {
		bad("POLL_MAX", get("POLL_MAX"), "must not be shorter than POLL_INTERVAL")
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("invalid configuration: %w", err)
	}
	return c, nil
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
	}
}
