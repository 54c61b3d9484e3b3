package cli

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/moveapi"
)

// render writes a response for people: short lines, tables, no JSON.
func render(w io.Writer, r *moveapi.Response) {
	switch r.Action {
	case "status":
		printStatus(w, r)
	case moveapi.ActionDoctor:
		printChecks(w, r.Checks)
	case "history":
		fmt.Fprintf(w, "group %s, ENI %s on %s\n", r.Group, r.ENIID, cmp.Or(r.Holder, "(none)"))
		printMoves(w, r.History)
	default:
		printRun(w, r)
	}
}

func printStatus(w io.Writer, r *moveapi.Response) {
	fmt.Fprintf(w, "group %s  ENI %s  MAC %s  IP %s  %s\n", r.Group, r.ENIID, r.MAC, r.PrivateIP, r.AZ)
	holder := "none: the ENI is unattached"
	if r.Holder != "" {
		holder = fmt.Sprintf("%s, %s", nameOf(r, r.Holder), r.AttachmentState)
		if r.DeleteOnTermination != nil && *r.DeleteOnTermination {
			holder += ", DeleteOnTermination TRUE (the reconcile clears it)"
		}
	}
	fmt.Fprintf(w, "holder %s\n", holder)
	if p := r.Pause; p != nil {
		by := ""
		if p.By != "" {
			by = " by " + p.By
		}
		fmt.Fprintf(w, "PAUSED until %s%s: %s\n", p.Until.UTC().Format(time.RFC3339), by, p.Reason)
	} else {
		fmt.Fprintln(w, "automatic moves on")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MEMBER\tNAME\tSTATE\tCHECKS\tPRIO\tROLE\tCAN TAKE THE ENI")
	for _, m := range r.Members {
		var role []string
		if m.Holder {
			role = append(role, "holder")
		}
		if m.Home {
			role = append(role, "home")
		}
		prio := "-"
		if m.Priority != nil {
			prio = fmt.Sprint(*m.Priority)
		}
		can := "yes"
		switch {
		case m.Holder && m.WhyNot == "":
			can = "-"
		case !m.CanTakeENI:
			can = "no: " + short(m.WhyNot, 60)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.InstanceID, orDash(m.Name), m.State, m.Health, prio, orDash(strings.Join(role, ", ")), can)
	}
	tw.Flush()
	if len(r.History) > 0 {
		fmt.Fprintln(w, "\nlast moves:")
		printMoves(w, r.History)
	}
}

func printMoves(w io.Writer, moves []model.Move) {
	if len(moves) == 0 {
		fmt.Fprintln(w, "no moves recorded")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tFROM\tTO\tTRIGGER\tOUTCOME\tTOOK\tCLIENTS' OUTAGE")
	for _, m := range moves {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.At.UTC().Format(time.RFC3339), orDash(m.From), orDash(m.To), m.Trigger, m.Outcome,
			(time.Duration(m.DurationMS) * time.Millisecond).Round(100*time.Millisecond), outage(m.OutageMS))
	}
	tw.Flush()
}

// outage is the probe's measurement, "-" when it has none.
func outage(ms int64) string {
	if ms <= 0 {
		return "-"
	}
	return (time.Duration(ms) * time.Millisecond).Round(100 * time.Millisecond).String()
}

func printRun(w io.Writer, r *moveapi.Response) {
	line := fmt.Sprintf("%s: %s", r.Action, r.Outcome)
	if r.HolderBefore != "" || r.HolderAfter != "" {
		line += fmt.Sprintf(", %s -> %s", cmp.Or(r.HolderBefore, "(none)"), cmp.Or(r.HolderAfter, "(none)"))
	}
	if r.DurationMS > 0 {
		line += fmt.Sprintf(" in %s", (time.Duration(r.DurationMS) * time.Millisecond).Round(10*time.Millisecond))
	}
	fmt.Fprintln(w, line)
	if r.Reason != "" {
		fmt.Fprintf(w, "why: %s\n", short(r.Reason, 200))
	}
	if p := r.Pause; p != nil {
		fmt.Fprintf(w, "paused until %s\n", p.Until.UTC().Format(time.RFC3339))
	}
	if r.Plan != nil && r.Outcome == "planned" {
		for i, c := range r.Plan.Candidates {
			fmt.Fprintf(w, "  %d. %s (%s, checks %s)\n", i+1, c.InstanceID, c.State, c.Health)
		}
		for _, s := range r.Plan.Skipped {
			fmt.Fprintf(w, "  skipped %s\n", short(s, 100))
		}
	}
	if len(r.Steps) > 0 && len(r.Drill) == 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "STEP\tINSTANCE\tTOOK\tDETAIL")
		for _, s := range r.Steps {
			detail := s.Detail
			if s.Error != "" {
				detail = "ERROR " + s.Error
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, orDash(s.InstanceID), time.Duration(s.DurationMS)*time.Millisecond, short(detail, 70))
		}
		tw.Flush()
	}
	if a := r.Activation; a != nil && len(r.Drill) == 0 {
		fmt.Fprintf(w, "activation on %s: %s\n", a.InstanceID, a.Status)
	}
	if len(r.Drill) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "DRILL MOVE\tOUTCOME\tTOOK\tENI AWAY\tACTIVATION\tCLIENTS' OUTAGE")
		for _, d := range r.Drill {
			fmt.Fprintf(tw, "%s -> %s\t%s\t%s\t%s\t%s\t%s\n", d.From, d.To, d.Outcome, time.Duration(d.DurationMS)*time.Millisecond,
				time.Duration(d.ENIAwayMS)*time.Millisecond, orDash(string(d.Activation)), outage(d.OutageMS))
		}
		tw.Flush()
	}
	if len(r.Checks) > 0 {
		// A drill the doctor refused: what it found.
		printChecks(w, r.Checks)
	}
	if r.Error != "" {
		fmt.Fprintf(w, "error: %s\n", short(r.Error, 300))
	}
}

func nameOf(r *moveapi.Response, id string) string {
	for _, m := range r.Members {
		if m.InstanceID == id && m.Name != "" {
			return fmt.Sprintf("%s (%s)", id, m.Name)
		}
	}
	return id
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printChecks is the doctor's table: group, check, result, what it saw and
// what to do, then the count of each result.
func printChecks(w io.Writer, checks []moveapi.Check) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tAREA\tCHECK\tRESULT\tDETAIL\tWHAT TO DO")
	count := map[moveapi.Verdict]int{}
	for _, c := range checks {
		count[c.Result]++
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", orDash(c.Group), c.Area, short(c.Check, 90), strings.ToUpper(string(c.Result)), short(c.Detail, 140), orDash(short(c.Fix, 140)))
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d checks: %d pass, %d warn, %d fail: %s\n", len(checks), count[moveapi.Pass], count[moveapi.Warn], count[moveapi.Fail], verdictLine(moveapi.Worst(checks)))
}

func verdictLine(v moveapi.Verdict) string {
	switch v {
	case moveapi.Pass:
		return "a failover would succeed"
	case moveapi.Warn:
		return "a failover would succeed; see the warnings"
	}
	return "a failover would NOT succeed; fix the failures"
}
