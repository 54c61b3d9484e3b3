package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eni-failover/eni-failover/internal/findings"
	"github.com/eni-failover/eni-failover/internal/probeconfig"
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
	p := &Prober{Ports: []int{up1, up2}, Checker: &NetChecker{Timeout: 2 * time.Second}}
	res := p.Probe(context.Background(), []probeconfig.Target{{Group: "mosek", Address: "127.0.0.1"}})
	if !res[0].Reachable || len(res[0].Ports) != 2 {
		t.Fatalf("up: %+v", res)
	}
	p.Ports = []int{up1, down}
	res = p.Probe(context.Background(), []probeconfig.Target{{Group: "mosek", Address: "127.0.0.1"}})
	if res[0].Reachable || res[0].Ports[1].OK || res[0].Ports[1].Error != ErrRefused.Error() || !res[0].Ports[0].OK {
		t.Fatalf("down: %+v", res)
	}
	// Slow: a dialer that answers only after 5 s (as a blackholed address
	// would not at all; the test stays on 127.0.0.1). With the probe's
	// timeout applied it is cut off as a timeout; without, the port would
	// be reported up.
	slow := &Prober{Ports: []int{up1}, Checker: &NetChecker{Timeout: 100 * time.Millisecond,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			select {
			case <-time.After(5 * time.Second):
				return (&net.Dialer{}).DialContext(context.Background(), network, addr)
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}}}
	res = slow.Probe(context.Background(), []probeconfig.Target{{Group: "mosek", Address: "127.0.0.1"}})
	if res[0].Reachable || res[0].Ports[0].Error != ErrTimeout.Error() {
		t.Fatalf("slow: %+v", res)
	}
}

// A hung daemon: its socket listens, so the kernel completes the handshake
// and queues the request, but nothing accepts or reads. The connect check
// passes it; the answer check does not. A live daemon that answers the
// request, or reads it and closes the connection, passes both.
func TestAnswerCheckTellsAHungDaemon(t *testing.T) {
	hung, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	replies, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer replies.Close()
	gotRequest := make(chan []byte, 1)
	go func() {
		for {
			c, err := replies.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, len(AnswerRequest))
			if _, err := c.Read(buf); err == nil {
				select {
				case gotRequest <- buf:
				default:
				}
			}
			c.Write([]byte("W\x00\x00\x00\x00"))
			c.Close()
		}
	}()
	closes := listen(t)
	port := func(l net.Listener) int { return l.Addr().(*net.TCPAddr).Port }
	// Live daemons answer well within a generous timeout, however busy the
	// machine; the hung one needs only a short one to be caught.
	c := &NetChecker{Timeout: 10 * time.Second}
	short := &NetChecker{Timeout: 300 * time.Millisecond}
	ctx := context.Background()
	if err := c.Check(ctx, "127.0.0.1", port(hung), false); err != nil {
		t.Fatalf("connect check of a hung daemon: %v (the kernel accepts for it)", err)
	}
	if err := short.Check(ctx, "127.0.0.1", port(hung), true); !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("answer check of a hung daemon: %v, want %v", err, ErrNoAnswer)
	}
	if err := c.Check(ctx, "127.0.0.1", port(replies), true); err != nil {
		t.Fatalf("answer check of a daemon that replies: %v", err)
	}
	if got := <-gotRequest; !bytes.Equal(got, AnswerRequest) {
		t.Fatalf("request sent %x", got)
	}
	if err := c.Check(ctx, "127.0.0.1", closes, true); err != nil {
		t.Fatalf("answer check of a daemon that reads and closes: %v", err)
	}
	if err := c.Check(ctx, "127.0.0.1", closedPort(t), true); !errors.Is(err, ErrRefused) {
		t.Fatalf("answer check of a killed daemon: %v", err)
	}
	// The SMB1 negotiate request: NetBIOS length, then \xffSMB and the
	// NEGOTIATE command.
	if n := int(AnswerRequest[2])<<8 | int(AnswerRequest[3]); n != len(AnswerRequest)-4 || string(AnswerRequest[5:8]) != "SMB" || AnswerRequest[8] != 0x72 {
		t.Fatalf("request %x", AnswerRequest)
	}
	// Reach: refused counts as reachable, a timeout does not.
	if !c.Reach(ctx, net.JoinHostPort("127.0.0.1", itoa(closedPort(t)))) {
		t.Fatal("a refused witness is reachable")
	}
	blackhole := &NetChecker{Timeout: 50 * time.Millisecond, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	if blackhole.Reach(ctx, "10.255.255.1:53") {
		t.Fatal("a witness that never answers is reachable")
	}
}

func TestMetrics(t *testing.T) {
	var buf bytes.Buffer
	results := []findings.Result{{Group: "a", Address: "10.0.1.5", Reachable: true, Ports: []findings.PortResult{{Port: 27007, OK: true, LatencyMS: 1.5}}},
		{Group: "b", Address: "10.0.2.5", Reachable: false, Ports: []findings.PortResult{{Port: 27007, Error: "refused"}}},
		{Group: "c", Address: "10.0.3.5", Reachable: false, Ports: []findings.PortResult{{Port: 27007, Error: "timeout"}}}}
	if err := WriteMetrics(&buf, "ENIFailover", time.Unix(1700000000, 0), results, map[string]bool{"c": true}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("lines %q (group c, skipped, must write none)", lines)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &m); err != nil || m["Group"] != "b" || m[findings.MetricReachable] != 0.0 || m["_aws"] == nil {
		t.Fatalf("line %s (%v)", lines[1], err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
