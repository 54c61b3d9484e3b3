// Command move is the Lambda function for operators (the actions of
// internal/moveapi), invoked synchronously.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/eni-failover/eni-failover/internal/awsenv"
	"github.com/eni-failover/eni-failover/internal/doctor/account"
	"github.com/eni-failover/eni-failover/internal/handler"
	"github.com/eni-failover/eni-failover/internal/startup"
	"github.com/eni-failover/eni-failover/internal/wiring"
)

func main() {
	log := lambdacontext.NewLogger()
	deps, cfg, err := wiring.Build(os.Getenv, os.Stdout, log, "move")
	if err != nil {
		log.Error("start-up failed", "error", err.Error())
		lambda.Start(startup.Failing(err))
		return
	}
	// The checkup's clients (EventBridge, CloudWatch, Lambda) are the move
	// function's alone; Build has read the same environment already.
	env, err := awsenv.Load(os.Getenv)
	if err != nil {
		log.Error("start-up failed", "error", err.Error())
		lambda.Start(startup.Failing(err))
		return
	}
	deps.Checkup = account.New(env, cfg, deps.Doctor)
	h := &handler.Move{Deps: deps, OutageWait: cfg.DrillOutageWait, DrillTime: cfg.DrillTime()}
	// The byte-level handler: the payload reaches strictjson whole.
	lambda.Start(h)
}
