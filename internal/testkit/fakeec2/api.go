package fakeec2

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/eni-failover/eni-failover/internal/model"
)

// call runs one API call: latency, fault rules, then fn under the lock with
// due transitions applied, then recording and the after-call hook.
func (f *Fake) call(ctx context.Context, op string, input any, fn func() error) error {
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		if err := gate(ctx, op); err != nil {
			return err
		}
	}
	f.mu.Lock()
	d := f.vary(f.timings.Latency(op))
	f.mu.Unlock()
	if err := f.clk.Sleep(ctx, d); err != nil {
		return err
	}
	f.mu.Lock()
	f.advance()
	f.started = 0
	// A fault (UnauthorizedOperation standing for IAM) answers a DryRun
	// as it answers the call; otherwise EC2 says it would have succeeded.
	err := f.injected(op, input)
	dry := IsDryRun(input)
	switch {
	case err == nil && dry:
		err = apiError(op, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.", 412)
	case err == nil:
		err = fn()
	}
	f.calls = append(f.calls, Call{Op: op, Input: input, Err: err, At: f.clk.Now(), Latency: d, Transition: f.started, DryRun: dry})
	hook := f.afterCall
	f.mu.Unlock()
	if hook != nil {
		hook(op, input, err)
	}
	return err
}

// IsDryRun reports whether a mutating call's input sets DryRun.
func IsDryRun(input any) bool {
	switch in := input.(type) {
	case ec2.AttachNetworkInterfaceInput:
		return aws.ToBool(in.DryRun)
	case ec2.DetachNetworkInterfaceInput:
		return aws.ToBool(in.DryRun)
	case ec2.ModifyNetworkInterfaceAttributeInput:
		return aws.ToBool(in.DryRun)
	case ec2.CreateTagsInput:
		return aws.ToBool(in.DryRun)
	case ec2.DeleteTagsInput:
		return aws.ToBool(in.DryRun)
	case ec2.StartInstancesInput:
		return aws.ToBool(in.DryRun)
	}
	return false
}

func notFound(op, code, format string, args ...any) error {
	return apiError(op, code, fmt.Sprintf(format, args...), 400)
}

// DescribeNetworkInterfaces supports ids and the filters network-interface-id,
// tag-key, tag:KEY, attachment.instance-id, availability-zone and status.
func (f *Fake) DescribeNetworkInterfaces(ctx context.Context, in *ec2.DescribeNetworkInterfacesInput, _ ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error) {
	out := &ec2.DescribeNetworkInterfacesOutput{}
	err := f.call(ctx, OpDescribeNetworkInterfaces, *in, func() error {
		var list []*networkInterface
		if len(in.NetworkInterfaceIds) > 0 {
			for _, id := range in.NetworkInterfaceIds {
				n := f.enis[id]
				if n == nil {
					return notFound(OpDescribeNetworkInterfaces, "InvalidNetworkInterfaceID.NotFound", "The networkInterface ID '%s' does not exist", id)
				}
				list = append(list, n)
			}
		} else {
			for _, n := range f.enis {
				list = append(list, n)
			}
		}
		sort.Slice(list, func(i, j int) bool { return list[i].id < list[j].id })
		var matched []types.NetworkInterface
		for _, n := range list {
			ok, err := f.eniMatches(n, in.Filters)
			if err != nil {
				return err
			}
			if ok {
				matched = append(matched, n.sdk())
			}
		}
		page, next, err := paginate(OpDescribeNetworkInterfaces, matched, in.MaxResults, in.NextToken)
		out.NetworkInterfaces, out.NextToken = page, next
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (f *Fake) eniMatches(n *networkInterface, filters []types.Filter) (bool, error) {
	for _, fl := range filters {
		name := aws.ToString(fl.Name)
		var have []string
		switch {
		case name == "network-interface-id":
			have = []string{n.id}
		case name == "tag-key":
			for k := range n.tags {
				have = append(have, k)
			}
		case strings.HasPrefix(name, "tag:"):
			if v, ok := n.tags[strings.TrimPrefix(name, "tag:")]; ok {
				have = []string{v}
			}
		case name == "attachment.instance-id":
			if n.att != nil {
				have = []string{n.att.instanceID}
			}
		case name == "availability-zone":
			have = []string{n.az}
		case name == "status":
			have = []string{n.status()}
		default:
			return false, apiError(OpDescribeNetworkInterfaces, "InvalidParameterValue", "The filter '"+name+"' is invalid", 400)
		}
		if !anyIn(have, fl.Values) {
			return false, nil
		}
	}
	return true, nil
}

func (n *networkInterface) status() string {
	if n.att == nil {
		return "available"
	}
	return "in-use"
}

func (n *networkInterface) sdk() types.NetworkInterface {
	out := types.NetworkInterface{
		NetworkInterfaceId: aws.String(n.id),
		MacAddress:         aws.String(n.mac),
		PrivateIpAddress:   aws.String(n.ip),
		AvailabilityZone:   aws.String(n.az),
		SubnetId:           aws.String(n.subnet),
		VpcId:              aws.String(n.vpc),
		Status:             types.NetworkInterfaceStatus(n.status()),
		InterfaceType:      types.NetworkInterfaceTypeInterface,
		TagSet:             sdkTags(n.tags),
	}
	if a := n.att; a != nil {
		out.Attachment = &types.NetworkInterfaceAttachment{
			AttachmentId:        aws.String(a.id),
			InstanceId:          aws.String(a.instanceID),
			DeviceIndex:         aws.Int32(a.deviceIndex),
			NetworkCardIndex:    aws.Int32(0),
			Status:              types.AttachmentStatus(a.status),
			DeleteOnTermination: aws.Bool(a.dot),
		}
		if !a.attachedAt.IsZero() {
			out.Attachment.AttachTime = aws.Time(a.attachedAt)
		}
	}
	return out
}

// DescribeInstances supports ids and the filters instance-id, tag-key,
// tag:KEY, instance-state-name and availability-zone.
func (f *Fake) DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	out := &ec2.DescribeInstancesOutput{}
	err := f.call(ctx, OpDescribeInstances, *in, func() error {
		list, err := f.pickInstances(OpDescribeInstances, in.InstanceIds)
		if err != nil {
			return err
		}
		var matched []types.Instance
		for _, i := range list {
			ok, err := instanceMatches(i, in.Filters)
			if err != nil {
				return err
			}
			if ok {
				matched = append(matched, f.sdkInstance(i))
			}
		}
		page, next, err := paginate(OpDescribeInstances, matched, in.MaxResults, in.NextToken)
		if len(page) > 0 {
			out.Reservations = []types.Reservation{{Instances: page}}
		}
		out.NextToken = next
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (f *Fake) pickInstances(op string, ids []string) ([]*instance, error) {
	var list []*instance
	if len(ids) > 0 {
		for _, id := range ids {
			i := f.instances[id]
			if i == nil {
				return nil, notFound(op, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
			}
			list = append(list, i)
		}
		return list, nil
	}
	for _, i := range f.instances {
		list = append(list, i)
	}
	sort.Slice(list, func(a, b int) bool { return list[a].id < list[b].id })
	return list, nil
}

func instanceMatches(i *instance, filters []types.Filter) (bool, error) {
	for _, fl := range filters {
		name := aws.ToString(fl.Name)
		var have []string
		switch {
		case name == "instance-id":
			have = []string{i.id}
		case name == "tag-key":
			for k := range i.tags {
				have = append(have, k)
			}
		case strings.HasPrefix(name, "tag:"):
			if v, ok := i.tags[strings.TrimPrefix(name, "tag:")]; ok {
				have = []string{v}
			}
		case name == "instance-state-name":
			have = []string{i.state}
		case name == "availability-zone":
			have = []string{i.az}
		default:
			return false, apiError(OpDescribeInstances, "InvalidParameterValue", "The filter '"+name+"' is invalid", 400)
		}
		if !anyIn(have, fl.Values) {
			return false, nil
		}
	}
	return true, nil
}

func (f *Fake) sdkInstance(i *instance) types.Instance {
	out := types.Instance{
		InstanceId:   aws.String(i.id),
		State:        &types.InstanceState{Name: types.InstanceStateName(i.state)},
		Placement:    &types.Placement{AvailabilityZone: aws.String(i.az)},
		SubnetId:     aws.String(i.subnet),
		VpcId:        aws.String(i.vpc),
		Tags:         sdkTags(i.tags),
		LaunchTime:   aws.Time(i.launched),
		InstanceType: types.InstanceTypeT4gMedium,
	}
	if i.windows {
		out.Platform = types.PlatformValuesWindows
	}
	if i.state == "terminated" {
		return out
	}
	ids := make([]string, 0)
	ownPrimary := false // an added ENI is the primary interface
	for id, n := range f.enis {
		if n.att != nil && n.att.instanceID == i.id {
			ids = append(ids, id)
			ownPrimary = ownPrimary || n.att.deviceIndex == 0
		}
	}
	if !ownPrimary {
		out.NetworkInterfaces = append(out.NetworkInterfaces, types.InstanceNetworkInterface{
			NetworkInterfaceId: aws.String("eni-primary-" + strings.TrimPrefix(i.id, "i-")),
			Attachment: &types.InstanceNetworkInterfaceAttachment{
				DeviceIndex: aws.Int32(0), Status: types.AttachmentStatusAttached, DeleteOnTermination: aws.Bool(true),
			},
		})
	}
	sort.Strings(ids)
	for _, id := range ids {
		a := f.enis[id].att
		out.NetworkInterfaces = append(out.NetworkInterfaces, types.InstanceNetworkInterface{
			NetworkInterfaceId: aws.String(id),
			MacAddress:         aws.String(f.enis[id].mac),
			Attachment: &types.InstanceNetworkInterfaceAttachment{
				AttachmentId: aws.String(a.id), DeviceIndex: aws.Int32(a.deviceIndex),
				Status: types.AttachmentStatus(a.status), DeleteOnTermination: aws.Bool(a.dot),
			},
		})
	}
	return out
}

// DescribeInstanceStatus returns status checks of running instances, or of
// all named instances when IncludeAllInstances is set.
func (f *Fake) DescribeInstanceStatus(ctx context.Context, in *ec2.DescribeInstanceStatusInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstanceStatusOutput, error) {
	out := &ec2.DescribeInstanceStatusOutput{}
	err := f.call(ctx, OpDescribeInstanceStatus, *in, func() error {
		if len(in.InstanceIds) > 100 {
			return apiError(OpDescribeInstanceStatus, "InvalidParameterValue", "at most 100 instance IDs", 400)
		}
		list, err := f.pickInstances(OpDescribeInstanceStatus, in.InstanceIds)
		if err != nil {
			return err
		}
		var matched []types.InstanceStatus
		for _, i := range list {
			if i.state != "running" && !aws.ToBool(in.IncludeAllInstances) {
				continue
			}
			st := types.InstanceStatus{
				InstanceId:       aws.String(i.id),
				AvailabilityZone: aws.String(i.az),
				InstanceState:    &types.InstanceState{Name: types.InstanceStateName(i.state)},
				SystemStatus:     &types.InstanceStatusSummary{Status: summary(i, i.systemStatus)},
				InstanceStatus:   &types.InstanceStatusSummary{Status: summary(i, i.instanceStatus)},
				Events:           append([]types.InstanceStatusEvent(nil), i.events...),
			}
			matched = append(matched, st)
		}
		page, next, err := paginate(OpDescribeInstanceStatus, matched, in.MaxResults, in.NextToken)
		out.InstanceStatuses, out.NextToken = page, next
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func summary(i *instance, s string) types.SummaryStatus {
	if i.state != "running" {
		return types.SummaryStatusNotApplicable
	}
	return types.SummaryStatus(s)
}

// DetachNetworkInterface starts a detach of the named attachment. A graceful
// detach of a stuck interface never completes; a force detach does.
func (f *Fake) DetachNetworkInterface(ctx context.Context, in *ec2.DetachNetworkInterfaceInput, _ ...func(*ec2.Options)) (*ec2.DetachNetworkInterfaceOutput, error) {
	err := f.call(ctx, OpDetachNetworkInterface, *in, func() error {
		attID := aws.ToString(in.AttachmentId)
		var n *networkInterface
		for _, c := range f.enis {
			if c.att != nil && c.att.id == attID {
				n = c
			}
		}
		if n == nil {
			return notFound(OpDetachNetworkInterface, "InvalidAttachmentID.NotFound", "The attachment ID '%s' does not exist", attID)
		}
		if n.att.deviceIndex == 0 {
			return apiError(OpDetachNetworkInterface, "OperationNotPermitted", "The network interface at device index 0 cannot be detached.", 400)
		}
		force := aws.ToBool(in.Force)
		now := f.clk.Now()
		switch {
		case force:
			f.started = f.vary(f.timings.ForceDetach)
			n.att.status, n.att.transitionAt = "detaching", now.Add(f.started)
		case n.att.status == "detaching":
			// Already on its way: EC2 accepts the repeat.
		case n.att.status == "attaching":
			return apiError(OpDetachNetworkInterface, "IncorrectState", "The network interface is attaching.", 400)
		default:
			n.att.status = "detaching"
			f.started = f.vary(f.timings.Detach)
			n.att.transitionAt = now.Add(f.started)
			if n.stuckDetaching {
				n.att.transitionAt = now.Add(1000 * 24 * 3600e9)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ec2.DetachNetworkInterfaceOutput{}, nil
}

// AttachNetworkInterface attaches an available interface to a running or
// stopped instance in the same AZ at a free device index.
func (f *Fake) AttachNetworkInterface(ctx context.Context, in *ec2.AttachNetworkInterfaceInput, _ ...func(*ec2.Options)) (*ec2.AttachNetworkInterfaceOutput, error) {
	out := &ec2.AttachNetworkInterfaceOutput{}
	err := f.call(ctx, OpAttachNetworkInterface, *in, func() error {
		op := OpAttachNetworkInterface
		eniID, instID, idx := aws.ToString(in.NetworkInterfaceId), aws.ToString(in.InstanceId), aws.ToInt32(in.DeviceIndex)
		n := f.enis[eniID]
		if n == nil {
			return notFound(op, "InvalidNetworkInterfaceID.NotFound", "The networkInterface ID '%s' does not exist", eniID)
		}
		i := f.instances[instID]
		if i == nil {
			return notFound(op, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", instID)
		}
		if n.att != nil {
			return apiError(op, "InvalidNetworkInterface.InUse", fmt.Sprintf("Interface: [%s] in use.", eniID), 400)
		}
		if i.state != "running" && i.state != "stopped" {
			return apiError(op, "IncorrectInstanceState", fmt.Sprintf("The instance '%s' is not in a valid state for this operation.", instID), 400)
		}
		if i.az != n.az {
			return apiError(op, "InvalidParameterCombination", "You may not attach a network interface to an instance if they are not in the same availability zone", 400)
		}
		if idx == 0 {
			return apiError(op, "InvalidParameterValue", fmt.Sprintf("Instance '%s' already has an interface attached at device index '0'.", instID), 400)
		}
		for _, c := range f.enis {
			if c.att != nil && c.att.instanceID == instID && c.att.deviceIndex == idx {
				return apiError(op, "InvalidParameterValue", fmt.Sprintf("Instance '%s' already has an interface attached at device index '%d'.", instID, idx), 400)
			}
		}
		f.started = f.vary(f.timings.Attach)
		n.att = &attachment{
			id: f.newID("eni-attach-"), instanceID: instID, deviceIndex: idx,
			status: "attaching", transitionAt: f.clk.Now().Add(f.started), attachedAt: f.clk.Now(),
		}
		out.AttachmentId = aws.String(n.att.id)
		out.NetworkCardIndex = aws.Int32(0)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ModifyNetworkInterfaceAttribute supports the attachment's
// DeleteOnTermination.
func (f *Fake) ModifyNetworkInterfaceAttribute(ctx context.Context, in *ec2.ModifyNetworkInterfaceAttributeInput, _ ...func(*ec2.Options)) (*ec2.ModifyNetworkInterfaceAttributeOutput, error) {
	err := f.call(ctx, OpModifyNetworkInterfaceAttribute, *in, func() error {
		op := OpModifyNetworkInterfaceAttribute
		id := aws.ToString(in.NetworkInterfaceId)
		n := f.enis[id]
		if n == nil {
			return notFound(op, "InvalidNetworkInterfaceID.NotFound", "The networkInterface ID '%s' does not exist", id)
		}
		if in.Attachment == nil {
			return apiError(op, "InvalidParameterValue", "only Attachment is simulated", 400)
		}
		attID := aws.ToString(in.Attachment.AttachmentId)
		if n.att == nil || n.att.id != attID {
			return notFound(op, "InvalidAttachmentID.NotFound", "The attachment ID '%s' does not exist", attID)
		}
		n.att.dot = aws.ToBool(in.Attachment.DeleteOnTermination)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ec2.ModifyNetworkInterfaceAttributeOutput{}, nil
}

// CreateTags sets tags on interfaces and instances.
func (f *Fake) CreateTags(ctx context.Context, in *ec2.CreateTagsInput, _ ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error) {
	err := f.call(ctx, OpCreateTags, *in, func() error {
		if err := checkTags(in.Tags); err != nil {
			return err
		}
		// EC2 applies a request whole or not at all.
		for _, r := range in.Resources {
			tags, err := f.tagsOf(OpCreateTags, r)
			if err != nil {
				return err
			}
			keys := maps.Clone(tags)
			for _, t := range in.Tags {
				keys[aws.ToString(t.Key)] = ""
			}
			if len(keys) > model.MaxTagsPerResource {
				return apiError(OpCreateTags, "TagLimitExceeded", fmt.Sprintf("The maximum number of Tags for a resource has been reached (%s: %d)", r, model.MaxTagsPerResource), 400)
			}
		}
		for _, r := range in.Resources {
			tags, _ := f.tagsOf(OpCreateTags, r)
			for _, t := range in.Tags {
				tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ec2.CreateTagsOutput{}, nil
}

// checkTags refuses what EC2 refuses in a tag ("Tag restrictions", Amazon
// EC2 User Guide): a key over 128 Unicode characters, or starting with the
// reserved "aws:", a value over 256.
func checkTags(tags []types.Tag) error {
	for _, t := range tags {
		if msg := model.TagRestriction(aws.ToString(t.Key), aws.ToString(t.Value)); msg != "" {
			return apiError(OpCreateTags, "InvalidParameterValue", msg, 400)
		}
	}
	return nil
}

// tagsOf is the tag map of an interface or instance; f.mu must be held.
func (f *Fake) tagsOf(op, id string) (map[string]string, error) {
	if n := f.enis[id]; n != nil {
		return n.tags, nil
	}
	if i := f.instances[id]; i != nil {
		return i.tags, nil
	}
	return nil, notFound(op, "InvalidID", "The ID '%s' is not valid", id)
}

// DeleteTags removes tags from interfaces and instances; a tag given with
// a value is removed only where it has that value (EC2 API Reference,
// DeleteTags: "If you specify a tag key with a value, we delete the tag
// only if its value matches"; moto is not relied on for it).
func (f *Fake) DeleteTags(ctx context.Context, in *ec2.DeleteTagsInput, _ ...func(*ec2.Options)) (*ec2.DeleteTagsOutput, error) {
	err := f.call(ctx, OpDeleteTags, *in, func() error {
		for _, r := range in.Resources {
			tags, err := f.tagsOf(OpDeleteTags, r)
			if err != nil {
				return err
			}
			for _, t := range in.Tags {
				if v, ok := tags[aws.ToString(t.Key)]; ok && (t.Value == nil || aws.ToString(t.Value) == v) {
					delete(tags, aws.ToString(t.Key))
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ec2.DeleteTagsOutput{}, nil
}

// StartInstances starts stopped instances (pending -> running).
func (f *Fake) StartInstances(ctx context.Context, in *ec2.StartInstancesInput, _ ...func(*ec2.Options)) (*ec2.StartInstancesOutput, error) {
	err := f.call(ctx, OpStartInstances, *in, func() error {
		list, err := f.pickInstances(OpStartInstances, in.InstanceIds)
		if err != nil {
			return err
		}
		for _, i := range list {
			switch i.state {
			case "stopped":
				i.state, i.nextState, i.transitionAt = "pending", "running", f.clk.Now().Add(f.vary(f.timings.Start))
				i.systemStatus, i.instanceStatus = "initializing", "initializing"
			case "pending", "running":
			default:
				return apiError(OpStartInstances, "IncorrectInstanceState", fmt.Sprintf("The instance '%s' is not in a state from which it can be started.", i.id), 400)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ec2.StartInstancesOutput{}, nil
}

func paginate[T any](op string, items []T, max *int32, token *string) ([]T, *string, error) {
	start := 0
	if t := aws.ToString(token); t != "" {
		v, err := strconv.Atoi(t)
		if err != nil || v < 0 || v > len(items) {
			return nil, nil, apiError(op, "InvalidParameterValue", "invalid NextToken", 400)
		}
		start = v
	}
	size := len(items) - start
	if m := int(aws.ToInt32(max)); m > 0 && m < size {
		size = m
	}
	end := start + size
	var next *string
	if end < len(items) {
		next = aws.String(strconv.Itoa(end))
	}
	return items[start:end], next, nil
}

// anyIn reports whether a value matches one of the filter's values, as EC2
// matches them: "*" is zero or more characters, "?" exactly one, and a
// backslash makes the next character literal ("Filter", Amazon EC2 API
// Reference).
func anyIn(have, want []string) bool {
	for _, h := range have {
		for _, w := range want {
			if filterMatch([]rune(w), []rune(h)) {
				return true
			}
		}
	}
	return false
}

func filterMatch(pattern, value []rune) bool {
	for len(pattern) > 0 {
		switch p := pattern[0]; {
		case p == '*':
			for i := 0; i <= len(value); i++ {
				if filterMatch(pattern[1:], value[i:]) {
					return true
				}
			}
			return false
		case p == '?':
			if len(value) == 0 {
				return false
			}
		case p == '\\' && len(pattern) > 1:
			pattern = pattern[1:]
			if len(value) == 0 || value[0] != pattern[0] {
				return false
			}
		default:
			if len(value) == 0 || value[0] != p {
				return false
			}
		}
		pattern, value = pattern[1:], value[1:]
	}
	return len(value) == 0
}

func sdkTags(m map[string]string) []types.Tag {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]types.Tag, 0, len(keys))
	for _, k := range keys {
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return out
}
