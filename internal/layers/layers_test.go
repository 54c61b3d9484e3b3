package layers_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/eni-failover/eni-failover/"

// rules: each binary (or package) and what it must not link, directly or
// through anything it imports.
var rules = []struct {
	pkg    string
	forbid []string
	why    string
}{
	{"cmd/eni-failover", []string{
		module + "internal/engine", module + "internal/discovery", module + "internal/handler",
		module + "internal/probe", "github.com/aws/aws-sdk-go-v2/service/ec2",
	}, "the command line reads the move function's contract (moveapi, report) and calls Lambda, nothing more"},
	{"functions/failover", []string{module + "internal/probe"}, "the failover function reads the probe's findings, not its checker"},
	{"functions/failover", []string{module + "internal/doctor/account", "github.com/aws/aws-sdk-go-v2/service/eventbridge",
		"github.com/aws/aws-sdk-go-v2/service/cloudwatch", "github.com/aws/aws-sdk-go-v2/service/lambda"},
		"the checkup's clients are the move function's: the failover bootstrap stays small (docs/benchmarks.md)"},
	{"functions/move", []string{module + "internal/probe"}, "the move function has no use for the probe's checker"},
	{"infra", []string{module + "internal/probe"}, "the CDK app writes the probe's configuration from probeconfig"},
	{"functions/probe", []string{
		module + "internal/engine", module + "internal/discovery", "github.com/aws/aws-sdk-go-v2/service/ec2",
	}, "the probe runs in the VPC with no EC2 rights; it only reports"},
	{"internal/moveapi", []string{"github.com/aws/aws-sdk-go-v2", module + "internal/engine"}, "the contract links no SDK"},
	{"internal/report", []string{"github.com/aws/aws-sdk-go-v2", module + "internal/engine"}, "the contract links no SDK"},
	{"internal/findings", []string{"github.com/aws/aws-sdk-go-v2", "net"}, "the contract links no network code"},
}

func TestWhatEachBinaryLinks(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command: %v", err)
	}
	for _, r := range rules {
		out, err := exec.Command(goTool, "list", "-deps", "../../"+r.pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", r.pkg, err)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 5 {
			t.Fatalf("go list -deps %s listed only %v", r.pkg, deps)
		}
		for _, dep := range deps {
			for _, f := range r.forbid {
				if dep == f || strings.HasPrefix(dep, f+"/") {
					t.Errorf("%s links %s: %s", r.pkg, dep, r.why)
				}
			}
		}
	}
}
