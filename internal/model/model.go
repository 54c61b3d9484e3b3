// Package model is eni-failover's vocabulary: a group, its license ENI and
// its members, the tag keys they carry and the journal written on the ENI,
// and the shapes of the ids and names that the functions, the decision and
// the CDK app all accept. It does no I/O and imports no AWS SDK.
package model

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DefaultTagPrefix is the prefix of every tag eni-failover reads or writes.
const DefaultTagPrefix = "eni-failover"

// Tags names the tag keys under one prefix.
type Tags struct{ Prefix string }

// NewTags returns the keys under prefix, or the default prefix when empty.
func NewTags(prefix string) Tags {
	if prefix == "" {
		prefix = DefaultTagPrefix
	}
	return Tags{Prefix: prefix}
}

func (t Tags) key(name string) string { return t.Prefix + ":" + name }

// Group is the key naming the group on the ENI and its member instances.
func (t Tags) Group() string { return t.key("group") }

// Priority is the member preference key (lower is preferred).
func (t Tags) Priority() string { return t.key("priority") }

// Holder is the journal key for the instance that holds the ENI.
func (t Tags) Holder() string { return t.key("holder") }

// PreviousHolder is the journal key for the holder before the last move.
func (t Tags) PreviousHolder() string { return t.key("previous-holder") }

// MovedAt is the journal key for the time of the last move (RFC 3339).
func (t Tags) MovedAt() string { return t.key("moved-at") }

// MovedAtTime reads the journal's moved-at (false when absent or not a
// time).
func (t Tags) MovedAtTime(tags map[string]string) (time.Time, bool) {
	at, err := time.Parse(time.RFC3339, tags[t.MovedAt()])
	return at, err == nil
}

// Reason is the journal key for why the last move happened.
func (t Tags) Reason() string { return t.key("reason") }

// Request is the journal key for the last manual request carried out
// (its request_id), so that a repeat of it is answered, not acted on.
func (t Tags) Request() string { return t.key("request") }

// Scheduled is the journal key for pending AWS Health changes that name
// members (see HealthNotice).
func (t Tags) Scheduled() string { return t.key("scheduled") }

// Paused is the journal key of the group's maintenance mode (see Pause).
func (t Tags) Paused() string { return t.key("paused") }

// LicenseHolder is the tag the engine keeps on the instance that holds a
// group's ENI (value: the group), when Options.HolderTag is on: FIS
// experiments select the holder by it, and the console shows it.
func (t Tags) LicenseHolder() string { return t.key("license-holder") }

// Failed is the journal key listing recently failed holders, for anti-flap.
func (t Tags) Failed() string { return t.key("failed") }

// Health is what the status checks say of a running instance.
type Health string

// Health values.
const (
	HealthOK       Health = "ok"
	HealthUnknown  Health = "unknown" // initializing, insufficient data, or not running
	HealthImpaired Health = "impaired"
)

// Instance states, as EC2 names them.
const (
	StatePending      = "pending"
	StateRunning      = "running"
	StateStopping     = "stopping"
	StateStopped      = "stopped"
	StateShuttingDown = "shutting-down"
	StateTerminated   = "terminated"
)

// Member is an instance that may hold a group's ENI.
type Member struct {
	InstanceID string
	// Name is the instance's Name tag, for people.
	Name string
	// HolderMark is the instance's license-holder tag ("" when absent).
	HolderMark string
	// Windows: EC2 reports the platform "windows" (activation runs
	// PowerShell there).
	Windows     bool
	State       string
	AZ          string
	VPCID       string
	Priority    int
	HasPriority bool
	Health      Health
	// EC2Scheduled: EC2 lists a scheduled event (retirement, stop,
	// maintenance) for the instance that is not over. Only AWS writes it,
	// so it corroborates an AWS Health notice the journal recorded.
	EC2Scheduled bool
	// UsedIndexes are the device indexes taken on the instance.
	UsedIndexes []int32
}

// Up reports whether the instance is running or about to be.
func (m Member) Up() bool { return m.State == StateRunning || m.State == StatePending }

// Down reports whether the instance is stopping, stopped or terminating.
func (m Member) Down() bool {
	switch m.State {
	case StateStopping, StateStopped, StateShuttingDown, StateTerminated:
		return true
	}
	return false
}

// IndexFree reports whether device index idx is unused on the instance.
func (m Member) IndexFree(idx int32) bool { return !slices.Contains(m.UsedIndexes, idx) }

// Interface is the observed license ENI.
type Interface struct {
	ID        string
	MAC       string
	PrivateIP string
	AZ        string
	VPCID     string
	// The attachment, when there is one.
	AttachmentID        string
	InstanceID          string
	AttachmentStatus    AttachmentStatus
	DeviceIndex         int32
	DeleteOnTermination bool
	// AttachTime is when the current attachment was made.
	AttachTime time.Time
	Tags       map[string]string
}

// Attached reports whether the ENI has an attachment in any state.
func (i Interface) Attached() bool { return i.AttachmentID != "" }

// Group is one license ENI and its members, sorted by preference.
type Group struct {
	Name    string
	ENI     Interface
	Members []Member
}

// Member returns the member with the given instance id.
func (g Group) Member(id string) (Member, bool) {
	for _, m := range g.Members {
		if m.InstanceID == id {
			return m, true
		}
	}
	return Member{}, false
}

// SortMembers orders members by preference: priority (untagged last), then
// instance id. Home and the choice of standbys rely on this order.
func SortMembers(ms []Member) {
	sort.SliceStable(ms, func(i, j int) bool {
		a, b := ms[i], ms[j]
		if a.HasPriority != b.HasPriority {
			return a.HasPriority
		}
		if a.Priority != b.Priority {
			return a.Priority < b.Priority
		}
		return a.InstanceID < b.InstanceID
	})
}

// ParseFailed reads the anti-flap journal: "i-a@UNIX i-b@UNIX".
func ParseFailed(v string) map[string]time.Time {
	out := map[string]time.Time{}
	for _, f := range strings.Fields(v) {
		id, ts, ok := strings.Cut(f, "@")
		if !ok {
			continue
		}
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			continue
		}
		out[id] = time.Unix(sec, 0).UTC()
	}
	return out
}

// FormatFailed writes the anti-flap journal, newest first, keeping entries
// younger than keep and at most max of them (a tag value holds 256 bytes).
func FormatFailed(m map[string]time.Time, now time.Time, keep time.Duration, max int) string {
	type entry struct {
		id string
		at time.Time
	}
	var es []entry
	for id, at := range m {
		if now.Sub(at) <= keep {
			es = append(es, entry{id, at})
		}
	}
	sort.Slice(es, func(i, j int) bool {
		if !es[i].at.Equal(es[j].at) {
			return es[i].at.After(es[j].at)
		}
		return es[i].id < es[j].id
	})
	if len(es) > max {
		es = es[:max]
	}
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.id + "@" + strconv.FormatInt(e.at.Unix(), 10)
	}
	return strings.Join(parts, " ")
}

// AttachmentStatus is EC2's status of an ENI's attachment ("" when the ENI
// is available).
type AttachmentStatus string

// The attachment statuses the engine acts on (EC2's "detached" is read as
// no attachment).
const (
	Attaching AttachmentStatus = "attaching"
	Attached  AttachmentStatus = "attached"
	Detaching AttachmentStatus = "detaching"
)
