package main

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsfis"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/ssmcommand"
)

// fisDrills creates three AWS FIS experiment templates for game days, each
// stopped by the stack's failed-move alarm: stop the holder, kill lmgrd on
// the holder, and throttle the failover function's EC2 calls while the
// holder stops. They find the holder by its license-holder tag, which the
// engine keeps (HOLDER_TAG).
func (s *EniFailoverStack) fisDrills(cfg Config, failedMoves awscloudwatch.IAlarm, failoverRole awsiam.IRole) {
	d := cfg.FISDrills
	tags := model.NewTags(cfg.TagPrefix)
	role := s.fisRole(cfg, failoverRole)

	holder := map[string]interface{}{"Holder": &awsfis.CfnExperimentTemplate_ExperimentTemplateTargetProperty{
		ResourceType: jsii.String("aws:ec2:instance"), SelectionMode: jsii.String("ALL"),
		ResourceTags: &map[string]*string{tags.LicenseHolder(): jsii.String(d.Group)},
	}}
	stopHolder := &awsfis.CfnExperimentTemplate_ExperimentTemplateActionProperty{
		ActionId:    jsii.String("aws:ec2:stop-instances"),
		Description: jsii.String("stop the license holder; FIS starts it again later"),
		Parameters:  &map[string]*string{"startInstancesAfterDuration": jsii.String(fmt.Sprintf("PT%dM", d.RestartAfterMinutes))},
		Targets:     &map[string]*string{"Instances": jsii.String("Holder")},
	}
	commands, _ := json.Marshal(map[string][]string{"commands": d.KillCommands})
	template := func(id, name, desc string, targets map[string]interface{}, actions map[string]interface{}) {
		awsfis.NewCfnExperimentTemplate(s.Stack, jsii.String(id), &awsfis.CfnExperimentTemplateProps{
			Description:    jsii.String(desc),
			RoleArn:        role.RoleArn(),
			StopConditions: &[]interface{}{&awsfis.CfnExperimentTemplate_ExperimentTemplateStopConditionProperty{Source: jsii.String("aws:cloudwatch:alarm"), Value: failedMoves.AlarmArn()}},
			Targets:        &targets,
			Actions:        &actions,
			Tags:           &map[string]*string{"Name": jsii.String(*awscdk.Aws_STACK_NAME() + "-" + name), tags.Group(): jsii.String(d.Group)},
		})
	}
	template("DrillStopHolder", "stop-holder", "eni-failover game day: stop the holder of group "+d.Group+"; the ENI must move within seconds", holder,
		map[string]interface{}{"StopHolder": stopHolder})
	template("DrillKillLmgrd", "kill-lmgrd", "eni-failover game day: kill lmgrd on the holder of group "+d.Group+"; the probe must move the ENI", holder,
		map[string]interface{}{"KillLmgrd": &awsfis.CfnExperimentTemplate_ExperimentTemplateActionProperty{
			ActionId:    jsii.String("aws:ssm:send-command"),
			Description: jsii.String("run the kill commands on the holder"),
			Parameters: &map[string]*string{
				"documentArn":        jsii.String(fmt.Sprintf("arn:%s:ssm:%s::document/%s", *s.Stack.Partition(), *s.Stack.Region(), ssmcommand.Document)),
				"documentParameters": jsii.String(string(commands)),
				"duration":           jsii.String("PT1M"),
			},
			Targets: &map[string]*string{"Instances": jsii.String("Holder")},
		}})
	withRole := map[string]interface{}{"Holder": holder["Holder"], "FailoverRole": &awsfis.CfnExperimentTemplate_ExperimentTemplateTargetProperty{
		ResourceType: jsii.String("aws:iam:role"), SelectionMode: jsii.String("ALL"), ResourceArns: &[]*string{failoverRole.RoleArn()},
	}}
	template("DrillThrottledFailover", "throttled-failover",
		fmt.Sprintf("eni-failover game day: stop the holder of group %s while %d%% of the failover function's EC2 calls are throttled", d.Group, d.ThrottlePercent), withRole,
		map[string]interface{}{
			"ThrottleEC2": &awsfis.CfnExperimentTemplate_ExperimentTemplateActionProperty{
				ActionId:    jsii.String("aws:fis:inject-api-throttle-error"),
				Description: jsii.String("throttle the failover function's EC2 calls"),
				Parameters: &map[string]*string{
					"service":    jsii.String("ec2"),
					"operations": jsii.String("DescribeNetworkInterfaces,DescribeInstances,DescribeInstanceStatus,DetachNetworkInterface,AttachNetworkInterface,CreateTags"),
					"percentage": jsii.String(fmt.Sprint(d.ThrottlePercent)),
					"duration":   jsii.String("PT5M"),
				},
				Targets: &map[string]*string{"Roles": jsii.String("FailoverRole")},
			},
			"StopHolder": stopHolder,
		})
}

// fisRole may stop and start the license holder, run the SSM document on
// it, and throttle the failover function's EC2 calls: nothing else.
func (s *EniFailoverStack) fisRole(cfg Config, failoverRole awsiam.IRole) awsiam.Role {
	d := cfg.FISDrills
	tags := model.NewTags(cfg.TagPrefix)
	holderTag := map[string]interface{}{"ec2:ResourceTag/" + tags.LicenseHolder(): d.Group}
	groupTag := map[string]interface{}{"ec2:ResourceTag/" + tags.Group(): d.Group}
	instances := []*string{jsii.String(fmt.Sprintf("arn:%s:ec2:%s:%s:instance/*", *s.Stack.Partition(), *s.Stack.Region(), *s.Stack.Account()))}
	if len(cfg.InstanceIDs) > 0 {
		// Pinned membership: the drills reach the deployment's instances
		// alone, whatever else carries the tags.
		instances = nil
		for _, id := range cfg.InstanceIDs {
			instances = append(instances, jsii.String(fmt.Sprintf("arn:%s:ec2:%s:%s:instance/%s", *s.Stack.Partition(), *s.Stack.Region(), *s.Stack.Account(), id)))
		}
	}
	role := awsiam.NewRole(s.Stack, jsii.String("FISDrillRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("fis.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"aws:SourceAccount": s.Stack.Account()}},
		}),
		Description: jsii.String("eni-failover game days: FIS may stop and start the license holder, run the kill command on it, and throttle the failover function's EC2 calls"),
	})
	for _, st := range []*awsiam.PolicyStatementProps{
		{Sid: jsii.String("FindInstances"), Actions: jsii.Strings("ec2:DescribeInstances"), Resources: jsii.Strings("*")},
		{Sid: jsii.String("StopTheHolder"), Actions: jsii.Strings("ec2:StopInstances"),
			Resources: &instances, Conditions: &map[string]interface{}{"StringEquals": holderTag}},
		// FIS identifies its targets when the experiment starts and, after
		// startInstancesAfterDuration, starts the instance it stopped (FIS
		// User Guide, "Targets"; aws:ec2:stop-instances). By then the
		// engine has moved the license-holder tag to the new holder, so
		// the restart is scoped by the group tag, which every member keeps.
		{Sid: jsii.String("RestartTheStoppedMember"), Actions: jsii.Strings("ec2:StartInstances"),
			Resources: &instances, Conditions: &map[string]interface{}{"StringEquals": groupTag}},
		// "Required with startInstancesAfterDuration to restart instances
		// with encrypted volumes" (FIS actions reference): a grant for EBS,
		// on the account's keys, and only for an AWS service.
		{Sid: jsii.String("RestartWithEncryptedVolumes"), Actions: jsii.Strings("kms:CreateGrant"),
			Resources:  jsii.Strings(fmt.Sprintf("arn:%s:kms:%s:%s:key/*", *s.Stack.Partition(), *s.Stack.Region(), *s.Stack.Account())),
			Conditions: &map[string]interface{}{"Bool": map[string]interface{}{"kms:GrantIsForAWSResource": "true"}}},
		{Sid: jsii.String("RunShellDocument"), Actions: jsii.Strings("ssm:SendCommand"),
			Resources: jsii.Strings(fmt.Sprintf("arn:%s:ssm:%s::document/%s", *s.Stack.Partition(), *s.Stack.Region(), ssmcommand.Document))},
		{Sid: jsii.String("RunOnTheHolder"), Actions: jsii.Strings("ssm:SendCommand"), Resources: &instances,
			Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"ssm:resourceTag/" + tags.LicenseHolder(): d.Group}}},
		{Sid: jsii.String("FollowCommands"), Actions: jsii.Strings("ssm:ListCommands", "ssm:CancelCommand"), Resources: jsii.Strings("*")},
		{Sid: jsii.String("ThrottleTheFailoverFunction"), Actions: jsii.Strings("fis:InjectApiThrottleError"),
			Resources: jsii.Strings(fmt.Sprintf("arn:%s:fis:%s:%s:experiment/*", *s.Stack.Partition(), *s.Stack.Region(), *s.Stack.Account())),
			Conditions: &map[string]interface{}{
				"ForAllValues:StringEquals": map[string]interface{}{"fis:Targets": []*string{failoverRole.RoleArn()}},
				"StringEquals":              map[string]interface{}{"fis:Service": "ec2"},
			}},
	} {
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(st))
	}
	// Each wildcard cdk-nag finds is suppressed on its own, with its
	// reason: a new wildcard fails the nag test instead of hiding under a
	// blanket suppression.
	arn := func(rest string) string { return "Resource::arn:<AWS::Partition>:" + rest }
	suppress := []struct{ appliesTo, reason string }{
		{"Resource::*", "FIS resolves its targets with ec2:DescribeInstances and follows its commands with ssm:ListCommands and " +
			"ssm:CancelCommand, which take no resource-level permissions."},
		{arn("kms:<AWS::Region>:<AWS::AccountId>:key/*"), "kms:CreateGrant on the account's keys, only for an AWS service " +
			"(kms:GrantIsForAWSResource): a holder's EBS volumes may use any customer-managed key, and FIS restarts it."},
		{arn("fis:<AWS::Region>:<AWS::AccountId>:experiment/*"), "FIS names its experiments; the throttling is limited to " +
			"the failover function's role and to EC2 by conditions."},
	}
	if len(cfg.InstanceIDs) == 0 {
		suppress = append(suppress, struct{ appliesTo, reason string }{arn("ec2:<AWS::Region>:<AWS::AccountId>:instance/*"),
			"Without instanceIds, stopping and commands are limited to the instance with the license-holder tag, and " +
				"restarting to the group's members, by tag conditions."})
	}
	var suppressions []*cdknag.NagPackSuppression
	for _, sp := range suppress {
		suppressions = append(suppressions, &cdknag.NagPackSuppression{Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String(sp.reason),
			AppliesTo: &[]interface{}{jsii.String(sp.appliesTo)}})
	}
	cdknag.NagSuppressions_AddResourceSuppressions(role, &suppressions, jsii.Bool(true))
	return role
}
