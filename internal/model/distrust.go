package model

import (
	"fmt"
	"strings"
	"time"
)

// ClockSkew is how far ahead of the reader's clock a journal time may be
// and still be taken as written by a function: Lambda's clocks agree to
// well within it.
const ClockSkew = 5 * time.Minute

// Distrust returns the journal with the values no function could have
// written left out, and one line for each: anyone allowed ec2:CreateTags
// on the ENI can write the journal, so a value the engine would obey to
// the license's harm must be plausible. A pause ending beyond the 7-day
// limit, a move time in the future and history entries from the future
// are ignored (a forged pause would silence the automation; a future move
// time would make every probe finding look stale; future moves would use
// up the cap). The engine reports the lines; the values stay on the ENI
// for whoever investigates.
func (t Tags) Distrust(tags map[string]string, now time.Time) (map[string]string, []string) {
	clean := make(map[string]string, len(tags))
	for k, v := range tags {
		clean[k] = v
	}
	var doubts []string
	if p, ok := ParsePause(tags[t.Paused()]); ok && p.Until.After(now.Add(MaxPause+ClockSkew)) {
		delete(clean, t.Paused())
		doubts = append(doubts, fmt.Sprintf("%s ends %s, beyond the %s a pause may last: ignored (not written by eni-failover)",
			t.Paused(), p.Until.UTC().Format(time.RFC3339), MaxPause))
	}
	if at, ok := t.MovedAtTime(tags); ok && at.After(now.Add(ClockSkew)) {
		delete(clean, t.MovedAt())
		doubts = append(doubts, fmt.Sprintf("%s is %s, in the future: ignored (not written by eni-failover)", t.MovedAt(), tags[t.MovedAt()]))
	}
	for i := range HistoryKeys {
		key := t.HistoryKey(i)
		entries := strings.Split(tags[key], ";")
		kept := entries[:0]
		for _, e := range entries {
			if m, ok := parseMove(strings.TrimSpace(e)); ok && m.At.After(now.Add(ClockSkew)) {
				doubts = append(doubts, fmt.Sprintf("%s holds a move at %s, in the future: ignored (not written by eni-failover)", key, m.At.UTC().Format(time.RFC3339)))
				continue
			}
			kept = append(kept, e)
		}
		if v := strings.Join(kept, ";"); v != tags[key] {
			clean[key] = v
		}
	}
	return clean, doubts
}
