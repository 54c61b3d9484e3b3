package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/eni-failover/eni-failover/internal/config"
	"github.com/eni-failover/eni-failover/internal/eventparse"
)

// rules routes every trigger of the decision table: what EC2 itself shows
// (state changes, the reconcile) to the fleet function, what only an event
// says to the failover function; a target that cannot be invoked retries,
// then goes to the queue. It returns the rules with an event pattern, the
// doctor's to test.
func (s *EniFailoverStack) rules(cfg Config) []awsevents.Rule {
	var patterned []awsevents.Rule
	targetFn := func(fn awslambda.Function) awsevents.IRuleTarget {
		return awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
			DeadLetterQueue: s.Failed,
			RetryAttempts:   jsii.Number(4),
			MaxEventAge:     awscdk.Duration_Minutes(jsii.Number(15)),
		})
	}
	stateDetail := map[string]interface{}{
		"state": append(append([]string{}, eventparse.UpStates...), eventparse.DownStates...),
	}
	if len(cfg.InstanceIDs) > 0 {
		stateDetail["instance-id"] = cfg.InstanceIDs
	}
	target := func() awsevents.IRuleTarget { return targetFn(s.Failover) }
	rule := func(id, desc string, pattern *awsevents.EventPattern) {
		patterned = append(patterned, awsevents.NewRule(s.Stack, jsii.String(id), &awsevents.RuleProps{
			Description: jsii.String(desc), EventPattern: pattern, Targets: &[]awsevents.IRuleTarget{target()},
		}))
	}
	fleetRule := func(id, desc string, pattern *awsevents.EventPattern) {
		patterned = append(patterned, awsevents.NewRule(s.Stack, jsii.String(id), &awsevents.RuleProps{
			Description: jsii.String(desc), EventPattern: pattern, Targets: &[]awsevents.IRuleTarget{targetFn(s.Fleet)},
		}))
	}
	fleetRule("InstanceStateChange", "EC2 state changes of token servers: fail over or attach an orphaned ENI", &awsevents.EventPattern{
		Source: jsii.Strings(eventparse.SourceEC2), DetailType: jsii.Strings(eventparse.DetailStateChange), Detail: &stateDetail,
	})
	// With the token servers listed, other instances' Spot and Health news
	// never reach the function: a Spot fleet's interruptions would take
	// its sandboxes ahead of a real failover. Both events name the instance in detail.instance-id.
	spotDetail := map[string]interface{}{}
	healthDetail := map[string]interface{}{"service": []string{eventparse.HealthServiceEC2}}
	if len(cfg.InstanceIDs) > 0 {
		spotDetail["instance-id"] = cfg.InstanceIDs
		// Health names an instance by id or by ARN (.../instance/i-...)
		// in affectedEntities[].entityValue; a suffix matches both, and
		// one filter per instance keeps 50 of them within the 2048
		// characters of an event pattern.
		suffixes := make([]interface{}, len(cfg.InstanceIDs))
		for i, id := range cfg.InstanceIDs {
			suffixes[i] = map[string]string{"suffix": id}
		}
		healthDetail["affectedEntities"] = map[string]interface{}{"entityValue": suffixes}
	}
	spot := &awsevents.EventPattern{Source: jsii.Strings(eventparse.SourceEC2), DetailType: jsii.Strings(eventparse.DetailSpot, eventparse.DetailRebalance)}
	if len(spotDetail) > 0 {
		spot.Detail = &spotDetail
	}
	rule("SpotAndRebalance", "Spot interruption warnings and rebalance recommendations: move the ENI off now", spot)
	rule("HealthEC2", "AWS Health events for EC2: move the ENI off an affected holder", &awsevents.EventPattern{
		Source: jsii.Strings(eventparse.SourceHealth), DetailType: jsii.Strings(eventparse.DetailHealth),
		Detail: &healthDetail,
	})
	// Only this stack's failover alarms: their names start with the stack
	// name and the infix of status-check or license-probe alarms.
	alarmPrefix := func(infix string) *string {
		return awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:${AWS::StackName}"+infix), nil)
	}
	resources := append(*awsevents.Match_Prefix(alarmPrefix(statusAlarmInfix)), *awsevents.Match_Prefix(alarmPrefix(probeAlarmInfix))...)
	// The readiness alarm: the failover function says why no standby is
	// ready, and moves nothing.
	resources = append(resources, *awsevents.Match_Prefix(alarmPrefix(config.ReadinessAlarmInfix))...)
	rule("AlarmState", "This stack's alarms going to ALARM (status checks, license-port probe: fail over; readiness: say why)", &awsevents.EventPattern{
		Source: jsii.Strings(eventparse.SourceCloudWatch), DetailType: jsii.Strings(eventparse.DetailAlarm),
		Resources: &resources,
		Detail:    &map[string]interface{}{"state": map[string]interface{}{"value": []string{eventparse.AlarmStateAlarm}}},
	})
	s.schedules(cfg, targetFn(s.Fleet))
	return patterned
}

// schedules are the reconcile (to the fleet function, through target) and
// the readiness count, each every reconcile period.
func (s *EniFailoverStack) schedules(cfg Config, target awsevents.IRuleTarget) {
	awsevents.NewRule(s.Stack, jsii.String("Reconcile"), &awsevents.RuleProps{
		Description: jsii.String("Level-triggered safety net: every group's ENI on a healthy member"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(cfg.ReconcileMinutes))),
		Targets:     &[]awsevents.IRuleTarget{target},
	})
	// The count of ready standbys on its own schedule, in the failover
	// function: run after the reconcile in the fleet function (one event at
	// a time), it held every other group's state change behind it. A missed
	// count is made the next period: no retries, nothing queued.
	awsevents.NewRule(s.Stack, jsii.String("Readiness"), &awsevents.RuleProps{
		Description: jsii.String("Counts each group's ready standbys for the readiness alarm; moves nothing"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(cfg.ReconcileMinutes))),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(s.Failover, &awseventstargets.LambdaFunctionProps{
			Event:         awsevents.RuleTargetInput_FromObject(map[string]string{"action": eventparse.ActionReadiness}),
			RetryAttempts: jsii.Number(0),
		})},
	})
}
