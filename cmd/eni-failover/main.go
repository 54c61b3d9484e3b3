// Command eni-failover is the operator's command line: it invokes the
// deployed move function (status, plan, move, failback, pause, resume,
// history, drill, doctor) and prints tables, or JSON with --json. Install it with
// go install github.com/eni-failover/eni-failover/cmd/eni-failover@latest.
package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/eni-failover/eni-failover/internal/cli"
)

func main() {
	os.Exit(cli.Run(context.Background(), os.Args[1:], resolve, os.Stdout, os.Stderr))
}

// resolve builds the Lambda client from the standard AWS configuration
// (profiles, SSO, environment) and finds the move function.
func resolve(ctx context.Context, f cli.Flags, mutating bool) (cli.Target, error) {
	var opts []func(*config.LoadOptions) error
	if f.Region != "" {
		opts = append(opts, config.WithRegion(f.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return cli.Target{}, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	// Through the function's URL, Lambda tells the function who signed;
	// a direct invocation (a function named, or an emulator) carries the
	// caller's claim only.
	name := cmp.Or(f.Function, os.Getenv("ENI_FAILOVER_FUNCTION"))
	url := cmp.Or(f.URL, os.Getenv("ENI_FAILOVER_URL"))
	if name == "" && f.Endpoint != "" {
		name = "function" // aws-lambda-rie serves one function by this name
	}
	if name == "" && url == "" {
		if name, url, err = fromStack(ctx, cfg, f.Stack); err != nil {
			return cli.Target{}, err
		}
	}
	if url != "" && name == "" {
		return cli.Target{Invoker: &cli.URLInvoker{URL: url, Region: cfg.Region, Credentials: cfg.Credentials}, Function: url}, nil
	}
	return cli.Target{Invoker: lambdaClient(cfg, f.Endpoint, mutating), Function: name, Operator: operator(ctx, cfg, f.Endpoint != "")}, nil
}

// lambdaClient is the Lambda client the command invokes with. A mutating
// action gets one attempt: a repeat is answered from the journal anyway
// (request_id), but a second run is never started by us, even when Lambda
// throttles the first.
func lambdaClient(cfg aws.Config, endpoint string, mutating bool) *lambda.Client {
	return lambda.NewFromConfig(cfg, func(o *lambda.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		if mutating {
			o.Retryer = aws.NopRetryer{}
		}
	})
}

// fromStack reads the stack's outputs: MoveFunctionUrl, which the command
// prefers, or MoveFunctionName (a stack older than the URL).
func fromStack(ctx context.Context, cfg aws.Config, stack string) (name, url string, err error) {
	out, err := cloudformation.NewFromConfig(cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	if err != nil {
		return "", "", fmt.Errorf("reading the outputs of stack %s: %w (%w)", stack, err, cli.ErrNoFunction)
	}
	for _, s := range out.Stacks {
		for _, o := range s.Outputs {
			switch aws.ToString(o.OutputKey) {
			case "MoveFunctionUrl":
				url = aws.ToString(o.OutputValue)
			case "MoveFunctionName":
				name = aws.ToString(o.OutputValue)
			}
		}
	}
	switch {
	case url != "":
		return "", url, nil
	case name != "":
		return name, "", nil
	}
	return "", "", fmt.Errorf("stack %s: %w", stack, cli.ErrNoFunction)
}

// operator names the caller for the journal: the IAM identity when AWS
// answers quickly, else the local user.
func operator(ctx context.Context, cfg aws.Config, local bool) string {
	if !local {
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		if id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil {
			return aws.ToString(id.Arn)
		}
	}
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name + "@" + host
}
