package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/eni-failover/eni-failover/internal/report"
)

// Text is the plain-text body people read: what happened to which
// instances (with their Name tags), why, how long each step took, and,
// when a move failed, what to do.
func Text(r *report.Report, event string, notifyOnly bool) string {
	var b strings.Builder
	line := func(label, format string, args ...any) {
		fmt.Fprintf(&b, "%-12s %s\n", label+":", fmt.Sprintf(format, args...))
	}
	b.WriteString(Subject(r, notifyOnly) + "\n\n")
	line("Group", "%s", r.Group)
	line("License ENI", "%s, MAC %s, IP %s, %s", r.ENIID, r.MAC, r.PrivateIP, r.AZ)
	line("From", "%s", named(r, r.HolderBefore))
	line("To", "%s", named(r, r.HolderAfter))
	line("Event", "%s (%s)", event, r.Trigger)
	line("Outcome", "%s", r.Outcome)
	if r.Reason != "" {
		line("Why", "%s", r.Reason)
	}
	if !r.StartedAt.IsZero() {
		line("Started", "%s, took %s", r.StartedAt.UTC().Format(time.RFC3339), ms(r.DurationMS))
	}
	if len(r.Steps) > 0 {
		var steps []string
		for _, s := range r.Steps {
			st := string(s.Name) + " " + ms(s.DurationMS)
			if s.Error != "" {
				st += " (failed)"
			}
			steps = append(steps, st)
		}
		line("Steps", "%s", strings.Join(steps, ", "))
	}
	if r.OutageMS > 0 {
		line("Outage", "%s seen by clients (the probe: first failed check to the license answering)", ms(r.OutageMS))
	}
	if a := r.Activation; a != nil {
		line("Activation", "%s on %s in %s%s", a.Status, a.InstanceID, ms(a.DurationMS), suffix(a.Error))
	}
	if r.Error != "" {
		line("Error", "%s", r.Error)
	}
	for _, w := range r.Warnings {
		line("Ignored", "%s", w)
	}
	if len(r.Warnings) > 0 {
		b.WriteString("\nSomeone other than eni-failover wrote these journal tags on the ENI: find who in CloudTrail (CreateTags on " + r.ENIID +
			"), and deny tag writes on the ENI to all but the functions and the named admins (README, \"Who may join a group\": the service control policy).\n")
	}
	if todo := whatToDo(r, notifyOnly); todo != "" {
		b.WriteString("\nWhat to do: " + todo + "\n")
	}
	return b.String()
}

func named(r *report.Report, id string) string {
	if id == "" {
		return "(none)"
	}
	if n := r.Names[id]; n != "" {
		return fmt.Sprintf("%s (%s)", id, n)
	}
	return id
}

func ms(d int64) string { return (time.Duration(d) * time.Millisecond).String() }

func suffix(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

// whatToDo is the advice for an outcome that needs a person.
func whatToDo(r *report.Report, notifyOnly bool) string {
	switch {
	case notifyOnly:
		return "HEALTH_EVENT_ACTION is notify: move the ENI yourself with the move action before the change starts, or let it be."
	case r.Outcome == report.Deferred:
		return "nothing yet: the reconcile moves the ENI before the change starts (HEALTH_LEAD_TIME). Move it earlier with the move action if you prefer."
	case r.Outcome == report.Capped:
		return "the token server failed on each holder it was moved to: find out why (license file, lmgrd's log, the vendor daemon) and start it; then move the ENI yourself, or run resume to let the automation move it again."
	case r.Outcome == report.ReturnedToFormer:
		return "every standby refused the ENI (see Why): check their IAM permissions, state and device index, then move again."
	case r.Activation != nil && !r.Activation.OK():
		return "the ENI moved but the token server did not start on the new holder: look at the SSM command's output, start lmgrd by hand, and check that clients get tokens."
	case r.Outcome != report.Failed:
		return ""
	}
	// The report carries the error as text (it is what the response and
	// the log show too).
	switch {
	case strings.Contains(r.Error, "no viable standby"):
		return "no member can take the ENI now: start or repair a standby in " + r.AZ + " (status checks passing, device index free), then run the move action; the reconcile also retries."
	case strings.Contains(r.Error, "primary interface"):
		return "the license ENI is an instance's primary interface, which EC2 never detaches: make it a secondary interface (device index 1)."
	}
	return "the ENI is where the status action says (run it). Lambda retries the event; if it keeps failing, see the function's log for this group and move the ENI with the move action."
}
