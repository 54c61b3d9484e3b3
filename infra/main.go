// Command infra is the CDK app (cdk.json runs it): the eni-failover stack,
// configured from the context key "eniFailover", checked by cdk-nag.
package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	if err := Build(app); err != nil {
		fmt.Fprintln(os.Stderr, "eni-failover:", err)
		os.Exit(1)
	}
	app.Synth(nil)
}

// Build adds the configured stack to app, with the AwsSolutions checks.
func Build(app awscdk.App) error {
	// cdk runs the app in the project directory, next to cdk.json.
	cdkJSON, err := os.ReadFile("cdk.json")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	raw, note, err := MergeOverCDKJSON(app.Node().TryGetContext(jsii.String(ContextKey)), cdkJSON)
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintln(os.Stderr, "eni-failover:", note)
	}
	cfg, err := ParseConfig(raw)
	if err != nil {
		return err
	}
	name := "EniFailover"
	if v, ok := app.Node().TryGetContext(jsii.String("stackName")).(string); ok && v != "" {
		name = v
	}
	NewEniFailoverStack(app, name, &EniFailoverStackProps{
		StackProps: awscdk.StackProps{
			Description: jsii.String("eni-failover: moves a license-bound ENI to a healthy standby"),
			Env:         env(),
		},
		Config: cfg,
	})
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return nil
}

// env pins the stack to the CLI's account and region when known, and stays
// environment-agnostic otherwise (so synth needs no credentials).
func env() *awscdk.Environment {
	account, region := os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION")
	if account == "" || region == "" {
		return nil
	}
	return &awscdk.Environment{Account: jsii.String(account), Region: jsii.String(region)}
}
