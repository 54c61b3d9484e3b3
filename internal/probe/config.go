package probe

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/eni-failover/eni-failover/internal/emf"
	"github.com/eni-failover/eni-failover/internal/envvar"
)

// The probe function's environment variables; the CDK app sets them by
// these names.
const (
	EnvTargets = "PROBE_TARGETS"
	EnvPorts   = "PROBE_PORTS"
	EnvTimeout = "PROBE_TIMEOUT"
)

// DefaultPorts are FlexNet's: lmgrd, and the vendor daemon on the port the
// license file pins for it (MOSEK's recipe).
var DefaultPorts = []int{27007, 27008}

// Config is the probe function's configuration.
type Config struct {
	// Targets are the license ENIs' addresses by group (PROBE_TARGETS).
	Targets []Target
	// Ports are checked on each (PROBE_PORTS).
	Ports []int
	// Timeout of one connection attempt (PROBE_TIMEOUT).
	Timeout time.Duration
	// MetricsNamespace (METRICS_NAMESPACE).
	MetricsNamespace string
}

// Vars documents the probe function's variables.
var Vars = []envvar.Var{
	{Name: EnvTargets, Default: "", Meaning: "`group=private-ip` pairs, comma-separated: the license ENIs to probe (required)"},
	{Name: EnvPorts, Default: joinPorts(DefaultPorts), Meaning: "TCP ports checked on each: lmgrd and the vendor daemon"},
	{Name: EnvTimeout, Default: "2s", Meaning: "timeout of one connection attempt"},
	emf.NamespaceVar,
}

func joinPorts(ports []int) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ",")
}

// LoadConfig reads the probe function's configuration through getenv
// (os.Getenv in production). All problems are reported together.
func LoadConfig(getenv func(string) string) (Config, error) {
	get := envvar.Reader(getenv, Vars)
	var errs []error
	p := Config{MetricsNamespace: get(emf.EnvNamespace)}
	for _, pair := range strings.Split(get(EnvTargets), ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		group, ip, ok := strings.Cut(pair, "=")
		if !ok || group == "" || net.ParseIP(ip) == nil {
			errs = append(errs, fmt.Errorf("PROBE_TARGETS: %q is not group=ip", pair))
			continue
		}
		p.Targets = append(p.Targets, Target{Group: group, Address: ip})
	}
	if len(p.Targets) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("PROBE_TARGETS is empty: name each group's license ENI address, e.g. mosek=10.0.1.27"))
	}
	for _, s := range strings.Split(get(EnvPorts), ",") {
		port, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || port < 1 || port > 65535 {
			errs = append(errs, fmt.Errorf("PROBE_PORTS: %q is not a port", s))
			continue
		}
		p.Ports = append(p.Ports, port)
	}
	d, err := time.ParseDuration(get(EnvTimeout))
	if err != nil || d < 10*time.Millisecond || d > 30*time.Second {
		errs = append(errs, fmt.Errorf("PROBE_TIMEOUT=%q: a duration from 10ms to 30s", get(EnvTimeout)))
	}
	p.Timeout = d
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("invalid probe configuration: %w", err)
	}
	return p, nil
}
