package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"
)

// fullContext exercises every optional resource: instance alarms, e-mail,
// a created license ENI with an Elastic IP, starting standbys.
func fullContext() map[string]any {
	return map[string]any{
		"instanceIds":       []any{"i-0123456789abcdef0", "i-0bbbbbbbbbbbbbbb2"},
		"notifyEmail":       "license-admins@example.com",
		"admins":            []any{"arn:aws:iam::123456789012:role/LicenseAdmin"},
		"allowStartStopped": true,
		"licenseEni": map[string]any{"create": map[string]any{
			"group": "mosek", "vpcId": "vpc-0123456789abcdef0", "subnetId": "subnet-0123456789abcdef0",
			"elasticIp": true, "allowedCidrs": []any{"10.0.0.0/16", "192.168.10.0/24"},
		}},
		"activationCommands": []any{"systemctl restart lmgrd", "sleep 3; ss -ltn | grep -q ':27007 '"},
		"fisDrills":          map[string]any{},
		"probe": map[string]any{
			"vpcId": "vpc-0123456789abcdef0", "subnetIds": []any{"subnet-0123456789abcdef0", "subnet-0123456789abcdef1"},
			"targets": map[string]any{"matlab": "10.0.2.40"},
		},
	}
}

func TestNoUnsuppressedNagFindings(t *testing.T) {
	for name, ctx := range map[string]map[string]any{"defaults": nil, "everything": fullContext(),
		"imported ENI":                    {"licenseEni": map[string]any{"importId": "eni-0f1e2d3c4b5a69788"}},
		"drills without pinned instances": {"fisDrills": map[string]any{"group": "mosek"}}} {
		t.Run(name, func(t *testing.T) {
			s := synth(t, ctx)
			ann := assertions.Annotations_FromStack(s.stack)
			match := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
			var findings []string
			for _, m := range append(*ann.FindError(jsii.String("*"), match), *ann.FindWarning(jsii.String("*"), match)...) {
				//lint:ignore SA1019 FindError and FindWarning return this type; the Go binding offers no other.
				findings = append(findings, *m.Id+": "+strings.SplitN(m.Entry.Data.(string), "\n", 2)[0])
			}
			if len(findings) > 0 {
				t.Fatalf("%d cdk-nag findings:\n%s", len(findings), strings.Join(findings, "\n"))
			}
		})
	}
}

// TestCfnLint runs cfn-lint over the synthesized templates: no errors and
// no warnings. It needs cfn-lint (on the CI image); without it the test
// skips, and under CI it fails.
func TestCfnLint(t *testing.T) {
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("cfn-lint is not installed")
		}
		t.Skip("cfn-lint not installed (pip install cfn-lint)")
	}
	for name, ctx := range map[string]map[string]any{"defaults": nil, "everything": fullContext()} {
		t.Run(name, func(t *testing.T) {
			s := synth(t, ctx)
			tmpl := filepath.Join(s.dir, "EniFailover.template.json")
			out, err := exec.Command(lint, "--config-file", filepath.Join("..", ".cfnlintrc.yaml"), "--", tmpl).CombinedOutput()
			if err != nil {
				t.Fatalf("cfn-lint: %v\n%s", err, out)
			}
		})
	}
}

// TestNagCatchesAViolation proves the checks run: a queue without SSL and
// dead-letter queue added to the stack must be reported.
func TestNagCatchesAViolation(t *testing.T) {
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir()), Context: &map[string]interface{}{ContextKey: map[string]any{"assetDir": fakeAssets(t)}}})
	if err := Build(app); err != nil {
		t.Fatal(err)
	}
	stack := app.Node().FindChild(jsii.String("EniFailover")).(awscdk.Stack)
	awssqs.NewQueue(stack, jsii.String("Careless"), &awssqs.QueueProps{})
	app.Synth(nil)
	ann := assertions.Annotations_FromStack(stack)
	found := ann.FindError(jsii.String("/EniFailover/Careless/Resource"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-SQS4.*")))
	if len(*found) == 0 {
		t.Fatal("cdk-nag did not report a queue without SSL: the checks are not running")
	}
}
