package hub_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/melmastoon/iam/core/hub"
)

// testLeafUser is the leaf credential of the test hubs.
var testLeafUser = hub.LeafCredential{User: "edge-test", Password: "edge-test-secret"}

func testConfig(t *testing.T, dataDir string) hub.Config {
	t.Helper()
	return hub.Config{
		DataDir:      dataDir,
		ClientListen: "127.0.0.1:-1",
		LeafListen:   "127.0.0.1:-1",
		LeafUsers:    []hub.LeafCredential{testLeafUser},
		Logger:       slog.New(slog.DiscardHandler),
	}
}

func startHub(t *testing.T, cfg hub.Config) *hub.Hub {
	t.Helper()
	h, err := hub.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := h.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(h.Close)
	return h
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// recordingHandler keeps the nats_msg attribute of every record.
type recordingHandler struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (r *recordingHandler) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recordingHandler) WithGroup(string) slog.Handler            { return r }

func (r *recordingHandler) Handle(_ context.Context, rec slog.Record) error {
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "nats_msg" {
			r.mu.Lock()
			r.msgs = append(r.msgs, a.Value.String())
			r.mu.Unlock()
		}
		return true
	})
	return nil
}

func (r *recordingHandler) contains(sub string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.msgs {
		if strings.Contains(m, sub) {
			return true
		}
	}
	return false
}
