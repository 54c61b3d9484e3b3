package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/eni-failover/eni-failover/internal/testkit/strictec2"
)

func apiCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// TestStrictEC2RefusesWhatEC2Refuses: what moto accepts and EC2 does not
// ("Attach a network interface to an instance", Amazon EC2 User Guide:
// an interface attaches to one instance at a time, in its own
// Availability Zone, at a device index the instance does not use).
func TestStrictEC2RefusesWhatEC2Refuses(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	attach := func(eni, instance string, index int32) error {
		_, err := w.ec2.AttachNetworkInterface(ctx, &ec2.AttachNetworkInterfaceInput{
			NetworkInterfaceId: aws.String(eni), InstanceId: aws.String(instance), DeviceIndex: aws.Int32(index)})
		return err
	}
	if err := attach(w.eni, w.standby, 1); apiCode(err) != "InvalidNetworkInterface.InUse" {
		t.Errorf("second attach of an in-use ENI: %v", err)
	}
	n := w.eniState()
	vpc, subnet := n.VpcId, n.SubnetId
	other := must(w.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc, CidrBlock: aws.String("10.0.2.0/24"), AvailabilityZone: aws.String("us-east-1b")}))
	images := must(w.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{}))
	far := must(w.ec2.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: images.Images[0].ImageId, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		SubnetId: other.Subnet.SubnetId, InstanceType: types.InstanceTypeT4gMedium}))
	spare := must(w.ec2.CreateNetworkInterface(ctx, &ec2.CreateNetworkInterfaceInput{SubnetId: subnet}))
	spareID := aws.ToString(spare.NetworkInterface.NetworkInterfaceId)
	if err := attach(spareID, aws.ToString(far.Instances[0].InstanceId), 1); apiCode(err) != "InvalidParameterCombination" {
		t.Errorf("attach across Availability Zones: %v", err)
	}
	if err := attach(spareID, w.primary, 1); apiCode(err) != "InvalidParameterValue" {
		t.Errorf("attach at a device index in use: %v", err)
	}
	// A detach takes time: the attachment is detaching, and a new attach
	// of the interface meanwhile is refused (held, so that a slow machine
	// cannot let it finish before we look).
	strict.HoldDetaches(true)
	must(w.ec2.DetachNetworkInterface(ctx, &ec2.DetachNetworkInterfaceInput{AttachmentId: n.Attachment.AttachmentId}))
	if st := w.eniState().Attachment; st == nil || st.Status != types.AttachmentStatusDetaching {
		t.Errorf("right after the detach: %+v, want detaching", st)
	}
	if err := attach(w.eni, w.standby, 1); apiCode(err) != "InvalidNetworkInterface.InUse" {
		t.Errorf("attach while detaching: %v", err)
	}
	strict.HoldDetaches(false)
	strict.Settle()
	if w.holder() != "" {
		t.Errorf("after the detach: on %s", w.holder())
	}
}

// TestDeleteOnTerminationIsKept: EC2 deletes an interface attached with
// DeleteOnTermination true when its instance terminates (Amazon EC2 User
// Guide, "Network interface attributes": delete on termination); moto keeps
// it, the strict layer does not.
// The reconcile clears the flag; without that the licensed MAC is lost.
func TestDeleteOnTerminationIsKept(t *testing.T) {
	for _, repaired := range []bool{true, false} {
		w := newWorld(t)
		ctx := context.Background()
		att := w.eniState().Attachment.AttachmentId
		must(w.ec2.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(w.eni),
			Attachment: &types.NetworkInterfaceAttachmentChanges{AttachmentId: att, DeleteOnTermination: aws.Bool(true)}}))
		if !aws.ToBool(w.eniState().Attachment.DeleteOnTermination) {
			t.Fatal("DeleteOnTermination not kept")
		}
		if repaired {
			if res := w.failover("scheduled-reconcile.json"); len(res.Reports) != 1 || res.Reports[0].Outcome != "repaired" {
				t.Fatalf("reconcile: %+v", res)
			}
			if aws.ToBool(w.eniState().Attachment.DeleteOnTermination) {
				t.Fatal("the reconcile left DeleteOnTermination true")
			}
		}
		w.terminate(w.primary)
		out, err := w.ec2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{w.eni}})
		gone := err != nil || len(out.NetworkInterfaces) == 0
		if gone == repaired {
			t.Fatalf("repaired=%v: ENI gone=%v after the holder terminated (%v)", repaired, gone, err)
		}
		if repaired {
			w.failover("ec2-state-terminated.json")
			if got := w.holder(); got != w.standby {
				t.Fatalf("after the holder terminated: ENI on %q, want %s", got, w.standby)
			}
		}
	}
}

// TestInjectedRefusalsEndToEnd: an attach to one standby refused as IAM
// would (UnauthorizedOperation, injected by the strict layer: moto checks
// actions, not resources) sends the ENI to the next; EC2 refusing the
// detach (injected OperationNotPermitted) leaves it on its holder after a
// few paced tries, reported.
func TestInjectedRefusalsEndToEnd(t *testing.T) {
	t.Run("injected refusal of the attach to a standby", func(t *testing.T) {
		w := newWorld(t)
		strict.AddFault(strictec2.Fault{Action: "AttachNetworkInterface", Instance: w.standby, Code: "UnauthorizedOperation",
			Message: "You are not authorized to perform this operation.", Status: 403})
		w.stop(w.primary)
		w.failover("ec2-state-stopped.json")
		if got := w.holder(); got != w.second {
			t.Fatalf("ENI on %q, want %s (the standby IAM refuses is skipped)", got, w.second)
		}
	})
	t.Run("detach refused", func(t *testing.T) {
		w := newWorld(t)
		strict.AddFault(strictec2.Fault{Action: "DetachNetworkInterface", Code: "OperationNotPermitted", Message: "The attachment cannot be detached."})
		_, ferr := w.failoverMayFail("spot-interruption.json")
		if got := w.holder(); got != w.primary {
			t.Fatalf("ENI on %q, want still on %s", got, w.primary)
		}
		if n := strict.Calls("DetachNetworkInterface"); n != 4 {
			t.Fatalf("%d detach calls, want 4 paced tries", n)
		}
		// Reported as an error Lambda retries (asynchronously, twice, then
		// the on-failure queue): EC2 may release the attachment later.
		if ferr == nil || !strings.Contains(ferr.Message, "refused 4 times") {
			t.Fatalf("error %+v", ferr)
		}
	})
}

// TestIAMIsEnforced: with one granted action taken away from the
// functions' users, a failover fails (moto enforces IAM), and the ENI
// stays where it was.
func TestIAMIsEnforced(t *testing.T) {
	w := newWorldWithout(t, "ec2:AttachNetworkInterface")
	w.stop(w.primary)
	_, ferr := w.failoverMayFail("ec2-state-stopped.json")
	// EC2's own code for IAM's refusal (moto's AccessDenied, as EC2 says it).
	if ferr == nil || !strings.Contains(ferr.Message, "UnauthorizedOperation") {
		t.Fatalf("error %+v: want every attach denied", ferr)
	}
	if got := w.holder(); got == w.standby || got == w.second {
		t.Fatalf("moved to %s without ec2:AttachNetworkInterface", got)
	}
}
