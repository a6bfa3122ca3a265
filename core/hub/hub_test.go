package hub_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/melmastoon/iam/core/hub"
)

func TestCheckAndSetDefaults(t *testing.T) {
	cfg := hub.Config{DataDir: t.TempDir(), LeafUsers: []hub.LeafCredential{testLeafUser}}
	if err := cfg.CheckAndSetDefaults(); err != nil {
		t.Fatalf("CheckAndSetDefaults: %v", err)
	}
	if cfg.ClientListen != hub.DefaultClientListen || cfg.LeafListen != hub.DefaultLeafListen ||
		cfg.Domain != hub.DefaultDomain || cfg.StreamMaxAge != hub.DefaultStreamMaxAge ||
		cfg.StreamMaxBytes != hub.DefaultStreamMaxBytes || cfg.StreamMaxMsgSize != hub.DefaultStreamMaxMsgSize ||
		cfg.DuplicateWindow != hub.DefaultDuplicateWindow || cfg.Logger == nil {
		t.Fatalf("defaults not set: %+v", cfg)
	}
}

func TestCheckAndSetDefaultsRejects(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]hub.Config{
		"no data dir":    {LeafUsers: []hub.LeafCredential{testLeafUser}},
		"no leaf users":  {DataDir: dir},
		"empty password": {DataDir: dir, LeafUsers: []hub.LeafCredential{{User: "a"}}},
		"reserved user":  {DataDir: dir, LeafUsers: []hub.LeafCredential{testLeafUser}, ClientUsers: []hub.LeafCredential{{User: "iam-core-internal", Password: "x"}}},
		"bad listen":     {DataDir: dir, LeafUsers: []hub.LeafCredential{testLeafUser}, LeafListen: "nohost"},
		"bad port":       {DataDir: dir, LeafUsers: []hub.LeafCredential{testLeafUser}, ClientListen: "127.0.0.1:x"},
		"huge msg size":  {DataDir: dir, LeafUsers: []hub.LeafCredential{testLeafUser}, StreamMaxMsgSize: 8 << 20},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			if err := cfg.CheckAndSetDefaults(); !errors.Is(err, hub.ErrInvalidConfig) {
				t.Fatalf("got %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestStreamConfig(t *testing.T) {
	h := startHub(t, testConfig(t, t.TempDir()))
	info, err := h.StreamInfo(testCtx(t))
	if err != nil {
		t.Fatalf("StreamInfo: %v", err)
	}
	c := info.Config
	if c.Name != hub.StreamName || len(c.Subjects) != 1 || c.Subjects[0] != hub.StreamSubjects ||
		c.Storage != jetstream.FileStorage || !c.DenyDelete || !c.DenyPurge || c.Discard != jetstream.DiscardOld ||
		c.MaxAge != hub.DefaultStreamMaxAge || c.MaxBytes != hub.DefaultStreamMaxBytes ||
		c.MaxMsgSize != hub.DefaultStreamMaxMsgSize || c.Duplicates != hub.DefaultDuplicateWindow || !c.AllowDirect {
		t.Fatalf("unexpected stream config: %+v", c)
	}
	if !strings.HasPrefix(h.LeafURL(), "nats-leaf://127.0.0.1:") || !strings.HasPrefix(h.ClientURL(), "nats://127.0.0.1:") {
		t.Fatalf("urls: %q %q", h.LeafURL(), h.ClientURL())
	}
}

func TestPublishDeltaSequencesAndHeaders(t *testing.T) {
	h := startHub(t, testConfig(t, t.TempDir()))
	ctx := testCtx(t)
	hdr := nats.Header{"traceparent": []string{"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}
	for i := range uint64(5) {
		seq, err := h.PublishDelta(ctx, "melmastoon.iam.account.created.v1", []byte("d"), fmt.Sprintf("id-%d", i), i, hdr)
		if err != nil || seq != i+1 {
			t.Fatalf("publish %d: seq %d, %v", i, seq, err)
		}
	}
	if len(hdr) != 1 {
		t.Fatalf("PublishDelta modified the caller's headers: %v", hdr)
	}
	s, err := h.JetStream().Stream(ctx, hub.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetMsg(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get("traceparent") != hdr.Get("traceparent") || m.Header.Get(jetstream.MsgIDHeader) != "id-2" {
		t.Fatalf("headers not stored: %v", m.Header)
	}
}

func TestPublishDeltaDeduplicates(t *testing.T) {
	h := startHub(t, testConfig(t, t.TempDir()))
	ctx := testCtx(t)
	first, err := h.PublishDelta(ctx, "melmastoon.iam.role.updated.v1", []byte("a"), "same-id", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The relay retries after a lost ack: it re-reads the last sequence
	// (now 1) and publishes the same id again.
	again, err := h.PublishDelta(ctx, "melmastoon.iam.role.updated.v1", []byte("a"), "same-id", first, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Fatalf("duplicate got sequence %d, want %d", again, first)
	}
	info, err := h.StreamInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 || info.State.LastSeq != 1 {
		t.Fatalf("stream holds %d msgs, last %d; want 1, 1", info.State.Msgs, info.State.LastSeq)
	}
}

func TestPublishDeltaWrongLastSequence(t *testing.T) {
	h := startHub(t, testConfig(t, t.TempDir()))
	ctx := testCtx(t)
	const subj = "melmastoon.iam.device.enrolled.v1"
	// Relay A publishes two deltas.
	for i := range uint64(2) {
		if _, err := h.PublishDelta(ctx, subj, []byte("a"), fmt.Sprintf("a-%d", i), i, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Relay B took over with a stale view (it believes the stream ends at 1).
	_, err := h.PublishDelta(ctx, subj, []byte("b"), "b-0", 1, nil)
	if !errors.Is(err, hub.ErrWrongLastSequence) {
		t.Fatalf("stale expectation: got %v, want ErrWrongLastSequence", err)
	}
	// An empty-stream expectation is also stale.
	if _, err := h.PublishDelta(ctx, subj, []byte("b"), "b-1", 0, nil); !errors.Is(err, hub.ErrWrongLastSequence) {
		t.Fatalf("expectation 0: got %v, want ErrWrongLastSequence", err)
	}
	last, err := h.LastSequence(ctx)
	if err != nil || last != 2 {
		t.Fatalf("LastSequence = %d, %v; want 2 (unchanged)", last, err)
	}
	// With the fresh view relay B appends after A.
	if seq, err := h.PublishDelta(ctx, subj, []byte("b"), "b-0", last, nil); err != nil || seq != 3 {
		t.Fatalf("fresh expectation: seq %d, %v", seq, err)
	}
}

func TestPublishDeltaRejectsBadInput(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.StreamMaxMsgSize = 1024
	h := startHub(t, cfg)
	ctx := testCtx(t)
	cases := []struct {
		name, subj, id string
		size           int
		want           error
	}{
		{"no id", "melmastoon.iam.a.b.v1", "", 1, hub.ErrMissingMsgID},
		{"foreign subject", "other.a", "x", 1, hub.ErrSubjectOutsideStream},
		{"bare prefix", "melmastoon.iam.", "x", 1, hub.ErrSubjectOutsideStream},
		{"too large", "melmastoon.iam.a.b.v1", "x", 1025, hub.ErrMessageTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.PublishDelta(ctx, tc.subj, make([]byte, tc.size), tc.id, 0, nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if last, _ := h.LastSequence(ctx); last != 0 {
		t.Fatalf("rejected input stored something: last %d", last)
	}
}

func TestStreamDeniesDeleteAndPurge(t *testing.T) {
	h := startHub(t, testConfig(t, t.TempDir()))
	ctx := testCtx(t)
	if _, err := h.PublishDelta(ctx, "melmastoon.iam.a.b.v1", []byte("x"), "x", 0, nil); err != nil {
		t.Fatal(err)
	}
	s, err := h.JetStream().Stream(ctx, hub.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMsg(ctx, 1); err == nil {
		t.Fatal("DeleteMsg succeeded on a DenyDelete stream")
	}
	if err := s.Purge(ctx); err == nil {
		t.Fatal("Purge succeeded on a DenyPurge stream")
	}
}

func TestRestartKeepsStream(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	h1 := startHub(t, cfg)
	ctx := testCtx(t)
	for i := range uint64(10) {
		if _, err := h1.PublishDelta(ctx, "melmastoon.iam.tenant.created.v1", []byte{byte(i)}, fmt.Sprintf("r-%d", i), i, nil); err != nil {
			t.Fatal(err)
		}
	}
	h1.Close()

	cfg.StreamMaxAge = 48 * time.Hour // a changed limit is applied on start
	h2 := startHub(t, cfg)
	info, err := h2.StreamInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 10 || info.State.LastSeq != 10 || info.Config.MaxAge != 48*time.Hour {
		t.Fatalf("after restart: %d msgs, last %d, max age %v", info.State.Msgs, info.State.LastSeq, info.Config.MaxAge)
	}
	// Dedup state survives too: the last id is still known.
	if seq, err := h2.PublishDelta(ctx, "melmastoon.iam.tenant.created.v1", []byte{9}, "r-9", 10, nil); err != nil || seq != 10 {
		t.Fatalf("duplicate after restart: seq %d, %v", seq, err)
	}
	s, err := h2.JetStream().Stream(ctx, hub.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetMsg(ctx, 7)
	if err != nil || len(m.Data) != 1 || m.Data[0] != 6 {
		t.Fatalf("message 7 after restart: %v, %v", m, err)
	}
}

func TestLifecycleErrors(t *testing.T) {
	h, err := hub.New(testConfig(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.PublishDelta(context.Background(), "melmastoon.iam.a.b.v1", nil, "x", 0, nil); !errors.Is(err, hub.ErrNotStarted) {
		t.Fatalf("publish before start: %v", err)
	}
	if err := h.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := h.Start(testCtx(t)); !errors.Is(err, hub.ErrAlreadyStarted) {
		t.Fatalf("second start: %v", err)
	}
	h.Close()
	h.Close()
	if err := h.Start(testCtx(t)); !errors.Is(err, hub.ErrClosed) {
		t.Fatalf("start after close: %v", err)
	}
	if h.Conn() != nil || h.ClientURL() != "" || h.LeafURL() != "" || h.LeafCount() != 0 {
		t.Fatal("closed hub still exposes a connection or URLs")
	}
}

func TestServerLogsGoToSlog(t *testing.T) {
	rec := &recordingHandler{}
	cfg := testConfig(t, t.TempDir())
	cfg.Logger = slog.New(rec)
	startHub(t, cfg)
	if !rec.contains("Server is ready") {
		t.Fatal("the server's startup notice did not reach the slog logger")
	}
}

func TestClientUsersAndInternalAuth(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.ClientUsers = []hub.LeafCredential{{User: "core-2", Password: "pw"}}
	h := startHub(t, cfg)
	if _, err := nats.Connect(h.ClientURL()); err == nil {
		t.Fatal("anonymous client connected")
	}
	nc, err := nats.Connect(h.ClientURL(), nats.UserInfo("core-2", "pw"))
	if err != nil {
		t.Fatalf("client user: %v", err)
	}
	nc.Close()
}
