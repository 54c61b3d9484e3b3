package model

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// HealthNotice is a scheduled AWS Health change (an instance retirement, a
// maintenance) recorded in the ENI's journal: the instances it names and
// when it starts and ends. Until it ends, the instances it names are not
// targets, and a holder it names leaves shortly before it starts.
type HealthNotice struct {
	Instances  []string
	Start, End time.Time
}

// Names reports whether the notice names the instance.
func (n HealthNotice) Names(id string) bool { return slices.Contains(n.Instances, id) }

// Pending reports whether the notice still matters at now.
func (n HealthNotice) Pending(now time.Time) bool { return now.Before(n.End) }

// String is the journal form: "i-a,i-b@START-END" in unix seconds.
func (n HealthNotice) String() string {
	return fmt.Sprintf("%s@%d-%d", strings.Join(n.Instances, ","), n.Start.Unix(), n.End.Unix())
}

// ParseHealthNotices reads the journal tag; entries it cannot read are
// skipped (the tag is ours, but a person may have edited it).
func ParseHealthNotices(v string) []HealthNotice {
	var out []HealthNotice
	for _, entry := range strings.Fields(v) {
		ids, span, ok := strings.Cut(entry, "@")
		from, to, ok2 := strings.Cut(span, "-")
		start, err1 := strconv.ParseInt(from, 10, 64)
		end, err2 := strconv.ParseInt(to, 10, 64)
		if !ok || !ok2 || err1 != nil || err2 != nil {
			continue
		}
		n := HealthNotice{Start: time.Unix(start, 0).UTC(), End: time.Unix(end, 0).UTC()}
		for _, id := range strings.Split(ids, ",") {
			if IsInstanceID(id) {
				n.Instances = append(n.Instances, id)
			}
		}
		if len(n.Instances) > 0 {
			out = append(out, n)
		}
	}
	return out
}

// FormatHealthNotices writes the journal tag: the pending notices, the
// soonest first, as many as fit in a tag value's 256 characters.
func FormatHealthNotices(ns []HealthNotice, now time.Time) string {
	pending := slices.DeleteFunc(slices.Clone(ns), func(n HealthNotice) bool { return !n.Pending(now) })
	slices.SortStableFunc(pending, func(a, b HealthNotice) int { return a.Start.Compare(b.Start) })
	var b strings.Builder
	for _, n := range pending {
		s := n.String()
		if b.Len()+len(s)+1 > 256 {
			break
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	return b.String()
}

// WithHealthNotice adds n to the journal's notices; changed is false when
// it was already recorded.
func WithHealthNotice(journal string, n HealthNotice, now time.Time) (value string, changed bool) {
	ns := ParseHealthNotices(journal)
	for _, have := range ns {
		if have.Start.Equal(n.Start) && have.End.Equal(n.End) && !slices.ContainsFunc(n.Instances, func(id string) bool { return !have.Names(id) }) {
			return journal, false
		}
	}
	value = FormatHealthNotices(append(ns, n), now)
	return value, value != journal
}

// PendingNotice returns the soonest pending notice naming the instance.
func PendingNotice(journal string, id string, now time.Time) (HealthNotice, bool) {
	var best HealthNotice
	found := false
	for _, n := range ParseHealthNotices(journal) {
		if n.Names(id) && n.Pending(now) && (!found || n.Start.Before(best.Start)) {
			best, found = n, true
		}
	}
	return best, found
}
