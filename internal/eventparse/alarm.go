package eventparse

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/eni-failover/eni-failover/internal/config"
	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/findings"
	"github.com/eni-failover/eni-failover/internal/metrics"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/report"
)

// alarm reads a CloudWatch alarm state change: a probe alarm names a
// group, a status-check alarm its instances; anything else is no trigger.
func alarm(env envelope, at time.Time, namespace string, stack *StackAlarms) ([]engine.Trigger, string, error) {
	var d struct {
		AlarmName string `json:"alarmName"`
		State     struct {
			Value      string `json:"value"`
			Timestamp  string `json:"timestamp"`
			ReasonData string `json:"reasonData"`
		} `json:"state"`
		Configuration struct {
			Metrics   []alarmMetric `json:"metrics"`
			AlarmRule string        `json:"alarmRule"`
		} `json:"configuration"`
	}
	if err := detailObject(env, &d); err != nil {
		return nil, "", err
	}
	if d.State.Value == "" {
		return nil, "", fmt.Errorf("no alarm state")
	}
	if d.State.Value != AlarmStateAlarm {
		return nil, fmt.Sprintf("alarm %q went to %s", d.AlarmName, d.State.Value), nil
	}
	if t := ParseTime(d.State.Timestamp); !t.IsZero() {
		at = t
	}
	// Only a metric alarm on one instance's metric says that instance
	// failed. A composite alarm names other alarms (its rule), and a
	// metric-math alarm computes over its inputs: the instances behind
	// them say nothing about which one failed, and our own alarms reach
	// the function by themselves.
	if d.Configuration.AlarmRule != "" {
		return nil, fmt.Sprintf("alarm %q is a composite alarm (%s): no instance to act on", d.AlarmName, model.Clip(d.Configuration.AlarmRule, 80)), nil
	}
	for _, m := range d.Configuration.Metrics {
		if m.Expression != "" {
			return nil, fmt.Sprintf("alarm %q is a metric-math alarm (%s): no instance to act on", d.AlarmName, model.Clip(m.Expression, 80)), nil
		}
	}
	for _, m := range d.Configuration.Metrics {
		if m.MetricStat.Metric.Name == findings.MetricReachable && m.MetricStat.Metric.Namespace != namespace {
			return nil, fmt.Sprintf("alarm %q watches %s in namespace %q, not the probe's %q: not acted on",
				d.AlarmName, findings.MetricReachable, m.MetricStat.Metric.Namespace, namespace), nil
		}
	}
	if !stack.owns(d.AlarmName, d.Configuration.Metrics) {
		return nil, fmt.Sprintf("alarm %q is not one of the stack's alarms (their names are exact): not acted on", d.AlarmName), nil
	}
	if group := probeGroup(d.Configuration.Metrics); group != "" {
		// The license-port probe's alarm: about a group's current holder
		// as of the start of the failing datapoints.
		since := at.Add(-3 * time.Minute)
		var rd struct {
			StartDate string `json:"startDate"`
		}
		if json.Unmarshal([]byte(d.State.ReasonData), &rd) == nil {
			if t := ParseTime(rd.StartDate); !t.IsZero() {
				since = t
			}
		}
		return []engine.Trigger{{Kind: report.Impaired, Group: group, Since: since, At: at,
			Reason: fmt.Sprintf("license ports of group %s do not answer (alarm %s)", group, d.AlarmName)}}, "", nil
	}
	return instanceAlarm(d.AlarmName, d.Configuration.Metrics, at)
}

// StackAlarms names the stack's own alarms, the only ones acted on: the
// rule that brings alarms to the function matches their names' prefixes
// (exact ARNs would exceed EventBridge's 2,048-character pattern quota),
// and anyone allowed cloudwatch:PutMetricAlarm can create an alarm under
// a prefix.
type StackAlarms struct {
	// Prefix is the stack's name, which its alarm names begin with.
	Prefix string
	// Instances are the pinned instances, a status-check alarm each.
	Instances []string
	// Groups are the probed groups, a probe alarm each.
	Groups []string
}

// owns reports whether an alarm on these metrics, so named, is one of the
// stack's (nil: every alarm is, for deployments not made by the stack).
func (s *StackAlarms) owns(name string, ms []alarmMetric) bool {
	if s == nil {
		return true
	}
	if group := probeGroup(ms); group != "" {
		for _, g := range s.Groups {
			if model.SafeName(g) == group && name == s.Prefix+config.ProbeAlarmInfix+group {
				return true
			}
		}
		return false
	}
	for _, m := range ms {
		id := m.MetricStat.Metric.Dimensions["InstanceId"]
		if id == "" || !slices.Contains(s.Instances, id) || name != s.Prefix+config.StatusAlarmInfix+id {
			return false
		}
	}
	return len(ms) > 0
}

// readinessAlarm reports whether the event is the readiness alarm going to
// ALARM: a metric alarm on GroupsWithoutReadyStandby in the namespace,
// named as the stack names it.
func readinessAlarm(env envelope, namespace string, stack *StackAlarms) bool {
	var d struct {
		AlarmName string `json:"alarmName"`
		State     struct {
			Value string `json:"value"`
		} `json:"state"`
		Configuration struct {
			Metrics []alarmMetric `json:"metrics"`
		} `json:"configuration"`
	}
	if detailObject(env, &d) != nil || d.State.Value != AlarmStateAlarm || stack != nil && d.AlarmName != stack.Prefix+config.ReadinessAlarmInfix {
		return false
	}
	for _, m := range d.Configuration.Metrics {
		if m.MetricStat.Metric.Name == metrics.GroupsWithoutReadyStandby && m.MetricStat.Metric.Namespace == namespace {
			return true
		}
	}
	return false
}

// instanceAlarm is an alarm on instances' metrics (the status checks): a
// trigger about each instance, which counts only when EC2's own checks
// confirm it.
func instanceAlarm(name string, metrics []alarmMetric, at time.Time) ([]engine.Trigger, string, error) {
	ids := map[string]bool{}
	var list []string
	for _, m := range metrics {
		id, ok := m.MetricStat.Metric.Dimensions["InstanceId"]
		if !ok {
			continue
		}
		if err := checkInstance(id); err != nil {
			return nil, "", err
		}
		if !ids[id] {
			ids[id] = true
			list = append(list, id)
		}
	}
	if len(list) == 0 {
		return nil, "", fmt.Errorf("alarm %q has no InstanceId dimension", name)
	}
	var ts []engine.Trigger
	for _, id := range list {
		ts = append(ts, engine.Trigger{Kind: report.Impaired, InstanceID: id, Reason: fmt.Sprintf("alarm %s on %s", name, id), At: at,
			NeedsEC2Impaired: true})
	}
	return ts, "", nil
}

type alarmMetric struct {
	Expression string `json:"expression"`
	MetricStat struct {
		Metric struct {
			Namespace  string            `json:"namespace"`
			Name       string            `json:"name"`
			Dimensions map[string]string `json:"dimensions"`
		} `json:"metric"`
	} `json:"metricStat"`
}

// probeGroup returns the group of a license-port probe alarm, or "".
func probeGroup(ms []alarmMetric) string {
	for _, m := range ms {
		if m.MetricStat.Metric.Name == findings.MetricReachable {
			return m.MetricStat.Metric.Dimensions["Group"]
		}
	}
	return ""
}
