package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/eni-failover/eni-failover/internal/envvar"
)

// The doctor's environment variables: what the stack deployed, so that
// the doctor can compare what it finds with it. The stack sets them on
// the move function; unset, the checks that need them are left out and
// say so.
const (
	EnvDoctorRules        = "DOCTOR_RULES"
	EnvAlarmPrefix        = "ALARM_PREFIX"
	EnvDoctorFunctions    = "DOCTOR_FUNCTIONS"
	EnvProbedGroups       = "PROBED_GROUPS"
	EnvDoctorProbeMinutes = "DOCTOR_PROBE_MINUTES"
	EnvFailoverFunction   = "FAILOVER_FUNCTION"
)

// The names the stack gives its alarms after its name: the doctor looks
// for them, the stack's rule routes the first two to the failover
// function.
const (
	StatusAlarmInfix    = "-status-"
	ProbeAlarmInfix     = "-probe-group-"
	ReadinessAlarmInfix = "-no-ready-standby"
)

// The names of the stack's alarms on its own functions and queue, after
// its name: the doctor finds each of them.
const (
	FailoverErrorsAlarm     = "-failover-errors"
	FleetErrorsAlarm        = "-fleet-errors"
	MoveErrorsAlarm         = "-move-errors"
	FailedEventsQueuedAlarm = "-failed-events-queued"
	FailedMovesAlarm        = "-failed-moves"
)

// StackAlarms are those names, in order.
var StackAlarms = []string{FailoverErrorsAlarm, FleetErrorsAlarm, MoveErrorsAlarm, FailedEventsQueuedAlarm, FailedMovesAlarm}

// DoctorVars lists the doctor's variables; the README's table is checked
// against it.
var DoctorVars = []envvar.Var{
	{Name: EnvDoctorRules, Default: "", Meaning: "the stack's EventBridge rules (names, comma separated) that the doctor tests AWS's documented events against"},
	{Name: EnvAlarmPrefix, Default: "", Meaning: "the stack's name, which its alarm names begin with: the failover function acts only on the stack's own alarms, by exact name (`STACK-status-INSTANCE` for a pinned instance, `STACK-probe-group-GROUP` for a probed group, `STACK-no-ready-standby`), and the doctor checks each exists and reports data; empty: any alarm the rule brings is read"},
	{Name: EnvDoctorFunctions, Default: "", Meaning: "the functions as deployed, `name=timeoutSeconds/reservedConcurrency` comma separated (0: none reserved): the doctor reports drift"},
	{Name: EnvProbedGroups, Default: "", Meaning: "the groups the probe watches (comma separated): each has a probe alarm, and the doctor checks their probe rounds arrive"},
	{Name: EnvDoctorProbeMinutes, Default: "0", Meaning: "the probe's schedule in minutes: a group with no probe round for twice that fails the doctor"},
	{Name: EnvFailoverFunction, Default: "", Meaning: "the failover function's name: the doctor asks it to DryRun a failover's EC2 calls with its own role; empty: only the move function's role is checked"},
}

// Doctor is what the doctor compares the account with.
type Doctor struct {
	Rules        []string
	AlarmPrefix  string
	Functions    []DeployedFunction
	ProbeGroups  []string
	ProbeEvery   time.Duration
	FailoverName string
}

// DeployedFunction is one function as the stack deployed it.
type DeployedFunction struct {
	Name                string
	TimeoutSeconds      int
	ReservedConcurrency int // 0: none reserved
}

// LoadDoctor reads the doctor's variables.
func LoadDoctor(getenv func(string) string) (Doctor, error) {
	get := envvar.Reader(getenv, DoctorVars)
	d := Doctor{Rules: list(get(EnvDoctorRules)), AlarmPrefix: get(EnvAlarmPrefix), ProbeGroups: list(get(EnvProbedGroups)),
		FailoverName: get(EnvFailoverFunction)}
	minutes, err := strconv.Atoi(get(EnvDoctorProbeMinutes))
	if err != nil || minutes < 0 || minutes > 60 {
		return Doctor{}, fmt.Errorf("invalid configuration: %s=%q: an integer from 0 to 60", EnvDoctorProbeMinutes, get(EnvDoctorProbeMinutes))
	}
	d.ProbeEvery = time.Duration(minutes) * time.Minute
	for _, f := range list(get(EnvDoctorFunctions)) {
		fn, err := parseDeployed(f)
		if err != nil {
			return Doctor{}, fmt.Errorf("invalid configuration: %s: %w", EnvDoctorFunctions, err)
		}
		d.Functions = append(d.Functions, fn)
	}
	return d, nil
}

// parseDeployed reads "name=timeout/concurrency".
func parseDeployed(s string) (DeployedFunction, error) {
	name, rest, ok := strings.Cut(s, "=")
	timeout, reserved, ok2 := strings.Cut(rest, "/")
	t, err1 := strconv.Atoi(timeout)
	r, err2 := strconv.Atoi(reserved)
	if !ok || !ok2 || name == "" || err1 != nil || err2 != nil || t < 1 || r < 0 {
		return DeployedFunction{}, fmt.Errorf("%q: want name=timeoutSeconds/reservedConcurrency", s)
	}
	return DeployedFunction{Name: name, TimeoutSeconds: t, ReservedConcurrency: r}, nil
}

// Format is the inverse of parseDeployed, for the stack.
func (f DeployedFunction) Format() string {
	return fmt.Sprintf("%s=%d/%d", f.Name, f.TimeoutSeconds, f.ReservedConcurrency)
}

// list splits a comma-separated value, dropping empty items.
func list(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
