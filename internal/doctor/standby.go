package doctor

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/moveapi"
)

// Platforms says which platforms have commands to run through SSM
// (activation or deep check); with neither, no SSM agent is needed.
type Platforms struct{ Linux, Windows bool }

// Needed reports whether the members' SSM agents matter.
func (p Platforms) Needed() bool { return p.Linux || p.Windows }

// Readiness is what the standby checks found for one group.
type Readiness struct {
	Group  string
	Checks []moveapi.Check
	// Standbys are the members a failover could go to, the holder and
	// members outside instanceIds aside; Ready those that passed.
	Standbys, Ready int
	// NotReady says, per standby that is not ready, why: what a
	// notification names.
	NotReady []string
}

// Standbys checks, for every member but the holder, what a failover needs
// of it: in the ENI's AZ and VPC, device index free, running (or
// startable where allowed), allowed by instanceIds, not named by a
// pending Health notice, its SSM agent online with a platform that has
// commands, and the attach allowed (denied: the attach DryRuns' failures,
// by instance). Every member's SSM agent is checked: the holder's runs
// the deep check.
func Standbys(st engine.Status, pol engine.Policy, seen AgentsSeen, platforms Platforms, denied map[string]string) Readiness {
	g := st.Group
	r := Readiness{Group: g.Name}
	for _, m := range st.Members {
		var problems []moveapi.Check
		fail := func(check, detail, fix string) {
			problems = append(problems, moveapi.Check{Group: g.Name, Area: moveapi.AreaStandby, Check: check, Instance: m.InstanceID, Result: moveapi.Fail, Detail: detail, Fix: fix})
		}
		if !m.Holder && !pol.Allows(m.InstanceID) {
			r.Checks = append(r.Checks, moveapi.Check{Group: g.Name, Area: moveapi.AreaStandby, Check: named(m.Member), Instance: m.InstanceID, Result: moveapi.Warn,
				Detail: engine.NotAllowed, Fix: "remove the group tag from it, or add it to instanceIds and deploy"})
			continue
		}
		if !m.Holder {
			if m.WhyNot != "" {
				fail(named(m.Member)+" can take the ENI", m.WhyNot, fixFor(m, g.ENI))
			}
			if n, ok := model.PendingNotice(g.ENI.Tags[pol.Tags.Scheduled()], m.InstanceID, pol.Now); ok {
				fail(named(m.Member)+" has no pending AWS Health change", "named by a scheduled AWS Health change starting "+n.Start.UTC().Format(time.RFC3339),
					"it is no target until the change is over; add a standby, or carry out the change now (stop and start it)")
			}
			if why, ok := denied[m.InstanceID]; ok {
				fail(named(m.Member)+" may be given the ENI", fmt.Sprintf("attach to %s denied: %s", named(m.Member), strings.TrimPrefix(why, "denied: ")),
					"see the iam check of this attach")
			}
		}
		if seen.Read {
			if c := agentCheck(g.Name, m.Member, seen.Info, seen.Err, platforms); c.Result != moveapi.Pass {
				problems = append(problems, c)
			} else {
				r.Checks = append(r.Checks, c)
			}
		}
		if m.Holder {
			r.Checks = append(r.Checks, problems...)
			continue
		}
		r.Standbys++
		if len(problems) == 0 {
			r.Ready++
			r.Checks = append(r.Checks, moveapi.Check{Group: g.Name, Area: moveapi.AreaStandby, Check: named(m.Member) + " ready", Instance: m.InstanceID, Result: moveapi.Pass,
				Detail: fmt.Sprintf("%s, %s, device index %d free", m.State, m.AZ, pol.DeviceIndex)})
			continue
		}
		for _, p := range problems {
			reason := p.Detail
			if !strings.Contains(reason, m.InstanceID) {
				reason = named(m.Member) + ": " + reason
			}
			r.NotReady = append(r.NotReady, reason)
		}
		// One standby not ready is a warning while another is; the
		// group's count below fails when none is.
		for i := range problems {
			problems[i].Result = moveapi.Warn
		}
		r.Checks = append(r.Checks, problems...)
	}
	count := moveapi.Check{Group: g.Name, Area: moveapi.AreaStandby, Check: "ready standbys", Result: moveapi.Pass,
		Detail: fmt.Sprintf("%d of %d", r.Ready, r.Standbys)}
	if r.Ready == 0 {
		count.Result = moveapi.Fail
		count.Fix = "a failover now would have nowhere to go: fix a standby above, or add one (tag an instance in " + g.ENI.AZ + " with the group)"
	}
	r.Checks = append(r.Checks, count)
	return r
}

// fixFor says what to do about a member that cannot take the ENI.
func fixFor(m engine.MemberStatus, eni model.Interface) string {
	switch {
	case m.AZ != eni.AZ || (m.VPCID != "" && eni.VPCID != "" && m.VPCID != eni.VPCID):
		return "an ENI cannot leave its AZ: replace this standby with one in " + eni.AZ + " (the ENI's subnet)"
	case m.State == model.StateStopped:
		return "start it, or set allowStartStopped to let a failover start it"
	case m.Health == model.HealthImpaired:
		return "its status checks fail: stop and start it, or replace it"
	}
	return "free the device index, or start the instance"
}

// agentCheck reads one member's SSM agent.
func agentCheck(group string, m model.Member, agents map[string]ssmtypes.InstanceInformation, err error, p Platforms) moveapi.Check {
	c := moveapi.Check{Group: group, Area: moveapi.AreaStandby, Check: "SSM agent on " + named(m), Instance: m.InstanceID}
	info, ok := agents[m.InstanceID]
	switch {
	case err != nil:
		c.Result, c.Detail, c.Fix = moveapi.Fail, "could not read the SSM agents: "+err.Error(), "run the doctor again; the move role needs ssm:DescribeInstanceInformation"
	case !ok:
		c.Result, c.Detail = moveapi.Fail, "not registered with SSM: activation and the deep check cannot run there"
		c.Fix = "install and start the SSM agent, and give the instance a profile with AmazonSSMManagedInstanceCore"
	case info.PingStatus != ssmtypes.PingStatusOnline:
		c.Result = moveapi.Fail
		c.Detail = fmt.Sprintf("SSM agent offline on %s: %s since %s", named(m), info.PingStatus, aws.ToTime(info.LastPingDateTime).UTC().Format(time.RFC3339))
		c.Fix = "restart amazon-ssm-agent on it, and check its instance profile and its route to the SSM endpoints"
	case info.PlatformType == ssmtypes.PlatformTypeWindows && !p.Windows:
		c.Result, c.Detail = moveapi.Fail, "runs Windows and no PowerShell commands are configured: activation would not run there"
		c.Fix = "set activationCommandsWindows (and deepCheckCommandsWindows)"
	case info.PlatformType != ssmtypes.PlatformTypeWindows && !p.Linux:
		c.Result, c.Detail = moveapi.Fail, fmt.Sprintf("runs %s and only PowerShell commands are configured", info.PlatformType)
		c.Fix = "set activationCommands for the shell"
	default:
		c.Result, c.Detail = moveapi.Pass, fmt.Sprintf("online (%s)", info.PlatformType)
	}
	return c
}

// AgentsSeen is what SSM said of the members' agents; Read: it was asked
// (commands run through SSM and a client is there).
type AgentsSeen struct {
	Info map[string]ssmtypes.InstanceInformation
	Err  error
	Read bool
}

// ReadAgents asks SSM about the instances' agents when commands need them.
func ReadAgents(ctx context.Context, agents Agents, platforms Platforms, ids []string) AgentsSeen {
	if !platforms.Needed() || agents == nil {
		return AgentsSeen{}
	}
	info, err := describeAgents(ctx, agents, ids)
	return AgentsSeen{Info: info, Err: err, Read: true}
}

// describeAgents reads the SSM agents of the instances, by instance id.
func describeAgents(ctx context.Context, agents Agents, ids []string) (map[string]ssmtypes.InstanceInformation, error) {
	out := map[string]ssmtypes.InstanceInformation{}
	for chunk := range slices.Chunk(ids, 50) {
		in := &ssm.DescribeInstanceInformationInput{Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("InstanceIds"), Values: chunk}}}
		for {
			page, err := agents.DescribeInstanceInformation(ctx, in)
			if err != nil {
				return nil, fmt.Errorf("reading the SSM agents of %v: %w", chunk, err)
			}
			for _, info := range page.InstanceInformationList {
				out[aws.ToString(info.InstanceId)] = info
			}
			if aws.ToString(page.NextToken) == "" {
				break
			}
			in.NextToken = page.NextToken
		}
	}
	return out, nil
}
