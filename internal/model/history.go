package model

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Move is one entry of a group's history, kept in the ENI's journal: when a
// run changed where the ENI is (or failed after changing something), from
// and to which instance, why and how long it took.
type Move struct {
	At         time.Time `json:"at"`
	From       string    `json:"from,omitempty"`
	To         string    `json:"to,omitempty"`
	Trigger    string    `json:"trigger"`
	Outcome    string    `json:"outcome"`
	DurationMS int64     `json:"duration_ms"`
}

// HistoryKeys is how many journal tags hold the history: EC2 allows 50
// tags on a resource and 256 characters in a value, so a few tags keep
// about a dozen moves.
const HistoryKeys = 4

// String is one entry's journal form: "UNIX FROM>TO TRIGGER OUTCOME MS"
// ("-" for no instance).
func (m Move) String() string {
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	return fmt.Sprintf("%d %s>%s %s %s %d", m.At.Unix(), dash(m.From), dash(m.To), dash(m.Trigger), m.Outcome, m.DurationMS)
}

func parseMove(s string) (Move, bool) {
	f := strings.Fields(s)
	if len(f) != 5 {
		return Move{}, false
	}
	unix, err1 := strconv.ParseInt(f[0], 10, 64)
	ms, err2 := strconv.ParseInt(f[4], 10, 64)
	from, to, ok := strings.Cut(f[1], ">")
	if err1 != nil || err2 != nil || !ok {
		return Move{}, false
	}
	undash := func(s string) string {
		if s == "-" {
			return ""
		}
		return s
	}
	return Move{At: time.Unix(unix, 0).UTC(), From: undash(from), To: undash(to), Trigger: undash(f[2]), Outcome: f[3], DurationMS: ms}, true
}

// History reads the moves from the journal tags, newest first.
func (t Tags) History(tags map[string]string) []Move {
	var out []Move
	for i := range HistoryKeys {
		for _, entry := range strings.Split(tags[t.HistoryKey(i)], ";") {
			if m, ok := parseMove(strings.TrimSpace(entry)); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

// WithMove returns the history tags with m added as the newest entry,
// packed newest first into HistoryKeys values of at most 256 characters;
// the oldest entries fall off.
func (t Tags) WithMove(tags map[string]string, m Move) map[string]string {
	moves := append([]Move{m}, t.History(tags)...)
	out := map[string]string{}
	k := 0
	for _, mv := range moves {
		s := mv.String()
		cur := out[t.HistoryKey(k)]
		if cur != "" && len(cur)+1+len(s) > 256 {
			k++
			if k == HistoryKeys {
				break
			}
			cur = ""
		}
		if cur != "" {
			cur += ";"
		}
		out[t.HistoryKey(k)] = cur + s
	}
	for i := range HistoryKeys {
		if _, ok := out[t.HistoryKey(i)]; !ok && tags[t.HistoryKey(i)] != "" {
			out[t.HistoryKey(i)] = "" // emptied: an older value would repeat entries
		}
	}
	return out
}

// HistoryKey is the journal key of the i-th history tag (0: newest).
func (t Tags) HistoryKey(i int) string {
	if i == 0 {
		return t.key("history")
	}
	return t.key(fmt.Sprintf("history-%d", i+1))
}
