package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/eni-failover/eni-failover/internal/probe"
)

// Probe is the probe function's configuration.
type Probe struct {
	// Targets are the license ENIs' addresses by group (PROBE_TARGETS).
	Targets []probe.Target
	// Ports are checked on each (PROBE_PORTS).
	Ports []int
	// Timeout of one connection attempt (PROBE_TIMEOUT).
	Timeout time.Duration
	// MetricsNamespace (METRICS_NAMESPACE).
	MetricsNamespace string
}

// ProbeVars documents the probe function's variables.
var ProbeVars = []Var{
	{"PROBE_TARGETS", "", "`group=private-ip` pairs, comma-separated: the license ENIs to probe (required)"},
	{"PROBE_PORTS", "27007,27008", "TCP ports checked on each: lmgrd and the vendor daemon"},
	{"PROBE_TIMEOUT", "2s", "timeout of one connection attempt"},
}

// LoadProbe reads the probe function's configuration.
func LoadProbe(getenv func(string) string) (Probe, error) {
	get := withDefaults(getenv, ProbeVars, Vars)
	var errs []error
	p := Probe{MetricsNamespace: get("METRICS_NAMESPACE")}
	for _, pair := range strings.Split(get("PROBE_TARGETS"), ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		group, ip, ok := strings.Cut(pair, "=")
		if !ok || group == "" || net.ParseIP(ip) == nil {
			errs = append(errs, fmt.Errorf("PROBE_TARGETS: %q is not group=ip", pair))
			continue
		}
		p.Targets = append(p.Targets, probe.Target{Group: group, Address: ip})
	}
	if len(p.Targets) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("PROBE_TARGETS is empty: name each group's license ENI address, e.g. mosek=10.0.1.27"))
	}
	for _, s := range strings.Split(get("PROBE_PORTS"), ",") {
		port, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || port < 1 || port > 65535 {
			errs = append(errs, fmt.Errorf("PROBE_PORTS: %q is not a port", s))
			continue
		}
		p.Ports = append(p.Ports, port)
	}
	d, err := time.ParseDuration(get("PROBE_TIMEOUT"))
	if err != nil || d < 10*time.Millisecond || d > 30*time.Second {
		errs = append(errs, fmt.Errorf("PROBE_TIMEOUT=%q: a duration from 10ms to 30s", get("PROBE_TIMEOUT")))
	}
	p.Timeout = d
	if err := errors.Join(errs...); err != nil {
		return Probe{}, fmt.Errorf("invalid probe configuration: %w", err)
	}
	return p, nil
}
