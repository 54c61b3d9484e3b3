package main

import (
	"cmp"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/eni-failover/eni-failover/internal/config"
	"github.com/eni-failover/eni-failover/internal/emf"
)

// functionSpec names one of the functions that move the ENI and says how it
// is invoked.
type functionSpec struct {
	id, name string
	// reservedConcurrency > 0 reserves (and caps) the function's
	// concurrent executions.
	reservedConcurrency int
	// async configures asynchronous invocation (retries, event age,
	// on-failure destination); nil keeps Lambda's defaults.
	async *awslambda.EventInvokeConfigOptions
	// documents are the stack's SSM documents the function may send.
	documents commandDocuments
	// timeoutSeconds is the function's timeout (0: functionTimeoutSeconds).
	timeoutSeconds int
	// asset names the bootstrap under the asset directory ("": name).
	asset string
	// role is the role of another deployment of this code, shared so that
	// the same code has the same rights; nil: the function gets its own.
	role awsiam.Role
}

// function is one Lambda function with its own log group and role. The
// role carries only inline statements: no AWS managed policy.
func (s *EniFailoverStack) function(cfg Config, spec functionSpec) (awslambda.Function, awsiam.Role) {
	var logs awslogs.LogGroup
	role := spec.role
	if role != nil {
		logs = s.logGroup(cfg, spec.id)
		grantLogs(role, spec.id, logs)
	} else {
		logs, role = s.logsAndRole(cfg, spec.id, spec.name)
		for _, st := range ec2Statements(s.Stack, cfg, s.ENIRef) {
			role.AddToPrincipalPolicy(st)
		}
		for _, st := range ssmStatements(s.Stack, cfg, spec.documents) {
			role.AddToPrincipalPolicy(st)
		}
		s.Topic.GrantPublish(role)
	}
	env := functionEnv(cfg, s.Topic.TopicArn(), spec.documents)
	// The stack's alarms by exact name: the failover code acts on no
	// other, and the doctor checks each exists.
	env[config.EnvAlarmPrefix] = awscdk.Aws_STACK_NAME()
	if len(s.probed) > 0 {
		env[config.EnvProbedGroups] = jsii.String(strings.Join(s.probed, ","))
	}
	props := &awslambda.FunctionProps{
		FunctionName:          jsii.String(functionName(spec.name)),
		Description:           jsii.String("eni-failover: " + spec.name),
		Runtime:               awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:          awslambda.Architecture_ARM_64(),
		Handler:               jsii.String("bootstrap"),
		Code:                  awslambda.Code_FromAsset(jsii.String(filepath.Join(cfg.AssetDir, cmp.Or(spec.asset, spec.name))), nil),
		MemorySize:            jsii.Number(128),
		Timeout:               awscdk.Duration_Seconds(jsii.Number(cmp.Or(spec.timeoutSeconds, cfg.functionTimeoutSeconds()))),
		Role:                  role,
		LogGroup:              logs,
		LoggingFormat:         awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2: awslambda.ApplicationLogLevel_INFO,
		SystemLogLevelV2:      awslambda.SystemLogLevel_WARN,
		Environment:           &env,
	}
	if spec.reservedConcurrency > 0 {
		props.ReservedConcurrentExecutions = jsii.Number(spec.reservedConcurrency)
	}
	if a := spec.async; a != nil {
		props.RetryAttempts, props.MaxEventAge, props.OnFailure = a.RetryAttempts, a.MaxEventAge, a.OnFailure
	}
	fn := awslambda.NewFunction(s.Stack, jsii.String(spec.id), props)
	s.dependOnPolicyOnly(fn, role)
	if spec.role != nil {
		return fn, role
	}
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("EC2 Describe calls support no resource-level permissions; mutating EC2 actions use resource wildcards " +
			"narrowed by the group-tag condition; log-stream names are chosen by Lambda; the KMS grant is for the stack's own key."),
	}}, jsii.Bool(true))
	return fn, role
}

// functionEnv is the failover and move functions' configuration
// (internal/config).
func functionEnv(cfg Config, topicARN *string, docs commandDocuments) map[string]*string {
	env := map[string]*string{
		config.EnvTagPrefix:         jsii.String(cfg.TagPrefix),
		config.EnvAllowStartStopped: jsii.String(fmt.Sprint(cfg.AllowStartStopped)),
		config.EnvHealthEventAction: jsii.String(cfg.HealthEventAction),
		config.EnvCooldown:          jsii.String(fmt.Sprintf("%dm", cfg.CooldownMinutes)),
		config.EnvHealthLeadTime:    jsii.String(fmt.Sprintf("%dm", cfg.HealthLeadMinutes)),
		config.EnvMaxAutomaticMoves: jsii.String(fmt.Sprint(*cfg.MaxAutomaticMovesPerHour)),
		config.EnvNotifyTopicARN:    topicARN,
		emf.EnvNamespace:            jsii.String(emf.DefaultNamespace),
	}
	if cfg.Probe != nil {
		// A drill waits for the probe's measurement of the outage.
		env[config.EnvDrillOutageWait] = jsii.String(drillOutageWait.String())
	}
	if cfg.FISDrills != nil {
		// FIS finds the holder by its tag.
		env[config.EnvHolderTag] = jsii.String("true")
	}
	if len(cfg.InstanceIDs) > 0 {
		// Pinned membership: a tagged stranger never gets the ENI.
		env[config.EnvInstanceIDs] = jsii.String(strings.Join(cfg.InstanceIDs, ","))
	}
	// SSM commands: the stack's documents that hold them, and their bound.
	for variable, name := range docs {
		env[variable] = name
	}
	if cfg.activates() {
		env[config.EnvActivationTimeout] = jsii.String(fmt.Sprintf("%ds", cfg.ActivationTimeoutSeconds))
	}
	if cfg.deepChecks() {
		env[config.EnvDeepCheckTimeout] = jsii.String(fmt.Sprintf("%ds", cfg.DeepCheckTimeoutSeconds))
	}
	return env
}

// logsAndRole are a function's own log group and a role that may write to
// it and nothing else yet.
func (s *EniFailoverStack) logsAndRole(cfg Config, id, name string) (awslogs.LogGroup, awsiam.Role) {
	logs := s.logGroup(cfg, id)
	role := awsiam.NewRole(s.Stack, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("eni-failover " + name + " function"),
	})
	grantLogs(role, "", logs)
	return logs, role
}

// logGroup is a function's log group.
func (s *EniFailoverStack) logGroup(cfg Config, id string) awslogs.LogGroup {
	return awslogs.NewLogGroup(s.Stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     retentionDays[cfg.LogRetentionDays],
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
}

// grantLogs lets role write to a log group. The log group's Arn attribute
// ends in ":*", so it also names the group's streams (PutLogEvents'
// resource type); a ":log-stream:*" appended to it would match nothing.
func grantLogs(role awsiam.Role, of string, logs awslogs.LogGroup) {
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("WriteOwnLogs" + of),
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: jsii.Strings(*logs.LogGroupArn()),
	}))
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
