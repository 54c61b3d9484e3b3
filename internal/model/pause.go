package model

import (
	"strconv"
	"strings"
	"time"
)

// Pause is a group's maintenance mode, kept in the ENI's journal so that
// every sandbox of every function sees it at once: until Until, no
// automatic trigger moves the group's ENI. It ends by itself.
type Pause struct {
	Until time.Time
	// By is who paused it, as the invocation said ("" when unknown).
	By     string
	Reason string
}

// Pause limits: a pause expires by itself so that nobody forgets one.
const (
	DefaultPause = 4 * time.Hour
	MaxPause     = 7 * 24 * time.Hour
)

// Active reports whether the pause holds at now.
func (p Pause) Active(now time.Time) bool { return now.Before(p.Until) }

// String is the journal form: "UNTIL_UNIX BY REASON" (BY is "-" when
// unknown, and holds no spaces). It fits a tag value whatever the inputs
// (a reason of 200 characters, an SSO session's long identity): the
// reason is kept whole up to 200 characters and BY is clipped to the rest.
func (p Pause) String() string {
	until := strconv.FormatInt(p.Until.Unix(), 10)
	reason := Clip(strings.TrimSpace(p.Reason), maxPauseReason)
	by := strings.Join(strings.Fields(p.By), "_")
	if by == "" {
		by = "-"
	}
	// Clip counts bytes, which are never fewer than EC2's characters.
	by = Clip(by, MaxTagValue-len(until)-len(reason)-2)
	return strings.TrimSpace(until + " " + by + " " + reason)
}

// maxPauseReason is the longest pause reason the journal keeps whole (the
// move function's limit on a reason).
const maxPauseReason = 200

// ParsePause reads the journal tag; ok is false when there is none or it
// cannot be read (then the group is not paused).
func ParsePause(v string) (Pause, bool) {
	f := strings.SplitN(strings.TrimSpace(v), " ", 3)
	if len(f) < 2 {
		return Pause{}, false
	}
	unix, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return Pause{}, false
	}
	p := Pause{Until: time.Unix(unix, 0).UTC(), By: f[1]}
	if p.By == "-" {
		p.By = ""
	}
	if len(f) == 3 {
		p.Reason = f[2]
	}
	return p, true
}
