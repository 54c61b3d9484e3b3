package engine_test

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/model"
	"github.com/eni-failover/eni-failover/internal/report"
)

// TestHold is the table of what holds a plan back, and what does not: the
// one answer to "why did this group not move?" beside Decide's.
func TestHold(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	tags := model.NewTags("")
	p := engine.Policy{Now: now, Tags: tags, MaxAutomaticMoves: 3}
	group := func(holderState string, attachment model.AttachmentStatus, journal map[string]string) model.Group {
		j := map[string]string{tags.Group(): "g", tags.Holder(): "i-a"}
		maps.Copy(j, journal)
		return model.Group{Name: "g",
			ENI:     model.Interface{ID: "eni-1", AZ: "az", InstanceID: "i-a", AttachmentID: "att-1", AttachmentStatus: attachment, DeviceIndex: 1, Tags: j},
			Members: []model.Member{{InstanceID: "i-a", State: holderState, AZ: "az", Health: model.HealthOK}, {InstanceID: "i-b", State: "running", AZ: "az", Health: model.HealthOK}}}
	}
	move := report.Plan{Action: report.ActMove, Reason: "holder i-a: probe"}
	finding := engine.Trigger{Kind: report.Impaired, Group: "g", Since: now.Add(-15 * time.Second), At: now, RequestID: "probe:1:g"}
	resent := finding
	resent.Since = now.Add(-2 * time.Minute)
	history := map[string]string{}
	for i := range 3 {
		maps.Copy(history, tags.WithMove(history, model.Move{At: now.Add(-time.Duration(10*(i+1)) * time.Minute), From: "i-x", To: "i-y", Trigger: "impaired", Outcome: "moved"}))
	}
	paused := map[string]string{tags.Paused(): model.Pause{Until: now.Add(time.Hour), By: "ops", Reason: "patching"}.String()}
	expired := map[string]string{tags.Paused(): model.Pause{Until: now.Add(-time.Hour), By: "ops", Reason: "patching"}.String()}
	cases := []struct {
		name    string
		g       model.Group
		t       engine.Trigger
		plan    report.Plan
		dryRun  bool
		want    report.Outcome
		reason  string
		repairs bool
	}{
		{name: "request already carried out", g: group("running", "attached", map[string]string{tags.Request(): "probe:1:g", tags.PreviousHolder(): "i-b"}),
			t: finding, plan: move, want: report.Repeated, reason: "already carried out"},
		{name: "request carried out, but the ENI is on no instance: attached", g: group("running", "", map[string]string{tags.Request(): "probe:1:g"}),
			t: finding, plan: report.Plan{Action: report.ActAttach}},
		{name: "an operator's repeat, the ENI on no instance: answered", g: group("running", "", map[string]string{tags.Request(): "op-1", tags.PreviousHolder(): "i-b"}),
			t: engine.Trigger{Kind: report.Move, RequestID: "op-1"}, plan: report.Plan{Action: report.ActAttach}, want: report.Repeated, reason: "it may still be running"},
		{name: "a dry run repeats nothing", g: group("running", "attached", map[string]string{tags.Request(): "probe:1:g"}), t: finding, plan: move, dryRun: true},
		{name: "fresh finding, holder stopping: the fleet function's", g: group("stopping", "attached", nil), t: finding, plan: move,
			want: report.NothingToDo, reason: "left to the fleet function"},
		{name: "finding sent again, holder still stopping: moves", g: group("stopping", "attached", nil), t: resent, plan: move},
		{name: "finding while another delivery detaches", g: group("running", "detaching", map[string]string{tags.Request(): "probe:1:g", tags.PreviousHolder(): "i-b", tags.MovedAt(): now.Add(-10 * time.Second).Format(time.RFC3339)}),
			t: finding, plan: move, want: report.Repeated, reason: "it may still be running"},
		{name: "finding while another run's move is under way: finishes it", g: group("running", "detaching", map[string]string{tags.Request(): "probe:9:g", tags.MovedAt(): now.Add(-10 * time.Second).Format(time.RFC3339)}),
			t: finding, plan: move},
		{name: "finding while a delivery that has had its time detaches: finishes it", g: group("running", "detaching", map[string]string{tags.Request(): "probe:1:g", tags.MovedAt(): now.Add(-5 * time.Minute).Format(time.RFC3339)}),
			t: finding, plan: move},
		{name: "stop event while detaching: finishes the move", g: group("stopping", "detaching", nil), t: engine.Trigger{Kind: report.InstanceDown, InstanceID: "i-a"}, plan: move},
		{name: "paused: automatic move held, repairs go on", g: group("stopped", "attached", paused), t: engine.Trigger{Kind: report.InstanceDown, InstanceID: "i-a"}, plan: move,
			want: report.Paused, reason: "paused until", repairs: true},
		{name: "paused: an attach under way is left to EC2", g: group("running", "attaching", paused), t: engine.Trigger{Kind: report.Reconcile},
			plan: report.Plan{Action: report.ActRepair}, want: report.Paused, reason: "paused until", repairs: true},
		{name: "paused: an operator's move goes", g: group("running", "attached", paused), t: engine.Trigger{Kind: report.Move}, plan: move},
		{name: "pause expired", g: group("running", "attached", expired), t: resent, plan: move},
		{name: "capped: healthy holder", g: group("running", "attached", history), t: resent, plan: move,
			want: report.Capped, reason: "3 automatic moves within an hour", repairs: true},
		{name: "capped: two moves in the history, a third in the journal only", g: group("running", "attached", func() map[string]string {
			m := map[string]string{}
			for i := range 2 {
				maps.Copy(m, tags.WithMove(m, model.Move{At: now.Add(-time.Duration(10*(i+2)) * time.Minute), From: "i-x", To: "i-y", Trigger: "impaired", Outcome: "moved", DurationMS: 5000}))
			}
			m[tags.MovedAt()], m[tags.PreviousHolder()], m[tags.Holder()] = now.Add(-time.Minute).Format(time.RFC3339), "i-b", "i-a"
			m[tags.Reason()] = "holder i-b: deep check failed"
			return m
		}()), t: resent, plan: move, want: report.Capped, reason: "3 automatic moves within an hour", repairs: true},
		{name: "capped: two moves in the history, a third attached but in neither history nor journal yet", g: func() model.Group {
			m := map[string]string{tags.Holder(): "i-x"}
			for i := range 2 {
				maps.Copy(m, tags.WithMove(m, model.Move{At: now.Add(-time.Duration(10*(i+2)) * time.Minute), From: "i-x", To: "i-y", Trigger: "impaired", Outcome: "moved", DurationMS: 5000}))
			}
			g := group("running", "attached", m)
			g.ENI.AttachTime = now.Add(-time.Minute)
			return g
		}(), t: resent, plan: move, want: report.Capped, reason: "3 automatic moves within an hour", repairs: true},
		{name: "two moves in the history, an operator's in the journal only", g: group("running", "attached", func() map[string]string {
			m := map[string]string{}
			for i := range 2 {
				maps.Copy(m, tags.WithMove(m, model.Move{At: now.Add(-time.Duration(10*(i+2)) * time.Minute), From: "i-x", To: "i-y", Trigger: "impaired", Outcome: "moved", DurationMS: 5000}))
			}
			m[tags.MovedAt()], m[tags.PreviousHolder()], m[tags.Holder()] = now.Add(-time.Minute).Format(time.RFC3339), "i-b", "i-a"
			m[tags.Reason()] = model.ManualReason + "move"
			return m
		}()), t: resent, plan: move},
		{name: "capped, but the holder stopped", g: group("stopped", "attached", history), t: engine.Trigger{Kind: report.InstanceDown, InstanceID: "i-a"}, plan: move},
		{name: "capped: an attach under way to the healthy holder", g: group("running", "attaching", history), t: engine.Trigger{Kind: report.Evacuate, InstanceID: "i-a"}, plan: move,
			want: report.Capped, reason: "3 automatic moves within an hour", repairs: true},
		{name: "capped, but a detach is under way", g: group("running", "detaching", history), t: engine.Trigger{Kind: report.Reconcile}, plan: move},
		{name: "capped, and a resume since", g: group("running", "attached", func() map[string]string {
			m := maps.Clone(history)
			maps.Copy(m, expired)
			m[tags.Paused()] = model.Pause{Until: now.Add(-time.Minute), By: "ops"}.String()
			return m
		}()), t: resent, plan: move},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := engine.Hold(tc.g, tc.t, tc.plan, nil, p, tc.dryRun)
			if v.Outcome != tc.want || !strings.Contains(v.Reason, tc.reason) || v.Repair != tc.repairs {
				t.Fatalf("Hold = %+v, want outcome %q, reason with %q, repair %v", v, tc.want, tc.reason, tc.repairs)
			}
			if tc.want == report.Repeated && (v.HolderBefore != "i-b" || v.HolderAfter != "i-a") {
				t.Fatalf("repeat holders %s>%s, want the journal's i-b>i-a", v.HolderBefore, v.HolderAfter)
			}
		})
	}
}
