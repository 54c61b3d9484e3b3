// Command probe is the Lambda function that watches each group's license
// ports from inside the VPC, every few seconds, and returns a confirmed
// failure (or the license answering again) as its result, which its Lambda
// destination delivers to the failover function without leaving the VPC.
// It also writes the reachability metric of the backstop alarms. It links
// no AWS service client: it only connects to the license ports and logs.
package main

import (
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/eni-failover/eni-failover/internal/probe"
	"github.com/eni-failover/eni-failover/internal/probeconfig"
	"github.com/eni-failover/eni-failover/internal/startup"
)

func main() {
	log := lambdacontext.NewLogger()
	cfg, err := probeconfig.LoadConfig(os.Getenv)
	if err != nil {
		log.Error("start-up failed", "error", err.Error())
		lambda.Start(startup.Failing(err))
		return
	}
	h := &probe.Handler{
		Prober:     &probe.Prober{Ports: cfg.Ports, Answer: cfg.Answer, Checker: &probe.NetChecker{Timeout: cfg.Timeout}},
		Targets:    cfg.Targets,
		Witnesses:  cfg.Witnesses,
		Interval:   cfg.Interval,
		Watch:      cfg.Watch,
		StopBefore: cfg.Timeout + time.Second,
		Detector:   &probe.Detector{Confirmations: cfg.Confirmations},
		Metrics:    os.Stdout,
		Namespace:  cfg.MetricsNamespace,
		Log:        log,
	}
	lambda.Start(h.Handle)
}
