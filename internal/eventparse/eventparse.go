// Package eventparse turns EventBridge events into engine triggers. Events
// are routed by source and detail-type to small parsers that read only what
// a decision needs and tolerate the rest (no version, odd timestamps,
// placeholder accounts). An event that cannot be fully understood yields no
// trigger: nothing is ever done on a half-parsed event.
package eventparse

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/eni-failover/eni-failover/internal/emf"
	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/findings"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/report"
)

// Source and detail-type pairs that the parsers handle.
const (
	SourceEC2        = "aws.ec2"
	SourceCloudWatch = "aws.cloudwatch"
	SourceHealth     = "aws.health"
	SourceEvents     = "aws.events"
	// SourceLambda puts a Lambda destination's invocation records on an
	// event bus: the probe's findings arrive that way.
	SourceLambda = "lambda"

	DetailStateChange = "EC2 Instance State-change Notification"
	DetailSpot        = "EC2 Spot Instance Interruption Warning"
	DetailRebalance   = "EC2 Instance Rebalance Recommendation"
	DetailAlarm       = "CloudWatch Alarm State Change"
	DetailHealth      = "AWS Health Event"
	DetailScheduled   = "Scheduled Event"
	// DetailInvocationSuccess is an asynchronous invocation's record on
	// success, sent by its destination.
	DetailInvocationSuccess = "Lambda Function Invocation Result - Success"
)

// Values inside event details that the parsers and the CDK app's event
// patterns both match.
const (
	// AlarmStateAlarm is the alarm state that triggers a failover.
	AlarmStateAlarm = "ALARM"
	// HealthServiceEC2 is the AWS Health service whose events are handled.
	HealthServiceEC2 = "EC2"
	// HealthClosed is the statusCode of a Health event that is over.
	HealthClosed = "closed"
)

// Instance states of a state-change notification: DownStates fail the
// holder over, UpStates may receive an orphaned ENI.
var (
	DownStates = []string{model.StateStopping, model.StateStopped, model.StateShuttingDown, model.StateTerminated}
	UpStates   = []string{model.StatePending, model.StateRunning}
)

// Parsed is what an event asks for.
type Parsed struct {
	Source     string `json:"source"`
	DetailType string `json:"detail_type"`
	// Triggers for the engine; empty when there is nothing to do.
	Triggers []engine.Trigger `json:"-"`
	// Ignored says why there is nothing to do.
	Ignored string `json:"ignored,omitempty"`
	// Malformed: the event is of a handled kind but could not be read.
	Malformed bool `json:"malformed,omitempty"`
	// NotifyOnly: report what would happen, change nothing (AWS Health
	// events with HEALTH_EVENT_ACTION=notify).
	NotifyOnly bool `json:"notify_only,omitempty"`
	// Readiness: the stack's readiness alarm fired (a group has had no
	// ready standby for two periods): say why, move nothing.
	Readiness bool `json:"readiness,omitempty"`
}

// Options shape parsing.
type Options struct {
	// HealthNotifyOnly turns AWS Health events into notifications only.
	HealthNotifyOnly bool
	// MetricsNamespace is where the probe writes LicensePortReachable
	// ("": emf.DefaultNamespace). An alarm on that metric name in any other
	// namespace is not the probe's: anyone may publish to a namespace of
	// their own (PutMetricData, or EMF lines in any log group).
	MetricsNamespace string
	// StackAlarms, when set, are the only alarms acted on, by exact name.
	StackAlarms *StackAlarms
}

type envelope struct {
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Time       string          `json:"time"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// Parse reads one EventBridge event.
func Parse(raw []byte, opts Options) Parsed {
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return Parsed{Malformed: true, Ignored: "not an EventBridge event: " + shortErr(err)}
	}
	p := Parsed{Source: env.Source, DetailType: env.DetailType}
	at := ParseTime(env.Time)
	var parse func(envelope, time.Time) ([]engine.Trigger, string, error)
	switch {
	case env.Source == SourceEC2 && env.DetailType == DetailStateChange:
		parse = stateChange
	case env.Source == SourceEC2 && (env.DetailType == DetailSpot || env.DetailType == DetailRebalance):
		parse = evacuation
	case env.Source == SourceCloudWatch && env.DetailType == DetailAlarm && readinessAlarm(env, cmp.Or(opts.MetricsNamespace, emf.DefaultNamespace), opts.StackAlarms):
		p.Readiness, p.Ignored = true, "the readiness alarm: no move, the reasons are notified"
		return p
	case env.Source == SourceCloudWatch && env.DetailType == DetailAlarm:
		parse = func(env envelope, at time.Time) ([]engine.Trigger, string, error) {
			return alarm(env, at, cmp.Or(opts.MetricsNamespace, emf.DefaultNamespace), opts.StackAlarms)
		}
	case env.Source == SourceHealth && env.DetailType == DetailHealth:
		parse = health
		p.NotifyOnly = opts.HealthNotifyOnly
	case env.Source == SourceLambda && env.DetailType == DetailInvocationSuccess:
		parse = probeFindings
	case env.Source == SourceEvents && env.DetailType == DetailScheduled:
		p.Triggers = []engine.Trigger{{Kind: report.Reconcile, Reason: "scheduled reconcile", At: at}}
		return p
	default:
		p.Ignored = fmt.Sprintf("event %q from %q is not handled", env.DetailType, env.Source)
		return p
	}
	ts, ignored, err := parse(env, at)
	if err != nil {
		p.Malformed, p.Ignored, p.NotifyOnly = true, fmt.Sprintf("malformed %q event: %v", env.DetailType, err), false
		return p
	}
	p.Triggers, p.Ignored = ts, ignored
	if len(ts) == 0 {
		p.NotifyOnly = false
	}
	return p
}

func detailObject(env envelope, into any) error {
	if len(env.Detail) == 0 || env.Detail[0] != '{' {
		return fmt.Errorf("detail is not an object")
	}
	if err := json.Unmarshal(env.Detail, into); err != nil {
		return fmt.Errorf("reading detail: %s", shortErr(err))
	}
	return nil
}

func checkInstance(id string) error {
	if !model.IsInstanceID(id) {
		if id == "" {
			return fmt.Errorf("no instance id")
		}
		return fmt.Errorf("%q is not an instance id", model.Clip(id, 40))
	}
	return nil
}

func stateChange(env envelope, at time.Time) ([]engine.Trigger, string, error) {
	var d struct {
		InstanceID string `json:"instance-id"`
		State      string `json:"state"`
	}
	if err := detailObject(env, &d); err != nil {
		return nil, "", err
	}
	if err := checkInstance(d.InstanceID); err != nil {
		return nil, "", err
	}
	var kind report.Kind
	switch {
	case slices.Contains(DownStates, d.State):
		kind = report.InstanceDown
	case slices.Contains(UpStates, d.State):
		kind = report.InstanceUp
	case d.State == "":
		return nil, "", fmt.Errorf("no state")
	default:
		return nil, fmt.Sprintf("state %q of %s needs nothing", d.State, d.InstanceID), nil
	}
	return []engine.Trigger{{Kind: kind, InstanceID: d.InstanceID, Reason: fmt.Sprintf("%s is %s", d.InstanceID, d.State), At: at}}, "", nil
}

func evacuation(env envelope, at time.Time) ([]engine.Trigger, string, error) {
	var d struct {
		InstanceID string `json:"instance-id"`
		Action     string `json:"instance-action"`
	}
	if err := detailObject(env, &d); err != nil {
		return nil, "", err
	}
	if err := checkInstance(d.InstanceID); err != nil {
		return nil, "", err
	}
	reason := "rebalance recommendation for " + d.InstanceID
	if env.DetailType == DetailSpot {
		reason = fmt.Sprintf("spot interruption (%s) of %s", cmp.Or(d.Action, "terminate"), d.InstanceID)
	}
	return []engine.Trigger{{Kind: report.Evacuate, InstanceID: d.InstanceID, Reason: reason, At: at}}, "", nil
}

// probeFindings reads the probe's result out of its destination's record:
// each confirmed failure becomes a failover trigger about the group (moving
// only a holder that held the ENI when the failures began), each license
// answering again a confirmation.
func probeFindings(env envelope, _ time.Time) ([]engine.Trigger, string, error) {
	var d struct {
		ResponsePayload json.RawMessage `json:"responsePayload"`
	}
	if err := detailObject(env, &d); err != nil {
		return nil, "", err
	}
	var f findings.Findings
	if len(d.ResponsePayload) == 0 || d.ResponsePayload[0] != '{' || json.Unmarshal(d.ResponsePayload, &f) != nil || f.Kind != findings.FindingsKind {
		return nil, "an invocation result that is not the probe's findings", nil
	}
	var ts []engine.Trigger
	for i, t := range f.Failures {
		if t.Group == "" || t.FailingSince.IsZero() || t.ConfirmedAt.Before(t.FailingSince) {
			return nil, "", fmt.Errorf("probe trigger %d: needs a group and failing_since no later than confirmed_at", i)
		}
		ts = append(ts, engine.Trigger{Kind: report.Impaired, Group: t.Group, Since: t.FailingSince, At: t.ConfirmedAt,
			RequestID: t.RequestID, Reason: fmt.Sprintf("probe: %s", t.Reason)})
	}
	for i, r := range f.Restored {
		if r.Group == "" || r.DownSince.IsZero() || r.AnsweredAt.Before(r.DownSince) {
			return nil, "", fmt.Errorf("probe restoration %d: needs a group and down_since no later than answered_at", i)
		}
		ts = append(ts, engine.Trigger{Kind: report.LicenseRestored, Group: r.Group, Since: r.DownSince, At: r.AnsweredAt, Brief: !r.Confirmed,
			Reason: "probe: the license answers again"})
	}
	if len(ts) == 0 {
		return nil, "the probe's watch ended with nothing to report", nil
	}
	return ts, "", nil
}

func health(env envelope, at time.Time) ([]engine.Trigger, string, error) {
	var d struct {
		Service          string `json:"service"`
		EventTypeCode    string `json:"eventTypeCode"`
		StatusCode       string `json:"statusCode"`
		StartTime        string `json:"startTime"`
		EndTime          string `json:"endTime"`
		AffectedEntities []struct {
			EntityValue string `json:"entityValue"`
		} `json:"affectedEntities"`
	}
	if err := detailObject(env, &d); err != nil {
		return nil, "", err
	}
	if d.Service != HealthServiceEC2 {
		return nil, fmt.Sprintf("health event for service %q", d.Service), nil
	}
	if d.StatusCode == HealthClosed {
		return nil, fmt.Sprintf("AWS Health %s is closed: the change is over", d.EventTypeCode), nil
	}
	seen := map[string]bool{}
	var ids []string
	add := func(v string) {
		if id := instanceOf(v); id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	// AWS names the instance as an ARN in affectedEntities today, and
	// may leave resources empty; older events carry bare ids.
	for _, e := range d.AffectedEntities {
		add(e.EntityValue)
	}
	for _, r := range env.Resources {
		add(r)
	}
	if len(ids) == 0 {
		return nil, "", fmt.Errorf("EC2 health event %s names no instance", d.EventTypeCode)
	}
	// No start time: the change is due now. No end: it is over an hour
	// after its start (a retired instance is stopped by then anyway).
	notice := model.HealthNotice{Instances: ids, Start: ParseTime(d.StartTime), End: ParseTime(d.EndTime)}
	if notice.Start.IsZero() {
		notice.Start = at
	}
	if notice.End.Before(notice.Start) {
		notice.End = notice.Start.Add(time.Hour)
	}
	var ts []engine.Trigger
	for _, id := range ids {
		ts = append(ts, engine.Trigger{Kind: report.Evacuate, InstanceID: id, At: notice.Start, Scheduled: &notice,
			Reason: fmt.Sprintf("AWS Health %s for %s, starting %s", d.EventTypeCode, id, notice.Start.Format(time.RFC3339))})
	}
	return ts, "", nil
}

// instanceOf reads an instance id, bare or as an ARN
// (arn:PARTITION:ec2:REGION:ACCOUNT:instance/i-...); "" for anything else.
func instanceOf(v string) string {
	if model.IsInstanceID(v) {
		return v
	}
	if strings.HasPrefix(v, "arn:") {
		if rest, id, ok := strings.Cut(v, ":instance/"); ok && strings.Count(rest, ":") == 4 && strings.Contains(rest, ":ec2:") && model.IsInstanceID(id) {
			return id
		}
	}
	return ""
}

// timeLayouts are the formats seen in EventBridge events: RFC 3339,
// CloudWatch alarm timestamps (+0000), AWS Health's RFC 1123.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999-0700",
	"2006-01-02T15:04:05-0700",
	time.RFC1123,
	time.RFC1123Z,
	"Mon, 2 Jan 2006 15:04:05 MST",
}

// ParseTime reads a timestamp in any of the formats events use; the zero
// time when none fits (the time never drives a decision).
func ParseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

func shortErr(err error) string { return model.Clip(err.Error(), 120) }
