package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawslogs"
	"github.com/aws/jsii-runtime-go"

	"github.com/eni-failover/eni-failover/internal/config"
	"github.com/eni-failover/eni-failover/internal/emf"
	"github.com/eni-failover/eni-failover/internal/metrics"
)

// statusAlarms makes one StatusCheckFailed alarm per configured instance;
// their state changes drive the failover function.
func (s *EniFailoverStack) statusAlarms(cfg Config) {
	for _, id := range cfg.InstanceIDs {
		a := awscloudwatch.NewAlarm(s.Stack, jsii.String("StatusCheck-"+id), &awscloudwatch.AlarmProps{
			AlarmName:        jsii.String(*awscdk.Aws_STACK_NAME() + statusAlarmInfix + id),
			AlarmDescription: jsii.String("Status checks of license token server " + id + ": in ALARM, the license ENI leaves it"),
			Metric: awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
				Namespace: jsii.String("AWS/EC2"), MetricName: jsii.String("StatusCheckFailed"),
				DimensionsMap: &map[string]*string{"InstanceId": jsii.String(id)},
				Statistic:     jsii.String("Maximum"), Period: awscdk.Duration_Minutes(jsii.Number(1)),
			}),
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(2),
			DatapointsToAlarm:  jsii.Number(2),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			// A stopped instance reports nothing; its state change already
			// drives the failover.
			TreatMissingData: awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(awscloudwatchactions.NewSnsAction(s.Topic))
	}
}

// statusAlarmInfix follows the stack name in a status-check alarm's name.
// The doctor looks for it by this name.
const statusAlarmInfix = config.StatusAlarmInfix

// observability: a dashboard and alarms to the topic on function errors,
// failed moves and events left in the queue. The failed-moves alarm is
// returned: it stops the FIS drills.
func (s *EniFailoverStack) observability(withoutReady awscloudwatch.IMetric) (failedMoves awscloudwatch.Alarm) {
	period := awscdk.Duration_Minutes(jsii.Number(5))
	metric := func(name, stat, label string) awscloudwatch.Metric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(emf.DefaultNamespace), MetricName: jsii.String(name), Statistic: jsii.String(stat),
			Period: period, Label: jsii.String(label),
		})
	}
	queueDepth := s.Failed.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Maximum")})
	awscloudwatch.NewDashboard(s.Stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String(*awscdk.Aws_STACK_NAME()),
		Widgets: &[]*[]awscloudwatch.IWidget{
			{
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String("ENI moves and failed moves"), Width: jsii.Number(12),
					Left: &[]awscloudwatch.IMetric{metric(metrics.Moves, "Sum", "moves"), metric(metrics.Failures, "Sum", "failed moves")}}),
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String("Move duration (ms)"), Width: jsii.Number(12),
					Left: &[]awscloudwatch.IMetric{metric(metrics.MoveDurationMS, "Average", "average"), metric(metrics.MoveDurationMS, "Maximum", "maximum"),
						metric(metrics.DetachDurationMS, "Average", "detach"), metric(metrics.AttachDurationMS, "Average", "attach")}}),
			},
			{
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String("Function errors"), Width: jsii.Number(12),
					Left: &[]awscloudwatch.IMetric{s.Failover.MetricErrors(&awscloudwatch.MetricOptions{Period: period}), s.Fleet.MetricErrors(&awscloudwatch.MetricOptions{Period: period}),
						s.Move.MetricErrors(&awscloudwatch.MetricOptions{Period: period})}}),
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String("Events in the on-failure queue"), Width: jsii.Number(12),
					Left: &[]awscloudwatch.IMetric{queueDepth}}),
			},
			{
				// Every group's line, whatever groups exist: they are found
				// by tag at run time, not known when the stack is made.
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String("Ready standbys per group (scheduled doctor)"), Width: jsii.Number(12),
					Left: &[]awscloudwatch.IMetric{awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
						Expression: jsii.String(fmt.Sprintf("SEARCH('{%s,Group} MetricName=\"%s\"', 'Minimum', %d)", emf.DefaultNamespace, metrics.ReadyStandbys, int(*period.ToSeconds(nil)))),
						Label:      jsii.String(""), Period: period,
					})}}),
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String("Groups without a ready standby"), Width: jsii.Number(12),
					Left: &[]awscloudwatch.IMetric{withoutReady}}),
			},
		},
	})
	// Named after the stack, so that the doctor finds each one.
	alarm := func(id, name, desc string, m awscloudwatch.IMetric) awscloudwatch.Alarm {
		a := awscloudwatch.NewAlarm(s.Stack, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmName:        jsii.String(*awscdk.Aws_STACK_NAME() + name),
			AlarmDescription: jsii.String(desc), Metric: m, Threshold: jsii.Number(1), EvaluationPeriods: jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(awscloudwatchactions.NewSnsAction(s.Topic))
		return a
	}
	alarm("FailoverErrors", config.FailoverErrorsAlarm, "The failover function returned errors (it retries; see its logs)", s.Failover.MetricErrors(&awscloudwatch.MetricOptions{Period: period}))
	alarm("FleetErrors", config.FleetErrorsAlarm, "The fleet function (state changes, the reconcile) returned errors (it retries; see its logs)", s.Fleet.MetricErrors(&awscloudwatch.MetricOptions{Period: period}))
	alarm("MoveErrors", config.MoveErrorsAlarm, "The manual move function returned errors", s.Move.MetricErrors(&awscloudwatch.MetricOptions{Period: period}))
	// On what was sent, not on what is visible: anyone allowed
	// sqs:ReceiveMessage keeps the visible count at zero.
	alarm("FailedEventsQueued", config.FailedEventsQueuedAlarm, "Events the failover function could not handle after its retries were sent to the queue",
		s.Failed.MetricNumberOfMessagesSent(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum")}))
	return alarm("FailedMoves", config.FailedMovesAlarm, "A license ENI move failed (see the notification and the failover logs)", metric(metrics.Failures, "Sum", "failed moves"))
}

// movesQuery saves, in the CloudWatch Logs Insights console, the query of
// every run that moved the ENI or failed: the full record behind the
// history action (which keeps about a dozen moves), for as long as the
// logs are kept.
func (s *EniFailoverStack) movesQuery() {
	awslogs.NewQueryDefinition(s.Stack, jsii.String("MovesQuery"), &awslogs.QueryDefinitionProps{
		QueryDefinitionName: jsii.String(*awscdk.Aws_STACK_NAME() + "/moves"),
		LogGroups:           &[]interfacesawslogs.ILogGroupRef{s.Failover.LogGroup(), s.Fleet.LogGroup(), s.Move.LogGroup()},
		QueryString: awslogs.NewQueryString(&awslogs.QueryStringProps{
			Fields: jsii.Strings("@timestamp", "group", "trigger", "outcome", "holder_before", "holder_after", "duration_ms", "reason", "error"),
			FilterStatements: jsii.Strings(`message = "run finished"`,
				`outcome not in ["nothing-to-do", "planned", "scheduled", "paused", "repeat"]`),
			Sort:  jsii.String("@timestamp desc"),
			Limit: jsii.Number(200),
		}),
	})
}
