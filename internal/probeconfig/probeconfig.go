// Package probeconfig is the probe function's configuration: its
// environment variables, their defaults and their validation. The probe
// reads it at start; the CDK app writes it, without linking the probe.
package probeconfig

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
	EnvTargets       = "PROBE_TARGETS"
	EnvPorts         = "PROBE_PORTS"
	EnvTimeout       = "PROBE_TIMEOUT"
	EnvInterval      = "PROBE_INTERVAL"
	EnvWatch         = "PROBE_WATCH"
	EnvConfirmations = "PROBE_CONFIRMATIONS"
	EnvWitnesses     = "PROBE_WITNESSES"
	EnvCheck         = "PROBE_CHECK"
)

// Check modes (PROBE_CHECK).
const (
	// CheckConnect: a port passes when it accepts a connection.
	CheckConnect = "connect"
	// CheckAnswer: lmgrd's port must also answer a request (a hung lmgrd
	// whose socket the kernel still accepts on fails); the others connect.
	CheckAnswer = "answer"
)

// DefaultWitness is the Amazon DNS server's link-local address: every VPC
// has it, and security groups do not filter it.
const DefaultWitness = "169.254.169.253:53"

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
	// Interval between rounds of checks (PROBE_INTERVAL).
	Interval time.Duration
	// Watch is how long one invocation watches (PROBE_WATCH): the
	// schedule's period, so that the invocations follow each other.
	Watch time.Duration
	// Confirmations: consecutive failed checks that confirm a failure
	// (PROBE_CONFIRMATIONS).
	Confirmations int
	// Witnesses: host:port addresses whose answer shows that the probe's
	// own network works (PROBE_WITNESSES).
	Witnesses []string
	// Answer: PROBE_CHECK=answer.
	Answer bool
	// MetricsNamespace (METRICS_NAMESPACE).
	MetricsNamespace string
}

// Vars documents the probe function's variables.
var Vars = []envvar.Var{
	{Name: EnvTargets, Default: "", Meaning: "`group=private-ip` pairs, comma-separated: the license ENIs to probe (required)"},
	{Name: EnvPorts, Default: joinPorts(DefaultPorts), Meaning: "TCP ports checked on each: lmgrd and the vendor daemon"},
	{Name: EnvTimeout, Default: "2s", Meaning: "timeout of one check (the connection and, with `answer`, the reply); at most half of `PROBE_INTERVAL`"},
	{Name: EnvInterval, Default: "5s", Meaning: "time between rounds of checks, from 1s; equal to `PROBE_WATCH` or more, one round per invocation"},
	{Name: EnvWatch, Default: "60s", Meaning: "how long one invocation watches: the schedule's period (the function's timeout is 15 s longer)"},
	{Name: EnvConfirmations, Default: "3", Meaning: "consecutive failed checks that confirm a failure, 1 to 10"},
	{Name: EnvWitnesses, Default: DefaultWitness, Meaning: "`ip:port` addresses, comma-separated, that show the probe's own network works (accepted or refused both count); `none` for no witness"},
	{Name: EnvCheck, Default: CheckConnect, Meaning: "`connect`, or `answer`: lmgrd's port must also answer a request, which a hung lmgrd cannot"},
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
	p.Interval, err = time.ParseDuration(get(EnvInterval))
	if err != nil || p.Interval < time.Second || p.Interval > 15*time.Minute {
		errs = append(errs, fmt.Errorf("PROBE_INTERVAL=%q: a duration from 1s to 15m", get(EnvInterval)))
	}
	p.Watch, err = time.ParseDuration(get(EnvWatch))
	if err != nil || p.Watch < time.Second || p.Watch > 14*time.Minute {
		errs = append(errs, fmt.Errorf("PROBE_WATCH=%q: a duration from 1s to 14m (the function's timeout is 15 s longer, at most 15m)", get(EnvWatch)))
	}
	if p.Interval >= time.Second && 2*d > p.Interval {
		// A round is the checks at once, then the witness: two timeouts.
		errs = append(errs, fmt.Errorf("PROBE_TIMEOUT=%s is more than half of PROBE_INTERVAL=%s: a round (the checks, then the witness) would outlast the interval", d, p.Interval))
	}
	p.Confirmations, err = strconv.Atoi(get(EnvConfirmations))
	if err != nil || p.Confirmations < 1 || p.Confirmations > 10 {
		errs = append(errs, fmt.Errorf("PROBE_CONFIRMATIONS=%q: a number from 1 to 10", get(EnvConfirmations)))
	}
	if w := get(EnvWitnesses); w != "none" {
		for _, hp := range strings.Split(w, ",") {
			hp = strings.TrimSpace(hp)
			if _, _, err := ParseWitness(hp); err != nil {
				errs = append(errs, fmt.Errorf("PROBE_WITNESSES: %w", err))
				continue
			}
			p.Witnesses = append(p.Witnesses, hp)
		}
	}
	switch get(EnvCheck) {
	case CheckConnect:
	case CheckAnswer:
		p.Answer = true
	default:
		errs = append(errs, fmt.Errorf("PROBE_CHECK=%q: %q or %q", get(EnvCheck), CheckConnect, CheckAnswer))
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("invalid probe configuration: %w", err)
	}
	return p, nil
}

// ParseWitness reads a witness address, "ip:port".
func ParseWitness(hostport string) (net.IP, int, error) {
	host, port, err := net.SplitHostPort(hostport)
	ip := net.ParseIP(host)
	n, perr := strconv.Atoi(port)
	if err != nil || ip == nil || perr != nil || n < 1 || n > 65535 {
		return nil, 0, fmt.Errorf("%q is not ip:port", hostport)
	}
	return ip, n, nil
}

// Target is one group's license ENI address.
type Target struct {
	Group   string
	Address string
}
