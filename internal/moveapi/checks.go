package moveapi

import "slices"

// Verdict is the result of one doctor check.
type Verdict string

// Verdicts, from best to worst.
const (
	Pass Verdict = "pass"
	Warn Verdict = "warn"
	Fail Verdict = "fail"
)

// Areas of the doctor's checks.
const (
	AreaIAM      = "iam"
	AreaRules    = "rules"
	AreaStandby  = "standby"
	AreaWatchers = "watchers"
)

// Check is one thing the doctor looked at: what, the verdict, what it saw
// and, unless it passed, what to do.
type Check struct {
	Group string `json:"group,omitempty"`
	Area  string `json:"area"`
	Check string `json:"check"`
	// Instance is the member the check is about, if any.
	Instance string  `json:"instance,omitempty"`
	Result   Verdict `json:"result"`
	Detail   string  `json:"detail,omitempty"`
	Fix      string  `json:"fix,omitempty"`
}

// Worst is the worst verdict among the checks (Pass when there are none).
func Worst(checks []Check) Verdict {
	worst := Pass
	for _, c := range checks {
		if rank(c.Result) > rank(worst) {
			worst = c.Result
		}
	}
	return worst
}

// rank orders verdicts; an unknown one counts as a failure, so that a
// newer function's verdict is never read as a pass.
func rank(v Verdict) int {
	if i := slices.Index([]Verdict{Pass, Warn, Fail}, v); i >= 0 {
		return i
	}
	return 2
}

// ExitCode is the command line's exit status for a verdict: 0 all passed,
// 1 warnings, 2 failures.
func ExitCode(v Verdict) int { return rank(v) }

// RoleChecks is the failover function's answer to a doctor request: its
// role's EC2 DryRun checks.
type RoleChecks struct {
	Role   string  `json:"role"`
	Checks []Check `json:"checks"`
}
