package eventparse

import "github.com/eni-failover/eni-failover/internal/strictjson"

// ActionReadiness is the payload of the readiness schedule: its own rule
// invokes the failover function with {"action": "readiness"}
// (events/readiness-check.json) every reconcile period, apart from the
// fleet function's reconcile, so that counting the ready standbys never
// holds a state change of another group behind it (the fleet function
// runs one event at a time).
const ActionReadiness = "readiness"

// IsReadinessRequest reports whether raw is exactly that payload.
func IsReadinessRequest(raw []byte) bool {
	var req struct {
		Action string `json:"action"`
	}
	return strictjson.Decode(raw, &req) == nil && req.Action == ActionReadiness
}
