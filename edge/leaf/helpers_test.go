package leaf_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/melmastoon/iam/core/hub"
	"github.com/melmastoon/iam/edge/leaf"
)

// The tests use core/hub as the real counterpart; the package itself does
// not import core.
const (
	leafUser     = "edge-a"
	leafPassword = "edge-a-secret"
	testSubject  = "melmastoon.iam.account.updated.v1"
)

func hubConfig(t testing.TB, dataDir string, tlsCfg *tls.Config, logger *slog.Logger) hub.Config {
	t.Helper()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return hub.Config{
		DataDir:      dataDir,
		ClientListen: "127.0.0.1:-1",
		LeafListen:   "127.0.0.1:-1",
		LeafUsers:    []hub.LeafCredential{{User: leafUser, Password: leafPassword}},
		TLS:          tlsCfg,
		Logger:       logger,
	}
}

func startHub(t testing.TB, cfg hub.Config) *hub.Hub {
	t.Helper()
	h, err := hub.New(cfg)
	if err != nil {
		t.Fatalf("hub.New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := h.Start(ctx); err != nil {
		t.Fatalf("hub.Start: %v", err)
	}
	t.Cleanup(h.Close)
	return h
}

func leafConfig(t testing.TB, hubURL, password string, tlsCfg *tls.Config) leaf.Config {
	t.Helper()
	return leaf.Config{
		DataDir:           t.TempDir(),
		HubLeafURL:        hubURL,
		User:              leafUser,
		Password:          password,
		TLS:               tlsCfg,
		LocalDomain:       "edge-test",
		ReconnectInterval: 100 * time.Millisecond,
		Logger:            slog.New(slog.DiscardHandler),
	}
}

func startLeaf(t testing.TB, cfg leaf.Config) *leaf.Leaf {
	t.Helper()
	l, err := leaf.New(cfg)
	if err != nil {
		t.Fatalf("leaf.New: %v", err)
	}
	if err := l.Start(testCtx(t)); err != nil {
		t.Fatalf("leaf.Start: %v", err)
	}
	t.Cleanup(l.Close)
	return l
}

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// connectedPair starts a hub and a leaf linked to it.
func connectedPair(t testing.TB) (*hub.Hub, *leaf.Leaf) {
	t.Helper()
	h := startHub(t, hubConfig(t, t.TempDir(), nil, nil))
	l := startLeaf(t, leafConfig(t, h.LeafURL(), leafPassword, nil))
	if err := l.WaitConnected(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	return h, l
}

// publishN appends n deltas numbered from the stream's current end.
func publishN(t testing.TB, h *hub.Hub, n int) {
	t.Helper()
	ctx := testCtx(t)
	last, err := h.LastSequence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		seq, err := h.PublishDelta(ctx, testSubject, payload(last+1), fmt.Sprintf("delta-%d", last+1), last, nil)
		if err != nil || seq != last+1 {
			t.Fatalf("publish after %d: seq %d, %v", last, seq, err)
		}
		last = seq
	}
}

func payload(seq uint64) []byte { return fmt.Appendf(nil, "delta %d", seq) }

// consumeN fetches exactly n messages from cons, acking each synchronously,
// and returns their stream sequences.
func consumeN(t testing.TB, ctx context.Context, cons jetstream.Consumer, n int) []uint64 {
	t.Helper()
	seqs := make([]uint64, 0, n)
	for len(seqs) < n {
		batch, err := cons.Fetch(min(n-len(seqs), 256), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatalf("fetch: %v", err)
		}
		for m := range batch.Messages() {
			md, err := m.Metadata()
			if err != nil {
				t.Fatal(err)
			}
			if string(m.Data()) != string(payload(md.Sequence.Stream)) {
				t.Fatalf("seq %d carries %q", md.Sequence.Stream, m.Data())
			}
			if err := m.DoubleAck(ctx); err != nil {
				t.Fatalf("ack %d: %v", md.Sequence.Stream, err)
			}
			seqs = append(seqs, md.Sequence.Stream)
		}
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d: %v", len(seqs), n, ctx.Err())
		}
	}
	return seqs
}

func assertSequences(t testing.TB, got []uint64, from uint64) {
	t.Helper()
	for i, s := range got {
		if s != from+uint64(i) {
			t.Fatalf("position %d: sequence %d, want %d", i, s, from+uint64(i))
		}
	}
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

// poll calls cond every 10 ms until it is true or ctx ends.
func poll(t testing.TB, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

func slogFor(h slog.Handler) *slog.Logger { return slog.New(h) }
