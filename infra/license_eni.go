package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/jsii-runtime-go"

	"github.com/eni-failover/eni-failover/internal/model"
)

// createdENI is the license ENI the stack manages: its id (nil when it is
// managed outside the stack), and, when the stack created it, its security
// group and address (nil when imported).
type createdENI struct {
	ID *string
	SG awsec2.CfnSecurityGroup
	IP *string
}

// licenseENI creates (MOSEK's recipe) or imports the license ENI.
func (s *EniFailoverStack) licenseENI(cfg Config) createdENI {
	l := cfg.LicenseENI
	switch {
	case l == nil:
		return createdENI{}
	case l.ImportID != "":
		return createdENI{ID: jsii.String(l.ImportID)}
	}
	cr := l.Create
	var ingress []interface{}
	for _, cidr := range cr.CIDRs {
		for _, port := range cr.Ports {
			ingress = append(ingress, &awsec2.CfnSecurityGroup_IngressProperty{
				IpProtocol: jsii.String("tcp"), FromPort: jsii.Number(port), ToPort: jsii.Number(port), CidrIp: jsii.String(cidr),
				Description: jsii.String(fmt.Sprintf("license token server port %d", port)),
			})
		}
	}
	sg := awsec2.NewCfnSecurityGroup(s.Stack, jsii.String("LicenseSecurityGroup"), &awsec2.CfnSecurityGroupProps{
		GroupDescription:     jsii.String("Token server ports of the license ENI (lmgrd and vendor daemon)"),
		VpcId:                jsii.String(cr.VPCID),
		SecurityGroupIngress: &ingress,
		// Security groups are stateful: replies to the license clients need
		// no egress rule. Without any rule CloudFormation would add one that
		// allows everything, so the group carries a rule that matches no
		// traffic (as the CDK's allowAllOutbound: false does).
		SecurityGroupEgress: &[]interface{}{&awsec2.CfnSecurityGroup_EgressProperty{
			IpProtocol: jsii.String("icmp"), FromPort: jsii.Number(252), ToPort: jsii.Number(86), CidrIp: jsii.String("255.255.255.255/32"),
			Description: jsii.String("Disallow all traffic"),
		}},
	})
	eni := awsec2.NewCfnNetworkInterface(s.Stack, jsii.String("LicenseENI"), &awsec2.CfnNetworkInterfaceProps{
		SubnetId:    jsii.String(cr.SubnetID),
		GroupSet:    &[]interface{}{sg.AttrGroupId()},
		Description: jsii.String("license-bound ENI of group " + cr.Group + " (its MAC is in the license file)"),
		Tags: &[]*awscdk.CfnTag{
			{Key: jsii.String(model.NewTags(cfg.TagPrefix).Group()), Value: jsii.String(cr.Group)},
			{Key: jsii.String("Name"), Value: jsii.String(cr.Group + "-license")},
		},
	})
	// A deleted ENI is a lost MAC, and with it the license. Its security
	// group stays with it: deleting a group an interface still uses fails,
	// and would leave the stack's deletion failed.
	eni.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN, &awscdk.RemovalPolicyOptions{ApplyToUpdateReplacePolicy: jsii.Bool(true)})
	sg.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN, nil)
	if cr.ElasticIP {
		eip := awsec2.NewCfnEIP(s.Stack, jsii.String("LicenseEIP"), &awsec2.CfnEIPProps{Domain: jsii.String("vpc"),
			Tags: &[]*awscdk.CfnTag{{Key: jsii.String("Name"), Value: jsii.String(cr.Group + "-license")}}})
		eip.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN, nil)
		awsec2.NewCfnEIPAssociation(s.Stack, jsii.String("LicenseEIPAssociation"), &awsec2.CfnEIPAssociationProps{
			AllocationId: eip.AttrAllocationId(), NetworkInterfaceId: eni.Ref(),
		})
	}
	return createdENI{ID: eni.Ref(), SG: sg, IP: eni.AttrPrimaryPrivateIpAddress()}
}
