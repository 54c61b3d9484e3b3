package account

import (
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwschemas "github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/eni-failover/eni-failover/internal/awsenv"
	"github.com/eni-failover/eni-failover/internal/config"
	"github.com/eni-failover/eni-failover/internal/doctor"
)

// New is the move function's checkup over its doctor, with the clients of
// the account's reads from the SDK's environment.
func New(env awsenv.Env, cfg config.Config, d *doctor.Doctor) *Checkup {
	c := &Checkup{Doctor: d, TopicARN: cfg.NotifyTopicARN, MetricsNamespace: cfg.MetricsNamespace,
		Rules: eventbridge.NewFromConfig(env.Config, func(o *eventbridge.Options) { o.BaseEndpoint = env.Endpoint("EVENTBRIDGE") }),
		Alarms: cloudwatch.NewFromConfig(env.Config, func(o *cloudwatch.Options) {
			o.BaseEndpoint = env.Endpoint("CLOUDWATCH")
			// CloudWatch's Query protocol rather than the SDK's default
			// CBOR: every CloudWatch endpoint serves it, emulators included.
			o.Protocol = awsquery.New(cwschemas.GraniteServiceVersion20100801)
		}),
		Functions: lambda.NewFromConfig(env.Config, func(o *lambda.Options) { o.BaseEndpoint = env.Endpoint("LAMBDA") }),
	}
	if cfg.NotifyTopicARN != "" {
		c.Topics = sns.NewFromConfig(env.Config, func(o *sns.Options) { o.BaseEndpoint = env.Endpoint("SNS") })
	}
	return c
}
