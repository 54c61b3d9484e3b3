package ec2limits

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/eni-failover/eni-failover/internal/testkit/fakeec2"
)

var t0 = time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)

func attaches(n int, every time.Duration) []fakeec2.Call {
	var calls []fakeec2.Call
	for i := range n {
		calls = append(calls, fakeec2.Call{Op: fakeec2.OpAttachNetworkInterface, Input: ec2.AttachNetworkInterfaceInput{}, At: t0.Add(time.Duration(i) * every)})
	}
	return calls
}

// The documented mutating bucket holds 50 requests and refills 5 a
// second ("Request throttling for the Amazon EC2 API"): 50 at once pass,
// the 51st does not; 5 a second pass for ever.
func TestMutatingBucket(t *testing.T) {
	if v := Violations(Replay(attaches(50, 0)), t0); len(v) != 0 {
		t.Fatalf("50 attaches at once: %v", v)
	}
	us := Replay(attaches(51, 0))
	if len(us) != 1 || us[0].Exceeded != 1 || us[0].PeakPerSecond != 51 {
		t.Fatalf("51 attaches at once: %+v", us)
	}
	// A refused call takes no token: the one a fifth of a second later
	// finds the token the refill brought.
	refused := append(attaches(51, 0), fakeec2.Call{Op: fakeec2.OpAttachNetworkInterface, Input: ec2.AttachNetworkInterfaceInput{}, At: t0.Add(200 * time.Millisecond)})
	if us := Replay(refused); us[0].Exceeded != 1 {
		t.Fatalf("51 at once, one more after 200 ms: %d beyond the bucket, want 1", us[0].Exceeded)
	}
	if v := Violations(Replay(attaches(1000, 200*time.Millisecond)), t0); len(v) != 0 {
		t.Fatalf("5 a second: %v", v)
	}
	if us := Replay(attaches(1000, 190*time.Millisecond)); us[0].Exceeded == 0 {
		t.Fatalf("a little over 5 a second for 190 s drains the bucket: %+v", us[0])
	}
}

// A Describe with a filter or a page size draws from the larger bucket;
// one with ids alone from the smaller, for the APIs the guide lists.
func TestDescribeBuckets(t *testing.T) {
	filtered := ec2.DescribeNetworkInterfacesInput{Filters: []types.Filter{{Name: aws.String("network-interface-id"), Values: []string{"eni-1"}}}}
	if name, b := BucketOf(fakeec2.OpDescribeNetworkInterfaces, filtered); name != "DescribeNetworkInterfaces" || b != NonMutating {
		t.Errorf("filtered: %s %+v", name, b)
	}
	byID := ec2.DescribeInstancesInput{InstanceIds: []string{"i-1"}}
	if name, b := BucketOf(fakeec2.OpDescribeInstances, byID); name != "DescribeInstances unfiltered" || b != UnfilteredNonMutating {
		t.Errorf("by id: %s %+v", name, b)
	}
	paged := ec2.DescribeInstanceStatusInput{MaxResults: aws.Int32(1000)}
	if _, b := BucketOf(fakeec2.OpDescribeInstanceStatus, paged); b != NonMutating {
		t.Errorf("paginated: %+v", b)
	}
	if _, b := BucketOf(fakeec2.OpCreateTags, ec2.CreateTagsInput{}); b.Capacity != 100 || b.Refill != 10 {
		t.Errorf("CreateTags: %+v", b)
	}
}
