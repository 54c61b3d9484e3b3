package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
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
	// CloudWatch alarm actions publish to the topic, and need the key to
	// do it: CloudFormation replaces SNS's default topic policy, so without
	// these grants every alarm action fails. Both are limited to alarms of
	// this account and region (aws:SourceAccount, aws:SourceArn), so that no
	// other account's alarm can use CloudWatch as a confused deputy. See
	// https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
	cloudWatch := awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)
	fromOwnAlarms := alarmSourceConditions()
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsUseTheKey"),
		Principals: &[]awsiam.IPrincipal{cloudWatch},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
		Conditions: &fromOwnAlarms,
	}), nil)
	topic := awssns.NewTopic(s.Stack, jsii.String("Notifications"), &awssns.TopicProps{
		DisplayName: jsii.String("eni-failover"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{cloudWatch},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  jsii.Strings(*topic.TopicArn()),
		Conditions: &fromOwnAlarms,
	}))
	if cfg.NotifyEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(cfg.NotifyEmail), nil))
	}
	if len(cfg.Admins) > 0 {
		// Who hears of a failover is the admins' choice alone: a
		// subscription with a filter policy that drops everything, or an
		// outside endpoint, is denied to everyone else.
		topic.AddToResourcePolicy(adminsOnly("OnlyAdminsSubscribe", cfg, topic.TopicArn(), "sns:Subscribe", "sns:AddPermission"))
	}
	return topic
}

// adminsOnly denies actions on a resource to every principal but the
// admins and the deployment, by exact role ARN. The policy-changing calls
// are not denied, so that a wrong deployRoleArn cannot lock the stack out
// of its own next deployment.
func adminsOnly(sid string, cfg Config, resource *string, actions ...string) awsiam.PolicyStatement {
	exempt := append([]string{}, cfg.Admins...)
	deploy := cfg.DeployRoleArn
	if deploy == "" {
		deploy = *awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/cdk-hnb659fds-cfn-exec-role-${AWS::AccountId}-${AWS::Region}"), nil)
	}
	exempt = append(exempt, deploy)
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String(sid),
		Effect:     awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings(actions...),
		Resources:  &[]*string{resource},
		Conditions: &map[string]interface{}{"ArnNotEquals": map[string]interface{}{"aws:PrincipalArn": exempt}},
	})
}

// alarmSourceConditions limit a grant to CloudWatch to this stack's alarms:
// every one is named after the stack (given names start with it, and
// CloudFormation's generated names do too), so an alarm anyone else in the
// account creates cannot publish to the topic.
func alarmSourceConditions() map[string]interface{} {
	return map[string]interface{}{
		"StringEquals": map[string]interface{}{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()},
		"ArnLike": map[string]interface{}{"aws:SourceArn": awscdk.Fn_Sub(
			jsii.String("arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:${AWS::StackName}-*"), nil)},
	}
}
