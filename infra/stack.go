package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
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
	// Fleet is the failover code deployed a second time, with reserved
	// concurrency 1, for the events EC2 itself shows (state changes, the
	// reconcile): its one sandbox sweeps the fleet while it works.
	Fleet awslambda.Function
	Move  awslambda.Function
	// MoveURL is the move function's URL, AWS_IAM auth: Lambda verifies
	// the caller's signature and hands the function who signed.
	MoveURL awslambda.FunctionUrl
	Topic   awssns.Topic
	Failed  awssqs.Queue
	Probe   awslambda.Function // nil unless the probe is configured
	ENIRef  *string            // the license ENI id, when created or imported
	// probed are the groups the probe watches (none without the probe).
	probed []string
}

// NewEniFailoverStack builds the stack. Props may be nil (all defaults).
// Each concern has its own file: notifications, the license ENI, the
// functions and their IAM, the event rules, the probe, alarms and
// dashboard, outputs.
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

	s.Topic = s.notifications(cfg)
	s.Failed = awssqs.NewQueue(stack, jsii.String("FailedEvents"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	if len(cfg.Admins) > 0 {
		// Receiving the failed events hides them; purging loses them.
		s.Failed.AddToResourcePolicy(adminsOnly("OnlyAdminsReadFailedEvents", cfg, s.Failed.QueueArn(), "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:PurgeQueue"))
	}
	cdknag.NagSuppressions_AddResourceSuppressions(s.Failed, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is itself the dead-letter destination of the failover function and its rules."),
	}}, jsii.Bool(true))

	lic := s.licenseENI(cfg)
	s.ENIRef = lic.ID
	if cfg.Probe != nil {
		s.probed, _ = probeTargets(cfg, lic)
	}
	// Two deployments of the failover code (docs/architecture.md, "Many
	// groups at once"). The fleet function takes what EC2 itself shows
	// (state changes, the reconcile) in one sandbox: its run sweeps the
	// fleet every second while it works, so a hundred holders stopping at
	// once are moved by one process sharing its reads, and the events
	// throttled meanwhile find nothing left to do. The failover function
	// takes what only an event says (the probe's findings, alarms, Spot,
	// Health), several at once: no finding waits for another group's
	// move. Failed events are retried twice, then land in the queue; an
	// event older than 15 minutes is stale (the reconcile has acted).
	async := func() *awslambda.EventInvokeConfigOptions {
		return &awslambda.EventInvokeConfigOptions{
			RetryAttempts: jsii.Number(2),
			MaxEventAge:   awscdk.Duration_Minutes(jsii.Number(15)),
			OnFailure:     awslambdadestinations.NewSqsDestination(s.Failed),
		}
	}
	docs := s.commandDocuments(cfg)
	var failoverRole awsiam.Role
	s.Failover, failoverRole = s.function(cfg, functionSpec{id: "Failover", name: "failover", reservedConcurrency: cfg.FailoverConcurrency, async: async(), documents: docs})
	s.Fleet, _ = s.function(cfg, functionSpec{id: "Fleet", name: "fleet", asset: "failover", role: failoverRole, reservedConcurrency: 1, async: async(), documents: docs})
	var moveRole awsiam.Role
	s.Move, moveRole = s.function(cfg, functionSpec{id: "Move", name: "move", timeoutSeconds: cfg.moveTimeoutSeconds(), documents: docs})
	s.MoveURL = s.Move.AddFunctionUrl(&awslambda.FunctionUrlOptions{AuthType: awslambda.FunctionUrlAuthType_AWS_IAM})

	s.statusAlarms(cfg)
	rules := s.rules(cfg)
	if cfg.Probe != nil {
		s.Probe = s.probe(cfg, lic, s.Failover)
	}
	s.doctor(cfg, moveRole, rules)
	failedMoves := s.observability(s.readiness(cfg))
	if cfg.FISDrills != nil {
		s.fisDrills(cfg, failedMoves, failoverRole)
	}
	s.movesQuery()
	s.outputs()
	return s
}
