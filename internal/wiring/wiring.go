// Package wiring builds the handlers' dependencies from the environment:
// configuration, AWS clients (the SDK's environment variables, so
// AWS_REGION and AWS_ENDPOINT_URL point them at AWS, moto or a simulator),
// engine, metrics and notifications.
package wiring

import (
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/eni-failover/eni-failover/internal/awsenv"
	"github.com/eni-failover/eni-failover/internal/clock"
	"github.com/eni-failover/eni-failover/internal/config"
	"github.com/eni-failover/eni-failover/internal/doctor"
	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/eventparse"
	"github.com/eni-failover/eni-failover/internal/handler"
	"github.com/eni-failover/eni-failover/internal/metrics"
	"github.com/eni-failover/eni-failover/internal/notify"
	"github.com/eni-failover/eni-failover/internal/ssmcommand"
)

// Build reads the configuration and makes the clients and the engine.
func Build(getenv func(string) string, stdout io.Writer, log *slog.Logger, function string) (handler.Deps, config.Config, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return handler.Deps{}, cfg, err
	}
	env, err := awsenv.Load(getenv)
	if err != nil {
		return handler.Deps{}, cfg, err
	}
	ec2Client := newEC2(env)
	opts := cfg.EngineOptions()
	var ssmClient *ssm.Client
	// runner runs commands on a holder through SSM; nil without commands.
	runner := func(linux, windows []string, docs config.Documents, timeout time.Duration, purpose, setting string) *ssmcommand.Runner {
		if len(linux)+len(windows) == 0 && !docs.Any() {
			return nil
		}
		if ssmClient == nil {
			ssmClient = ssm.NewFromConfig(env.Config, func(o *ssm.Options) { o.BaseEndpoint = env.Endpoint("SSM") })
		}
		return &ssmcommand.Runner{SSM: ssmClient, Commands: linux, WindowsCommands: windows, OwnDocument: docs.Linux, OwnWindowsDocument: docs.Windows,
			Timeout: timeout, Purpose: purpose, Setting: setting}
	}
	// Assigned only when set: a nil *ssmcommand.Runner in the interface would not
	// be nil to the engine.
	if a := runner(cfg.ActivationCommands, cfg.WindowsActivationCommands, cfg.ActivationDocuments, cfg.ActivationTimeout, "", ""); a != nil {
		opts.Activator = a
	}
	if a := runner(cfg.DeepCheckCommands, cfg.WindowsDeepCheckCommands, cfg.DeepCheckDocuments, cfg.DeepCheckTimeout,
		"deep check of the token server on the license ENI holder", config.EnvDeepCheckCommands); a != nil {
		opts.DeepCheck = a
	}
	deps := handler.Deps{
		Engine:  engine.New(ec2Client, clock.Real{}, log, opts),
		Metrics: metrics.New(stdout, cfg.MetricsNamespace, function, nil),
		Log:     log,
	}
	if cfg.NotifyTopicARN != "" {
		snsClient := sns.NewFromConfig(env.Config, func(o *sns.Options) { o.BaseEndpoint = env.Endpoint("SNS") })
		deps.Notifier = &notify.Notifier{SNS: snsClient, TopicARN: cfg.NotifyTopicARN}
	}
	doc, err := buildDoctor(getenv, env, cfg, deps.Engine, ec2Client, function)
	if err != nil {
		return handler.Deps{}, cfg, err
	}
	deps.Doctor = doc
	return deps, cfg, nil
}

// buildDoctor is the doctor's part each function runs with its own role:
// the DryRuns and the readiness count (EC2, SSM). The move function adds
// the account's reads (internal/doctor/account).
func buildDoctor(getenv func(string) string, env awsenv.Env, cfg config.Config, eng *engine.Engine, ec2Client *ec2.Client, function string) (*doctor.Doctor, error) {
	deployed, err := config.LoadDoctor(getenv)
	if err != nil {
		return nil, err
	}
	d := &doctor.Doctor{Engine: eng, EC2: ec2Client, Role: doctor.FailoverRole, Deployed: deployed,
		Platforms: doctor.Platforms{
			Linux:   len(cfg.ActivationCommands)+len(cfg.DeepCheckCommands) > 0 || cfg.ActivationDocuments.Linux != "" || cfg.DeepCheckDocuments.Linux != "",
			Windows: len(cfg.WindowsActivationCommands)+len(cfg.WindowsDeepCheckCommands) > 0 || cfg.ActivationDocuments.Windows != "" || cfg.DeepCheckDocuments.Windows != "",
		}}
	if d.Platforms.Needed() {
		d.Agents = ssm.NewFromConfig(env.Config, func(o *ssm.Options) { o.BaseEndpoint = env.Endpoint("SSM") })
	}
	if function == "move" {
		d.Role = doctor.MoveRole
	}
	return d, nil
}

// newEC2 is the EC2 client of the engine. It makes one attempt per call:
// the engine retries throttling and 5xx itself, bounded by the
// invocation's deadline, so the SDK's retryer would only multiply its
// attempts (3 x 8 requests for one call) and sleep past the deadline.
func newEC2(env awsenv.Env) *ec2.Client {
	return ec2.NewFromConfig(env.Config, func(o *ec2.Options) {
		o.BaseEndpoint = env.Endpoint("EC2")
		o.Retryer = aws.NopRetryer{}
	})
}

// StackAlarms are the alarms the failover code acts on, by exact name,
// when the stack says which (ALARM_PREFIX); nil acts on any alarm the
// rule brings.
func StackAlarms(deps handler.Deps, cfg config.Config) *eventparse.StackAlarms {
	if deps.Doctor == nil || deps.Doctor.Deployed.AlarmPrefix == "" {
		return nil
	}
	return &eventparse.StackAlarms{Prefix: deps.Doctor.Deployed.AlarmPrefix, Instances: cfg.InstanceIDs, Groups: deps.Doctor.Deployed.ProbeGroups}
}
