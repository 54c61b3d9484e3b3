package account

import (
	"context"
	"fmt"
	"strings"

	"github.com/eni-failover/eni-failover/internal/doctor"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/eni-failover/eni-failover/events"
	"github.com/eni-failover/eni-failover/internal/moveapi"
)

// documented are AWS's documented events (events/) a member's failure
// arrives as: each must match one of the stack's rules.
var documented = []struct{ name, sample string }{
	{"a stop", "ec2-state-stopped.json"},
	{"a Spot interruption warning", "spot-interruption.json"},
	{"an AWS Health notice", "health-ec2-arn-now.json"},
}

// stranger is an instance in no group: with instanceIds pinned, no rule
// may let its events through.
const stranger = "i-00000000000000000"

// RuleChecks has EventBridge match the documented events of each member
// against the stack's deployed rules (TestEventPattern: AWS's matcher, not
// ours). pinned: the rules list the members, so a stranger's events must
// match none.
func RuleChecks(ctx context.Context, api Rules, group string, ruleNames, members []string, pinned bool) []moveapi.Check {
	check := func(name string, v moveapi.Verdict, detail, fix string) moveapi.Check {
		return moveapi.Check{Group: group, Area: moveapi.AreaRules, Check: name, Result: v, Detail: detail, Fix: fix}
	}
	if len(ruleNames) == 0 {
		return []moveapi.Check{check("the stack's rules", moveapi.Warn, "not checked: DOCTOR_RULES names no rule", "deploy the stack (it sets DOCTOR_RULES)")}
	}
	var out []moveapi.Check
	patterns := map[string]string{}
	for _, name := range ruleNames {
		r, err := api.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(name)})
		switch {
		case err != nil:
			out = append(out, check("rule "+name, moveapi.Fail, "could not read it: "+doctor.Message(err), "deploy the stack again (the rule may have been deleted)"))
		case r.State != ebtypes.RuleStateEnabled:
			out = append(out, check("rule "+name, moveapi.Fail, string(r.State), "enable it: aws events enable-rule --name "+name))
		case aws.ToString(r.EventPattern) != "":
			patterns[name] = aws.ToString(r.EventPattern)
		}
	}
	matching := func(id, sample string) ([]string, error) {
		event, err := events.Sample(sample, events.HolderPlaceholder, id)
		if err != nil {
			return nil, err
		}
		var hits []string
		for _, name := range ruleNames {
			p, ok := patterns[name]
			if !ok {
				continue
			}
			res, err := api.TestEventPattern(ctx, &eventbridge.TestEventPatternInput{Event: aws.String(string(event)), EventPattern: aws.String(p)})
			if err != nil {
				return nil, fmt.Errorf("testing rule %s: %s", name, doctor.Message(err))
			}
			if res.Result {
				hits = append(hits, name)
			}
		}
		return hits, nil
	}
	for _, d := range documented {
		for _, id := range members {
			hits, err := matching(id, d.sample)
			name := fmt.Sprintf("%s of %s reaches a function", d.name, id)
			switch {
			case err != nil:
				out = append(out, check(name, moveapi.Warn, err.Error(), "run the doctor again"))
			case len(hits) == 0:
				out = append(out, check(name, moveapi.Fail, fmt.Sprintf("AWS's documented event (events/%s) matches none of the stack's rules", d.sample),
					"deploy the stack again: a rule's pattern was changed, or the instance is missing from instanceIds"))
			default:
				out = append(out, check(name, moveapi.Pass, "matches "+strings.Join(hits, ", "), ""))
			}
		}
		if !pinned {
			continue
		}
		hits, err := matching(stranger, d.sample)
		name := fmt.Sprintf("%s of another instance stays out", d.name)
		switch {
		case err != nil:
			out = append(out, check(name, moveapi.Warn, err.Error(), "run the doctor again"))
		case len(hits) > 0:
			out = append(out, check(name, moveapi.Fail, "matches "+strings.Join(hits, ", ")+": the rule is not limited to instanceIds",
				"deploy the stack again (its rules list the instances)"))
		default:
			out = append(out, check(name, moveapi.Pass, "matches no rule", ""))
		}
	}
	return out
}
