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
	// OutageMS is the clients' outage the probe measured: from the first
	// failed check to the license answering again (0: not measured).
	OutageMS int64 `json:"outage_ms,omitempty"`
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
	s := fmt.Sprintf("%d %s>%s %s %s %d", m.At.Unix(), dash(m.From), dash(m.To), dash(m.Trigger), m.Outcome, m.DurationMS)
	if m.OutageMS > 0 {
		s += fmt.Sprintf(" %d", m.OutageMS)
	}
	return s
}

func parseMove(s string) (Move, bool) {
	f := strings.Fields(s)
	var outage int64
	if len(f) == 6 {
		// The outage, added once the probe saw the license answer.
		var err error
		if outage, err = strconv.ParseInt(f[5], 10, 64); err != nil {
			return Move{}, false
		}
		f = f[:5]
	}
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
	return Move{At: time.Unix(unix, 0).UTC(), From: undash(from), To: undash(to), Trigger: undash(f[2]), Outcome: f[3], DurationMS: ms, OutageMS: outage}, true
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

// WithOutage returns the history tags with the clients' outage recorded
// on the newest move made during it, that has none yet: a move that began
// before the license answered again and ended after its failures began. A
// failover starts after the failures; a planned move (a drill's) starts
// before them, since its detach is what the probe sees fail.
func (t Tags) WithOutage(tags map[string]string, downSince, answeredAt time.Time) (map[string]string, Move, bool) {
	moves := t.History(tags)
	for i, m := range moves {
		// The history keeps whole seconds: a second of slack at the end.
		end := m.At.Add(time.Duration(m.DurationMS)*time.Millisecond + time.Second)
		if m.At.After(answeredAt) || end.Before(downSince) {
			continue
		}
		if m.OutageMS > 0 {
			return nil, Move{}, false
		}
		moves[i].OutageMS = max(answeredAt.Sub(downSince).Milliseconds(), 1)
		return t.pack(tags, moves), moves[i], true
	}
	return nil, Move{}, false
}

// AutomaticMovesCapped reports whether the automation has used up its
// moves: n automatic moves within one hour, none made or followed by an
// operator's action (a manual move or failback, drills included, in the
// history, or a pause or resume ending after the last of them). It stays
// so until an operator acts: a token server that dies on every host must
// not bounce the license around. An automatic attach of an ENI on no
// instance counts as a move: a move whose run died after its detach (or
// whose attach another run made) ends that way, and would otherwise
// escape the count (the storms found it); so does a run that failed after
// its attach (a read throttled), the ENI on another instance (make fuzz).
func AutomaticMovesCapped(moves []Move, operatorUntil time.Time, n int) (bool, []Move) {
	if n <= 0 {
		return false, nil
	}
	var auto []Move
	for _, m := range moves {
		if m.Manual() {
			break
		}
		if m.Outcome == "moved" || m.Outcome == "attached" || m.Outcome == "failed" && m.To != "" && m.To != m.From {
			auto = append(auto, m)
		}
	}
	if len(auto) == 0 || operatorUntil.After(auto[0].At) {
		return false, nil
	}
	for i := 0; i+n <= len(auto); i++ {
		if auto[i].At.Sub(auto[i+n-1].At) <= time.Hour {
			return true, auto[i : i+n]
		}
	}
	return false, nil
}

// ManualReason starts the journal's reason of an operator's move (a drill's
// included).
const ManualReason = "manual "

// Unrecorded returns the move the journal names (its moved-at, previous
// holder and holder) when history, the history read with it, does not
// hold it yet: the run that made it is still under way (the history is
// written last, after the activation), died, or could not write it. A
// run in another sandbox counts it as the moves it has seen; its trigger
// is "move" when the journal's reason is an operator's.
func (t Tags) Unrecorded(tags map[string]string, history []Move) (Move, bool) {
	at, ok := t.MovedAtTime(tags)
	if !ok {
		return Move{}, false
	}
	m := Move{At: at, From: tags[t.PreviousHolder()], To: tags[t.Holder()], Trigger: "impaired", Outcome: "moved"}
	if m.From == "none" {
		m.From, m.Outcome = "", "attached"
	}
	if strings.HasPrefix(tags[t.Reason()], ManualReason) {
		m.Trigger = "move"
	}
	if len(history) > 0 {
		h := history[0]
		// The history keeps whole seconds: a second of slack at the end.
		end := h.At.Add(time.Duration(h.DurationMS)*time.Millisecond + time.Second)
		if at.Before(h.At) || h.To == m.To && !at.After(end) {
			return Move{}, false // older than the history, or its newest entry
		}
	}
	return m, true
}

// unjournalledWithin bounds how long after its attach a run may still be
// writing the journal (a function's timeout, with margin): an older
// attachment that the journal does not name is not a move in flight.
const unjournalledWithin = 15 * time.Minute

// Unjournalled returns the attachment of eni as a move when neither the
// journal nor history knows it yet: a run that finishes a move another
// run's detach began (or attaches an ENI found on no instance) writes the
// journal only after its attach, and a run in another sandbox reading in
// between would otherwise see no move at all (make fuzz found it).
func (t Tags) Unjournalled(eni Interface, history []Move, now time.Time) (Move, bool) {
	at := eni.AttachTime
	if eni.InstanceID == "" || at.IsZero() || eni.Tags[t.Holder()] == eni.InstanceID || now.Sub(at) > unjournalledWithin {
		return Move{}, false
	}
	if moved, ok := t.MovedAtTime(eni.Tags); ok && !at.After(moved.Add(time.Second)) {
		return Move{}, false
	}
	if len(history) > 0 && !at.After(history[0].At.Add(time.Duration(history[0].DurationMS)*time.Millisecond+time.Second)) {
		return Move{}, false
	}
	return Move{At: at, To: eni.InstanceID, Trigger: "reconcile", Outcome: "attached"}, true
}

// Manual reports whether an operator asked for this move.
func (m Move) Manual() bool {
	return m.Trigger == "move" || m.Trigger == "failback"
}

// WithMove returns the history tags with m added as the newest entry,
// packed newest first into HistoryKeys values of at most 256 characters;
// the oldest entries fall off.
func (t Tags) WithMove(tags map[string]string, m Move) map[string]string {
	return t.pack(tags, append([]Move{m}, t.History(tags)...))
}

// pack writes moves, newest first, into the history tags.
func (t Tags) pack(tags map[string]string, moves []Move) map[string]string {
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
