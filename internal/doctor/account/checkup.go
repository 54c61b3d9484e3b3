// Package account is the move function's checkup: the doctor's DryRuns
// and standbys (internal/doctor), both roles', and what only the account
// can say: the deployed rules against AWS's documented events (EventBridge
// TestEventPattern), the alarms, the probe's rounds, the subscriptions and
// the functions' settings. Its SDK clients (EventBridge, CloudWatch,
// Lambda) are linked by the move function alone.
package account

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/eni-failover/eni-failover/internal/doctor"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/moveapi"
)

// Checkup is the doctor with the account's reads. A nil client leaves its
// checks out.
type Checkup struct {
	*doctor.Doctor
	Rules     Rules
	Alarms    Alarms
	Topics    Topics
	Functions Functions
	TopicARN  string
	// MetricsNamespace is where the probe's rounds are counted.
	MetricsNamespace string
}

// Run checks the named group, or every group when group is "", and the
// stack's watchers once.
func (d *Checkup) Run(ctx context.Context, group string) ([]moveapi.Check, error) {
	statuses, err := d.Engine.Statuses(ctx, group)
	if len(statuses) == 0 {
		if err == nil {
			err = fmt.Errorf("no group found (no network interface tagged %s)", d.Engine.Policy().Tags.Group())
		}
		return nil, fmt.Errorf("doctor: reading the groups: %w", err)
	}
	var out []moveapi.Check
	if err != nil {
		out = append(out, moveapi.Check{Area: moveapi.AreaStandby, Check: "every group reads", Result: moveapi.Fail, Detail: err.Error(),
			Fix: "see eni-failover status; an ENI tagged into a group twice, or a group without members, is left out"})
	}
	pol := d.Engine.Policy()
	pacer := &doctor.Pacer{Clock: d.Engine.Clock()}
	var pinned, probed []string
	for _, st := range statuses {
		g := st.Group
		checks := doctor.DryRuns(ctx, pacer, d.EC2, st, pol, d.Role)
		if d.Functions != nil && d.Deployed.FailoverName != "" {
			checks = append(checks, d.failoverRoleChecks(ctx, g.Name)...)
		}
		ready := doctor.Standbys(st, pol, doctor.ReadAgents(ctx, d.Agents, d.Platforms, doctor.MemberIDs(st)), d.Platforms, doctor.DeniedAttaches(checks))
		out = append(out, checks...)
		out = append(out, ready.Checks...)
		var members []string
		for _, m := range st.Members {
			if pol.Allows(m.InstanceID) {
				members = append(members, m.InstanceID)
			}
		}
		if pol.Allowed != nil {
			pinned = append(pinned, members...)
		}
		if d.Rules != nil {
			out = append(out, RuleChecks(ctx, d.Rules, g.Name, d.Deployed.Rules, members, pol.Allowed != nil)...)
		}
		if d.Alarms != nil && d.Deployed.ProbeEvery > 0 && slices.Contains(d.Deployed.ProbeGroups, g.Name) {
			probed = append(probed, g.Name)
			out = append(out, ProbeRounds(ctx, d.Alarms, d.MetricsNamespace, g.Name, d.Deployed.ProbeEvery, pol.Now))
		}
	}
	if d.Alarms != nil {
		out = append(out, AlarmChecks(ctx, d.Alarms, d.Deployed.AlarmPrefix, ExpectedAlarms(d.Deployed.AlarmPrefix, pinned, probed), pol.Now)...)
	}
	if d.Topics != nil || d.TopicARN == "" {
		out = append(out, TopicChecks(ctx, d.Topics, d.TopicARN)...)
	}
	if d.Functions != nil {
		out = append(out, FunctionChecks(ctx, d.Functions, d.Deployed.Functions)...)
	}
	return out, nil
}

// failoverRoleChecks asks the failover function for its role's DryRuns of
// the group: the role that carries out automatic failovers.
func (d *Checkup) failoverRoleChecks(ctx context.Context, group string) []moveapi.Check {
	fail := func(v moveapi.Verdict, detail, fix string) []moveapi.Check {
		return []moveapi.Check{{Group: group, Area: moveapi.AreaIAM, Check: "EC2 DryRuns (" + doctor.FailoverRole + ")", Result: v, Detail: detail, Fix: fix}}
	}
	payload, _ := json.Marshal(map[string]string{"action": string(moveapi.ActionDoctor), "group": group})
	out, err := d.Functions.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(d.Deployed.FailoverName), Payload: payload})
	if err != nil {
		return fail(moveapi.Warn, "could not ask the failover function: "+doctor.Message(err), "run the doctor again; the move role needs lambda:InvokeFunction on it")
	}
	if out.FunctionError != nil {
		return fail(moveapi.Fail, "the failover function failed: "+string(out.Payload), "see the failover function's logs")
	}
	var res struct {
		Doctor *moveapi.RoleChecks `json:"doctor"`
	}
	if err := json.Unmarshal(out.Payload, &res); err != nil || res.Doctor == nil {
		return fail(moveapi.Fail, "the failover function did not answer the doctor: "+model.Clip(string(out.Payload), 300), "deploy the stack again: the function is older than this one")
	}
	return res.Doctor.Checks
}
