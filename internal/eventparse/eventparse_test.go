package eventparse

import (
	"strings"
	"testing"
	"time"

	"github.com/eni-failover/eni-failover/events"
	"github.com/eni-failover/eni-failover/internal/report"
)

const holder = events.HolderPlaceholder

func TestSamples(t *testing.T) {
	cases := []struct {
		file    string
		kind    report.Kind // "" = no trigger
		ignored string
	}{
		{"ec2-state-stopping.json", report.InstanceDown, ""},
		{"ec2-state-stopped.json", report.InstanceDown, ""},
		{"ec2-state-shutting-down.json", report.InstanceDown, ""},
		{"ec2-state-terminated.json", report.InstanceDown, ""},
		{"ec2-state-pending.json", report.InstanceUp, ""},
		{"ec2-state-running.json", report.InstanceUp, ""},
		{"ec2-state-stopped-no-version.json", report.InstanceDown, ""},
		{"spot-interruption.json", report.Evacuate, ""},
		{"rebalance-recommendation.json", report.Evacuate, ""},
		{"alarm-status-check.json", report.Impaired, ""},
		{"alarm-ok.json", "", "went to OK"},
		// As the CloudWatch User Guide shows them ("Alarm events and
		// EventBridge"): the math's inputs name the holder, the composite's
		// rule names its alarms; neither says the holder failed.
		{"alarm-metric-math.json", "", "metric-math alarm"},
		{"alarm-composite.json", "", "composite alarm"},
		{"alarm-license-probe.json", report.Impaired, ""},
		{"health-ec2-scheduled.json", report.Evacuate, ""},
		{"health-ec2-arn-now.json", report.Evacuate, ""},
		{"health-ec2-closed.json", "", "closed"},
		{"scheduled-reconcile.json", report.Reconcile, ""},
		// The probe's findings, as its Lambda destination puts them on
		// EventBridge: the invocation record as the detail, source
		// "lambda" (the CDK's aws-lambda-destinations README,
		// "Destination-specific JSON format").
		{"probe-trigger.json", report.Impaired, ""},
		{"probe-restored.json", report.LicenseRestored, ""},
		{"other-s3-event.json", "", "not handled"},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			p := Parse(events.MustSample(tc.file), Options{})
			if p.Malformed {
				t.Fatalf("malformed: %s", p.Ignored)
			}
			if tc.kind == "" {
				if len(p.Triggers) != 0 || !strings.Contains(p.Ignored, tc.ignored) {
					t.Fatalf("parsed %+v", p)
				}
				return
			}
			if len(p.Triggers) != 1 || p.Triggers[0].Kind != tc.kind {
				t.Fatalf("triggers %+v", p.Triggers)
			}
			tr := p.Triggers[0]
			if tc.kind != report.Reconcile && tr.InstanceID != holder && tr.Group != events.GroupPlaceholder {
				t.Fatalf("instance %q", tr.InstanceID)
			}
			if tr.At.IsZero() || tr.Reason == "" {
				t.Fatalf("trigger without time or reason: %+v", tr)
			}
		})
	}
}

func TestMalformedSamplesNeverTrigger(t *testing.T) {
	names := events.Names("malformed")
	if len(names) < 8 {
		t.Fatalf("only %d malformed samples", len(names))
	}
	for _, name := range names {
		if strings.HasPrefix(name, "malformed/move-") {
			continue // manual payloads, tested by the handler
		}
		p := Parse(events.MustSample(name), Options{})
		if len(p.Triggers) != 0 {
			t.Errorf("%s: triggers %+v", name, p.Triggers)
		}
		if !p.Malformed && !strings.Contains(p.Ignored, "not handled") {
			t.Errorf("%s: not flagged malformed: %+v", name, p)
		}
	}
}

func TestProbeAlarm(t *testing.T) {
	p := Parse(events.MustSample("alarm-license-probe.json"), Options{})
	if len(p.Triggers) != 1 {
		t.Fatalf("parsed %+v", p)
	}
	tr := p.Triggers[0]
	if tr.Kind != report.Impaired || tr.Group != "mosek" || tr.InstanceID != "" || !tr.Since.Equal(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)) {
		t.Fatalf("trigger %+v", tr)
	}
}

// LicensePortReachable is accepted from the probe's namespace alone:
// anyone may publish zeros under that name to a namespace of their own
// (PutMetricData, or EMF lines in any log group) and alarm on them. An
// instance alarm counts only when EC2's own checks confirm it.
func TestAlarmsAnyoneCanRaise(t *testing.T) {
	forged := strings.Replace(string(events.MustSample("alarm-license-probe.json")), `"namespace": "ENIFailover"`, `"namespace": "Attacker"`, 1)
	if !strings.Contains(forged, `"Attacker"`) {
		t.Fatal("the sample's namespace moved: fix the test")
	}
	if p := Parse([]byte(forged), Options{}); len(p.Triggers) != 0 || !strings.Contains(p.Ignored, `namespace "Attacker"`) {
		t.Errorf("probe alarm in another namespace: %+v", p)
	}
	if p := Parse(events.MustSample("alarm-license-probe.json"), Options{MetricsNamespace: "Custom"}); len(p.Triggers) != 0 {
		t.Errorf("probe alarm in the default namespace while the probe writes to Custom: %+v", p)
	}
	p := Parse(events.MustSample("alarm-status-check.json"), Options{})
	if len(p.Triggers) != 1 || !p.Triggers[0].NeedsEC2Impaired {
		t.Errorf("status-check alarm: %+v", p)
	}
}

func TestHealthNotifyOnly(t *testing.T) {
	p := Parse(events.MustSample("health-ec2-scheduled.json"), Options{HealthNotifyOnly: true})
	if !p.NotifyOnly || len(p.Triggers) != 1 {
		t.Fatalf("parsed %+v", p)
	}
	want := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	if !p.Triggers[0].At.Equal(want) {
		t.Fatalf("health start time %s, want %s", p.Triggers[0].At, want)
	}
}

func TestTimestamps(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2019-10-02T17:04:40.989+0000":  time.Date(2019, 10, 2, 17, 4, 40, 989e6, time.UTC),
		"2026-11-26T12:00:00Z":          time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC),
		"Wed, 02 Dec 2026 12:00:00 GMT": time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC),
		"2026-11-26T13:00:00+01:00":     time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC),
		"yesterday":                     {},
		"":                              {},
	} {
		if got := ParseTime(in); !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestAlarmWithSeveralInstances(t *testing.T) {
	raw := `{"source":"aws.cloudwatch","detail-type":"CloudWatch Alarm State Change","detail":{"alarmName":"x","state":{"value":"ALARM"},
	"configuration":{"metrics":[{"metricStat":{"metric":{"dimensions":{"InstanceId":"i-0123456789abcdef0"}}}},
	{"metricStat":{"metric":{"dimensions":{"InstanceId":"i-0aaaaaaaaaaaaaaaa"}}}},{"metricStat":{"metric":{"dimensions":{"InstanceId":"i-0123456789abcdef0"}}}}]}}}`
	p := Parse([]byte(raw), Options{})
	if len(p.Triggers) != 2 {
		t.Fatalf("triggers %+v", p.Triggers)
	}
}

func TestHalfParsedEventsDoNothing(t *testing.T) {
	for name, raw := range map[string]string{
		"state with unknown value":   `{"source":"aws.ec2","detail-type":"EC2 Instance State-change Notification","detail":{"instance-id":"i-0123456789abcdef0","state":"rebooting"}}`,
		"alarm with a bad instance":  `{"source":"aws.cloudwatch","detail-type":"CloudWatch Alarm State Change","detail":{"state":{"value":"ALARM"},"configuration":{"metrics":[{"metricStat":{"metric":{"dimensions":{"InstanceId":"i-0123456789abcdef0"}}}},{"metricStat":{"metric":{"dimensions":{"InstanceId":"bogus"}}}}]}}}`,
		"health of another service":  `{"source":"aws.health","detail-type":"AWS Health Event","detail":{"service":"RDS","affectedEntities":[{"entityValue":"i-0123456789abcdef0"}]}}`,
		"spot without instance":      `{"source":"aws.ec2","detail-type":"EC2 Spot Instance Interruption Warning","detail":{}}`,
		"alarm without state":        `{"source":"aws.cloudwatch","detail-type":"CloudWatch Alarm State Change","detail":{"alarmName":"x"}}`,
		"state change without state": `{"source":"aws.ec2","detail-type":"EC2 Instance State-change Notification","detail":{"instance-id":"i-0123456789abcdef0"}}`,
		"detail of the wrong type":   `{"source":"aws.ec2","detail-type":"EC2 Instance State-change Notification","detail":{"instance-id":42,"state":"stopped"}}`,
	} {
		if p := Parse([]byte(raw), Options{}); len(p.Triggers) != 0 || p.Ignored == "" {
			t.Errorf("%s: %+v", name, p)
		}
	}
}

// TestHealthEntities: AWS names instances as ARNs in affectedEntities
// ("Reference: AWS Health events Amazon EventBridge schema"); every named
// instance gets a trigger that carries the whole change, with its start
// and end; entities that are not instances are not read as instances.
func TestHealthEntities(t *testing.T) {
	p := Parse(events.MustSample("health-ec2-several-entities.json"), Options{})
	if len(p.Triggers) != 2 || p.Triggers[0].InstanceID != holder || p.Triggers[1].InstanceID != "i-0bbbbbbbbbbbbbbb2" {
		t.Fatalf("triggers %+v (%s)", p.Triggers, p.Ignored)
	}
	n := p.Triggers[1].Scheduled
	if n == nil || len(n.Instances) != 2 || !n.Start.Equal(time.Date(2026, 11, 26, 9, 20, 0, 0, time.UTC)) || !n.End.Equal(n.Start.Add(2*time.Hour)) {
		t.Fatalf("scheduled change %+v", n)
	}
	for v, want := range map[string]string{
		"arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0":            holder,
		"arn:aws-us-gov:ec2:us-gov-west-1:123456789012:instance/i-0123456789abcdef0": holder,
		"i-0123456789abcdef0": holder,
		"arn:aws:ec2:us-east-1:123456789012:volume/vol-0123456789abcdef0":   "",
		"arn:aws:rds:us-east-1:123456789012:instance/i-0123456789abcdef0":   "",
		"arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0/x": "",
		"AWS_ACCOUNT": "",
	} {
		if got := instanceOf(v); got != want {
			t.Errorf("instanceOf(%q) = %q, want %q", v, got, want)
		}
	}
}

// Another function's invocation record is not the probe's; a probe finding
// without its times is malformed and moves nothing.
func TestProbeFindings(t *testing.T) {
	other := events.MustSample("probe-trigger.json", `"kind": "eni-failover-probe"`, `"kind": "something-else"`)
	if p := Parse(other, Options{}); len(p.Triggers) != 0 || p.Malformed || !strings.Contains(p.Ignored, "not the probe's findings") {
		t.Fatalf("other function: %+v", p)
	}
	noSince := events.MustSample("probe-trigger.json", `"failing_since": "2026-11-26T12:00:15Z",`, ``)
	if p := Parse(noSince, Options{}); len(p.Triggers) != 0 || !p.Malformed || !strings.Contains(p.Ignored, "failing_since") {
		t.Fatalf("no failing_since: %+v", p)
	}
	p := Parse(events.MustSample("probe-trigger.json"), Options{})
	tr := p.Triggers[0]
	if tr.Group != "mosek" || tr.InstanceID != "" || !tr.Since.Equal(time.Date(2026, 11, 26, 12, 0, 15, 0, time.UTC)) || tr.RequestID != "probe:1795694415:mosek" {
		t.Fatalf("trigger %+v", tr)
	}
	r := Parse(events.MustSample("probe-restored.json"), Options{}).Triggers[0]
	if r.Kind != report.LicenseRestored || r.At.Sub(r.Since) != 25*time.Second {
		t.Fatalf("restored %+v", r)
	}
}

// The readiness alarm moves nothing: it asks for the reasons to be told.
// The same metric name in another namespace is anybody's, and is not it.
func TestReadinessAlarm(t *testing.T) {
	p := Parse(events.MustSample("alarm-readiness.json"), Options{})
	if !p.Readiness || len(p.Triggers) != 0 || p.Malformed {
		t.Fatalf("parsed %+v", p)
	}
	for name, raw := range map[string]string{
		"other namespace": strings.Replace(string(events.MustSample("alarm-readiness.json")), `"namespace": "ENIFailover"`, `"namespace": "Attacker"`, 1),
		"back to OK":      strings.Replace(string(events.MustSample("alarm-readiness.json")), `"value": "ALARM"`, `"value": "OK"`, 1),
	} {
		if p := Parse([]byte(raw), Options{}); p.Readiness || len(p.Triggers) != 0 {
			t.Errorf("%s: parsed %+v", name, p)
		}
	}
}

// With the stack's alarms named, an alarm someone else created under the
// stack's prefix moves nothing: the names are exact.
func TestOnlyTheStacksAlarms(t *testing.T) {
	stack := &StackAlarms{Prefix: "EniFailover", Instances: []string{"i-0123456789abcdef0"}, Groups: []string{"mosek"}}
	probe := string(events.MustSample("alarm-license-probe.json"))
	status := strings.ReplaceAll(string(events.MustSample("alarm-status-check.json")), "eni-failover-status-", "EniFailover-status-")
	readiness := string(events.MustSample("alarm-readiness.json"))
	for name, c := range map[string]struct {
		raw   string
		stack *StackAlarms
		acted bool
	}{
		"the probe alarm":                   {probe, stack, true},
		"the status-check alarm":            {status, stack, true},
		"the readiness alarm":               {readiness, stack, true},
		"no allow-list":                     {strings.ReplaceAll(probe, "EniFailover-probe-group-mosek", "EniFailover-probe-group-mosek-copy"), nil, true},
		"a probe alarm under the prefix":    {strings.ReplaceAll(probe, "EniFailover-probe-group-mosek", "EniFailover-probe-group-mosek-copy"), stack, false},
		"a probe alarm on another group":    {strings.ReplaceAll(probe, `"Group": "mosek"`, `"Group": "matlab"`), stack, false},
		"another stack's probe alarm":       {strings.ReplaceAll(probe, "EniFailover-", "Other-"), stack, false},
		"a status alarm of another member":  {strings.ReplaceAll(status, "i-0123456789abcdef0", "i-0bbbbbbbbbbbbbbb2"), stack, false},
		"a status alarm named otherwise":    {strings.ReplaceAll(status, "EniFailover-status-", "EniFailover-status-x"), stack, false},
		"a readiness alarm named otherwise": {strings.ReplaceAll(readiness, "EniFailover-no-ready-standby", "EniFailover-no-ready-standby2"), stack, false},
	} {
		p := Parse([]byte(c.raw), Options{StackAlarms: c.stack})
		if acted := len(p.Triggers) > 0 || p.Readiness; acted != c.acted || p.Malformed {
			t.Errorf("%s: parsed %+v, acted on %v, want %v", name, p, acted, c.acted)
		}
	}
}

// The readiness schedule's payload is recognized exactly; anything else
// is not it.
func TestIsReadinessRequest(t *testing.T) {
	for raw, want := range map[string]bool{
		string(events.MustSample("readiness-check.json")):     true,
		`{"action":"readiness"}`:                              true,
		`{"action":"readiness","group":"mosek"}`:              false,
		`{"action":"doctor"}`:                                 false,
		`{"action":"Readiness"}`:                              false,
		string(events.MustSample("scheduled-reconcile.json")): false,
		`not json`: false,
	} {
		if got := IsReadinessRequest([]byte(raw)); got != want {
			t.Errorf("IsReadinessRequest(%s) = %v, want %v", raw, got, want)
		}
	}
}
