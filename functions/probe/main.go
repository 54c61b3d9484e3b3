// Command probe is the Lambda function that, on a schedule and inside the
// VPC, checks each group's license ports and publishes their reachability
// as a metric (embedded metric format) for the probe alarms. It links no
// AWS service client: it only connects to the license ports and logs.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/eni-failover/eni-failover/internal/probe"
	"github.com/eni-failover/eni-failover/internal/startup"
)

func main() {
	log := lambdacontext.NewLogger()
	cfg, err := probe.LoadConfig(os.Getenv)
	if err != nil {
		log.Error("start-up failed", "error", err.Error())
		lambda.Start(startup.Failing(err))
		return
	}
	h := &probe.Handler{
		Prober:    &probe.Prober{Ports: cfg.Ports, Timeout: cfg.Timeout},
		Targets:   cfg.Targets,
		Metrics:   os.Stdout,
		Namespace: cfg.MetricsNamespace,
		Log:       log,
	}
	lambda.Start(h.Handle)
}
