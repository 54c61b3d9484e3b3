package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/eni-failover/eni-failover/internal/moveapi"
)

// outputs name what an operator needs after a deploy.
func (s *EniFailoverStack) outputs() {
	out := func(id, desc string, v *string) {
		awscdk.NewCfnOutput(s.Stack, jsii.String(id), &awscdk.CfnOutputProps{Description: jsii.String(desc), Value: v})
	}
	if s.ENIRef != nil {
		out("LicenseENIId", "The license ENI: read its MAC with the status action", s.ENIRef)
	}
	out("FailoverFunctionName", "Handles the probe's findings, alarms, Health and Spot events", s.Failover.FunctionName())
	out("FleetFunctionName", "Handles EC2 state changes and the reconcile, sweeping the fleet while it works", s.Fleet.FunctionName())
	out("MoveFunctionName", "The operator's actions: "+moveapi.Names(), s.Move.FunctionName())
	out("MoveFunctionUrl", "The operator's actions through the function's URL (AWS_IAM: Lambda tells the function who signed); eni-failover uses it", s.MoveURL.Url())
	out("NotificationTopicArn", "One message per move or failed move", s.Topic.TopicArn())
	// The roles that write the journal and the probe's metrics, by exact
	// ARN: the service control policy of docs/security.md exempts these
	// and no role whose name merely looks alike.
	out("FailoverRoleArn", "Role of the failover and fleet functions (exempt it in the SCP, docs/security.md)", s.Failover.Role().RoleArn())
	out("MoveRoleArn", "Role of the move function (exempt it in the SCP, docs/security.md)", s.Move.Role().RoleArn())
	if s.Probe != nil {
		out("ProbeRoleArn", "Role of the probe (exempt it from the metric rule of the SCP, docs/security.md)", s.Probe.Role().RoleArn())
	}
	out("FailedEventsQueueUrl", "Events the failover function could not handle", s.Failed.QueueUrl())
	// fileb:// works with AWS CLI v1 and v2 (only v2 knows
	// --cli-binary-format); the read timeout outlasts the function's.
	out("StatusCommand", "Try it (AWS CLI v1 or v2)", awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String(`echo '{"action":"status"}' | aws lambda invoke --function-name `), s.Move.FunctionName(),
		jsii.String(` --cli-read-timeout 900 --payload fileb:///dev/stdin /dev/stdout`),
	}))
}
