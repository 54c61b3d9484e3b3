// Package metrics writes CloudWatch embedded-metric-format (EMF) lines to
// the function's log: metrics with no PutMetricData call and no extra
// permission.
package metrics

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/eni-failover/eni-failover/internal/emf"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/report"
)

// Metric names, as the dashboard and alarms know them.
const (
	Moves            = "Moves"
	Failures         = "Failures"
	MoveDurationMS   = "MoveDuration"
	DetachDurationMS = "DetachDuration"
	AttachDurationMS = "AttachDuration"
	NothingToDo      = "NoChange"
	Activations      = "Activations"
	ActivationFails  = "ActivationFailures"
	// ReadyStandbys counts, per group, the standbys that passed the
	// scheduled readiness checks; GroupsWithoutReadyStandby counts the
	// groups with none (the readiness alarm's metric).
	ReadyStandbys             = "ReadyStandbys"
	GroupsWithoutReadyStandby = "GroupsWithoutReadyStandby"
)

// Emitter writes one EMF line per report.
type Emitter struct {
	mu        sync.Mutex
	w         io.Writer
	namespace string
	function  string
	now       func() time.Time
}

// New returns an emitter writing to w.
func New(w io.Writer, namespace, function string, now func() time.Time) *Emitter {
	if now == nil {
		now = time.Now
	}
	return &Emitter{w: w, namespace: namespace, function: function, now: now}
}

// Report writes the metrics of one run: counts of moves, failures and
// no-ops, and durations when the ENI moved. Dimensions: the group, and
// none (the total over groups).
func (e *Emitter) Report(r *report.Report) error {
	if e == nil || r == nil || r.DryRun {
		return nil
	}
	line := map[string]any{
		// CloudWatch takes ASCII dimension values only: a group's name
		// in any other script would cost the whole record.
		"Group":    model.SafeName(r.Group),
		"Function": e.function,
		"Outcome":  string(r.Outcome),
		"Trigger":  string(r.Trigger),
	}
	count := func(name string) emf.Metric { return emf.Metric{Name: name, Unit: "Count"} }
	millis := func(name string) emf.Metric { return emf.Metric{Name: name, Unit: "Milliseconds"} }
	defs := []emf.Metric{count(Moves), count(Failures), count(NothingToDo)}
	line[Moves], line[Failures], line[NothingToDo] = 0, 0, 0
	switch {
	case r.Outcome.Changed():
		line[Moves] = 1
		defs = append(defs, millis(MoveDurationMS), millis(DetachDurationMS), millis(AttachDurationMS))
		line[MoveDurationMS] = r.DurationMS
		line[DetachDurationMS] = r.StepMS(report.StepDetach) + r.StepMS(report.StepForceDetach) + r.StepMS(report.StepWaitAvailable)
		line[AttachDurationMS] = r.StepMS(report.StepAttach) + r.StepMS(report.StepWaitAttached)
	case r.Outcome == report.Failed:
		line[Failures] = 1
	default:
		line[NothingToDo] = 1
	}
	if r.Outcome == report.ReturnedToFormer {
		line[Failures] = 1
	}
	if a := r.Activation; a != nil {
		defs = append(defs, count(Activations), count(ActivationFails))
		line[Activations], line[ActivationFails] = 1, 0
		if !a.OK() {
			line[ActivationFails] = 1
		}
	}
	b, err := emf.Record(e.namespace, e.now(), [][]string{{"Group"}, {}}, defs, line)
	if err != nil {
		return fmt.Errorf("encoding metrics for group %s: %w", r.Group, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err = fmt.Fprintf(e.w, "%s\n", b)
	return err
}

// Readiness writes each group's count of ready standbys, and the number
// of groups without one (written every time, zero included, so that the
// alarm sees the reconcile's rounds).
func (e *Emitter) Readiness(ready map[string]int) error {
	if e == nil {
		return nil
	}
	without := 0
	var lines [][]byte
	for _, group := range slices.Sorted(maps.Keys(ready)) {
		if ready[group] == 0 {
			without++
		}
		b, err := emf.Record(e.namespace, e.now(), [][]string{{"Group"}}, []emf.Metric{{Name: ReadyStandbys, Unit: "Count"}},
			map[string]any{"Group": model.SafeName(group), "Function": e.function, ReadyStandbys: ready[group]})
		if err != nil {
			return fmt.Errorf("encoding the readiness of group %s: %w", group, err)
		}
		lines = append(lines, b)
	}
	b, err := emf.Record(e.namespace, e.now(), [][]string{{}}, []emf.Metric{{Name: GroupsWithoutReadyStandby, Unit: "Count"}},
		map[string]any{"Function": e.function, GroupsWithoutReadyStandby: without})
	if err != nil {
		return fmt.Errorf("encoding the readiness: %w", err)
	}
	lines = append(lines, b)
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, b := range lines {
		if _, err := fmt.Fprintf(e.w, "%s\n", b); err != nil {
			return err
		}
	}
	return nil
}
