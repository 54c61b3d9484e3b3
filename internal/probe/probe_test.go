package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/eni-failover/eni-failover/internal/testkit/localproc"
)

// listen opens a TCP listener on 127.0.0.1 that accepts and closes.
func listen(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go localproc.AcceptAndClose(l)
	return l.Addr().(*net.TCPAddr).Port
}

// closedPort is a port with nothing listening.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestUpDownSlow(t *testing.T) {
	up1, up2, down := listen(t), listen(t), closedPort(t)
	p := &Prober{Ports: []int{up1, up2}, Timeout: 300 * time.Millisecond}
	res := p.Probe(context.Background(), []Target{{"mosek", "127.0.0.1"}})
	if !res[0].Reachable || len(res[0].Ports) != 2 {
		t.Fatalf("up: %+v", res)
	}

	p.Ports = []int{up1, down}
	res = p.Probe(context.Background(), []Target{{"mosek", "127.0.0.1"}})
	if res[0].Reachable || res[0].Ports[1].OK || res[0].Ports[1].Error == "" || !res[0].Ports[0].OK {
		t.Fatalf("down: %+v", res)
	}

	// Slow: a dialer that answers only after 5 s (as a blackholed address
	// would not at all; the test stays on 127.0.0.1). With the probe's
	// timeout applied it is cut off with a deadline error; without, the
	// port would be reported up.
	slow := &Prober{Ports: []int{up1}, Timeout: 100 * time.Millisecond,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			select {
			case <-time.After(5 * time.Second):
				return (&net.Dialer{}).DialContext(context.Background(), network, addr)
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}}
	res = slow.Probe(context.Background(), []Target{{"mosek", "127.0.0.1"}})
	if res[0].Reachable || !strings.Contains(res[0].Ports[0].Error, "deadline") {
		t.Fatalf("slow: %+v", res)
	}
}

func TestMetrics(t *testing.T) {
	var buf bytes.Buffer
	results := []Result{{Group: "a", Address: "10.0.1.5", Reachable: true, Ports: []PortResult{{Port: 27007, OK: true, LatencyMS: 1.5}}},
		{Group: "b", Address: "10.0.2.5", Reachable: false, Ports: []PortResult{{Port: 27007, Error: "refused"}}}}
	if err := WriteMetrics(&buf, "ENIFailover", time.Unix(1700000000, 0), results); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("lines %q", lines)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &m); err != nil || m["Group"] != "b" || m[MetricReachable] != 0.0 || m["_aws"] == nil {
		t.Fatalf("line %s (%v)", lines[1], err)
	}
}
