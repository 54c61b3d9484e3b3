// Command coldstart measures each function's cold start and memory as
// Lambda would see them: the bootstrap built for this machine runs under
// the Lambda Runtime Interface Emulator (aws-lambda-rie) against
// moto_server, a fresh emulator per run. It reports the emulator's init
// duration, the invocation's duration and the bootstrap's peak resident
// memory (VmHWM). Run it with `make coldstart`.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/eni-failover/eni-failover/events"
	"github.com/eni-failover/eni-failover/internal/report"
	"github.com/eni-failover/eni-failover/internal/testkit/localproc"
	"github.com/eni-failover/eni-failover/internal/testkit/strictec2"
)

const runs = 5

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

func run() error {
	rie, err := tool("aws-lambda-rie")
	if err != nil {
		return err
	}
	motoURL := os.Getenv("ENI_FAILOVER_MOTO_URL")
	if motoURL == "" {
		moto, err := tool("moto_server")
		if err != nil {
			return err
		}
		port, _ := localproc.FreePort()
		cmd := exec.Command(moto, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("starting moto_server: %w", err)
		}
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		motoURL = fmt.Sprintf("http://127.0.0.1:%d", port)
		if err := localproc.WaitListening(motoURL[len("http://"):], 30*time.Second); err != nil {
			return err
		}
	}
	dir, err := os.MkdirTemp("", "coldstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Printf("cold start under aws-lambda-rie against moto_server, %d runs each, bootstrap built for this machine\n", runs)
	fmt.Printf("  %-9s %-10s %12s %12s %14s\n", "function", "payload", "init ms", "invoke ms", "peak RSS MiB")
	for _, fn := range []struct{ name, payload string }{{"failover", "stopped"}, {"move", "status"}} {
		bin := filepath.Join(dir, fn.name, "bootstrap")
		build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", bin, "./functions/"+fn.name)
		if out, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s: %v\n%s", fn.name, err, out)
		}
		var inits, invokes, rss []float64
		for i := 0; i < runs; i++ {
			w, err := seed(motoURL)
			if err != nil {
				return err
			}
			payload := []byte(`{"action":"status"}`)
			if fn.payload == "stopped" {
				payload = events.MustSample("ec2-state-stopped.json", events.HolderPlaceholder, w.primary)
			}
			m, err := measure(rie, bin, motoURL, payload)
			if err != nil {
				return fmt.Errorf("%s run %d: %w", fn.name, i+1, err)
			}
			if fn.payload == "stopped" && !bytes.Contains(m.body, []byte(`"outcome":"moved"`)) {
				return fmt.Errorf("%s run %d did not move the ENI: %s", fn.name, i+1, m.body)
			}
			inits, invokes, rss = append(inits, m.initMS), append(invokes, m.invokeMS), append(rss, m.rssMiB)
		}
		fmt.Printf("  %-9s %-10s %12s %12s %14s\n", fn.name, fn.payload, stats(inits), stats(invokes), stats(rss))
	}
	fmt.Println("  (median [min-max]; init is the emulator's INIT REPORT; invoke includes moto's own latency)")
	return paced(rie, filepath.Join(dir, "failover", "bootstrap"), motoURL)
}

// pace is EC2's, given to moto by the strict proxy: a graceful detach in
// 3 s, a force detach or an attach in 2 s, 20 ms round trips.
var pace = strictec2.Timings{Detach: 3 * time.Second, ForceDetach: 2 * time.Second, Attach: 2 * time.Second, RoundTrip: 20 * time.Millisecond}

const pacedRuns = 9

// paced runs the failover bootstrap against moto behind the strict proxy,
// which gives EC2 its pace, and reports the move's overhead: the run's
// time until the ENI is in place, less EC2's own (the accepted detach and
// attach calls and the transitions they start).
func paced(rie, bin, motoURL string) error {
	proxy, err := strictec2.New(motoURL, "us-east-1", pace)
	if err != nil {
		return err
	}
	defer proxy.Close()
	fmt.Printf("\nfailover of a stopped holder against moto_server behind a proxy with EC2's pace (detach %s, force detach %s, attach %s, round trip %s), %d runs\n",
		pace.Detach, pace.ForceDetach, pace.Attach, pace.RoundTrip, pacedRuns)
	var overheads, totals []float64
	for i := 0; i < pacedRuns; i++ {
		w, err := seed(motoURL)
		if err != nil {
			return err
		}
		proxy.Reset()
		m, err := measure(rie, bin, proxy.URL(), events.MustSample("ec2-state-stopped.json", events.HolderPlaceholder, w.primary))
		if err != nil {
			return fmt.Errorf("paced run %d: %w", i+1, err)
		}
		var res struct {
			Reports []report.Report `json:"reports"`
		}
		if err := json.Unmarshal(m.body, &res); err != nil || len(res.Reports) != 1 || res.Reports[0].Outcome != report.Moved {
			return fmt.Errorf("paced run %d did not move the ENI: %s", i+1, m.body)
		}
		r := res.Reports[0]
		inPlace := float64(r.DurationMS - r.StepMS("history"))
		ec2Own := float64(r.StepMS("detach") + r.StepMS("force-detach") + r.StepMS("attach") + pace.Attach.Milliseconds())
		if r.StepMS("force-detach") > 0 || r.StepMS("detach") == 0 {
			ec2Own += float64(pace.ForceDetach.Milliseconds())
		} else {
			ec2Own += float64(pace.Detach.Milliseconds())
		}
		totals, overheads = append(totals, inPlace), append(overheads, inPlace-ec2Own)
	}
	fmt.Printf("  ENI in place after %s ms; overhead %s ms (median [min-max])\n", stats(totals), stats(overheads))
	return nil
}

type measurement struct {
	initMS, invokeMS, rssMiB float64
	body                     []byte
}

var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

func measure(rie, bin, motoURL string, payload []byte) (measurement, error) {
	var m measurement
	port, _ := localproc.FreePort()
	apiPort, _ := localproc.FreePort()
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", port),
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", apiPort), bin)
	cmd.Dir = filepath.Dir(bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "AWS_ENDPOINT_URL=" + motoURL, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128", "AWS_LAMBDA_LOG_FORMAT=JSON"}
	out := &localproc.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return m, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if err := localproc.WaitListening(fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second); err != nil {
		return m, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/2015-03-31/functions/function/invocations", port), bytes.NewReader(payload))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return m, err
	}
	m.body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	total := time.Since(start)
	if pid := findProcess(bin); pid > 0 {
		m.rssMiB = vmHWM(pid) / 1024
	}
	report, _ := out.WaitFor(5*time.Second, "INIT REPORT")
	match := initReport.FindStringSubmatch(report)
	if match == nil {
		return m, fmt.Errorf("no INIT REPORT in the emulator's output:\n%s", report)
	}
	m.initMS, _ = strconv.ParseFloat(match[1], 64)
	m.invokeMS = float64(total.Microseconds())/1000 - m.initMS
	return m, nil
}

// findProcess returns the pid running the given executable.
func findProcess(bin string) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == bin {
			return pid
		}
	}
	return 0
}

// vmHWM is a process's peak resident set in KiB.
func vmHWM(pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) >= 2 && fields[0] == "VmHWM:" {
			v, _ := strconv.ParseFloat(fields[1], 64)
			return v
		}
	}
	return 0
}

type world struct{ primary string }

// seed resets moto and creates a group: primary holding the ENI, a standby.
func seed(motoURL string) (world, error) {
	ctx := context.Background()
	req, _ := http.NewRequest(http.MethodPost, motoURL+"/moto-api/reset", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		return world{}, fmt.Errorf("resetting moto: %w", err)
	} else {
		resp.Body.Close()
	}
	c := ec2.New(ec2.Options{Region: "us-east-1", BaseEndpoint: aws.String(motoURL), Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", "")})
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		return world{}, err
	}
	sub, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.0.1.0/24"), AvailabilityZone: aws.String("us-east-1a")})
	if err != nil {
		return world{}, err
	}
	imgs, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{})
	if err != nil || len(imgs.Images) == 0 {
		return world{}, fmt.Errorf("moto images: %v", err)
	}
	var ids []string
	for prio := 1; prio <= 2; prio++ {
		out, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: imgs.Images[0].ImageId, MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: sub.Subnet.SubnetId,
			TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{
				{Key: aws.String("eni-failover:group"), Value: aws.String("mosek")}, {Key: aws.String("eni-failover:priority"), Value: aws.String(strconv.Itoa(prio))}}}}})
		if err != nil {
			return world{}, err
		}
		ids = append(ids, aws.ToString(out.Instances[0].InstanceId))
	}
	eni, err := c.CreateNetworkInterface(ctx, &ec2.CreateNetworkInterfaceInput{SubnetId: sub.Subnet.SubnetId,
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeNetworkInterface, Tags: []types.Tag{{Key: aws.String("eni-failover:group"), Value: aws.String("mosek")}}}}})
	if err != nil {
		return world{}, err
	}
	if _, err := c.AttachNetworkInterface(ctx, &ec2.AttachNetworkInterfaceInput{NetworkInterfaceId: eni.NetworkInterface.NetworkInterfaceId, InstanceId: aws.String(ids[0]), DeviceIndex: aws.Int32(1)}); err != nil {
		return world{}, err
	}
	if _, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: ids[:1]}); err != nil {
		return world{}, err
	}
	return world{primary: ids[0]}, nil
}

func stats(v []float64) string {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return fmt.Sprintf("%.1f [%.1f-%.1f]", s[len(s)/2], s[0], s[len(s)-1])
}

func tool(name string) (string, error) {
	if p := localproc.FindTool(name); p != "" {
		return p, nil
	}
	return "", fmt.Errorf("%s not found (.ci/run shows how to install it)", name)
}
