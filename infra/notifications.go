package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/jsii-runtime-go"
)

// notifications is the topic (KMS-encrypted with a key CloudWatch alarms may
// use, SSL enforced) and its optional e-mail subscription.
func (s *EniFailoverStack) notifications(cfg Config) awssns.Topic {
	key := awskms.NewKey(s.Stack, jsii.String("TopicKey"), &awskms.KeyProps{
		Description:       jsii.String("eni-failover notifications"),
		EnableKeyRotation: jsii.Bool(true),
	})
	// CloudWatch alarm actions publish to the topic and need the key.
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
	}), nil)
	topic := awssns.NewTopic(s.Stack, jsii.String("Notifications"), &awssns.TopicProps{
		DisplayName: jsii.String("eni-failover"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	if cfg.NotifyEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(cfg.NotifyEmail), nil))
	}
	return topic
}
