// Package e2e runs the real bootstrap binaries under the Lambda Runtime
// Interface Emulator (aws-lambda-rie) against moto_server, through a strict
// EC2 proxy (internal/testkit/strictec2) that enforces what EC2 does and
// moto does not, with moto enforcing IAM: each function's calls carry the
// credentials of a user with exactly the actions its role is granted.
// .ci/run installs the emulator and starts moto_server; on a machine
// without them the tests skip with a message, and under CI (CI set) they
// fail instead.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eni-failover/eni-failover/internal/config"
	"github.com/eni-failover/eni-failover/internal/testkit/localproc"
	"github.com/eni-failover/eni-failover/internal/testkit/strictec2"
)

var (
	// license is the token server the probe watches (group mosek on
	// 127.0.0.1:probePort); a test kills and restarts it.
	license    *licenseDaemon
	probePort  int
	witnesses  string
	motoURL    string
	skipReason string
	functions  = map[string]*function{}
	strict     *strictec2.Proxy
)

// ec2Pace is EC2's pace in the strict proxy, shortened (EC2 takes seconds)
// so that the tier stays quick while every transition is still seen.
// ENI_FAILOVER_E2E_PACE=aws gives it EC2's own pace instead (a graceful
// detach in 3 s, a force detach or an attach in 2 s, as `make coldstart`
// does), for measurements.
var ec2Pace = strictec2.Timings{Detach: 800 * time.Millisecond, ForceDetach: 300 * time.Millisecond, Attach: 400 * time.Millisecond}

func init() {
	if os.Getenv("ENI_FAILOVER_E2E_PACE") == "aws" {
		ec2Pace = strictec2.Timings{Detach: 3 * time.Second, ForceDetach: 2 * time.Second, Attach: 2 * time.Second, RoundTrip: 20 * time.Millisecond}
	}
}

const (
	region   = "us-east-1"
	topicARN = "arn:aws:sns:us-east-1:123456789012:eni-failover-e2e"
)

func TestMain(m *testing.M) {
	os.Exit(setUp(m))
}

func setUp(m *testing.M) int {
	rie := localproc.FindTool("aws-lambda-rie")
	motoURL = os.Getenv("ENI_FAILOVER_MOTO_URL")
	var stopMoto func()
	switch {
	case rie == "":
		skipReason = "aws-lambda-rie not found: go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie (see .ci/run for the pinned version)"
	case motoURL == "":
		moto := localproc.FindTool("moto_server")
		if moto == "" {
			skipReason = "moto_server not found and ENI_FAILOVER_MOTO_URL not set: pip install 'moto[server]' (or run .ci/run)"
			break
		}
		var err error
		if motoURL, stopMoto, err = startMoto(moto); err != nil {
			skipReason = err.Error()
		}
	}
	if stopMoto != nil {
		defer stopMoto()
	}
	if skipReason == "" {
		var err error
		if strict, err = strictec2.New(motoURL, region, ec2Pace); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
		defer strict.Close()
		// Leave moto as found: serving without IAM checks.
		defer func() { _ = motoAuth("inf") }()
	}
	if skipReason == "" {
		dir, err := os.MkdirTemp("", "eni-failover-e2e-")
		if err != nil {
			skipReason = err.Error()
		} else {
			defer os.RemoveAll(dir)
			// The probe checks a listener of this test (group mosek), and
			// a second one as its witness.
			if license, err = startLicenseDaemon(); err != nil {
				fmt.Fprintln(os.Stderr, "e2e:", err)
				return 1
			}
			defer license.kill()
			probePort = license.port
			w, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				fmt.Fprintln(os.Stderr, "e2e:", err)
				return 1
			}
			defer w.Close()
			go localproc.AcceptAndClose(w)
			witnesses = w.Addr().String()
			for _, name := range []string{"failover", "move", "probe"} {
				f, err := startFunction(rie, dir, name)
				if err != nil {
					fmt.Fprintln(os.Stderr, "e2e:", err)
					return 1
				}
				defer f.stop()
				functions[name] = f
				// Lambda's view of it, for the doctor's reads and its
				// invocation of the failover function.
				timeout, _ := strconv.Atoi(timeoutOf(name))
				strict.SetFunction(stackName+"-"+name, strictec2.Function{URL: f.url, Timeout: timeout})
			}
		}
	}
	code := m.Run()
	if code != 0 {
		for name, f := range functions {
			fmt.Fprintf(os.Stderr, "--- %s function output (last 4 KB):\n%s\n", name, tail(f.out.String(), 4096))
		}
	}
	return code
}

// need skips (or, under CI, fails) a test when the emulators are missing.
func need(t *testing.T) {
	t.Helper()
	if skipReason == "" {
		return
	}
	if os.Getenv("CI") != "" || os.Getenv("ENI_FAILOVER_E2E") == "require" {
		t.Fatalf("end-to-end prerequisites missing: %s", skipReason)
	}
	t.Skipf("end-to-end tests skipped: %s", skipReason)
}

func startMoto(bin string) (string, func(), error) {
	port, err := localproc.FreePort()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("starting moto_server: %w", err)
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if err := localproc.WaitListening(addr, 30*time.Second); err != nil {
		stop()
		return "", nil, fmt.Errorf("moto_server: %w", err)
	}
	return "http://" + addr, stop, nil
}

// licenseDaemon stands for lmgrd: a loopback listener that accepts and
// closes, which kill stops (the port then refuses) and start reopens on
// the same port.
type licenseDaemon struct {
	port int
	mu   sync.Mutex
	l    net.Listener
}

func startLicenseDaemon() (*licenseDaemon, error) {
	d := &licenseDaemon{}
	return d, d.start()
}

func (d *licenseDaemon) start() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.l != nil {
		return nil
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", d.port))
	if err != nil {
		return fmt.Errorf("starting the stand-in license daemon: %w", err)
	}
	d.l, d.port = l, l.Addr().(*net.TCPAddr).Port
	go localproc.AcceptAndClose(l)
	return nil
}

func (d *licenseDaemon) kill() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.l != nil {
		d.l.Close()
		d.l = nil
	}
}

// function is one bootstrap binary served by its own emulator.
type function struct {
	name string
	url  string
	// base is the emulator's Lambda endpoint (the SDK's BaseEndpoint).
	base string
	cmd  *exec.Cmd
	out  *localproc.Buffer
}

func startFunction(rie, dir, name string) (*function, error) {
	bin := filepath.Join(dir, name, "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", bin, "./functions/"+name)
	build.Dir = repoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building %s: %v\n%s", name, err, out)
	}
	port, err := localproc.FreePort()
	if err != nil {
		return nil, err
	}
	apiPort, err := localproc.FreePort()
	if err != nil {
		return nil, err
	}
	f := &function{name: name, url: fmt.Sprintf("http://127.0.0.1:%d/2015-03-31/functions/function/invocations", port),
		base: fmt.Sprintf("http://127.0.0.1:%d", port), out: &localproc.Buffer{}}
	f.cmd = exec.Command(rie,
		"--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", port),
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", apiPort),
		bin)
	f.cmd.Dir = filepath.Dir(bin)
	f.cmd.Env = append(cleanEnv(),
		"AWS_ENDPOINT_URL="+strict.URL(), "AWS_REGION="+region, "AWS_ACCESS_KEY_ID="+functionKey(name), "AWS_SECRET_ACCESS_KEY="+placeholder,
		"AWS_LAMBDA_FUNCTION_TIMEOUT="+timeoutOf(name), "AWS_LAMBDA_LOG_FORMAT=JSON",
		"NOTIFY_TOPIC_ARN="+topicARN, "POLL_INTERVAL=50ms", "POLL_MAX=200ms",
		"ACTIVATION_COMMANDS=systemctl restart lmgrd\nss -ltn",
		// The probe watches 12 s per invocation, a round every 2 s (a 1 s
		// timeout: loopback answers at once, even on a busy machine).
		"PROBE_TARGETS=mosek=127.0.0.1", fmt.Sprintf("PROBE_PORTS=%d", probePort), "PROBE_TIMEOUT=1s",
		"PROBE_INTERVAL=2s", "PROBE_WATCH=12s", "PROBE_CONFIRMATIONS=3", "PROBE_WITNESSES="+witnesses,
		// What the doctor compares the account with, as the stack sets it
		// (each world deploys these rules and alarms in moto).
		"DOCTOR_RULES="+strings.Join(doctorRules(), ","), "ALARM_PREFIX="+stackName, "PROBED_GROUPS=mosek", "DOCTOR_PROBE_MINUTES=1",
		"DOCTOR_FUNCTIONS="+stackName+"-failover="+timeoutOf("failover")+"/0,"+stackName+"-move="+timeoutOf("move")+"/0",
		"FAILOVER_FUNCTION="+stackName+"-failover")
	f.cmd.Stdout, f.cmd.Stderr = f.out, f.out
	if err := f.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting aws-lambda-rie for %s: %w", name, err)
	}
	if err := localproc.WaitListening(fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second); err != nil {
		f.stop()
		return nil, fmt.Errorf("aws-lambda-rie for %s: %w", name, err)
	}
	return f, nil
}

// cleanEnv keeps PATH and HOME but no AWS settings of the caller's.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func (f *function) stop() {
	if f.cmd != nil && f.cmd.Process != nil {
		_ = f.cmd.Process.Kill()
		_ = f.cmd.Wait()
	}
}

// lambdaError is the emulator's body for a function error.
type lambdaError struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
}

// invoke posts a payload and returns the raw result, or the function error.
func (f *function) invoke(t *testing.T, payload []byte) ([]byte, *lambdaError) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(payload))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("invoking %s: %v", f.name, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var le lambdaError
	if json.Unmarshal(body, &le) == nil && le.Type != "" {
		return body, &le
	}
	return body, nil
}

func repoRoot() string {
	wd, _ := os.Getwd()
	for dir := wd; dir != "/"; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
	}
	return wd
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// timeoutOf is a function's timeout, as the stack sets it: the move
// function's fits a drill (config.DrillTime with the 60 s activation these
// functions run, and 15 s to report).
func timeoutOf(name string) string {
	if name == "move" {
		return strconv.Itoa(int((config.DrillTime(60*time.Second, 0) + 15*time.Second).Seconds()))
	}
	return "60"
}
