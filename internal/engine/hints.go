package engine

import (
	"sync"

	"github.com/eni-failover/eni-failover/internal/model"
)

// memberHints remembers which group each instance was last seen in. A
// Lambda sandbox lives on between invocations and the scheduled reconcile
// reads every group, so an event about a member usually finds its group
// here and saves the round trip that asks EC2 for the instance's tags.
// A hint is only a guess: the group read that follows must list the
// instance as a member, or the engine asks EC2 as if there were no hint.
type memberHints struct {
	mu      sync.Mutex
	byGroup map[string]string // instance id -> group name
}

func (h *memberHints) lookup(instanceID string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	g, ok := h.byGroup[instanceID]
	return g, ok
}

// replaceAll records a read of every group, forgetting everything older.
func (h *memberHints) replaceAll(groups []model.Group) {
	m := make(map[string]string)
	for _, g := range groups {
		for _, mem := range g.Members {
			m[mem.InstanceID] = g.Name
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.byGroup = m
}

// record records a read of one group: its members now, and no others.
func (h *memberHints) record(g model.Group) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.byGroup == nil {
		h.byGroup = make(map[string]string)
	}
	for id, name := range h.byGroup {
		if name == g.Name {
			delete(h.byGroup, id)
		}
	}
	for _, m := range g.Members {
		h.byGroup[m.InstanceID] = g.Name
	}
}

// forget drops a hint that turned out wrong.
func (h *memberHints) forget(instanceID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.byGroup, instanceID)
}
