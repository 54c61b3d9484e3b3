package model

import (
	"fmt"
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
// unknown, and holds no spaces).
func (p Pause) String() string {
	by := strings.Join(strings.Fields(p.By), "_")
	if by == "" {
		by = "-"
	}
	return strings.TrimSpace(fmt.Sprintf("%d %s %s", p.Until.Unix(), by, p.Reason))
}

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
