package engine_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/eni-failover/eni-failover/internal/engine"
	"github.com/eni-failover/eni-failover/internal/report"
	"github.com/eni-failover/eni-failover/internal/testkit/fakeec2"
)

type requestKey struct{}

// contextCheckingHandler records every log line, and which lines were
// logged without the invocation's context: in Lambda,
// lambdacontext.NewLogger adds the request id only from that context.
type contextCheckingHandler struct {
	mu        sync.Mutex
	lines     []string
	noContext []string
	attrs     map[string][]string // message -> attribute keys
}

func (h *contextCheckingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *contextCheckingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *contextCheckingHandler) WithGroup(string) slog.Handler            { return h }
func (h *contextCheckingHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lines = append(h.lines, r.Message)
	if ctx == nil || ctx.Value(requestKey{}) == nil {
		h.noContext = append(h.noContext, r.Message)
	}
	var keys []string
	r.Attrs(func(a slog.Attr) bool {
		keys = append(keys, a.Key)
		return true
	})
	h.attrs[r.Message] = keys
	return nil
}

// TestLogsCarryTheInvocationContext: the forensic lines of a failover (each
// step, the decision, the end of the run) reach the log handler with the
// invocation's context, and a run that succeeded logs no error field.
func TestLogsCarryTheInvocationContext(t *testing.T) {
	w := newWorld(t, engine.Options{})
	h := &contextCheckingHandler{attrs: map[string][]string{}}
	eng := engine.New(w.ec2, w.clk, slog.New(h), engine.Options{})
	w.ec2.StopInstance("i-a")
	ctx := context.WithValue(w.ctx(), requestKey{}, "req-1")
	// A refused first attach adds a "step failed" line.
	w.ec2.AddFault(fakeec2.Fault{Op: fakeec2.OpAttachNetworkInterface, Code: "IncorrectInstanceState", Message: "the instance is not in a valid state", Times: 1})
	reps, err := eng.Run(ctx, down("i-a"), false)
	if err != nil || reps[0].Outcome != report.Moved {
		t.Fatalf("run: %v %+v", err, reps)
	}
	// An event about an instance in no group logs at debug level.
	if _, err := eng.Run(ctx, engine.Trigger{Kind: report.InstanceDown, InstanceID: "i-0ffffffffffffffff"}, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"acting", "step done", "step failed", "run finished", "instance in no group; ignored"} {
		if !strings.Contains(strings.Join(h.lines, "\n"), want) {
			t.Errorf("no %q line among %q", want, h.lines)
		}
	}
	if len(h.noContext) > 0 {
		t.Errorf("logged without the invocation's context: %q", h.noContext)
	}
	for _, k := range h.attrs["run finished"] {
		if k == "error" {
			t.Errorf("a successful run logs an error field: %v", h.attrs["run finished"])
		}
	}
}
