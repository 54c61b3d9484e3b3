package main

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"

	"github.com/eni-failover/eni-failover/internal/config"
	"github.com/eni-failover/eni-failover/internal/emf"
	"github.com/eni-failover/eni-failover/internal/metrics"
)

// functionName is a function's name: the stack's name and its own, so
// that a policy or an environment can name it without a reference (the
// move function's own name in its role's policy would be a cycle).
func functionName(name string) string { return *awscdk.Aws_STACK_NAME() + "-" + name }

// doctor tells the move function what the stack deployed, so that its
// doctor action can compare the account with it, and lets its role read
// those things: the rules, the alarms and the probe's metric, the topic's
// subscriptions, the functions' settings, and ask the failover function
// for its role's DryRuns. Every grant is a read; the DryRuns need nothing
// beyond the calls a move makes.
func (s *EniFailoverStack) doctor(cfg Config, moveRole awsiam.Role, rules []awsevents.Rule) {
	var names, arns []*string
	for i, r := range rules {
		if i > 0 {
			names = append(names, jsii.String(","))
		}
		names = append(names, r.RuleName())
		arns = append(arns, r.RuleArn())
	}
	deployed := []config.DeployedFunction{
		{Name: "failover", TimeoutSeconds: cfg.functionTimeoutSeconds(), ReservedConcurrency: cfg.FailoverConcurrency},
		{Name: "fleet", TimeoutSeconds: cfg.functionTimeoutSeconds(), ReservedConcurrency: 1},
		{Name: "move", TimeoutSeconds: cfg.moveTimeoutSeconds()},
	}
	var fns []string
	var fnARNs []string
	for _, f := range deployed {
		fnARNs = append(fnARNs, fmt.Sprintf("arn:%s:lambda:%s:%s:function:%s", *s.Stack.Partition(), *s.Stack.Region(), *s.Stack.Account(), functionName(f.Name)))
		f.Name = functionName(f.Name)
		fns = append(fns, f.Format())
	}
	env := map[string]*string{
		config.EnvDoctorRules:      awscdk.Fn_Join(jsii.String(""), &names),
		config.EnvDoctorFunctions:  jsii.String(strings.Join(fns, ",")),
		config.EnvFailoverFunction: jsii.String(functionName("failover")),
	}
	if cfg.Probe != nil {
		env[config.EnvDoctorProbeMinutes] = jsii.String(fmt.Sprint(cfg.Probe.ScheduleMinutes))
	}
	for k, v := range env {
		s.Move.AddEnvironment(jsii.String(k), v, nil)
	}
	for _, st := range []*awsiam.PolicyStatementProps{
		{Sid: jsii.String("DoctorReadsRules"), Actions: jsii.Strings("events:DescribeRule"), Resources: &arns},
		// These reads take no resource: "*" is the only Resource they accept.
		{Sid: jsii.String("DoctorReadsAccount"), Actions: jsii.Strings("events:TestEventPattern", "cloudwatch:DescribeAlarms", "cloudwatch:GetMetricStatistics"), Resources: jsii.Strings("*")},
		{Sid: jsii.String("DoctorReadsSubscriptions"), Actions: jsii.Strings("sns:ListSubscriptionsByTopic"), Resources: &[]*string{s.Topic.TopicArn()}},
		{Sid: jsii.String("DoctorReadsFunctions"), Actions: jsii.Strings("lambda:GetFunctionConfiguration", "lambda:GetFunctionConcurrency"), Resources: jsii.Strings(fnARNs...)},
		{Sid: jsii.String("DoctorAsksFailoverRole"), Actions: jsii.Strings("lambda:InvokeFunction"), Resources: jsii.Strings(fnARNs[0])},
	} {
		moveRole.AddToPrincipalPolicy(awsiam.NewPolicyStatement(st))
	}
}

// readiness is the alarm on the count of groups without a ready standby,
// which the scheduled reconcile writes: two reconcile periods in a row
// with a group that has none. Its state change reaches the failover
// function (the AlarmState rule), which tells who and why.
func (s *EniFailoverStack) readiness(cfg Config) awscloudwatch.Metric {
	without := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace: jsii.String(emf.DefaultNamespace), MetricName: jsii.String(metrics.GroupsWithoutReadyStandby),
		Statistic: jsii.String("Maximum"), Period: awscdk.Duration_Minutes(jsii.Number(cfg.ReconcileMinutes)),
	})
	a := awscloudwatch.NewAlarm(s.Stack, jsii.String("NoReadyStandby"), &awscloudwatch.AlarmProps{
		AlarmName:          jsii.String(*awscdk.Aws_STACK_NAME() + config.ReadinessAlarmInfix),
		AlarmDescription:   jsii.String("A group has had no standby ready for a failover for two reconcile periods: the notification that follows names why; run eni-failover doctor"),
		Metric:             without,
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(2),
		DatapointsToAlarm:  jsii.Number(2),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		// A reconcile that did not run is the function-error alarm's news.
		TreatMissingData: awscloudwatch.TreatMissingData_MISSING,
	})
	a.AddAlarmAction(awscloudwatchactions.NewSnsAction(s.Topic))
	// Labelled for the dashboard only: a label makes the alarm's metric a
	// metric-math input, which the failover function does not read.
	return without.With(&awscloudwatch.MetricOptions{Label: jsii.String("groups without a ready standby")})
}
