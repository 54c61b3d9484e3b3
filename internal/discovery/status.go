package discovery

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/eni-failover/eni-failover/internal/model"
)

// listStatus reads status checks of running instances: the named ones, or
// (ids nil) all of the region, at most maxPages pages (0: all). truncated
// says that pages were left unread.
func (d *Discoverer) listStatus(ctx context.Context, ids []string, maxPages int) (map[string]instanceStatus, bool, error) {
	out := map[string]instanceStatus{}
	in := &ec2.DescribeInstanceStatusInput{InstanceIds: ids}
	if ids == nil {
		in.MaxResults = aws.Int32(pageSize)
	}
	for page := 1; ; page++ {
		res, err := d.EC2.DescribeInstanceStatus(ctx, in)
		if err != nil {
			return nil, false, fmt.Errorf("describing instance status: %w", err)
		}
		for _, st := range res.InstanceStatuses {
			out[aws.ToString(st.InstanceId)] = instanceStatus{health: healthOf(st), scheduled: scheduled(st)}
		}
		if aws.ToString(res.NextToken) == "" {
			return out, false, nil
		}
		if maxPages > 0 && page >= maxPages {
			return out, true, nil
		}
		in.NextToken = res.NextToken
	}
}

// instanceStatus is what DescribeInstanceStatus says of an instance: its
// checks, and whether EC2 has a change scheduled for it.
type instanceStatus struct {
	health    model.Health
	scheduled bool
}

// scheduled reports whether EC2 lists a scheduled event for the instance
// that is not over: AWS announces a retirement, stop or maintenance both
// through AWS Health and here ("Scheduled events for Amazon EC2
// instances"), where only AWS writes. A completed or canceled event's
// description starts with "[Completed]" or "[Canceled]".
func scheduled(s types.InstanceStatus) bool {
	for _, e := range s.Events {
		d := aws.ToString(e.Description)
		if !strings.HasPrefix(d, "[Completed]") && !strings.HasPrefix(d, "[Canceled]") {
			return true
		}
	}
	return false
}

func healthOf(s types.InstanceStatus) model.Health {
	var sys, inst types.SummaryStatus
	if s.SystemStatus != nil {
		sys = s.SystemStatus.Status
	}
	if s.InstanceStatus != nil {
		inst = s.InstanceStatus.Status
	}
	switch {
	case sys == types.SummaryStatusImpaired || inst == types.SummaryStatusImpaired:
		return model.HealthImpaired
	case sys == types.SummaryStatusOk && inst == types.SummaryStatusOk:
		return model.HealthOK
	}
	return model.HealthUnknown
}
