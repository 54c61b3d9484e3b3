package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/eni-failover/eni-failover/internal/awsapi"
	"github.com/eni-failover/eni-failover/internal/awserr"
	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/moveapi"
)

// DryRuns asks EC2 whether role may make each call a failover of the group
// makes, with DryRun set: EC2 evaluates the role's policy with its
// conditions, permission boundary and the organization's SCPs, and answers
// DryRunOperation (allowed) or UnauthorizedOperation, changing nothing.
func DryRuns(ctx context.Context, p *Pacer, api awsapi.EC2, st engine.Status, pol engine.Policy, role string) []moveapi.Check {
	g := st.Group
	var out []moveapi.Check
	add := func(call, target string, err error) {
		out = append(out, dryRunCheck(g.Name, g.ENI.ID, role, call, target, "", err))
	}
	yes := aws.Bool(true)
	if g.ENI.Attached() {
		err := paced(ctx, p, func() error {
			_, err := api.DetachNetworkInterface(ctx, &ec2.DetachNetworkInterfaceInput{AttachmentId: aws.String(g.ENI.AttachmentID), DryRun: yes})
			return err
		})
		add("ec2:DetachNetworkInterface", "from "+g.ENI.InstanceID, err)
		err = paced(ctx, p, func() error {
			_, err := api.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(g.ENI.ID), DryRun: yes,
				Attachment: &types.NetworkInterfaceAttachmentChanges{AttachmentId: aws.String(g.ENI.AttachmentID), DeleteOnTermination: aws.Bool(false)}})
			return err
		})
		add("ec2:ModifyNetworkInterfaceAttribute", "DeleteOnTermination", err)
	} else {
		out = append(out, moveapi.Check{Group: g.Name, Area: moveapi.AreaIAM, Check: fmt.Sprintf("ec2:DetachNetworkInterface (%s)", role), Result: moveapi.Warn,
			Detail: fmt.Sprintf("%s is not attached, so the detach could not be tried", g.ENI.ID),
			Fix:    "the reconcile attaches it to the best member; or run: eni-failover move --group " + g.Name})
	}
	err := paced(ctx, p, func() error {
		_, err := api.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{g.ENI.ID}, DryRun: yes,
			Tags: []types.Tag{{Key: aws.String(pol.Tags.Holder()), Value: aws.String(g.ENI.InstanceID)}}})
		return err
	})
	add("ec2:CreateTags", "journal", err)
	out = append(out, AttachDryRuns(ctx, p, api, st, pol, role)...)
	for _, m := range st.Members {
		if !m.Holder && pol.Allows(m.InstanceID) && m.State == model.StateStopped && pol.AllowStartStopped {
			err := paced(ctx, p, func() error {
				_, err := api.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{m.InstanceID}, DryRun: yes})
				return err
			})
			out = append(out, dryRunCheck(g.Name, g.ENI.ID, role, callStart, named(m.Member), m.InstanceID, err))
		}
	}
	return out
}

// The calls as IAM names them.
const (
	callAttach = "ec2:AttachNetworkInterface"
	callStart  = "ec2:StartInstances"
)

// AttachDryRuns asks EC2 whether role may attach the ENI to each standby.
func AttachDryRuns(ctx context.Context, p *Pacer, api awsapi.EC2, st engine.Status, pol engine.Policy, role string) []moveapi.Check {
	var out []moveapi.Check
	for _, m := range st.Members {
		if m.Holder || !pol.Allows(m.InstanceID) {
			continue
		}
		err := paced(ctx, p, func() error {
			_, err := api.AttachNetworkInterface(ctx, &ec2.AttachNetworkInterfaceInput{NetworkInterfaceId: aws.String(st.Group.ENI.ID), InstanceId: aws.String(m.InstanceID),
				DeviceIndex: aws.Int32(pol.DeviceIndex), DryRun: aws.Bool(true)})
			return err
		})
		out = append(out, dryRunCheck(st.Group.Name, st.Group.ENI.ID, role, callAttach, "to "+named(m.Member), m.InstanceID, err))
	}
	return out
}

// DeniedAttaches are the standbys an attach DryRun was refused for, with
// EC2's words.
func DeniedAttaches(checks []moveapi.Check) map[string]string {
	denied := map[string]string{}
	for _, c := range checks {
		if c.Area == moveapi.AreaIAM && c.Result == moveapi.Fail && c.Instance != "" && strings.HasPrefix(c.Check, callAttach+" ") {
			denied[c.Instance] = c.Detail
		}
	}
	return denied
}

// paced makes one DryRun once the pacer allows it.
func paced(ctx context.Context, p *Pacer, call func() error) error {
	if err := p.wait(ctx); err != nil {
		return err
	}
	return call()
}

// dryRunCheck reads EC2's answer to one DryRun.
func dryRunCheck(group, eni, role, call, target, instance string, err error) moveapi.Check {
	c := moveapi.Check{Group: group, Area: moveapi.AreaIAM, Check: fmt.Sprintf("%s %s (%s)", call, target, role), Instance: instance}
	var api smithy.APIError
	switch code := awserr.Code(err); {
	case errors.Is(err, errNoTime):
		c.Result, c.Detail, c.Fix = moveapi.Warn, err.Error(), "run the doctor for this group alone: eni-failover doctor --group "+group
	case code == "DryRunOperation":
		c.Result, c.Detail = moveapi.Pass, "allowed (DryRun on "+eni+")"
	case code == "UnauthorizedOperation" || code == "AccessDenied" || code == "AccessDeniedException":
		c.Result = moveapi.Fail
		c.Detail = "denied: " + Message(err)
		c.Fix = fmt.Sprintf("allow %s to the %s: redeploy the stack, or look for a service control policy or permission boundary that denies it "+
			"(aws sts decode-authorization-message decodes the message)", call, role)
	case err == nil:
		// A DryRun never succeeds: an endpoint that carried the call out is
		// not EC2 as documented.
		c.Result, c.Detail = moveapi.Fail, "EC2 accepted a DryRun call as a real one"
		c.Fix = "check AWS_ENDPOINT_URL_EC2: it does not point at EC2"
	case errors.As(err, &api):
		c.Result = moveapi.Warn
		c.Detail = fmt.Sprintf("EC2 answered %s: %s; the permission could not be proven", code, Message(err))
		c.Fix = "run the doctor again; if it stays, look at the member and the ENI in the console"
	default:
		c.Result = moveapi.Warn
		c.Detail = "not answered: " + err.Error()
		c.Fix = "run the doctor again"
	}
	return c
}

// Message is an API error's message, or the error.
func Message(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorMessage()
	}
	return err.Error()
}

// named is an instance as people know it: "i-... (Name)".
func named(m model.Member) string {
	if m.Name == "" {
		return m.InstanceID
	}
	return fmt.Sprintf("%s (%s)", m.InstanceID, model.Clip(m.Name, 64))
}
