package main

import (
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"

	"github.com/eni-failover/eni-failover/internal/model"
)

// ec2Statements: Describe calls on "*" (they take no resource), every
// mutating call limited to resources carrying the group tag, or to the
// configured ENI and instances.
func ec2Statements(stack awscdk.Stack, cfg Config, eniRef *string) []awsiam.PolicyStatement {
	arn := func(kind, id string) string {
		return fmt.Sprintf("arn:%s:ec2:%s:%s:%s/%s", *stack.Partition(), *stack.Region(), *stack.Account(), kind, id)
	}
	enis := []string{arn("network-interface", "*")}
	if eniRef != nil {
		enis = []string{arn("network-interface", *eniRef)}
	}
	instances := []string{arn("instance", "*")}
	if len(cfg.InstanceIDs) > 0 {
		instances = nil
		for _, id := range cfg.InstanceIDs {
			instances = append(instances, arn("instance", id))
		}
	}
	tags := model.NewTags(cfg.TagPrefix)
	tagged := map[string]interface{}{
		"StringLike": map[string]interface{}{"ec2:ResourceTag/" + tags.Group(): "?*"},
	}
	statements := []awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("ReadGroups"),
			Actions:   jsii.Strings("ec2:DescribeNetworkInterfaces", "ec2:DescribeInstances", "ec2:DescribeInstanceStatus"),
			Resources: jsii.Strings("*"),
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("MoveTaggedENI"),
			Actions:    jsii.Strings("ec2:AttachNetworkInterface", "ec2:DetachNetworkInterface", "ec2:ModifyNetworkInterfaceAttribute"),
			Resources:  jsii.Strings(append(append([]string{}, enis...), instances...)...),
			Conditions: &tagged,
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("WriteJournalTags"),
			Actions:   jsii.Strings("ec2:CreateTags"),
			Resources: jsii.Strings(enis...),
			Conditions: &map[string]interface{}{
				"StringLike":              map[string]interface{}{"ec2:ResourceTag/" + tags.Group(): "?*"},
				"ForAllValues:StringLike": map[string]interface{}{"aws:TagKeys": []string{tags.Prefix + ":*"}},
				// The group tag itself is never rewritten by the engine.
				"ForAllValues:StringNotEquals": map[string]interface{}{"aws:TagKeys": []string{tags.Group()}},
			},
		}),
	}
	if cfg.FISDrills != nil {
		// The license-holder tag, and no other, on members only.
		statements = append(statements, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("MarkLicenseHolder"),
			Actions:   jsii.Strings("ec2:CreateTags", "ec2:DeleteTags"),
			Resources: jsii.Strings(instances...),
			Conditions: &map[string]interface{}{
				"StringLike":                tagged["StringLike"],
				"ForAllValues:StringEquals": map[string]interface{}{"aws:TagKeys": []string{tags.LicenseHolder()}},
			},
		}))
	}
	if cfg.AllowStartStopped {
		statements = append(statements, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("StartTaggedStandby"),
			Actions:    jsii.Strings("ec2:StartInstances"),
			Resources:  jsii.Strings(instances...),
			Conditions: &tagged,
		}))
	}
	return statements
}

// ssmStatements let the functions run the activation document on the
// group's instances only, and read its result.
func ssmStatements(stack awscdk.Stack, cfg Config, docs commandDocuments) []awsiam.PolicyStatement {
	if !cfg.runsCommands() {
		return nil
	}
	// The stack's own documents alone: they hold the commands, so the
	// role cannot run any other (AWS-RunShellScript would run anything).
	var documents []*string
	for _, variable := range slices.Sorted(maps.Keys(docs)) {
		documents = append(documents, awscdk.Fn_Join(jsii.String(""), &[]*string{
			jsii.String(fmt.Sprintf("arn:%s:ssm:%s:%s:document/", *stack.Partition(), *stack.Region(), *stack.Account())), docs[variable]}))
	}
	instances := []string{fmt.Sprintf("arn:%s:ec2:%s:%s:instance/*", *stack.Partition(), *stack.Region(), *stack.Account())}
	if len(cfg.InstanceIDs) > 0 {
		instances = nil
		for _, id := range cfg.InstanceIDs {
			instances = append(instances, fmt.Sprintf("arn:%s:ec2:%s:%s:instance/%s", *stack.Partition(), *stack.Region(), *stack.Account(), id))
		}
	}
	return []awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("RunTheStacksDocuments"),
			Actions:   jsii.Strings("ssm:SendCommand"),
			Resources: &documents,
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("RunActivationOnMembers"),
			Actions:   jsii.Strings("ssm:SendCommand"),
			Resources: jsii.Strings(instances...),
			Conditions: &map[string]interface{}{
				"StringLike": map[string]interface{}{"ssm:resourceTag/" + model.NewTags(cfg.TagPrefix).Group(): "?*"},
			},
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("ReadActivationResult"),
			// DescribeInstanceInformation: the readiness checks read the
			// agents' pings before a failover needs them.
			Actions:   jsii.Strings("ssm:GetCommandInvocation", "ssm:DescribeInstanceInformation"),
			Resources: jsii.Strings("*"),
		}),
	}
}
