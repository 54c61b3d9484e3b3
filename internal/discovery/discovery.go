// Package discovery reads license groups from EC2's tags: the ENI tagged
// with a group's name, the instances tagged as its members, and their state
// and status checks, for one group or every group at once in three listings
// (filtered and paginated, for the larger of EC2's request buckets).
package discovery

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/eni-failover/eni-failover/internal/awsapi"
	"github.com/eni-failover/eni-failover/internal/awserr"
	"github.com/eni-failover/eni-failover/internal/clock"
	"github.com/eni-failover/eni-failover/internal/model"
)

// ErrGroupNotFound means no ENI carries the group tag with that value.
var ErrGroupNotFound = errors.New("group not found")

// statusBatch is the most instance ids one DescribeInstanceStatus takes.
const statusBatch = 100

// pageSize is the page size of the listing calls (EC2's maximum).
const pageSize = 1000

// Discoverer reads groups from EC2.
type Discoverer struct {
	EC2  awsapi.EC2
	Tags model.Tags
	// Clock runs the independent listings alongside each other (nil: the
	// wall clock, which runs them on goroutines).
	Clock clock.Clock
}

// spawn runs f alongside the caller, as the clock runs work.
func (d *Discoverer) spawn(f func()) (wait func()) {
	if d.Clock == nil {
		return clock.Real{}.Go(f)
	}
	return d.Clock.Go(f)
}

// Group reads one group by name.
func (d *Discoverer) Group(ctx context.Context, name string) (model.Group, error) {
	gs, err := d.load(ctx, []types.Filter{{Name: aws.String("tag:" + d.Tags.Group()), Values: []string{model.EscapeFilterValue(name)}}}, 1)
	if err != nil {
		return model.Group{}, fmt.Errorf("reading group %q: %w", name, err)
	}
	for _, g := range gs {
		if g.Name == name {
			return g, nil
		}
	}
	return model.Group{}, fmt.Errorf("reading group %q: %w (no network interface tagged %s=%s)", name, ErrGroupNotFound, d.Tags.Group(), name)
}

// All reads every group in the region.
func (d *Discoverer) All(ctx context.Context) ([]model.Group, error) {
	gs, err := d.load(ctx, []types.Filter{{Name: aws.String("tag-key"), Values: []string{d.Tags.Group()}}}, 0)
	if err != nil {
		// Misconfigured groups are left out; the others are returned.
		return gs, fmt.Errorf("reading all groups: %w", err)
	}
	return gs, nil
}

// Names lists the groups (one Describe call).
func (d *Discoverer) Names(ctx context.Context) ([]string, error) {
	enis, err := d.listENIs(ctx, []types.Filter{{Name: aws.String("tag-key"), Values: []string{d.Tags.Group()}}})
	if err != nil {
		return nil, fmt.Errorf("listing groups: %w", err)
	}
	seen := map[string]bool{}
	var names []string
	for _, n := range enis {
		if g := n.Tags[d.Tags.Group()]; g != "" && !seen[g] {
			seen[g] = true
			names = append(names, g)
		}
	}
	sort.Strings(names)
	return names, nil
}

// GroupOfInstance returns the group tag of an instance, or "" when the
// instance is unknown or in no group.
func (d *Discoverer) GroupOfInstance(ctx context.Context, instanceID string) (string, error) {
	out, err := d.EC2.DescribeInstances(ctx, byInstanceID(instanceID))
	if awserr.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("describing instance %s: %w", instanceID, err)
	}
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			for _, t := range i.Tags {
				if aws.ToString(t.Key) == d.Tags.Group() {
					return aws.ToString(t.Value), nil
				}
			}
		}
	}
	return "", nil
}

// ENI reads one interface by id.
func (d *Discoverer) ENI(ctx context.Context, id string) (model.Interface, error) {
	got, err := d.ENIs(ctx, []string{id})
	if err != nil {
		return model.Interface{}, err
	}
	n, ok := got[id]
	if !ok {
		return model.Interface{}, fmt.Errorf("describing network interface %s: %w", id, awserr.NotFoundError("InvalidNetworkInterfaceID.NotFound", id))
	}
	return n, nil
}

// filterValues bounds the ids one read puts in its filter, so that a
// request stays small however many ENIs are in flight (the larger batches
// page through MaxResults as the listings do).
const filterValues = 200

// ENIs reads the given interfaces, as few calls as their number allows. The
// ids go in a filter, not in NetworkInterfaceIds: EC2 meters a filtered or
// paginated Describe in the bucket of non-mutating actions (100 tokens, 20
// a second), an unfiltered one in a bucket half its size ("Request
// throttling for the Amazon EC2 API"). An interface that does not exist is
// missing from the result.
func (d *Discoverer) ENIs(ctx context.Context, ids []string) (map[string]model.Interface, error) {
	out := make(map[string]model.Interface, len(ids))
	for len(ids) > 0 {
		batch := ids[:min(len(ids), filterValues)]
		ids = ids[len(batch):]
		list, err := d.listENIs(ctx, []types.Filter{{Name: aws.String("network-interface-id"), Values: batch}})
		if err != nil {
			return nil, fmt.Errorf("describing network interfaces %s: %w", strings.Join(batch, ","), err)
		}
		for _, n := range list {
			out[n.ID] = n
		}
	}
	return out, nil
}

// Instance reads one instance's state, placement and used indexes (without
// status checks).
func (d *Discoverer) Instance(ctx context.Context, id string) (model.Member, error) {
	out, err := d.EC2.DescribeInstances(ctx, byInstanceID(id))
	if err != nil {
		return model.Member{}, fmt.Errorf("describing instance %s: %w", id, err)
	}
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			return d.toMember(i), nil
		}
	}
	return model.Member{}, fmt.Errorf("describing instance %s: not returned", id)
}

// byInstanceID asks for one instance with a filter, for the larger bucket
// (see ENIs); an unknown id is then an empty answer, not an error.
func byInstanceID(id string) *ec2.DescribeInstancesInput {
	return &ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("instance-id"), Values: []string{id}}}}
}

// completeHealth sets each running member's status checks from the
// listing, and asks for those the listing's pages did not reach by id.
func (d *Discoverer) completeHealth(ctx context.Context, members []*taggedMember, health map[string]instanceStatus, truncated bool) error {
	var missing []string
	for _, m := range members {
		if m.State != model.StateRunning {
			continue
		}
		if h, ok := health[m.InstanceID]; ok {
			m.Health, m.EC2Scheduled = h.health, h.scheduled
		} else if truncated {
			missing = append(missing, m.InstanceID)
		}
	}
	for len(missing) > 0 {
		batch := missing[:min(len(missing), statusBatch)]
		missing = missing[len(batch):]
		more, _, err := d.listStatus(ctx, batch, 0)
		if err != nil {
			return err
		}
		for _, m := range members {
			if h, ok := more[m.InstanceID]; ok {
				m.Health, m.EC2Scheduled = h.health, h.scheduled
			}
		}
	}
	return nil
}

func (d *Discoverer) load(ctx context.Context, filter []types.Filter, statusPages int) ([]model.Group, error) {
	// The three listings are independent: made at once, they cost one
	// round trip on a failover's critical path instead of three. Status
	// checks are listed for every running instance of the region (one page
	// holds 1,000), which needs no member ids; members missing from the
	// pages read are then asked for by id.
	var (
		enis                         []model.Interface
		members                      []*taggedMember
		health                       map[string]instanceStatus
		truncated                    bool
		enisErr, membersErr, statErr error
	)
	waitMembers := d.spawn(func() { members, membersErr = d.listMembers(ctx, filter) })
	waitStatus := d.spawn(func() { health, truncated, statErr = d.listStatus(ctx, nil, statusPages) })
	enis, enisErr = d.listENIs(ctx, filter)
	waitMembers()
	waitStatus()
	if err := errors.Join(enisErr, membersErr, statErr); err != nil {
		return nil, err
	}
	if len(enis) == 0 {
		return nil, nil
	}
	if err := d.completeHealth(ctx, members, health, truncated); err != nil {
		return nil, err
	}
	byGroup := map[string][]model.Member{}
	for _, m := range members {
		byGroup[m.group] = append(byGroup[m.group], m.Member)
	}
	var groups []model.Group
	seen := map[string]string{}
	dup := map[string]*DuplicateGroupError{}
	var errs []error
	for _, n := range enis {
		name := n.Tags[d.Tags.Group()]
		if name == "" {
			continue
		}
		if other, ok := seen[name]; ok {
			if dup[name] == nil {
				dup[name] = &DuplicateGroupError{Group: name, ENIs: []string{other}}
				errs = append(errs, dup[name])
			}
			dup[name].ENIs = append(dup[name].ENIs, n.ID)
			continue
		}
		seen[name] = n.ID
		ms := byGroup[name]
		model.SortMembers(ms)
		groups = append(groups, model.Group{Name: name, ENI: n, Members: ms})
	}
	// A group tagged on two ENIs is left out and reported, so that the
	// other groups are still served.
	out := groups[:0]
	for _, g := range groups {
		if dup[g.Name] == nil {
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, errors.Join(errs...)
}

func (d *Discoverer) listENIs(ctx context.Context, filter []types.Filter) ([]model.Interface, error) {
	var out []model.Interface
	in := &ec2.DescribeNetworkInterfacesInput{Filters: filter, MaxResults: aws.Int32(pageSize)}
	for {
		page, err := d.EC2.DescribeNetworkInterfaces(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("describing network interfaces: %w", err)
		}
		for _, n := range page.NetworkInterfaces {
			out = append(out, toInterface(n))
		}
		if aws.ToString(page.NextToken) == "" {
			return out, nil
		}
		in.NextToken = page.NextToken
	}
}

type taggedMember struct {
	model.Member
	group string
}

func (d *Discoverer) listMembers(ctx context.Context, filter []types.Filter) ([]*taggedMember, error) {
	var out []*taggedMember
	in := &ec2.DescribeInstancesInput{Filters: filter, MaxResults: aws.Int32(pageSize)}
	for {
		page, err := d.EC2.DescribeInstances(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("describing instances: %w", err)
		}
		for _, r := range page.Reservations {
			for _, i := range r.Instances {
				m := d.toMember(i)
				out = append(out, &taggedMember{Member: m, group: tagValue(i.Tags, d.Tags.Group())})
			}
		}
		if aws.ToString(page.NextToken) == "" {
			return out, nil
		}
		in.NextToken = page.NextToken
	}
}

func (d *Discoverer) toMember(i types.Instance) model.Member {
	m := model.Member{
		InstanceID: aws.ToString(i.InstanceId),
		Name:       tagValue(i.Tags, "Name"),
		HolderMark: tagValue(i.Tags, d.Tags.LicenseHolder()),
		Windows:    i.Platform == types.PlatformValuesWindows,
		VPCID:      aws.ToString(i.VpcId),
		Health:     model.HealthUnknown,
	}
	if i.State != nil {
		m.State = string(i.State.Name)
	}
	if i.Placement != nil {
		m.AZ = aws.ToString(i.Placement.AvailabilityZone)
	}
	if v := tagValue(i.Tags, d.Tags.Priority()); v != "" {
		if p, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			m.Priority, m.HasPriority = p, true
		}
	}
	for _, n := range i.NetworkInterfaces {
		if n.Attachment != nil && n.Attachment.DeviceIndex != nil {
			m.UsedIndexes = append(m.UsedIndexes, *n.Attachment.DeviceIndex)
		}
	}
	return m
}

func toInterface(n types.NetworkInterface) model.Interface {
	out := model.Interface{
		ID:        aws.ToString(n.NetworkInterfaceId),
		MAC:       aws.ToString(n.MacAddress),
		PrivateIP: aws.ToString(n.PrivateIpAddress),
		AZ:        aws.ToString(n.AvailabilityZone),
		VPCID:     aws.ToString(n.VpcId),
		Tags:      map[string]string{},
	}
	for _, t := range n.TagSet {
		out.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	if a := n.Attachment; a != nil && aws.ToString(a.AttachmentId) != "" && a.Status != types.AttachmentStatusDetached {
		out.AttachmentID = aws.ToString(a.AttachmentId)
		out.InstanceID = aws.ToString(a.InstanceId)
		out.AttachmentStatus = model.AttachmentStatus(a.Status)
		out.DeviceIndex = aws.ToInt32(a.DeviceIndex)
		out.DeleteOnTermination = aws.ToBool(a.DeleteOnTermination)
		out.AttachTime = aws.ToTime(a.AttachTime)
	}
	return out
}

func tagValue(tags []types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

// DuplicateGroupError is a group tagged on more than one network
// interface: left alone, since the engine cannot tell the license ENI
// from a decoy someone else tagged, and reported.
type DuplicateGroupError struct {
	Group string
	ENIs  []string
}

func (e *DuplicateGroupError) Error() string {
	return fmt.Sprintf("group %q is tagged on %d network interfaces (%s): left alone until exactly one carries the tag; "+
		"one may be a decoy tagged by someone else", e.Group, len(e.ENIs), strings.Join(e.ENIs, ", "))
}
