package strictec2

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/eni-failover/eni-failover/internal/testkit/eventpattern"
)

// The calls the doctor makes that moto answers wrongly or not at all,
// answered here as AWS documents them: SSM's DescribeInstanceInformation
// (moto has none), EventBridge's TestEventPattern (moto answers nothing),
// and Lambda's function reads and Invoke for the functions this tier runs
// under aws-lambda-rie. moto still checks IAM first: the call goes to moto,
// and only when moto does not refuse it (401, 403) is it answered here.

// Function is a function this tier runs: where to invoke it, and its
// settings as Lambda reports them.
type Function struct {
	URL               string // the emulator's invocations URL
	Timeout, Reserved int
}

// SetFunction registers a function by name.
func (p *Proxy) SetFunction(name string, f Function) {
	p.mu.Lock()
	p.functions[name] = f
	p.mu.Unlock()
}

// SetAgent sets an instance's SSM agent ping status ("Online",
// "ConnectionLost", "Inactive"); "Unregistered" leaves it out of SSM's
// list; "" returns to the default (Online while running, ConnectionLost
// otherwise).
func (p *Proxy) SetAgent(instanceID, status string) {
	p.mu.Lock()
	if status == "" {
		delete(p.agents, instanceID)
	} else {
		p.agents[instanceID] = status
	}
	p.mu.Unlock()
}

var lambdaPath = regexp.MustCompile(`^/(2015-03-31|2019-09-30)/functions/([^/]+)/(invocations|configuration|concurrency)$`)

// emulated reports whether the request is one the proxy answers itself.
func (p *Proxy) emulated(r *http.Request, service string) bool {
	target := r.Header.Get("X-Amz-Target")
	switch service {
	case "ssm":
		return target == "AmazonSSM.DescribeInstanceInformation"
	case "events":
		return target == "AWSEvents.TestEventPattern"
	case "lambda":
		m := lambdaPath.FindStringSubmatch(r.URL.Path)
		if m == nil {
			return false
		}
		p.mu.Lock()
		_, ok := p.functions[m[2]]
		p.mu.Unlock()
		return ok
	}
	return false
}

// emulate answers an emulated call once moto's IAM check passed. moto
// cannot check a Lambda GET: it refuses the SDK's own signature of one
// (SignatureDoesNotMatch, signed straight to moto too), so the function
// reads are answered without it; the infra tests hold those grants
// against the Service Authorization Reference.
func (p *Proxy) emulate(w http.ResponseWriter, r *http.Request, body []byte, key, service string) {
	if service == "lambda" && r.Method == http.MethodGet {
		p.lambda(w, r, body)
		return
	}
	status, header, out, err := p.forward(r, body, key, service)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		for k, vs := range header {
			if !strings.EqualFold(k, "Content-Length") {
				w.Header()[k] = vs
			}
		}
		w.WriteHeader(status)
		_, _ = w.Write(out)
		return
	}
	var res any
	switch service {
	case "ssm":
		res, err = p.instanceInformation(r.Context(), body)
	case "events":
		res, err = testEventPattern(body)
	case "lambda":
		p.lambda(w, r, body)
		return
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"__type": "ValidationException", "message": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// instanceInformation answers DescribeInstanceInformation for the
// instances its InstanceIds filter names, from moto's EC2.
func (p *Proxy) instanceInformation(ctx context.Context, body []byte) (any, error) {
	var in struct {
		Filters []struct {
			Key    string
			Values []string
		}
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	var ids []string
	for _, f := range in.Filters {
		if f.Key != "InstanceIds" {
			return nil, fmt.Errorf("filter key %s is not emulated here", f.Key)
		}
		ids = append(ids, f.Values...)
	}
	insts, err := p.adminEC2().DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids})
	if err != nil {
		return nil, err
	}
	list := []map[string]any{}
	for _, res := range insts.Reservations {
		for _, i := range res.Instances {
			id := aws.ToString(i.InstanceId)
			p.mu.Lock()
			status, set := p.agents[id]
			p.mu.Unlock()
			switch {
			case status == "Unregistered" || i.State.Name == types.InstanceStateNameTerminated:
				continue
			case !set && i.State.Name == types.InstanceStateNameRunning:
				status = "Online"
			case !set:
				status = "ConnectionLost"
			}
			platform := "Linux"
			if i.Platform == types.PlatformValuesWindows {
				platform = "Windows"
			}
			list = append(list, map[string]any{"InstanceId": id, "PingStatus": status, "PlatformType": platform, "AgentVersion": "3.3.1000.0",
				"LastPingDateTime": float64(time.Now().Add(-time.Minute).Unix()), "ResourceType": "EC2Instance"})
		}
	}
	return map[string]any{"InstanceInformationList": list}, nil
}

// testEventPattern answers TestEventPattern; like EventBridge it wants the
// event's envelope fields.
func testEventPattern(body []byte) (any, error) {
	var in struct{ Event, EventPattern string }
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	var event map[string]any
	if err := json.Unmarshal([]byte(in.Event), &event); err != nil {
		return nil, fmt.Errorf("event is not valid JSON: %v", err)
	}
	for _, f := range []string{"id", "account", "source", "time", "region", "resources", "detail-type"} {
		if _, ok := event[f]; !ok {
			return nil, fmt.Errorf("parameter Event is not valid: %s is required", f)
		}
	}
	hit, err := eventpattern.Match([]byte(in.EventPattern), []byte(in.Event))
	if err != nil {
		return nil, fmt.Errorf("event pattern is not valid: %v", err)
	}
	return map[string]bool{"Result": hit}, nil
}

// lambda answers a registered function's configuration and concurrency,
// and carries its invocations to its emulator.
func (p *Proxy) lambda(w http.ResponseWriter, r *http.Request, body []byte) {
	m := lambdaPath.FindStringSubmatch(r.URL.Path)
	p.mu.Lock()
	f := p.functions[m[2]]
	p.mu.Unlock()
	switch m[3] {
	case "configuration":
		writeJSON(w, http.StatusOK, map[string]any{"FunctionName": m[2], "Timeout": f.Timeout, "Runtime": "provided.al2023"})
	case "concurrency":
		out := map[string]any{}
		if f.Reserved > 0 {
			out["ReservedConcurrentExecutions"] = f.Reserved
		}
		writeJSON(w, http.StatusOK, out)
	case "invocations":
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, f.URL, bytes.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		var fe struct {
			Type string `json:"errorType"`
		}
		if json.Unmarshal(out, &fe) == nil && fe.Type != "" {
			// The emulator puts a function's error in the body only.
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
		}
		w.Header().Set("X-Amz-Executed-Version", "$LATEST")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(out)
	}
}
