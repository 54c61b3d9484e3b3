package account

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/eni-failover/eni-failover/internal/doctor"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/eni-failover/eni-failover/internal/config"
	"github.com/eni-failover/eni-failover/internal/findings"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/moveapi"
)

func watcher(group, name string, v moveapi.Verdict, detail, fix string) moveapi.Check {
	return moveapi.Check{Group: group, Area: moveapi.AreaWatchers, Check: name, Result: v, Detail: detail, Fix: fix}
}

// AlarmChecks finds the stack's alarms (names starting with prefix): the
// ones expected must exist, and none may have gone without data for longer
// than its evaluation takes (such an alarm cannot fire).
func AlarmChecks(ctx context.Context, api Alarms, prefix string, expected []string, now time.Time) []moveapi.Check {
	if prefix == "" {
		return []moveapi.Check{watcher("", "the stack's alarms", moveapi.Warn, "not checked: ALARM_PREFIX is unset", "deploy the stack (it sets it)")}
	}
	found := map[string]cwtypes.MetricAlarm{}
	in := &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String(prefix), AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm}}
	for {
		page, err := api.DescribeAlarms(ctx, in)
		if err != nil {
			return []moveapi.Check{watcher("", "the stack's alarms", moveapi.Fail, "could not read them: "+doctor.Message(err), "the move role needs cloudwatch:DescribeAlarms; deploy the stack again")}
		}
		for _, a := range page.MetricAlarms {
			found[aws.ToString(a.AlarmName)] = a
		}
		if aws.ToString(page.NextToken) == "" {
			break
		}
		in.NextToken = page.NextToken
	}
	var out []moveapi.Check
	for _, name := range expected {
		if _, ok := found[name]; !ok {
			out = append(out, watcher("", "alarm "+name, moveapi.Fail, "missing", "deploy the stack again"))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(found)) {
		a := found[name]
		since := aws.ToTime(a.StateUpdatedTimestamp)
		allowed := time.Duration(aws.ToInt32(a.Period)*max(aws.ToInt32(a.EvaluationPeriods), 1))*time.Second + 5*time.Minute
		switch {
		case a.StateValue == cwtypes.StateValueInsufficientData && now.Sub(since) > allowed:
			out = append(out, watcher("", "alarm "+name, moveapi.Warn,
				fmt.Sprintf("no data since %s (longer than its %s of evaluation): it cannot fire", since.UTC().Format(time.RFC3339), allowed-5*time.Minute),
				"check that its metric is still published (the instance exists; the probe runs)"))
		case a.StateValue == cwtypes.StateValueAlarm:
			out = append(out, watcher("", "alarm "+name, moveapi.Warn, "in ALARM since "+since.UTC().Format(time.RFC3339), "see the alarm's description and the notification"))
		case a.ActionsEnabled != nil && !*a.ActionsEnabled:
			out = append(out, watcher("", "alarm "+name, moveapi.Warn, "its actions are disabled: nobody is told", "aws cloudwatch enable-alarm-actions --alarm-names "+name))
		default:
			out = append(out, watcher("", "alarm "+name, moveapi.Pass, string(a.StateValue), ""))
		}
	}
	return out
}

// ExpectedAlarms are the alarm names the stack makes: its readiness alarm,
// the alarms on its functions and queue, and those of the pinned members
// and the probed groups.
func ExpectedAlarms(prefix string, pinned []string, probed []string) []string {
	if prefix == "" {
		return nil
	}
	names := []string{prefix + config.ReadinessAlarmInfix}
	for _, suffix := range config.StackAlarms {
		names = append(names, prefix+suffix)
	}
	for _, id := range pinned {
		names = append(names, prefix+config.StatusAlarmInfix+id)
	}
	for _, g := range probed {
		names = append(names, prefix+config.ProbeAlarmInfix+model.SafeName(g))
	}
	return names
}

// ProbeRounds checks that the probe's rounds for the group reached
// CloudWatch within twice its schedule.
func ProbeRounds(ctx context.Context, api Alarms, namespace, group string, every time.Duration, now time.Time) moveapi.Check {
	name := "probe rounds"
	window := 2 * every
	out, err := api.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String(namespace), MetricName: aws.String(findings.MetricReachable),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("Group"), Value: aws.String(model.SafeName(group))}},
		StartTime:  aws.Time(now.Add(-window)), EndTime: aws.Time(now), Period: aws.Int32(int32(every.Seconds())),
		Statistics: []cwtypes.Statistic{cwtypes.StatisticSampleCount, cwtypes.StatisticAverage},
	})
	if err != nil {
		return watcher(group, name, moveapi.Warn, "could not read them: "+doctor.Message(err), "the move role needs cloudwatch:GetMetricStatistics")
	}
	var rounds, passed float64
	for _, d := range out.Datapoints {
		rounds += aws.ToFloat64(d.SampleCount)
		passed += aws.ToFloat64(d.SampleCount) * aws.ToFloat64(d.Average)
	}
	if rounds == 0 {
		return watcher(group, name, moveapi.Fail, fmt.Sprintf("no round of the probe in the last %s: a dead license daemon would not be noticed quickly", window),
			"look at the probe function's errors and logs (its VPC subnets, its security group)")
	}
	return watcher(group, name, moveapi.Pass, fmt.Sprintf("%.0f round(s) in the last %s, %.0f%% answered", rounds, window, 100*passed/rounds), "")
}

// TopicChecks: someone must be told, and have confirmed it.
func TopicChecks(ctx context.Context, api Topics, topicARN string) []moveapi.Check {
	name := "notification subscriptions"
	if topicARN == "" {
		return []moveapi.Check{watcher("", name, moveapi.Warn, "no topic: moves and failures are not notified", "set NOTIFY_TOPIC_ARN (the stack does)")}
	}
	var confirmed, pending []string
	in := &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(topicARN)}
	for {
		page, err := api.ListSubscriptionsByTopic(ctx, in)
		if err != nil {
			return []moveapi.Check{watcher("", name, moveapi.Warn, "could not read them: "+doctor.Message(err), "the move role needs sns:ListSubscriptionsByTopic on the topic")}
		}
		for _, s := range page.Subscriptions {
			who := aws.ToString(s.Protocol) + ":" + aws.ToString(s.Endpoint)
			if aws.ToString(s.SubscriptionArn) == "PendingConfirmation" {
				pending = append(pending, who)
			} else {
				confirmed = append(confirmed, who)
			}
		}
		if aws.ToString(page.NextToken) == "" {
			break
		}
		in.NextToken = page.NextToken
	}
	var out []moveapi.Check
	if len(pending) > 0 {
		out = append(out, watcher("", name, moveapi.Warn, "pending confirmation: "+strings.Join(pending, ", "), "confirm it from the message SNS sent (runbook step 5)"))
	}
	if len(confirmed) == 0 {
		out = append(out, watcher("", name, moveapi.Warn, "no confirmed subscription: nobody is told of a failover", "subscribe the on-call address to the topic (runbook step 5)"))
	} else {
		out = append(out, watcher("", name, moveapi.Pass, fmt.Sprintf("%d confirmed", len(confirmed)), ""))
	}
	return out
}

// FunctionChecks compares each function's timeout and reserved
// concurrency with what the stack deployed.
func FunctionChecks(ctx context.Context, api Functions, deployed []config.DeployedFunction) []moveapi.Check {
	var out []moveapi.Check
	for _, f := range deployed {
		name := "function " + f.Name
		cfg, err := api.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(f.Name)})
		if err != nil {
			out = append(out, watcher("", name, moveapi.Fail, "could not read it: "+doctor.Message(err), "deploy the stack again"))
			continue
		}
		conc, err := api.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String(f.Name)})
		if err != nil {
			out = append(out, watcher("", name, moveapi.Warn, "could not read its concurrency: "+doctor.Message(err), "the move role needs lambda:GetFunctionConcurrency"))
			continue
		}
		timeout, reserved := int(aws.ToInt32(cfg.Timeout)), int(aws.ToInt32(conc.ReservedConcurrentExecutions))
		var drift []string
		if timeout != f.TimeoutSeconds {
			drift = append(drift, fmt.Sprintf("timeout %d s, deployed %d s", timeout, f.TimeoutSeconds))
		}
		if reserved != f.ReservedConcurrency {
			drift = append(drift, fmt.Sprintf("reserved concurrency %d, deployed %d", reserved, f.ReservedConcurrency))
		}
		if len(drift) > 0 {
			out = append(out, watcher("", name, moveapi.Fail, strings.Join(drift, "; "), "deploy the stack again (someone changed it outside CloudFormation)"))
			continue
		}
		out = append(out, watcher("", name, moveapi.Pass, fmt.Sprintf("timeout %d s, reserved concurrency %d, as deployed", timeout, reserved), ""))
	}
	return out
}
