package doctor

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// Agents reads the SSM agents' state (DescribeInstanceInformation, with the
// SDK's signature).
type Agents interface {
	DescribeInstanceInformation(ctx context.Context, in *ssm.DescribeInstanceInformationInput, optFns ...func(*ssm.Options)) (*ssm.DescribeInstanceInformationOutput, error)
}

var _ Agents = (*ssm.Client)(nil)
