package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"
)

// Checker checks one address. The probe's loop, detector and metrics run
// the same against the network (NetChecker) and a simulated one.
type Checker interface {
	// Check reports nil when the daemon on addr:port answers: a connection
	// is accepted and, with answer, the daemon replies to a request or
	// closes the connection instead of leaving it silent.
	Check(ctx context.Context, addr string, port int, answer bool) error
	// Reach reports whether the host at hostport is reachable: an accepted
	// or a refused connection both show that the path works.
	Reach(ctx context.Context, hostport string) bool
}

// Kinds of failed checks, in PortResult.Error: they tell an operator where
// to look.
var (
	// ErrRefused: the host answered with a reset: it is up, nothing listens.
	ErrRefused = errors.New("connection refused: the host is up, the daemon is not listening")
	// ErrNoAnswer: the connection was accepted (the kernel does that for a
	// listening socket) but the daemon neither replied nor closed it.
	ErrNoAnswer = errors.New("connected, but no answer: the daemon is hung")
	// ErrTimeout: no answer to the connection attempt: the host, its
	// network or the daemon's listen queue is gone.
	ErrTimeout = errors.New("connection timed out: the host or its network does not answer")
)

// NetChecker checks over TCP.
type NetChecker struct {
	// Timeout bounds each check: the connection and, with answer, the reply.
	Timeout time.Duration
	// Dial is net.Dialer.DialContext unless set (tests).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (c *NetChecker) dial(ctx context.Context, hostport string) (net.Conn, error) {
	dial := c.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	return dial(ctx, "tcp", hostport)
}

// Check connects and, with answer, sends AnswerRequest and waits for any
// reply or an orderly close.
func (c *NetChecker) Check(ctx context.Context, addr string, port int, answer bool) error {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	conn, err := c.dial(ctx, net.JoinHostPort(addr, strconv.Itoa(port)))
	if err != nil {
		return classify(err)
	}
	defer conn.Close()
	if !answer {
		return nil
	}
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return fmt.Errorf("setting the deadline of the answer check: %w", err)
	}
	if _, err := conn.Write(AnswerRequest); err != nil {
		return classify(err)
	}
	var buf [64]byte
	if _, err := conn.Read(buf[:]); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		// io.EOF or a reset: the daemon read the request and refused
		// it, which a hung daemon cannot do.
		return nil
	} else if err != nil {
		return ErrNoAnswer
	}
	return nil
}

// Reach connects to hostport; a refusal counts as reachable.
func (c *NetChecker) Reach(ctx context.Context, hostport string) bool {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	conn, err := c.dial(ctx, hostport)
	if err != nil {
		return errors.Is(err, syscall.ECONNREFUSED)
	}
	conn.Close()
	return true
}

func classify(err error) error {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return ErrRefused
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return ErrTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ErrTimeout
	}
	return err
}

// AnswerRequest is what the answer check sends to lmgrd's port: an SMB1
// NEGOTIATE request (MS-CIFS 2.2.4.52) offering the dialect "NT LM 0.12",
// behind a NetBIOS session header. Nmap's service database lists FlexLM's
// reply to this request on ports 27000-27010 (docs/hung-daemon.md): a
// live lmgrd answers it, a hung one cannot.
var AnswerRequest = func() []byte {
	dialects := []byte("\x02NT LM 0.12\x00")
	smb := []byte{
		0xff, 'S', 'M', 'B', // protocol
		0x72,       // command: NEGOTIATE
		0, 0, 0, 0, // status
		0x18,       // flags: canonical paths, case-insensitive
		0x01, 0x28, // flags2
		0, 0, // PID high
		0, 0, 0, 0, 0, 0, 0, 0, // security features
		0, 0, // reserved
		0, 0, // TID
		0x2f, 0x4b, // PID low
		0, 0, // UID
		0xc5, 0x5e, // MID
		0, // word count
		byte(len(dialects)), byte(len(dialects) >> 8),
	}
	smb = append(smb, dialects...)
	return append([]byte{0, 0, byte(len(smb) >> 8), byte(len(smb))}, smb...)
}()
