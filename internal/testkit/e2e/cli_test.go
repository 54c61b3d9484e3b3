package e2e

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommandLine runs the built eni-failover command against the real
// move bootstrap under aws-lambda-rie (the SDK's Lambda Invoke, the same
// call as against AWS), with moto behind it.
func TestCommandLine(t *testing.T) {
	w := newWorld(t)
	bin := filepath.Join(t.TempDir(), "eni-failover")
	build := exec.Command("go", "build", "-o", bin, "./cmd/eni-failover")
	build.Dir = repoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the command line: %v\n%s", err, out)
	}
	cli := func(args ...string) (int, string) {
		t.Helper()
		cmd := exec.Command(bin, append(args, "--endpoint-url", functions["move"].base)...)
		cmd.Env = append(cleanEnv(), "AWS_REGION="+region, "AWS_ACCESS_KEY_ID=cli", "AWS_SECRET_ACCESS_KEY=cli", "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("running %v: %v", args, err)
		}
		return cmd.ProcessState.ExitCode(), string(out)
	}
	code, out := cli("status")
	if code != 0 || !strings.Contains(out, "holder "+w.primary) || !strings.Contains(out, "token-2") {
		t.Fatalf("status: exit %d\n%s", code, out)
	}
	if code, out = cli("doctor"); code != 0 || !strings.Contains(out, "WHAT TO DO") || !strings.Contains(out, "a failover would succeed") {
		t.Fatalf("doctor: exit %d\n%s", code, out)
	}
	strict.SetAgent(w.standby, "ConnectionLost")
	if code, out = cli("doctor", "--json"); code != 1 || !strings.Contains(out, `"result":"warn"`) {
		t.Fatalf("doctor with a standby's agent offline: exit %d, want 1\n%s", code, out)
	}
	strict.SetAgent(w.standby, "")
	if code, out = cli("move", "--target", w.second, "--reason", "cli e2e"); code != 0 || !strings.Contains(out, "move: moved") || w.holder() != w.second {
		t.Fatalf("move: exit %d, ENI on %s\n%s", code, w.holder(), out)
	}
	if code, out = cli("pause", "--reason", "cli maintenance", "--minutes", "15"); code != 0 || !strings.Contains(out, "paused until") {
		t.Fatalf("pause: exit %d\n%s", code, out)
	}
	if code, out = cli("status"); code != 0 || !strings.Contains(out, "PAUSED until") || !strings.Contains(out, "cli maintenance") || !strings.Contains(out, "@") {
		t.Fatalf("status while paused: exit %d\n%s", code, out)
	}
	if code, out = cli("resume"); code != 0 {
		t.Fatalf("resume: exit %d\n%s", code, out)
	}
	if code, out = cli("history", "--json"); code != 0 {
		t.Fatalf("history: exit %d\n%s", code, out)
	}
	var h struct {
		History []struct{ From, To, Outcome string }
	}
	if err := json.Unmarshal([]byte(out), &h); err != nil || len(h.History) != 1 || h.History[0].To != w.second || h.History[0].Outcome != "moved" {
		t.Fatalf("history --json: %v\n%s", err, out)
	}
	if code, out = cli("drill", "--reason", "game day"); code != 0 || !strings.Contains(out, "DRILL MOVE") || w.holder() != w.second {
		t.Fatalf("drill: exit %d, ENI on %s\n%s", code, w.holder(), out)
	}
	if code, out = cli("move", "--target", "web-1"); code != 2 {
		t.Fatalf("a bad target: exit %d, want 2\n%s", code, out)
	}
	if code, out = cli("status", "--group", "matlab"); code != 2 || !strings.Contains(out, "BadRequestError") {
		t.Fatalf("an unknown group: exit %d, want 2\n%s", code, out)
	}
	w.stop(w.second)
	strict.Settle()
	if code, out = cli("status"); code != 4 {
		t.Fatalf("holder stopped: exit %d, want 4\n%s", code, out)
	}
	_ = os.Remove(bin)
}
