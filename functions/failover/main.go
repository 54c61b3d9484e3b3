// Command failover is the Lambda function that handles EventBridge events:
// EC2 state changes, Spot and rebalance notices, alarms, AWS Health events
// and the scheduled reconcile.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/eni-failover/eni-failover/internal/config"
	"github.com/eni-failover/eni-failover/internal/handler"
	"github.com/eni-failover/eni-failover/internal/startup"
	"github.com/eni-failover/eni-failover/internal/wiring"
)

func main() {
	log := lambdacontext.NewLogger()
	deps, cfg, err := wiring.Build(os.Getenv, os.Stdout, log, "failover")
	if err != nil {
		log.Error("start-up failed", "error", err.Error())
		lambda.Start(startup.Failing(err))
		return
	}
	h := &handler.Failover{Deps: deps, HealthNotifyOnly: cfg.HealthAction == config.HealthNotify, MetricsNamespace: cfg.MetricsNamespace,
		StackAlarms: wiring.StackAlarms(deps, cfg)}
	lambda.Start(h.Handle)
}
