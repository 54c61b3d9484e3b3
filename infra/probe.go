package main

import (
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/eni-failover/eni-failover/internal/config"
	"github.com/eni-failover/eni-failover/internal/emf"
	"github.com/eni-failover/eni-failover/internal/eventparse"
	"github.com/eni-failover/eni-failover/internal/findings"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/probeconfig"
)

// probe runs the license-port probe in the VPC on a schedule, with one
// alarm per group: N failed checks out of M move the group's ENI. lic is
// the created license ENI, whose address and security group it uses.
func (s *EniFailoverStack) probe(cfg Config, lic createdENI, failover awslambda.IFunction) awslambda.Function {
	groups, targets := probeTargets(cfg, lic)
	sgID := s.probeSecurityGroup(cfg.Probe, groups, targets, lic)
	id := s.probeRole(cfg)
	bus := s.findingsBus(id.role)
	var pairs []*string
	for i, g := range groups {
		if i > 0 {
			pairs = append(pairs, jsii.String(","))
		}
		pairs = append(pairs, jsii.String(g+"="), targets[g])
	}
	fn := s.probeFunction(cfg, id, sgID, probeEnv(cfg.Probe, awscdk.Fn_Join(jsii.String(""), &pairs)), bus)
	s.probeRules(cfg.Probe, fn, bus, failover)
	s.probeAlarms(cfg.Probe, groups)
	return fn
}

// probeTargets are the license addresses by group (a created ENI's among
// them), and the groups in order.
func probeTargets(cfg Config, lic createdENI) ([]string, map[string]*string) {
	targets := map[string]*string{}
	for g, ip := range cfg.Probe.Targets {
		targets[g] = jsii.String(ip)
	}
	if lic.IP != nil {
		targets[cfg.LicenseENI.Create.Group] = lic.IP
	}
	groups := make([]string, 0, len(targets))
	for g := range targets {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	return groups, targets
}

// probeSecurityGroup is the configured one, or one that reaches the
// license ports and the witnesses only; a created license ENI lets it in.
func (s *EniFailoverStack) probeSecurityGroup(p *Probe, groups []string, targets map[string]*string, lic createdENI) *string {
	sgID := jsii.String(p.SecurityGroupID)
	if p.SecurityGroupID == "" {
		var egress []interface{}
		for _, w := range p.Witnesses {
			// Security groups do not filter traffic to the Amazon DNS server
			// (VPC User Guide, "Security group rules": "Amazon DNS server"
			// among the traffic they never filter).
			if w == probeconfig.DefaultWitness {
				continue
			}
			ip, port, _ := probeconfig.ParseWitness(w) // validated with the configuration
			egress = append(egress, &awsec2.CfnSecurityGroup_EgressProperty{
				IpProtocol: jsii.String("tcp"), FromPort: jsii.Number(port), ToPort: jsii.Number(port),
				CidrIp: jsii.String(ip.String() + "/32"), Description: jsii.String("probe witness " + w),
			})
		}
		for _, g := range groups {
			for _, port := range p.Ports {
				egress = append(egress, &awsec2.CfnSecurityGroup_EgressProperty{
					IpProtocol: jsii.String("tcp"), FromPort: jsii.Number(port), ToPort: jsii.Number(port),
					CidrIp:      awscdk.Fn_Join(jsii.String(""), &[]*string{targets[g], jsii.String("/32")}),
					Description: jsii.String(fmt.Sprintf("license port %d of group %s", port, model.SafeName(g))),
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
	if lic.SG != nil {
		for _, port := range p.Ports {
			awsec2.NewCfnSecurityGroupIngress(s.Stack, jsii.String(fmt.Sprintf("LicenseFromProbe%d", port)), &awsec2.CfnSecurityGroupIngressProps{
				GroupId: lic.SG.AttrGroupId(), IpProtocol: jsii.String("tcp"), FromPort: jsii.Number(port), ToPort: jsii.Number(port),
				SourceSecurityGroupId: sgID, Description: jsii.String(fmt.Sprintf("eni-failover probe to port %d", port)),
			})
		}
	}
	return sgID
}

// probeRole may run the probe in the VPC, and never touch a license ENI.
func (s *EniFailoverStack) probeRole(cfg Config) probeIdentity {
	logs, role := s.logsAndRole(cfg, "Probe", "probe")
	// What Lambda needs to place a function in a VPC (the managed policy
	// AWSLambdaVPCAccessExecutionRole, written out).
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("RunInVPC"),
		Actions: jsii.Strings("ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
			"ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"),
		Resources: jsii.Strings("*"),
	}))
	// Those permissions are on "*" because Lambda names its interfaces; they
	// must not reach the license ENI, which an unattached moment would
	// otherwise leave deletable, and with it the licensed MAC.
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("NeverTouchLicenseENIs"),
		Effect:     awsiam.Effect_DENY,
		Actions:    jsii.Strings("ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]interface{}{"Null": map[string]interface{}{"ec2:ResourceTag/" + model.NewTags(cfg.TagPrefix).Group(): "false"}},
	}))
	return probeIdentity{logs: logs, role: role}
}

// probeIdentity is the probe function's log group and role.
type probeIdentity struct {
	logs awslogs.LogGroup
	role awsiam.Role
}

// probeEnv is the probe function's configuration (probeconfig); targets
// is PROBE_TARGETS, "group=ip,...".
func probeEnv(p *Probe, targets *string) map[string]*string {
	ports := make([]string, len(p.Ports))
	for i, port := range p.Ports {
		ports[i] = fmt.Sprint(port)
	}
	witnesses := strings.Join(p.Witnesses, ",")
	if witnesses == "" {
		witnesses = "none"
	}
	return map[string]*string{
		probeconfig.EnvTargets:       targets,
		probeconfig.EnvPorts:         jsii.String(strings.Join(ports, ",")),
		probeconfig.EnvTimeout:       jsii.String(fmt.Sprintf("%dms", p.TimeoutMillis)),
		probeconfig.EnvInterval:      jsii.String(fmt.Sprintf("%ds", p.IntervalSeconds)),
		probeconfig.EnvWatch:         jsii.String(p.watch().String()),
		probeconfig.EnvConfirmations: jsii.String(fmt.Sprint(p.Confirmations)),
		probeconfig.EnvWitnesses:     jsii.String(witnesses),
		probeconfig.EnvCheck:         jsii.String(p.Check),
		emf.EnvNamespace:             jsii.String(emf.DefaultNamespace),
	}
}

// watch is how long one probe invocation watches: the schedule's period.
func (p *Probe) watch() time.Duration { return time.Duration(p.ScheduleMinutes) * time.Minute }

// findingsBus carries the probe's findings, and nobody else's events. On
// the default bus any principal of the account allowed events:PutEvents
// could send a record naming the probe (only the "aws." sources are
// reserved: EventBridge PutEvents), and so move the license off a healthy
// holder or write a false outage into the history. This bus's policy
// denies PutEvents to every principal but the probe's role, which Lambda's
// on-success destination uses; an explicit deny in a resource policy
// holds against a same-account principal whatever its own policies allow.
func (s *EniFailoverStack) findingsBus(probeRole awsiam.IRole) awsevents.EventBus {
	bus := awsevents.NewEventBus(s.Stack, jsii.String("ProbeFindingsBus"), &awsevents.EventBusProps{
		EventBusName: jsii.String(*awscdk.Aws_STACK_NAME() + "-probe-findings"),
		Description:  jsii.String("eni-failover: the license-port probe's findings, from the probe alone"),
	})
	bus.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("OnlyTheProbePutsFindings"),
		Effect:     awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("events:PutEvents"),
		Resources:  jsii.Strings(*bus.EventBusArn()),
		Conditions: &map[string]interface{}{"ArnNotEquals": map[string]interface{}{"aws:PrincipalArn": probeRole.RoleArn()}},
	}))
	return bus
}

// probeFunction is the probe in the VPC's subnets, one watch at a time.
func (s *EniFailoverStack) probeFunction(cfg Config, id probeIdentity, sgID *string, env map[string]*string, bus awsevents.IEventBus) awslambda.Function {
	watch := cfg.Probe.watch()
	fn := awslambda.NewFunction(s.Stack, jsii.String("Probe"), &awslambda.FunctionProps{
		FunctionName: jsii.String(*awscdk.Aws_STACK_NAME() + "-probe"),
		Description:  jsii.String("eni-failover: license-port probe"),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(filepath.Join(cfg.AssetDir, "probe")), nil),
		MemorySize:   jsii.Number(128),
		// It watches for the schedule's period; the rest is margin.
		Timeout:       awscdk.Duration_Seconds(jsii.Number(watch.Seconds() + probeTimeoutMargin.Seconds())),
		Role:          id.role,
		LogGroup:      id.logs,
		LoggingFormat: awslambda.LoggingFormat_JSON,
		Environment:   &env,
		// One watch at a time: the next scheduled invocation waits in
		// Lambda's queue until the current one ends, so two never check
		// and trigger side by side.
		ReservedConcurrentExecutions: jsii.Number(1),
		// A watch not started within two periods is stale: a newer one
		// is queued. A failed one is not retried (the next follows).
		RetryAttempts: jsii.Number(0),
		MaxEventAge:   awscdk.Duration_Seconds(jsii.Number(max(60, 2*watch.Seconds()))),
		// Its findings leave through the Lambda service, not the VPC (the
		// subnets need no internet and no endpoints), to a bus only the
		// probe may put on.
		OnSuccess: awslambdadestinations.NewEventBridgeDestination(bus),
	})
	cfnFn := fn.Node().DefaultChild().(awslambda.CfnFunction)
	cfnFn.SetVpcConfig(&awslambda.CfnFunction_VpcConfigProperty{SubnetIds: jsii.Strings(cfg.Probe.SubnetIDs...), SecurityGroupIds: &[]*string{sgID}})
	s.dependOnPolicyOnly(fn, id.role)
	cdknag.NagSuppressions_AddResourceSuppressions(id.role, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("Lambda's VPC network interfaces are created by the service under names unknown in advance; log-stream names are chosen by Lambda."),
	}}, jsii.Bool(true))
	return fn
}

// probeRules start the probe on its schedule and pass its findings on.
func (s *EniFailoverStack) probeRules(p *Probe, fn awslambda.Function, bus awsevents.IEventBus, failover awslambda.IFunction) {
	awsevents.NewRule(s.Stack, jsii.String("ProbeSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Check the license ports of every group"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(p.ScheduleMinutes))),
		Targets:     &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{RetryAttempts: jsii.Number(0)})},
	})
	// Findings go to the failover function (the whole event: it reads the
	// record) and back to the probe (the findings alone), which watches on
	// at once rather than waiting for the next period.
	fnArn := fn.FunctionArn()
	names := []interface{}{findings.FindingFailure, findings.FindingRestored}
	awsevents.NewRule(s.Stack, jsii.String("ProbeFindings"), &awsevents.RuleProps{
		Description: jsii.String("The probe's confirmed failures and restorations: fail over, confirm, watch on"),
		EventBus:    bus,
		EventPattern: &awsevents.EventPattern{
			Source: jsii.Strings(eventparse.SourceLambda), DetailType: jsii.Strings(eventparse.DetailInvocationSuccess),
			Detail: &map[string]interface{}{
				// The record names the function qualified ($LATEST).
				"requestContext":  map[string]interface{}{"functionArn": []interface{}{fnArn, map[string]interface{}{"prefix": awscdk.Fn_Join(jsii.String(""), &[]*string{fnArn, jsii.String(":")})}}},
				"responsePayload": map[string]interface{}{"kind": []string{findings.FindingsKind}, "findings": names},
			},
		},
		Targets: &[]awsevents.IRuleTarget{
			awseventstargets.NewLambdaFunction(failover, &awseventstargets.LambdaFunctionProps{
				DeadLetterQueue: s.Failed, RetryAttempts: jsii.Number(4), MaxEventAge: awscdk.Duration_Minutes(jsii.Number(15)),
			}),
			awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
				Event:         awsevents.RuleTargetInput_FromEventPath(jsii.String("$.detail.responsePayload")),
				RetryAttempts: jsii.Number(2), MaxEventAge: awscdk.Duration_Minutes(jsii.Number(2)),
			}),
		},
	})
}

// probeAlarms are one backstop alarm per group, on the share of the
// probe's rounds that passed.
func (s *EniFailoverStack) probeAlarms(p *Probe, groups []string) {
	for _, g := range groups {
		// The id comes from the group, so adding or removing a group never
		// renames another group's alarm (CloudFormation would replace it).
		a := awscloudwatch.NewAlarm(s.Stack, jsii.String(probeAlarmID(g)), &awscloudwatch.AlarmProps{
			AlarmName:        jsii.String(*awscdk.Aws_STACK_NAME() + probeAlarmInfix + model.SafeName(g)),
			AlarmDescription: jsii.String("License ports of group " + g + " do not answer: in ALARM, the group's license ENI leaves its holder"),
			Metric: awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
				Namespace: jsii.String(emf.DefaultNamespace), MetricName: jsii.String(findings.MetricReachable),
				DimensionsMap: &map[string]*string{"Group": jsii.String(model.SafeName(g))},
				// The share of rounds that passed: a planned move's few
				// failed rounds keep it above one half, a dead lmgrd
				// takes it to 0. The probe's own finding is the fast path.
				Statistic: jsii.String("Average"), Period: awscdk.Duration_Minutes(jsii.Number(p.ScheduleMinutes)),
			}),
			Threshold:          jsii.Number(0.5),
			ComparisonOperator: awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD,
			EvaluationPeriods:  jsii.Number(p.EvaluationPeriods),
			DatapointsToAlarm:  jsii.Number(p.DatapointsToAlarm),
			// The probe not running is not the token server failing.
			TreatMissingData: awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(awscloudwatchactions.NewSnsAction(s.Topic))
	}
}

// probeTimeoutMargin is the probe function's timeout beyond its watch.
const probeTimeoutMargin = 15 * time.Second

// probeAlarmInfix follows the stack name in a probe alarm's name. It
// differs from the "-probe-" of the numbered alarms of earlier versions, so
// that the upgrade creates the new alarms before it deletes the old ones
// without a clash of names. The alarm rule matches "-probe-".
const probeAlarmInfix = config.ProbeAlarmInfix

// probeAlarmID is a stable construct id for a group's probe alarm: the
// group name's letters and digits, and a hash of the whole name so that
// names differing only in other characters stay apart.
func probeAlarmID(group string) string {
	var b strings.Builder
	for _, r := range group {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
		}
	}
	sum := sha256.Sum256([]byte(group))
	return fmt.Sprintf("ProbeAlarm%s%x", b.String(), sum[:4])
}
