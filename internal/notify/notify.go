// Package notify sends one SNS message per move or failed move.
package notify

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/eni-failover/eni-failover/internal/awsapi"
	"github.com/eni-failover/eni-failover/internal/report"
)

// Notifier publishes reports to a topic. A nil *Notifier or an empty topic
// sends nothing.
type Notifier struct {
	SNS      awsapi.SNS
	TopicARN string
}

// Message is the JSON body of a notification.
type Message struct {
	Subject string         `json:"subject"`
	Event   string         `json:"event"`
	Report  *report.Report `json:"report"`
}

// Worth reports whether a report deserves a message: the holder changed,
// or a run failed, or (notifyOnly) an event names a holder.
func Worth(r *report.Report, notifyOnly bool) bool {
	if r == nil {
		return false
	}
	if notifyOnly {
		return r.Outcome == report.Planned || r.Outcome == report.Deferred
	}
	return !r.DryRun && (r.Outcome.Changed() || r.Outcome == report.Failed || r.Outcome == report.Deferred ||
		r.Outcome == report.Capped || r.Outcome == report.Confirmed || len(r.Warnings) > 0 ||
		r.Outcome == report.Paused && r.Trigger != "" && !r.Trigger.Manual())
}

// Subject is a readable one-line summary (SNS allows 100 characters).
func Subject(r *report.Report, notifyOnly bool) string {
	var s string
	switch {
	case notifyOnly:
		s = fmt.Sprintf("eni-failover %s: %s holds the license ENI and is affected (%s)", r.Group, r.HolderBefore, r.Trigger)
	case r.Outcome == report.Deferred:
		s = fmt.Sprintf("eni-failover %s: AWS Health change scheduled for holder %s", r.Group, r.HolderBefore)
	case r.Outcome == report.Failed:
		s = fmt.Sprintf("eni-failover %s: FAILED to move %s off %s", r.Group, r.ENIID, cmp.Or(r.HolderBefore, "(none)"))
	case r.Outcome == report.Capped:
		s = fmt.Sprintf("eni-failover %s: license down on %s, NOT moved (automatic moves used up)", r.Group, cmp.Or(r.HolderBefore, "(none)"))
	case r.Outcome == report.Confirmed:
		s = fmt.Sprintf("eni-failover %s: license answers again on %s after %s", r.Group, cmp.Or(r.HolderAfter, "(none)"),
			(time.Duration(r.OutageMS) * time.Millisecond).Round(100*time.Millisecond))
	case r.Outcome == report.Paused && r.Trigger != "":
		s = fmt.Sprintf("eni-failover %s: group paused, %s NOT acted on (%s)", r.Group, r.Trigger, cmp.Or(r.HolderBefore, "(none)"))
	case len(r.Warnings) > 0 && !r.Outcome.Changed():
		s = fmt.Sprintf("eni-failover %s: journal values IGNORED: someone else wrote the ENI's tags", r.Group)
	case r.Outcome == report.ReturnedToFormer:
		s = fmt.Sprintf("eni-failover %s: no standby took %s; back on %s", r.Group, r.ENIID, r.HolderAfter)
	case r.Activation != nil && !r.Activation.OK():
		s = fmt.Sprintf("eni-failover %s: moved %s -> %s, ACTIVATION %s", r.Group, cmp.Or(r.HolderBefore, "(none)"), r.HolderAfter, strings.ToUpper(string(r.Activation.Status)))
	default:
		s = fmt.Sprintf("eni-failover %s: license ENI moved %s -> %s", r.Group, cmp.Or(r.HolderBefore, "(none)"), r.HolderAfter)
	}
	return subjectSafe(s)
}

// Publish sends the message for r when it is worth one.
func (n *Notifier) Publish(ctx context.Context, r *report.Report, event string, notifyOnly bool) error {
	if n == nil || n.TopicARN == "" || !Worth(r, notifyOnly) {
		return nil
	}
	msg := Message{Subject: Subject(r, notifyOnly), Event: event, Report: r}
	machine, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encoding notification for group %s: %w", r.Group, err)
	}
	// SNS's per-protocol message structure: text for people (e-mail, SMS
	// and the default), JSON for machines (queues, functions, HTTPS).
	text := Text(r, event, notifyOnly)
	structure, err := json.Marshal(map[string]string{
		"default": text, "email": text, "sms": msg.Subject,
		"email-json": string(machine), "sqs": string(machine), "lambda": string(machine), "https": string(machine),
	})
	if err != nil {
		return fmt.Errorf("encoding notification for group %s: %w", r.Group, err)
	}
	_, err = n.SNS.Publish(ctx, &sns.PublishInput{
		TopicArn:         aws.String(n.TopicARN),
		Subject:          aws.String(msg.Subject),
		Message:          aws.String(string(structure)),
		MessageStructure: aws.String("json"),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"group":   {DataType: aws.String("String"), StringValue: aws.String(r.Group)},
			"outcome": {DataType: aws.String("String"), StringValue: aws.String(string(r.Outcome))},
		},
	})
	if err != nil {
		return fmt.Errorf("publishing notification for group %s to %s: %w", r.Group, n.TopicARN, err)
	}
	return nil
}

// subjectSafe keeps SNS's subject rules: printable ASCII, no line breaks,
// at most 100 characters.
func subjectSafe(s string) string {
	b := strings.Builder{}
	for _, r := range s {
		if r >= 0x20 && r < 0x7f {
			b.WriteRune(r)
		}
	}
	out := b.String()
	if len(out) > 100 {
		out = out[:97] + "..."
	}
	return out
}

// PublishReadiness tells people that a group has no standby ready for a
// failover, and why each is not.
func (n *Notifier) PublishReadiness(ctx context.Context, group string, standbys int, notReady []string) error {
	if n == nil || n.TopicARN == "" {
		return nil
	}
	why := "no standby"
	if len(notReady) > 0 {
		why = notReady[0]
	}
	subject := subjectSafe(fmt.Sprintf("eni-failover %s: NO standby ready for a failover (%s)", group, why))
	var b strings.Builder
	fmt.Fprintf(&b, "Group %s has %d standby(s) and none could take the license ENI now: a failover would have nowhere to go.\n\n", group, standbys)
	for _, r := range notReady {
		fmt.Fprintf(&b, "- %s\n", r)
	}
	fmt.Fprintf(&b, "\nRun: eni-failover doctor --group %s\n", group)
	_, err := n.SNS.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(n.TopicARN), Subject: aws.String(subject), Message: aws.String(b.String()),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"group":   {DataType: aws.String("String"), StringValue: aws.String(group)},
			"outcome": {DataType: aws.String("String"), StringValue: aws.String("no-ready-standby")},
		},
	})
	if err != nil {
		return fmt.Errorf("publishing the readiness of group %s to %s: %w", group, n.TopicARN, err)
	}
	return nil
}
