package account_test

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/eni-failover/eni-failover/internal/testkit/eventpattern"
)

// agents is SSM's view of the instances' agents.
type agents map[string]ssmtypes.InstanceInformation

func (a agents) DescribeInstanceInformation(_ context.Context, in *ssm.DescribeInstanceInformationInput, _ ...func(*ssm.Options)) (*ssm.DescribeInstanceInformationOutput, error) {
	out := &ssm.DescribeInstanceInformationOutput{}
	for _, f := range in.Filters {
		for _, id := range f.Values {
			if info, ok := a[id]; ok {
				out.InstanceInformationList = append(out.InstanceInformationList, info)
			}
		}
	}
	return out, nil
}

func online(id string) ssmtypes.InstanceInformation {
	return ssmtypes.InstanceInformation{InstanceId: aws.String(id), PingStatus: ssmtypes.PingStatusOnline, PlatformType: ssmtypes.PlatformTypeLinux}
}

// rules are deployed rules; EventBridge's matching is the documented one.
type rules map[string]string

func (r rules) DescribeRule(_ context.Context, in *eventbridge.DescribeRuleInput, _ ...func(*eventbridge.Options)) (*eventbridge.DescribeRuleOutput, error) {
	p, ok := r[aws.ToString(in.Name)]
	if !ok {
		return nil, fmt.Errorf("ResourceNotFoundException: Rule %s does not exist", aws.ToString(in.Name))
	}
	return &eventbridge.DescribeRuleOutput{Name: in.Name, EventPattern: aws.String(p), State: ebtypes.RuleStateEnabled}, nil
}

func (rules) TestEventPattern(_ context.Context, in *eventbridge.TestEventPatternInput, _ ...func(*eventbridge.Options)) (*eventbridge.TestEventPatternOutput, error) {
	hit, err := eventpattern.Match([]byte(aws.ToString(in.EventPattern)), []byte(aws.ToString(in.Event)))
	return &eventbridge.TestEventPatternOutput{Result: hit}, err
}

// alarms are CloudWatch's alarms and the probe's datapoints.
type alarms struct {
	list   []cwtypes.MetricAlarm
	rounds float64
}

func (a *alarms) DescribeAlarms(_ context.Context, in *cloudwatch.DescribeAlarmsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	return &cloudwatch.DescribeAlarmsOutput{MetricAlarms: a.list}, nil
}

func (a *alarms) GetMetricStatistics(_ context.Context, in *cloudwatch.GetMetricStatisticsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricStatisticsOutput, error) {
	out := &cloudwatch.GetMetricStatisticsOutput{}
	if a.rounds > 0 {
		out.Datapoints = []cwtypes.Datapoint{{SampleCount: aws.Float64(a.rounds), Average: aws.Float64(1)}}
	}
	return out, nil
}

func alarm(name string, state cwtypes.StateValue, since time.Time) cwtypes.MetricAlarm {
	return cwtypes.MetricAlarm{AlarmName: aws.String(name), StateValue: state, StateUpdatedTimestamp: aws.Time(since), Period: aws.Int32(60),
		EvaluationPeriods: aws.Int32(2), ActionsEnabled: aws.Bool(true)}
}

// topics are the topic's subscriptions.
type topics []snstypes.Subscription

func (t topics) ListSubscriptionsByTopic(context.Context, *sns.ListSubscriptionsByTopicInput, ...func(*sns.Options)) (*sns.ListSubscriptionsByTopicOutput, error) {
	return &sns.ListSubscriptionsByTopicOutput{Subscriptions: t}, nil
}

// functions are Lambda's functions; invoke answers an invocation.
type functions struct {
	timeout, reserved map[string]int32
	invoke            func(payload []byte) ([]byte, error)
	invoked           []string
}

func (f *functions) GetFunctionConfiguration(_ context.Context, in *lambda.GetFunctionConfigurationInput, _ ...func(*lambda.Options)) (*lambda.GetFunctionConfigurationOutput, error) {
	t, ok := f.timeout[aws.ToString(in.FunctionName)]
	if !ok {
		return nil, fmt.Errorf("ResourceNotFoundException: %s", aws.ToString(in.FunctionName))
	}
	return &lambda.GetFunctionConfigurationOutput{Timeout: aws.Int32(t)}, nil
}

func (f *functions) GetFunctionConcurrency(_ context.Context, in *lambda.GetFunctionConcurrencyInput, _ ...func(*lambda.Options)) (*lambda.GetFunctionConcurrencyOutput, error) {
	out := &lambda.GetFunctionConcurrencyOutput{}
	if r := f.reserved[aws.ToString(in.FunctionName)]; r > 0 {
		out.ReservedConcurrentExecutions = aws.Int32(r)
	}
	return out, nil
}

func (f *functions) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	f.invoked = append(f.invoked, aws.ToString(in.FunctionName))
	out, err := f.invoke(in.Payload)
	if err != nil {
		return &lambda.InvokeOutput{FunctionError: aws.String("Unhandled"), Payload: []byte(fmt.Sprintf(`{"errorMessage":%q}`, err.Error()))}, nil
	}
	return &lambda.InvokeOutput{Payload: out}, nil
}

// verdicts lists checks by name for messages.
func has[T any](list []T, f func(T) bool) bool { return slices.ContainsFunc(list, f) }
