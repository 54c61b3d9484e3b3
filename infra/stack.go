package main

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/eni-failover/eni-failover/internal/emf"
	"github.com/eni-failover/eni-failover/internal/metrics"
	"github.com/eni-failover/eni-failover/internal/probe"
)

// EniFailoverStackProps configures the stack.
type EniFailoverStackProps struct {
	awscdk.StackProps
	Config Config
}

// EniFailoverStack is the deployed system; its fields let tests and
// callers reach the main resources.
type EniFailoverStack struct {
	awscdk.Stack
	Failover awslambda.Function
	Move     awslambda.Function
	Topic    awssns.Topic
	Failed   awssqs.Queue
	Probe    awslambda.Function // nil unless the probe is configured
	ENIRef   *string            // the license ENI id, when created or imported
	// licenseSG and licenseIP are the created license ENI's security group
	// and address (nil when the ENI is imported or managed elsewhere).
	licenseSG awsec2.CfnSecurityGroup
	licenseIP *string
}

// NewEniFailoverStack builds the stack. Props may be nil (all defaults).
func NewEniFailoverStack(scope constructs.Construct, id string, props *EniFailoverStackProps) *EniFailoverStack {
	if props == nil {
		props = &EniFailoverStackProps{}
	}
	cfg := props.Config
	if cfg.TagPrefix == "" {
		cfg.defaults()
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)
	s := &EniFailoverStack{Stack: stack}

	key, topic := s.notifications(cfg)
	s.Topic = topic
	s.Failed = awssqs.NewQueue(stack, jsii.String("FailedEvents"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(s.Failed, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is itself the dead-letter destination of the failover function and its rules."),
	}}, jsii.Bool(true))

	eniRef := s.licenseENI(cfg)
	s.ENIRef = eniRef
	s.Failover = s.function(cfg, "Failover", "failover", topic, eniRef)
	s.Move = s.function(cfg, "Move", "move", topic, eniRef)
	s.Failover.Node().DefaultChild().(awslambda.CfnFunction).SetReservedConcurrentExecutions(jsii.Number(1))

	s.statusAlarms(cfg, topic)
	s.rules(cfg)
	if cfg.Probe != nil {
		s.probe(cfg, topic)
	}
	s.observability(topic)
	s.outputs(cfg, eniRef)
	_ = key
	return s
}

// notifications is the topic (KMS-encrypted with a key CloudWatch alarms may
// use, SSL enforced) and its optional e-mail subscription.
func (s *EniFailoverStack) notifications(cfg Config) (awskms.Key, awssns.Topic) {
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
	return key, topic
}

// licenseENI creates (MOSEK's recipe) or imports the license ENI and returns
// its id, or nil when the ENI is managed outside the stack.
func (s *EniFailoverStack) licenseENI(cfg Config) *string {
	l := cfg.LicenseENI
	switch {
	case l == nil:
		return nil
	case l.ImportID != "":
		return jsii.String(l.ImportID)
	}
	cr := l.Create
	var ingress []interface{}
	for _, cidr := range cr.CIDRs {
		for _, port := range cr.Ports {
			ingress = append(ingress, &awsec2.CfnSecurityGroup_IngressProperty{
				IpProtocol: jsii.String("tcp"), FromPort: jsii.Number(port), ToPort: jsii.Number(port), CidrIp: jsii.String(cidr),
				Description: jsii.String(fmt.Sprintf("license token server port %d", port)),
			})
		}
	}
	sg := awsec2.NewCfnSecurityGroup(s.Stack, jsii.String("LicenseSecurityGroup"), &awsec2.CfnSecurityGroupProps{
		GroupDescription:     jsii.String("Token server ports of the license ENI (lmgrd and vendor daemon)"),
		VpcId:                jsii.String(cr.VPCID),
		SecurityGroupIngress: &ingress,
		SecurityGroupEgress: &[]interface{}{&awsec2.CfnSecurityGroup_EgressProperty{
			IpProtocol: jsii.String("tcp"), FromPort: jsii.Number(1024), ToPort: jsii.Number(65535), CidrIp: jsii.String("0.0.0.0/0"),
			Description: jsii.String("replies to license clients"),
		}},
	})
	eni := awsec2.NewCfnNetworkInterface(s.Stack, jsii.String("LicenseENI"), &awsec2.CfnNetworkInterfaceProps{
		SubnetId:    jsii.String(cr.SubnetID),
		GroupSet:    &[]interface{}{sg.AttrGroupId()},
		Description: jsii.String("license-bound ENI of group " + cr.Group + " (its MAC is in the license file)"),
		Tags: &[]*awscdk.CfnTag{
			{Key: jsii.String(cfg.TagPrefix + ":group"), Value: jsii.String(cr.Group)},
			{Key: jsii.String("Name"), Value: jsii.String(cr.Group + "-license")},
		},
	})
	// A deleted ENI is a lost MAC, and with it the license.
	eni.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN, &awscdk.RemovalPolicyOptions{ApplyToUpdateReplacePolicy: jsii.Bool(true)})
	if cr.ElasticIP {
		eip := awsec2.NewCfnEIP(s.Stack, jsii.String("LicenseEIP"), &awsec2.CfnEIPProps{Domain: jsii.String("vpc"),
			Tags: &[]*awscdk.CfnTag{{Key: jsii.String("Name"), Value: jsii.String(cr.Group + "-license")}}})
		eip.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN, nil)
		awsec2.NewCfnEIPAssociation(s.Stack, jsii.String("LicenseEIPAssociation"), &awsec2.CfnEIPAssociationProps{
			AllocationId: eip.AttrAllocationId(), NetworkInterfaceId: eni.Ref(),
		})
	}
	s.licenseSG, s.licenseIP = sg, eni.AttrPrimaryPrivateIpAddress()
	return eni.Ref()
}

// function is one Lambda function with its own log group and role. The
// role carries only inline statements: no AWS managed policy.
func (s *EniFailoverStack) function(cfg Config, id, name string, topic awssns.Topic, eniRef *string) awslambda.Function {
	logs := awslogs.NewLogGroup(s.Stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     retentionDays[cfg.LogRetentionDays],
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	role := awsiam.NewRole(s.Stack, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("eni-failover " + name + " function"),
	})
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("WriteOwnLogs"),
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: jsii.Strings(*logs.LogGroupArn(), *logs.LogGroupArn()+":log-stream:*"),
	}))
	for _, st := range ec2Statements(s.Stack, cfg, eniRef) {
		role.AddToPrincipalPolicy(st)
	}
	for _, st := range ssmStatements(s.Stack, cfg) {
		role.AddToPrincipalPolicy(st)
	}
	topic.GrantPublish(role)
	env := map[string]*string{
		"ENI_FAILOVER_TAG_PREFIX": jsii.String(cfg.TagPrefix),
		"ALLOW_START_STOPPED":     jsii.String(fmt.Sprint(cfg.AllowStartStopped)),
		"HEALTH_EVENT_ACTION":     jsii.String(cfg.HealthEventAction),
		"COOLDOWN":                jsii.String(fmt.Sprintf("%dm", cfg.CooldownMinutes)),
		"NOTIFY_TOPIC_ARN":        topic.TopicArn(),
		"METRICS_NAMESPACE":       jsii.String(emf.DefaultNamespace),
	}
	timeout := 60
	if len(cfg.ActivationCommands) > 0 {
		env["ACTIVATION_COMMANDS"] = jsii.String(strings.Join(cfg.ActivationCommands, "\n"))
		env["ACTIVATION_TIMEOUT"] = jsii.String(fmt.Sprintf("%ds", cfg.ActivationTimeoutSeconds))
		// The move, then the activation, within one invocation.
		timeout += cfg.ActivationTimeoutSeconds
	}
	props := &awslambda.FunctionProps{
		FunctionName:          jsii.String(*awscdk.Aws_STACK_NAME() + "-" + name),
		Description:           jsii.String("eni-failover: " + name),
		Runtime:               awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:          awslambda.Architecture_ARM_64(),
		Handler:               jsii.String("bootstrap"),
		Code:                  awslambda.Code_FromAsset(jsii.String(filepath.Join(cfg.AssetDir, name)), nil),
		MemorySize:            jsii.Number(128),
		Timeout:               awscdk.Duration_Seconds(jsii.Number(timeout)),
		Role:                  role,
		LogGroup:              logs,
		LoggingFormat:         awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2: awslambda.ApplicationLogLevel_INFO,
		SystemLogLevelV2:      awslambda.SystemLogLevel_WARN,
		Environment:           &env,
	}
	if name == "failover" {
		// Failed events are retried twice, then land in the queue; an event
		// older than 15 minutes is stale (the reconcile has acted by then).
		props.RetryAttempts = jsii.Number(2)
		props.MaxEventAge = awscdk.Duration_Minutes(jsii.Number(15))
		props.OnFailure = awslambdadestinations.NewSqsDestination(s.Failed)
	}
	fn := awslambda.NewFunction(s.Stack, jsii.String(id), props)
	s.dependOnPolicyOnly(fn, role)
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("EC2 Describe calls support no resource-level permissions; mutating EC2 actions use resource wildcards " +
			"narrowed by the group-tag condition; log-stream names are chosen by Lambda; the KMS grant is for the stack's own key."),
	}}, jsii.Bool(true))
	return fn
}

// dependOnPolicyOnly: a function already depends on its role through
// GetAtt; keeping only the role's policy in DependsOn avoids cfn-lint's
// W3005.
func (s *EniFailoverStack) dependOnPolicyOnly(fn awslambda.Function, role awsiam.Role) {
	if policy, ok := role.Node().TryFindChild(jsii.String("DefaultPolicy")).(awsiam.Policy); ok {
		cfnPolicy := policy.Node().DefaultChild().(awsiam.CfnPolicy)
		fn.Node().DefaultChild().(awslambda.CfnFunction).AddOverride(jsii.String("DependsOn"), []string{*s.Stack.GetLogicalId(cfnPolicy)})
	}
}

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
	tagged := map[string]interface{}{
		"StringLike": map[string]interface{}{"ec2:ResourceTag/" + cfg.TagPrefix + ":group": "?*"},
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
				"StringLike":              map[string]interface{}{"ec2:ResourceTag/" + cfg.TagPrefix + ":group": "?*"},
				"ForAllValues:StringLike": map[string]interface{}{"aws:TagKeys": []string{cfg.TagPrefix + ":*"}},
				// The group tag itself is never rewritten by the engine.
				"ForAllValues:StringNotEquals": map[string]interface{}{"aws:TagKeys": []string{cfg.TagPrefix + ":group"}},
			},
		}),
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
func ssmStatements(stack awscdk.Stack, cfg Config) []awsiam.PolicyStatement {
	if len(cfg.ActivationCommands) == 0 {
		return nil
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
			Sid:       jsii.String("RunActivationDocument"),
			Actions:   jsii.Strings("ssm:SendCommand"),
			Resources: jsii.Strings(fmt.Sprintf("arn:%s:ssm:%s::document/AWS-RunShellScript", *stack.Partition(), *stack.Region())),
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("RunActivationOnMembers"),
			Actions:   jsii.Strings("ssm:SendCommand"),
			Resources: jsii.Strings(instances...),
			Conditions: &map[string]interface{}{
				"StringLike": map[string]interface{}{"ssm:resourceTag/" + cfg.TagPrefix + ":group": "?*"},
			},
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("ReadActivationResult"),
			Actions:   jsii.Strings("ssm:GetCommandInvocation"),
			Resources: jsii.Strings("*"),
		}),
	}
}

// probe runs the license-port probe in the VPC on a schedule, with one
// alarm per group: N failed checks out of M move the group's ENI.
func (s *EniFailoverStack) probe(cfg Config, topic awssns.Topic) {
	p := cfg.Probe
	targets := map[string]*string{}
	for g, ip := range p.Targets {
		targets[g] = jsii.String(ip)
	}
	if s.licenseIP != nil {
		targets[cfg.LicenseENI.Create.Group] = s.licenseIP
	}
	groups := make([]string, 0, len(targets))
	for g := range targets {
		groups = append(groups, g)
	}
	sort.Strings(groups)

	sgID := jsii.String(p.SecurityGroupID)
	if p.SecurityGroupID == "" {
		var egress []interface{}
		for _, g := range groups {
			for _, port := range p.Ports {
				egress = append(egress, &awsec2.CfnSecurityGroup_EgressProperty{
					IpProtocol: jsii.String("tcp"), FromPort: jsii.Number(port), ToPort: jsii.Number(port),
					CidrIp:      awscdk.Fn_Join(jsii.String(""), &[]*string{targets[g], jsii.String("/32")}),
					Description: jsii.String(fmt.Sprintf("license port %d of group %s", port, g)),
				})
			}
		}
		sg := awsec2.NewCfnSecurityGroup(s.Stack, jsii.String("ProbeSecurityGroup"), &awsec2.CfnSecurityGroupProps{
			GroupDescription:    jsii.String("eni-failover probe: reaches the license ports only"),
			VpcId:               jsii.String(p.VPCID),
			SecurityGroupEgress: &egress,
		})
		sgID = sg.AttrGroupId()
		awscdk.NewCfnOutput(s.Stack, jsii.String("ProbeSecurityGroupId"), &awscdk.CfnOutputProps{
			Description: jsii.String("Allow it into the license ENI's security group on the license ports (done for a created ENI)"),
			Value:       sgID,
		})
	}
	if s.licenseSG != nil {
		for _, port := range p.Ports {
			awsec2.NewCfnSecurityGroupIngress(s.Stack, jsii.String(fmt.Sprintf("LicenseFromProbe%d", port)), &awsec2.CfnSecurityGroupIngressProps{
				GroupId: s.licenseSG.AttrGroupId(), IpProtocol: jsii.String("tcp"), FromPort: jsii.Number(port), ToPort: jsii.Number(port),
				SourceSecurityGroupId: sgID, Description: jsii.String(fmt.Sprintf("eni-failover probe to port %d", port)),
			})
		}
	}

	logs := awslogs.NewLogGroup(s.Stack, jsii.String("ProbeLogs"), &awslogs.LogGroupProps{
		Retention: retentionDays[cfg.LogRetentionDays], RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	role := awsiam.NewRole(s.Stack, jsii.String("ProbeRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("eni-failover probe function"),
	})
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("WriteOwnLogs"), Actions: jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: jsii.Strings(*logs.LogGroupArn(), *logs.LogGroupArn()+":log-stream:*"),
	}))
	// What Lambda needs to place a function in a VPC (the managed policy
	// AWSLambdaVPCAccessExecutionRole, written out).
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("RunInVPC"),
		Actions: jsii.Strings("ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
			"ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"),
		Resources: jsii.Strings("*"),
	}))
	var pairs []*string
	for i, g := range groups {
		if i > 0 {
			pairs = append(pairs, jsii.String(","))
		}
		pairs = append(pairs, jsii.String(g+"="), targets[g])
	}
	ports := make([]string, len(p.Ports))
	for i, port := range p.Ports {
		ports[i] = fmt.Sprint(port)
	}
	env := map[string]*string{
		"PROBE_TARGETS":     awscdk.Fn_Join(jsii.String(""), &pairs),
		"PROBE_PORTS":       jsii.String(strings.Join(ports, ",")),
		"PROBE_TIMEOUT":     jsii.String(fmt.Sprintf("%dms", p.TimeoutMillis)),
		"METRICS_NAMESPACE": jsii.String(emf.DefaultNamespace),
	}
	fn := awslambda.NewFunction(s.Stack, jsii.String("Probe"), &awslambda.FunctionProps{
		FunctionName:  jsii.String(*awscdk.Aws_STACK_NAME() + "-probe"),
		Description:   jsii.String("eni-failover: license-port probe"),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String("bootstrap"),
		Code:          awslambda.Code_FromAsset(jsii.String(filepath.Join(cfg.AssetDir, "probe")), nil),
		MemorySize:    jsii.Number(128),
		Timeout:       awscdk.Duration_Seconds(jsii.Number(30)),
		Role:          role,
		LogGroup:      logs,
		LoggingFormat: awslambda.LoggingFormat_JSON,
		Environment:   &env,
	})
	cfnFn := fn.Node().DefaultChild().(awslambda.CfnFunction)
	cfnFn.SetVpcConfig(&awslambda.CfnFunction_VpcConfigProperty{SubnetIds: jsii.Strings(p.SubnetIDs...), SecurityGroupIds: &[]*string{sgID}})
	s.dependOnPolicyOnly(fn, role)
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("Lambda's VPC network interfaces are created by the service under names unknown in advance; log-stream names are chosen by Lambda."),
	}}, jsii.Bool(true))
	s.Probe = fn
	awsevents.NewRule(s.Stack, jsii.String("ProbeSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Check the license ports of every group"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(p.ScheduleMinutes))),
		Targets:     &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{RetryAttempts: jsii.Number(0)})},
	})
	for i, g := range groups {
		a := awscloudwatch.NewAlarm(s.Stack, jsii.String(fmt.Sprintf("ProbeAlarm%d", i)), &awscloudwatch.AlarmProps{
			AlarmName:        jsii.String(*awscdk.Aws_STACK_NAME() + "-probe-" + g),
			AlarmDescription: jsii.String("License ports of group " + g + " do not answer: in ALARM, the group's license ENI leaves its holder"),
			Metric: awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
				Namespace: jsii.String(emf.DefaultNamespace), MetricName: jsii.String(probe.MetricReachable),
				DimensionsMap: &map[string]*string{"Group": jsii.String(g)},
				Statistic:     jsii.String("Minimum"), Period: awscdk.Duration_Minutes(jsii.Number(p.ScheduleMinutes)),
			}),
			Threshold:          jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD,
			EvaluationPeriods:  jsii.Number(p.EvaluationPeriods),
			DatapointsToAlarm:  jsii.Number(p.DatapointsToAlarm),
			// The probe not running is not the token server failing.
			TreatMissingData: awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(awscloudwatchactions.NewSnsAction(topic))
	}
}

// statusAlarms makes one StatusCheckFailed alarm per configured instance;
// their state changes drive the failover function.
func (s *EniFailoverStack) statusAlarms(cfg Config, topic awssns.Topic) []awscloudwatch.Alarm {
	var alarms []awscloudwatch.Alarm
	for _, id := range cfg.InstanceIDs {
		a := awscloudwatch.NewAlarm(s.Stack, jsii.String("StatusCheck-"+id), &awscloudwatch.AlarmProps{
			AlarmName:        jsii.String(*awscdk.Aws_STACK_NAME() + "-status-" + id),
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
		a.AddAlarmAction(awscloudwatchactions.NewSnsAction(topic))
		alarms = append(alarms, a)
	}
	return alarms
}

// rules routes every trigger of the decision table to the failover
// function; a target that cannot be invoked retries, then goes to the queue.
func (s *EniFailoverStack) rules(cfg Config) {
	target := func() awsevents.IRuleTarget {
		return awseventstargets.NewLambdaFunction(s.Failover, &awseventstargets.LambdaFunctionProps{
			DeadLetterQueue: s.Failed,
			RetryAttempts:   jsii.Number(4),
			MaxEventAge:     awscdk.Duration_Minutes(jsii.Number(15)),
		})
	}
	stateDetail := map[string]interface{}{
		"state": []string{"pending", "running", "stopping", "stopped", "shutting-down", "terminated"},
	}
	if len(cfg.InstanceIDs) > 0 {
		stateDetail["instance-id"] = cfg.InstanceIDs
	}
	rule := func(id, desc string, pattern *awsevents.EventPattern) {
		awsevents.NewRule(s.Stack, jsii.String(id), &awsevents.RuleProps{
			Description: jsii.String(desc), EventPattern: pattern, Targets: &[]awsevents.IRuleTarget{target()},
		})
	}
	rule("InstanceStateChange", "EC2 state changes of token servers: fail over or attach an orphaned ENI", &awsevents.EventPattern{
		Source: jsii.Strings("aws.ec2"), DetailType: jsii.Strings("EC2 Instance State-change Notification"), Detail: &stateDetail,
	})
	rule("SpotAndRebalance", "Spot interruption warnings and rebalance recommendations: move the ENI off now", &awsevents.EventPattern{
		Source:     jsii.Strings("aws.ec2"),
		DetailType: jsii.Strings("EC2 Spot Instance Interruption Warning", "EC2 Instance Rebalance Recommendation"),
	})
	rule("HealthEC2", "AWS Health events for EC2: move the ENI off an affected holder", &awsevents.EventPattern{
		Source: jsii.Strings("aws.health"), DetailType: jsii.Strings("AWS Health Event"),
		Detail: &map[string]interface{}{"service": []string{"EC2"}},
	})
	// Only this stack's failover alarms: their names start with the stack
	// name and "-status-" (status checks) or "-probe-" (license port).
	alarmPrefix := func(kind string) *string {
		return awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:${AWS::StackName}-"+kind+"-"), nil)
	}
	resources := append(*awsevents.Match_Prefix(alarmPrefix("status")), *awsevents.Match_Prefix(alarmPrefix("probe"))...)
	rule("AlarmState", "This stack's alarms going to ALARM (status checks, license-port probe): fail over", &awsevents.EventPattern{
		Source: jsii.Strings("aws.cloudwatch"), DetailType: jsii.Strings("CloudWatch Alarm State Change"),
		Resources: &resources,
		Detail:    &map[string]interface{}{"state": map[string]interface{}{"value": []string{"ALARM"}}},
	})
	awsevents.NewRule(s.Stack, jsii.String("Reconcile"), &awsevents.RuleProps{
		Description: jsii.String("Level-triggered safety net: every group's ENI on a healthy member"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(cfg.ReconcileMinutes))),
		Targets:     &[]awsevents.IRuleTarget{target()},
	})
}

// observability: a dashboard and alarms to the topic on function errors,
// failed moves and events left in the queue.
func (s *EniFailoverStack) observability(topic awssns.Topic) {
	period := awscdk.Duration_Minutes(jsii.Number(5))
	emf := func(name, stat, label string) awscloudwatch.Metric {
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
					Left: &[]awscloudwatch.IMetric{emf(metrics.Moves, "Sum", "moves"), emf(metrics.Failures, "Sum", "failed moves")}}),
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String("Move duration (ms)"), Width: jsii.Number(12),
					Left: &[]awscloudwatch.IMetric{emf(metrics.MoveDurationMS, "Average", "average"), emf(metrics.MoveDurationMS, "Maximum", "maximum"),
						emf(metrics.DetachDurationMS, "Average", "detach"), emf(metrics.AttachDurationMS, "Average", "attach")}}),
			},
			{
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String("Function errors"), Width: jsii.Number(12),
					Left: &[]awscloudwatch.IMetric{s.Failover.MetricErrors(&awscloudwatch.MetricOptions{Period: period}), s.Move.MetricErrors(&awscloudwatch.MetricOptions{Period: period})}}),
				awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String("Events in the on-failure queue"), Width: jsii.Number(12),
					Left: &[]awscloudwatch.IMetric{queueDepth}}),
			},
		},
	})
	alarm := func(id, desc string, m awscloudwatch.IMetric) {
		a := awscloudwatch.NewAlarm(s.Stack, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription: jsii.String(desc), Metric: m, Threshold: jsii.Number(1), EvaluationPeriods: jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(awscloudwatchactions.NewSnsAction(topic))
	}
	alarm("FailoverErrors", "The failover function returned errors (it retries; see its logs)", s.Failover.MetricErrors(&awscloudwatch.MetricOptions{Period: period}))
	alarm("MoveErrors", "The manual move function returned errors", s.Move.MetricErrors(&awscloudwatch.MetricOptions{Period: period}))
	alarm("FailedEventsQueued", "Events the failover function could not handle after its retries are waiting in the queue", queueDepth)
	alarm("FailedMoves", "A license ENI move failed (see the notification and the failover logs)", emf(metrics.Failures, "Sum", "failed moves"))
}

func (s *EniFailoverStack) outputs(cfg Config, eniRef *string) {
	out := func(id, desc string, v *string) {
		awscdk.NewCfnOutput(s.Stack, jsii.String(id), &awscdk.CfnOutputProps{Description: jsii.String(desc), Value: v})
	}
	if eniRef != nil {
		out("LicenseENIId", "The license ENI: read its MAC with the status action", eniRef)
	}
	out("FailoverFunctionName", "Handles EC2, alarm, Health and Spot events and the reconcile", s.Failover.FunctionName())
	out("MoveFunctionName", "Manual status, plan, move and failback", s.Move.FunctionName())
	out("NotificationTopicArn", "One message per move or failed move", s.Topic.TopicArn())
	out("FailedEventsQueueUrl", "Events the failover function could not handle", s.Failed.QueueUrl())
	out("StatusCommand", "Try it", awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("aws lambda invoke --function-name "), s.Move.FunctionName(),
		jsii.String(` --cli-binary-format raw-in-base64-out --payload '{"action":"status"}' /dev/stdout`),
	}))
}
