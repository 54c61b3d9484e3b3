// Package localproc helps run local emulators (moto_server,
// aws-lambda-rie) on loopback ports for the end-to-end tests and the
// cold-start measurement.
package localproc

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// WaitListening waits until something accepts connections on addr.
func WaitListening(addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens on %s after %s", addr, d)
}

// FindTool looks a command up on PATH, then in the Go bin folder (where
// `go install` puts aws-lambda-rie); "" when absent.
func FindTool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	bin := os.Getenv("GOBIN")
	if bin == "" {
		out, err := exec.Command("go", "env", "GOPATH").Output()
		if err != nil {
			return ""
		}
		bin = filepath.Join(strings.TrimSpace(string(out)), "bin")
	}
	p := filepath.Join(bin, name)
	if st, err := os.Stat(p); err == nil && !st.IsDir() {
		return p
	}
	return ""
}

// AcceptAndClose accepts connections on l and closes them at once (a
// stand-in for a token server's port) until l is closed.
func AcceptAndClose(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

// Buffer collects a child process's output safely.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// WaitFor waits until the output holds every one of wants, or d has
// passed, and returns the output either way. A child's log lines travel
// through the emulator's pipes and can arrive after the invocation's
// response, so a test must wait for them rather than read once.
func (b *Buffer) WaitFor(d time.Duration, wants ...string) (string, bool) {
	deadline := time.Now().Add(d)
	for {
		out := b.String()
		found := true
		for _, w := range wants {
			if !strings.Contains(out, w) {
				found = false
				break
			}
		}
		if found || time.Now().After(deadline) {
			return out, found
		}
		time.Sleep(20 * time.Millisecond)
	}
}
