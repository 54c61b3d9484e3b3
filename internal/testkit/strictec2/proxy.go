// Package strictec2 is an HTTP proxy in front of moto_server that enforces
// what EC2 enforces and moto does not, so that the end-to-end tier stands
// for AWS rather than for a lenient emulator:
//
//   - one attachment per network interface: attaching one that is in use
//     (or still detaching) fails with InvalidNetworkInterface.InUse;
//   - attaching only within the interface's Availability Zone
//     (InvalidParameterCombination), to a running or stopped instance
//     (IncorrectInstanceState), at a device index the instance does not
//     use yet (InvalidParameterValue) ("Attach a network interface to an
//     instance", Amazon EC2 User Guide: same AZ; device index free);
//   - the primary interface (device index 0) is never detached
//     (OperationNotPermitted);
//   - DeleteOnTermination kept per attachment, reported by Describe, and
//     honoured when the instance terminates (an interface attached with it
//     true is deleted with the instance);
//   - detaching and attaching take time: the attachment is reported
//     "detaching" and "attaching" meanwhile;
//   - tag restrictions: a key of at most 128 characters, not starting
//     with aws:, a value of at most 256, at most 50 tags on a resource
//     (InvalidParameterValue, TagLimitExceeded; "Tag restrictions", Amazon
//     EC2 User Guide);
//   - on demand, eventual consistency: tag writes invisible to
//     DescribeNetworkInterfaces for a while (SetTagDelay; "Eventual
//     consistency in the Amazon EC2 API");
//   - faults on demand: throttling, UnauthorizedOperation for named
//     instances, OperationNotPermitted;
//   - DryRun: IAM's answer alone (moto checks the policy, then answers
//     DryRunOperation), and moto's AccessDenied for an EC2 action is
//     EC2's UnauthorizedOperation;
//   - the doctor's calls moto lacks (services.go): SSM's
//     DescribeInstanceInformation, EventBridge's TestEventPattern, Lambda's
//     function reads and Invoke, after moto's IAM check.
//
// It also re-signs requests: a client signs with a placeholder access key
// the proxy maps to real credentials (moto's IAM users), so long-running
// processes keep their configuration while each test creates its users.
package strictec2

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Timings are how long EC2's transitions take here.
type Timings struct {
	Detach, ForceDetach, Attach time.Duration
	// RoundTrip is the least time a call takes (EC2's in-region round
	// trip); moto's own time counts toward it.
	RoundTrip time.Duration
}

// Fault makes matching EC2 calls fail.
type Fault struct {
	// Action is the EC2 action ("AttachNetworkInterface"); "" matches all.
	Action string
	// Instance, when set, matches only calls naming that instance.
	Instance string
	// Code, Message and Status of the error (Status 400 by default).
	Code, Message string
	Status        int
	// Times it fires; 0 means every time.
	Times int
	fired int
}

// Proxy is one strict EC2 in front of moto_server.
type Proxy struct {
	upstream *url.URL
	srv      *http.Server
	ln       net.Listener
	timings  Timings
	region   string

	mu       sync.Mutex
	keys     map[string]aws.Credentials // placeholder access key -> credentials
	admin    aws.Credentials
	faults   []*Fault
	detaches map[string]*pending // attachment id -> detach in progress
	attaches map[string]time.Time
	dot      map[string]bool // attachment id -> DeleteOnTermination
	calls    map[string]int  // EC2 action -> calls seen
	hold     bool            // detaches stay pending until released
	// tagDelay hides tag writes from Describe for a while (SetTagDelay);
	// tagChanges are the writes still hidden.
	tagDelay   time.Duration
	tagChanges []tagChange
	inflight   sync.WaitGroup
	// functions and agents stand for Lambda and SSM (services.go).
	functions map[string]Function
	agents    map[string]string
}

type pending struct {
	eni   string
	until time.Time
	force bool
}

// New starts a proxy to upstream (moto_server's URL) on a free loopback
// port.
func New(upstream, region string, t Timings) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, fmt.Errorf("strictec2: upstream %q: %w", upstream, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("strictec2: listening: %w", err)
	}
	p := &Proxy{upstream: u, ln: ln, timings: t, region: region, keys: map[string]aws.Credentials{}, functions: map[string]Function{}}
	p.Reset()
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// URL is the proxy's endpoint.
func (p *Proxy) URL() string { return "http://" + p.ln.Addr().String() }

// Close stops the proxy after the detaches it still owes moto.
func (p *Proxy) Close() error {
	p.inflight.Wait()
	return p.srv.Close()
}

// Reset forgets faults, transitions and DeleteOnTermination flags (moto
// was reset).
func (p *Proxy) Reset() {
	p.inflight.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = nil
	p.hold = false
	p.detaches = map[string]*pending{}
	p.attaches = map[string]time.Time{}
	p.dot = map[string]bool{}
	p.calls = map[string]int{}
	p.tagDelay, p.tagChanges = 0, nil
	p.agents = map[string]string{}
}

// MapKey re-signs requests signed with the placeholder access key id with
// creds.
func (p *Proxy) MapKey(placeholder string, creds aws.Credentials) {
	p.mu.Lock()
	p.keys[placeholder] = creds
	p.mu.Unlock()
}

// SetAdmin sets the credentials the proxy's own reads and deferred
// detaches use.
func (p *Proxy) SetAdmin(creds aws.Credentials) {
	p.mu.Lock()
	p.admin = creds
	p.mu.Unlock()
}

// AddFault installs a fault; faults are checked in the order added.
func (p *Proxy) AddFault(f Fault) {
	p.mu.Lock()
	p.faults = append(p.faults, &f)
	p.mu.Unlock()
}

// HoldDetaches keeps every detach in progress (the attachment reads
// "detaching") until released, so that a test can look at that state
// however slow the machine is.
func (p *Proxy) HoldDetaches(hold bool) {
	p.mu.Lock()
	p.hold = hold
	p.mu.Unlock()
}

// Calls returns how often an EC2 action reached the proxy.
func (p *Proxy) Calls(action string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[action]
}

// Settle waits until every transition has ended.
func (p *Proxy) Settle() {
	for {
		p.mu.Lock()
		busy := len(p.detaches) > 0
		for _, until := range p.attaches {
			busy = busy || time.Now().Before(until)
		}
		p.mu.Unlock()
		if !busy {
			p.inflight.Wait()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rt := p.timings.RoundTrip; rt > 0 {
		start := time.Now()
		defer func() { time.Sleep(rt - time.Since(start)) }()
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	key, service := credentialScope(r.Header.Get("Authorization"))
	if p.emulated(r, service) {
		p.emulate(w, r, body, key, service)
		return
	}
	if service == "ec2" {
		form, _ := url.ParseQuery(string(body))
		if resp := p.enforce(r.Context(), form); resp != nil {
			resp.write(w)
			return
		}
	}
	status, header, out, err := p.forward(r, body, key, service)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if service == "ec2" && status == http.StatusOK {
		form, _ := url.ParseQuery(string(body))
		out = p.after(r.Context(), form, out)
	}
	if service == "ec2" && status == http.StatusForbidden {
		// moto refuses an EC2 action as IAM does elsewhere (AccessDenied);
		// EC2 itself answers UnauthorizedOperation.
		out = bytes.Replace(out, []byte("<Code>AccessDenied</Code>"), []byte("<Code>UnauthorizedOperation</Code>"), 1)
	}
	for k, vs := range header {
		if strings.EqualFold(k, "Content-Length") {
			continue
		}
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

var scope = regexp.MustCompile(`Credential=([^/]+)/[^/]+/[^/]+/([^/]+)/aws4_request`)

func credentialScope(auth string) (key, service string) {
	m := scope.FindStringSubmatch(auth)
	if m == nil {
		return "", ""
	}
	return m[1], m[2]
}

// forward sends the request to moto, re-signed when its key is mapped.
func (p *Proxy) forward(r *http.Request, body []byte, key, service string) (int, http.Header, []byte, error) {
	u := *p.upstream
	u.Path, u.RawQuery = r.URL.Path, r.URL.RawQuery
	req, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header = r.Header.Clone()
	// moto checks the signature against the Host the client signed.
	req.Host = r.Host
	p.mu.Lock()
	creds, mapped := p.keys[key]
	p.mu.Unlock()
	if mapped {
		if err := p.sign(req, body, creds, service); err != nil {
			return 0, nil, nil, err
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out, err
}

func (p *Proxy) sign(req *http.Request, body []byte, creds aws.Credentials, service string) error {
	for _, h := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-Sha256"} {
		req.Header.Del(h)
	}
	sum := sha256.Sum256(body)
	return v4.NewSigner().SignHTTP(req.Context(), creds, req, hex.EncodeToString(sum[:]), service, p.region, time.Now())
}

// apiResponse is an EC2 answer the proxy gives itself.
type apiResponse struct {
	status int
	body   string
}

func (a *apiResponse) write(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
}

func apiError(status int, code, msg string) *apiResponse {
	if status == 0 {
		status = http.StatusBadRequest
	}
	return &apiResponse{status: status, body: fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>strictec2</RequestID></Response>`, code, xmlEscape(msg))}
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// admin is an EC2 client straight to moto with the admin credentials.
func (p *Proxy) adminEC2() *ec2.Client {
	p.mu.Lock()
	creds := p.admin
	p.mu.Unlock()
	return ec2.New(ec2.Options{Region: p.region, BaseEndpoint: aws.String(p.upstream.String()),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }),
		Retryer:     aws.NopRetryer{}})
}

// enforce answers an EC2 call itself when EC2 would refuse it, or when it
// is a detach (carried out later); nil lets it through to moto.
func (p *Proxy) enforce(ctx context.Context, form url.Values) *apiResponse {
	action := form.Get("Action")
	p.mu.Lock()
	p.calls[action]++
	for _, f := range p.faults {
		if (f.Action == "" || f.Action == action) && (f.Instance == "" || names(form, f.Instance)) && (f.Times == 0 || f.fired < f.Times) {
			f.fired++
			p.mu.Unlock()
			return apiError(f.Status, f.Code, f.Message)
		}
	}
	p.mu.Unlock()
	if form.Get("DryRun") == "true" {
		// Only IAM's answer: moto checks the policy, then answers
		// DryRunOperation; nothing here may act on it.
		return nil
	}
	switch action {
	case "AttachNetworkInterface":
		return p.attach(ctx, form)
	case "DetachNetworkInterface":
		return p.detach(ctx, form)
	case "ModifyNetworkInterfaceAttribute":
		if att := form.Get("Attachment.AttachmentId"); att != "" && form.Get("Attachment.DeleteOnTermination") != "" {
			p.mu.Lock()
			p.dot[att] = form.Get("Attachment.DeleteOnTermination") == "true"
			p.mu.Unlock()
		}
	case "TerminateInstances":
		p.releaseOnTerminate(ctx, form)
	case "CreateTags", "DeleteTags":
		return p.changeTags(ctx, form)
	}
	return nil
}

// names reports whether the call names the instance.
func names(form url.Values, id string) bool {
	for k, vs := range form {
		if k == "InstanceId" || strings.HasPrefix(k, "InstanceId.") {
			for _, v := range vs {
				if v == id {
					return true
				}
			}
		}
	}
	return false
}

func (p *Proxy) attach(ctx context.Context, form url.Values) *apiResponse {
	eniID, instID, idx := form.Get("NetworkInterfaceId"), form.Get("InstanceId"), form.Get("DeviceIndex")
	api := p.adminEC2()
	enis, err := api.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{eniID}})
	if err != nil || len(enis.NetworkInterfaces) != 1 {
		return nil // moto answers with its own error
	}
	insts, err := api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{instID}})
	if err != nil || len(insts.Reservations) != 1 || len(insts.Reservations[0].Instances) != 1 {
		return nil
	}
	eni, inst := enis.NetworkInterfaces[0], insts.Reservations[0].Instances[0]
	p.mu.Lock()
	detaching := false
	for _, d := range p.detaches {
		detaching = detaching || d.eni == eniID
	}
	p.mu.Unlock()
	if eni.Attachment != nil || detaching {
		return apiError(0, "InvalidNetworkInterface.InUse", fmt.Sprintf("Interface: [%s] in use.", eniID))
	}
	if st := inst.State.Name; st != types.InstanceStateNameRunning && st != types.InstanceStateNameStopped {
		return apiError(0, "IncorrectInstanceState", fmt.Sprintf("The instance '%s' is not in a valid state for this operation.", instID))
	}
	if az := aws.ToString(inst.Placement.AvailabilityZone); az != aws.ToString(eni.AvailabilityZone) {
		return apiError(0, "InvalidParameterCombination", "You may not attach a network interface to an instance if they are not in the same availability zone")
	}
	for _, ni := range inst.NetworkInterfaces {
		if ni.Attachment != nil && fmt.Sprint(aws.ToInt32(ni.Attachment.DeviceIndex)) == idx {
			return apiError(0, "InvalidParameterValue", fmt.Sprintf("Instance '%s' already has an interface attached at device index '%s'.", instID, idx))
		}
	}
	if idx == "0" {
		return apiError(0, "InvalidParameterValue", fmt.Sprintf("Instance '%s' already has an interface attached at device index '0'.", instID))
	}
	return nil
}

func (p *Proxy) detach(ctx context.Context, form url.Values) *apiResponse {
	attID, force := form.Get("AttachmentId"), form.Get("Force") == "true"
	eni, ok := p.byAttachment(ctx, attID)
	if !ok {
		return nil // moto answers InvalidAttachmentID.NotFound
	}
	if aws.ToInt32(eni.Attachment.DeviceIndex) == 0 {
		return apiError(0, "OperationNotPermitted", "The network interface at device index 0 cannot be detached.")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if until, ok := p.attaches[attID]; ok && time.Now().Before(until) {
		return apiError(0, "IncorrectState", "The network interface is attaching.")
	}
	d := p.timings.Detach
	if force {
		d = p.timings.ForceDetach
	}
	if cur, ok := p.detaches[attID]; ok {
		if force && !cur.force {
			cur.force = true
			if until := time.Now().Add(d); until.Before(cur.until) {
				cur.until = until
			}
		}
		return ok200("DetachNetworkInterfaceResponse")
	}
	pd := &pending{eni: aws.ToString(eni.NetworkInterfaceId), until: time.Now().Add(d), force: force}
	p.detaches[attID] = pd
	p.inflight.Add(1)
	go p.completeDetach(attID, pd)
	return ok200("DetachNetworkInterfaceResponse")
}

// completeDetach asks moto to detach once the transition is over.
func (p *Proxy) completeDetach(attID string, pd *pending) {
	defer p.inflight.Done()
	for {
		p.mu.Lock()
		wait := time.Until(pd.until)
		if p.hold {
			wait = 20 * time.Millisecond
		}
		p.mu.Unlock()
		if wait <= 0 {
			break
		}
		time.Sleep(min(wait, 20*time.Millisecond))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = p.adminEC2().DetachNetworkInterface(ctx, &ec2.DetachNetworkInterfaceInput{AttachmentId: aws.String(attID), Force: aws.Bool(true)})
	p.mu.Lock()
	delete(p.detaches, attID)
	delete(p.dot, attID)
	p.mu.Unlock()
}

func ok200(root string) *apiResponse {
	return &apiResponse{status: http.StatusOK, body: fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<%s xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>strictec2</requestId><return>true</return></%s>`, root, root)}
}

func (p *Proxy) byAttachment(ctx context.Context, attID string) (types.NetworkInterface, bool) {
	out, err := p.adminEC2().DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{})
	if err != nil {
		return types.NetworkInterface{}, false
	}
	for _, n := range out.NetworkInterfaces {
		if n.Attachment != nil && aws.ToString(n.Attachment.AttachmentId) == attID {
			return n, true
		}
	}
	return types.NetworkInterface{}, false
}

// releaseOnTerminate deletes the interfaces an instance takes with it:
// those attached with DeleteOnTermination true (moto keeps them all).
func (p *Proxy) releaseOnTerminate(ctx context.Context, form url.Values) {
	api := p.adminEC2()
	out, err := api.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{})
	if err != nil {
		return
	}
	for _, n := range out.NetworkInterfaces {
		if n.Attachment == nil || !names(form, aws.ToString(n.Attachment.InstanceId)) || aws.ToInt32(n.Attachment.DeviceIndex) == 0 {
			continue
		}
		att := aws.ToString(n.Attachment.AttachmentId)
		p.mu.Lock()
		dot, known := p.dot[att]
		p.mu.Unlock()
		if !known {
			dot = aws.ToBool(n.Attachment.DeleteOnTermination)
		}
		if dot {
			_, _ = api.DetachNetworkInterface(ctx, &ec2.DetachNetworkInterfaceInput{AttachmentId: aws.String(att), Force: aws.Bool(true)})
			_, _ = api.DeleteNetworkInterface(ctx, &ec2.DeleteNetworkInterfaceInput{NetworkInterfaceId: n.NetworkInterfaceId})
		}
	}
}

var attachmentBlock = regexp.MustCompile(`<attachment>.*?</attachment>`)
var attachmentID = regexp.MustCompile(`<attachmentId>([^<]+)</attachmentId>`)
var attachStatus = regexp.MustCompile(`<status>[^<]*</status>`)
var attachDOT = regexp.MustCompile(`<deleteOnTermination>[^<]*</deleteOnTermination>`)

// after records a new attachment's transition and rewrites Describe
// answers with the transitions and DeleteOnTermination moto does not keep.
func (p *Proxy) after(_ context.Context, form url.Values, out []byte) []byte {
	switch form.Get("Action") {
	case "AttachNetworkInterface":
		if m := attachmentID.FindSubmatch(out); m != nil {
			p.mu.Lock()
			p.attaches[string(m[1])] = time.Now().Add(p.timings.Attach)
			p.dot[string(m[1])] = false
			p.mu.Unlock()
		}
	case "DescribeNetworkInterfaces":
		p.mu.Lock()
		defer p.mu.Unlock()
		out = p.staleTags(out)
		return attachmentBlock.ReplaceAllFunc(out, func(block []byte) []byte {
			m := attachmentID.FindStringSubmatch(string(block))
			if m == nil {
				return block
			}
			att := m[1]
			if _, ok := p.detaches[att]; ok {
				block = attachStatus.ReplaceAll(block, []byte("<status>detaching</status>"))
			} else if until, ok := p.attaches[att]; ok && time.Now().Before(until) {
				block = attachStatus.ReplaceAll(block, []byte("<status>attaching</status>"))
			}
			if dot, ok := p.dot[att]; ok {
				block = attachDOT.ReplaceAll(block, fmt.Appendf(nil, "<deleteOnTermination>%t</deleteOnTermination>", dot))
			}
			return block
		})
	}
	return out
}
