// Command probe is the Lambda function that, on a schedule and inside the
// VPC, checks each group's license ports and publishes their reachability
// as a metric (embedded metric format) for the probe alarms.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/eni-failover/eni-failover/internal/config"
	"github.com/eni-failover/eni-failover/internal/handler"
	"github.com/eni-failover/eni-failover/internal/probe"
	"github.com/eni-failover/eni-failover/internal/wiring"
)

func main() {
	log := lambdacontext.NewLogger()
	cfg, err := config.LoadProbe(os.Getenv)
	if err != nil {
		log.Error("start-up failed", "error", err.Error())
		lambda.Start(wiring.Failing(err))
		return
	}
	h := &handler.Probe{
		Prober:    &probe.Prober{Ports: cfg.Ports, Timeout: cfg.Timeout},
		Targets:   cfg.Targets,
		Metrics:   os.Stdout,
		Namespace: cfg.MetricsNamespace,
		Log:       log,
	}
	lambda.Start(h.Handle)
}
