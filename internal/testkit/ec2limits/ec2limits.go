// Package ec2limits holds EC2's request token buckets as AWS documents
// them ("Request throttling for the Amazon EC2 API", EC2 Developer Guide:
// "Request token bucket sizes and refill rates") and replays recorded
// calls against them, so that a model or a storm can show that no API of
// the account ever runs out of tokens. Each API has a bucket of its own;
// the Describe calls that name neither a filter nor a page size draw from
// a smaller one.
package ec2limits

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/eni-failover/eni-failover/internal/testkit/fakeec2"
)

// Bucket is one token bucket: it holds at most Capacity requests and
// gains Refill a second.
type Bucket struct {
	Capacity, Refill float64
}

// The documented buckets of the calls the engine makes.
var (
	// NonMutating: Describe* with a filter or pagination.
	NonMutating = Bucket{Capacity: 100, Refill: 20}
	// UnfilteredNonMutating: DescribeInstances, DescribeInstanceStatus,
	// DescribeNetworkInterfaces (and a few others) with neither.
	UnfilteredNonMutating = Bucket{Capacity: 50, Refill: 10}
	// Mutating: AttachNetworkInterface, DetachNetworkInterface,
	// StartInstances (which also spends resource tokens, not modelled).
	Mutating = Bucket{Capacity: 50, Refill: 5}
	// Uncategorized actions with buckets of their own.
	uncategorized = map[string]Bucket{
		fakeec2.OpCreateTags:                      {Capacity: 100, Refill: 10},
		fakeec2.OpDeleteTags:                      {Capacity: 100, Refill: 10},
		fakeec2.OpModifyNetworkInterfaceAttribute: {Capacity: 100, Refill: 5},
	}
)

// BucketOf names the bucket a call draws from ("DescribeInstances",
// "DescribeInstances unfiltered") and gives its size.
func BucketOf(op string, input any) (string, Bucket) {
	if b, ok := uncategorized[op]; ok {
		return op, b
	}
	unfiltered := false
	switch in := input.(type) {
	case ec2.DescribeInstancesInput:
		unfiltered = len(in.Filters) == 0 && in.MaxResults == nil && in.NextToken == nil
	case ec2.DescribeInstanceStatusInput:
		unfiltered = len(in.Filters) == 0 && in.MaxResults == nil && in.NextToken == nil
	case ec2.DescribeNetworkInterfacesInput:
		unfiltered = len(in.Filters) == 0 && in.MaxResults == nil && in.NextToken == nil
	default:
		if strings.HasPrefix(op, "Describe") {
			return op, NonMutating
		}
		return op, Mutating
	}
	if unfiltered {
		return op + " unfiltered", UnfilteredNonMutating
	}
	return op, NonMutating
}

// Usage is what a history of calls did to one bucket.
type Usage struct {
	Bucket string
	Size   Bucket
	Calls  int
	// PeakPerSecond: the most calls within any one second.
	PeakPerSecond int
	// MinTokens: the fewest tokens left after a call; below 0, EC2 would
	// have refused calls with RequestLimitExceeded.
	MinTokens float64
	// Exceeded counts the calls made with no token left.
	Exceeded int
	// FirstExceeded is when the first of them was made.
	FirstExceeded time.Time
}

// Replay runs the calls (in the order of their times) through full buckets
// and reports each bucket used, by name.
func Replay(calls []fakeec2.Call) []Usage {
	sorted := append([]fakeec2.Call(nil), calls...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].At.Before(sorted[j].At) })
	type state struct {
		u      Usage
		tokens float64
		last   time.Time
		times  []time.Time
	}
	by := map[string]*state{}
	for _, c := range sorted {
		name, b := BucketOf(c.Op, c.Input)
		st := by[name]
		if st == nil {
			st = &state{u: Usage{Bucket: name, Size: b, MinTokens: b.Capacity}, tokens: b.Capacity, last: c.At}
			by[name] = st
		}
		st.tokens = min(b.Capacity, st.tokens+c.At.Sub(st.last).Seconds()*b.Refill)
		st.last = c.At
		st.tokens--
		st.u.Calls++
		if st.tokens < st.u.MinTokens {
			st.u.MinTokens = st.tokens
		}
		if st.tokens < 0 {
			if st.u.Exceeded == 0 {
				st.u.FirstExceeded = c.At
			}
			st.u.Exceeded++
			st.tokens++ // a refused call takes no token
		}
		st.times = append(st.times, c.At)
		j := len(st.times) - 1
		for j > 0 && c.At.Sub(st.times[j-1]) < time.Second {
			j--
		}
		st.u.PeakPerSecond = max(st.u.PeakPerSecond, len(st.times)-j)
	}
	out := make([]Usage, 0, len(by))
	for _, st := range by {
		out = append(out, st.u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Bucket < out[j].Bucket })
	return out
}

// Violations describes every bucket that ran out.
func Violations(us []Usage, start time.Time) []string {
	var out []string
	for _, u := range us {
		if u.Exceeded > 0 {
			out = append(out, fmt.Sprintf("%s: %d calls beyond its bucket (%g, %g a second), the first at %s; %d calls, at most %d in one second",
				u.Bucket, u.Exceeded, u.Size.Capacity, u.Size.Refill, u.FirstExceeded.Sub(start).Round(time.Millisecond), u.Calls, u.PeakPerSecond))
		}
	}
	return out
}
