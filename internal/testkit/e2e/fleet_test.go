package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/eni-failover/eni-failover/events"
)

// fleetSandbox stands for the fleet function as deployed: reserved
// concurrency 1, so an event that finds its one sandbox busy is throttled
// and retried by Lambda after 1 s, 2 s, 4 s ... ("How Lambda handles
// errors and retries with asynchronous invocation"). The emulator serves
// the real failover bootstrap, with the failover role's user (the fleet
// function shares that role).
type fleetSandbox struct {
	mu        sync.Mutex
	throttled atomic.Int32
}

// deliver invokes the event as Lambda would, throttling while the sandbox
// is busy, and returns the result; it gives up (ok false) when ctx ends
// while the event waits.
func (s *fleetSandbox) deliver(ctx context.Context, t *testing.T, event []byte) (res failoverResult, ok bool) {
	backoff := time.Second
	for {
		if s.mu.TryLock() {
			body, ferr := functions["failover"].invoke(t, event)
			s.mu.Unlock()
			if ferr != nil {
				t.Errorf("fleet function: %s: %s", ferr.Type, ferr.Message)
				return res, true
			}
			if err := json.Unmarshal(body, &res); err != nil {
				t.Errorf("fleet function result %s: %v", body, err)
			}
			return res, true
		}
		s.throttled.Add(1)
		select {
		case <-ctx.Done():
			return res, false
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Minute)
	}
}

// TestTenHoldersStoppedAtOnce: ten groups' holders stopped by one call,
// their ten state-change events delivered at once to the fleet function's
// one sandbox (the others throttled and retried as Lambda does). Every
// license ENI reaches its standby within the target of 20 s, each with
// exactly one attach call and one activation, and no ENI of another group
// moves.
func TestTenHoldersStoppedAtOnce(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	subnet := aws.ToString(w.eniState().SubnetId)
	images := must(w.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{}))
	run := func(group, prio string) string {
		out := must(w.ec2.RunInstances(ctx, &ec2.RunInstancesInput{
			ImageId: images.Images[0].ImageId, MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(subnet),
			InstanceType: types.InstanceTypeT4gMedium,
			TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{
				{Key: aws.String("eni-failover:group"), Value: aws.String(group)}, {Key: aws.String("eni-failover:priority"), Value: aws.String(prio)}}}},
		}))
		return aws.ToString(out.Instances[0].InstanceId)
	}
	const n = 10
	var holders, standbys, enis []string
	for k := range n {
		group := fmt.Sprintf("fleet-%02d", k)
		holders, standbys = append(holders, run(group, "1")), append(standbys, run(group, "2"))
		eni := must(w.ec2.CreateNetworkInterface(ctx, &ec2.CreateNetworkInterfaceInput{
			SubnetId: aws.String(subnet), Description: aws.String("license " + group),
			TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeNetworkInterface,
				Tags: []types.Tag{{Key: aws.String("eni-failover:group"), Value: aws.String(group)}}}},
		}))
		enis = append(enis, aws.ToString(eni.NetworkInterface.NetworkInterfaceId))
		must(w.ec2.AttachNetworkInterface(ctx, &ec2.AttachNetworkInterfaceInput{NetworkInterfaceId: aws.String(enis[k]), InstanceId: aws.String(holders[k]), DeviceIndex: aws.Int32(1)}))
	}
	strict.Settle()
	attachesBefore := strict.Calls("AttachNetworkInterface")

	stoppedAt := time.Now()
	must(w.ec2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: holders}))
	sandbox := &fleetSandbox{}
	deliveries, stopDeliveries := context.WithCancel(ctx)
	defer stopDeliveries()
	var (
		mu      sync.Mutex
		results []failoverResult
		wg      sync.WaitGroup
	)
	for _, h := range holders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, ok := sandbox.deliver(deliveries, t, events.MustSample("ec2-state-stopping.json", events.HolderPlaceholder, h))
			if ok {
				mu.Lock()
				results = append(results, res)
				mu.Unlock()
			}
		}()
	}
	// Every license back on its standby within the target.
	const target = 20 * time.Second
	var restoredAfter time.Duration
	for {
		out := must(w.ec2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: enis}))
		on := 0
		for _, ni := range out.NetworkInterfaces {
			for k, id := range enis {
				if aws.ToString(ni.NetworkInterfaceId) == id && ni.Attachment != nil && aws.ToString(ni.Attachment.InstanceId) == standbys[k] &&
					ni.Attachment.Status == types.AttachmentStatusAttached {
					on++
				}
			}
		}
		if on == n {
			restoredAfter = time.Since(stoppedAt)
			break
		}
		if time.Since(stoppedAt) > 2*target {
			t.Fatalf("after %s only %d of %d license ENIs are on their standbys", time.Since(stoppedAt).Round(time.Millisecond), on, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Events still throttled now would find nothing to do (Lambda retries
	// them for hours); every invocation that ran has returned after this.
	time.Sleep(2 * time.Second)
	stopDeliveries()
	wg.Wait()
	t.Logf("measured: %d ENIs on their standbys %s after the stop, %d throttled deliveries (aws-lambda-rie, moto behind the strict layer; EC2 pace: detach %s, force detach %s, attach %s)",
		n, restoredAfter.Round(time.Millisecond), sandbox.throttled.Load(), ec2Pace.Detach, ec2Pace.ForceDetach, ec2Pace.Attach)
	if restoredAfter > target {
		t.Errorf("the last ENI reached its standby after %s, target %s", restoredAfter.Round(time.Millisecond), target)
	}
	if got := strict.Calls("AttachNetworkInterface") - attachesBefore; got != n {
		t.Errorf("%d attach calls for %d moves: each ENI must move exactly once", got, n)
	}
	activated := map[string]int{}
	for _, res := range results {
		for _, r := range res.Reports {
			if r.Activation != nil {
				if r.Activation.Status != "Success" {
					t.Errorf("activation on %s: %+v", r.HolderAfter, r.Activation)
				}
				activated[r.HolderAfter]++
			}
		}
	}
	for _, s := range standbys {
		if activated[s] != 1 {
			t.Errorf("standby %s activated %d times, want once (all: %v)", s, activated[s], activated)
		}
	}
	if h := w.holder(); h != w.primary {
		t.Errorf("group %s moved to %q: only the stopped holders' groups may move", w.group, h)
	}
}
