package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwschemas "github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/eni-failover/eni-failover/events"
)

// world is a freshly reset moto region with one tagged group: primary
// (priority 1) holding the ENI, standby (2), second (3), and an outsider
// instance in no group.
type world struct {
	t                                  *testing.T
	ec2                                *ec2.Client
	sqs                                *sqs.Client
	events                             *eventbridge.Client
	cw                                 *cloudwatch.Client
	queueURL                           string
	group, eni, mac                    string
	primary, standby, second, outsider string
}

func newWorld(t *testing.T) *world { return newWorldWithout(t, "") }

// newWorldWithout is a world whose function users lack one granted action.
func newWorldWithout(t *testing.T, action string) *world {
	t.Helper()
	need(t)
	ctx := context.Background()
	req, _ := http.NewRequest(http.MethodPost, motoURL+"/moto-api/reset", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatalf("resetting moto: %v", err)
	} else {
		resp.Body.Close()
	}
	strict.Reset()
	if err := enforceIAM(action); err != nil {
		t.Fatalf("IAM users: %v", err)
	}
	// The harness, too, goes through the strict proxy, as the admin.
	creds := credentials.NewStaticCredentialsProvider(adminKey, placeholder, "")
	w := &world{
		t:      t,
		group:  "mosek",
		ec2:    ec2.New(ec2.Options{Region: region, Credentials: creds, BaseEndpoint: aws.String(strict.URL())}),
		sqs:    sqs.New(sqs.Options{Region: region, Credentials: creds, BaseEndpoint: aws.String(strict.URL())}),
		events: eventbridge.New(eventbridge.Options{Region: region, Credentials: creds, BaseEndpoint: aws.String(strict.URL())}),
		cw: cloudwatch.New(cloudwatch.Options{Region: region, Credentials: creds, BaseEndpoint: aws.String(strict.URL())},
			func(o *cloudwatch.Options) {
				o.Protocol = awsquery.New(cwschemas.GraniteServiceVersion20100801)
				// moto checks the signature of the uncompressed body.
				o.DisableRequestCompression = true
			}),
	}
	snsc := sns.New(sns.Options{Region: region, Credentials: creds, BaseEndpoint: aws.String(strict.URL())})

	vpc := must(w.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")}))
	subnet := must(w.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.0.1.0/24"), AvailabilityZone: aws.String("us-east-1a")}))
	images := must(w.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{}))
	if len(images.Images) == 0 {
		t.Fatal("moto has no AMI")
	}
	run := func(prio string) string {
		tags := []types.Tag{{Key: aws.String("Name"), Value: aws.String("token-" + prio)}}
		if prio != "" {
			tags = append(tags, types.Tag{Key: aws.String("eni-failover:group"), Value: aws.String(w.group)},
				types.Tag{Key: aws.String("eni-failover:priority"), Value: aws.String(prio)})
		}
		out := must(w.ec2.RunInstances(ctx, &ec2.RunInstancesInput{
			ImageId: images.Images[0].ImageId, MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: subnet.Subnet.SubnetId,
			InstanceType:      types.InstanceTypeT4gMedium,
			TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: tags}},
		}))
		return aws.ToString(out.Instances[0].InstanceId)
	}
	w.primary, w.standby, w.second, w.outsider = run("1"), run("2"), run("3"), run("")
	eni := must(w.ec2.CreateNetworkInterface(ctx, &ec2.CreateNetworkInterfaceInput{
		SubnetId: subnet.Subnet.SubnetId, Description: aws.String("MOSEK license"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeNetworkInterface,
			Tags: []types.Tag{{Key: aws.String("eni-failover:group"), Value: aws.String(w.group)}}}},
	}))
	w.eni, w.mac = aws.ToString(eni.NetworkInterface.NetworkInterfaceId), aws.ToString(eni.NetworkInterface.MacAddress)
	must(w.ec2.AttachNetworkInterface(ctx, &ec2.AttachNetworkInterfaceInput{NetworkInterfaceId: aws.String(w.eni), InstanceId: aws.String(w.primary), DeviceIndex: aws.Int32(1)}))

	topic := must(snsc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("eni-failover-e2e")}))
	if aws.ToString(topic.TopicArn) != topicARN {
		t.Fatalf("topic %s, want %s", aws.ToString(topic.TopicArn), topicARN)
	}
	q := must(w.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("notifications")}))
	w.queueURL = aws.ToString(q.QueueUrl)
	attrs := must(w.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}}))
	must(snsc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(attrs.Attributes["QueueArn"])}))
	w.deploy(ctx)
	strict.Settle()
	return w
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// sample loads a sample event pointed at this world's instances, with the
// AWS Health samples' times moved to the wall clock the functions read:
// the near change starts in 10 minutes, the far one in 4 days.
func (w *world) sample(name string) []byte {
	now := time.Now().UTC()
	rfc1123 := func(d time.Duration) string { return now.Add(d).Format(time.RFC1123) }
	return events.MustSample(name, events.HolderPlaceholder, w.primary, events.StandbyPlaceholder, w.second,
		"i-0bbbbbbbbbbbbbbb2", w.standby, `"`+events.GroupPlaceholder+`"`, `"`+w.group+`"`,
		"Thu, 26 Nov 2026 09:20:00 GMT", rfc1123(10*time.Minute), "Thu, 26 Nov 2026 11:20:00 GMT", rfc1123(2*time.Hour+10*time.Minute),
		"Wed, 02 Dec 2026 12:00:00 GMT", rfc1123(96*time.Hour), "Wed, 02 Dec 2026 14:00:00 GMT", rfc1123(98*time.Hour))
}

func (w *world) eniState() types.NetworkInterface {
	out, err := w.ec2.DescribeNetworkInterfaces(context.Background(), &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{w.eni}})
	if err != nil {
		w.t.Fatalf("describing %s: %v", w.eni, err)
	}
	return out.NetworkInterfaces[0]
}

// holder returns the instance the ENI is attached to ("" when available),
// and checks there is at most one attachment.
func (w *world) holder() string {
	w.t.Helper()
	n := w.eniState()
	if n.Attachment == nil || n.Status == types.NetworkInterfaceStatusAvailable {
		return ""
	}
	count := 0
	insts := must(w.ec2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{}))
	for _, r := range insts.Reservations {
		for _, i := range r.Instances {
			for _, ni := range i.NetworkInterfaces {
				if aws.ToString(ni.NetworkInterfaceId) == w.eni {
					count++
				}
			}
		}
	}
	if count > 1 {
		w.t.Fatalf("%s is attached to %d instances", w.eni, count)
	}
	return aws.ToString(n.Attachment.InstanceId)
}

func (w *world) stop(id string) {
	must(w.ec2.StopInstances(context.Background(), &ec2.StopInstancesInput{InstanceIds: []string{id}}))
}

func (w *world) terminate(id string) {
	must(w.ec2.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{id}}))
}

func (w *world) detach() {
	n := w.eniState()
	must(w.ec2.DetachNetworkInterface(context.Background(), &ec2.DetachNetworkInterfaceInput{AttachmentId: n.Attachment.AttachmentId}))
	strict.Settle() // orphaned: available, not still detaching
}

// notifications drains the SNS->SQS queue and returns the subjects.
func (w *world) notifications() []string {
	w.t.Helper()
	var subjects []string
	for {
		out := must(w.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(w.queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 0}))
		if len(out.Messages) == 0 {
			return subjects
		}
		for _, m := range out.Messages {
			var env struct{ Subject, Message string }
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &env); err != nil {
				w.t.Fatalf("notification body %q: %v", aws.ToString(m.Body), err)
			}
			if !strings.Contains(env.Message, `"report"`) {
				w.t.Fatalf("notification without report: %s", env.Message)
			}
			subjects = append(subjects, env.Subject)
			must(w.sqs.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(w.queueURL), ReceiptHandle: m.ReceiptHandle}))
		}
	}
}

func (w *world) journal() map[string]string {
	tags := map[string]string{}
	for _, t := range w.eniState().TagSet {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags
}
