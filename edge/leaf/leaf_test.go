package leaf_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/melmastoon/iam/core/hub"
	"github.com/melmastoon/iam/edge/leaf"
)

func TestNamesMatchHub(t *testing.T) {
	if leaf.StreamName != hub.StreamName || leaf.DefaultDomain != hub.DefaultDomain {
		t.Fatalf("leaf %q/%q vs hub %q/%q", leaf.StreamName, leaf.DefaultDomain, hub.StreamName, hub.DefaultDomain)
	}
}

func TestCheckAndSetDefaultsRejects(t *testing.T) {
	ok := leaf.Config{DataDir: "d", HubLeafURL: "nats-leaf://127.0.0.1:7422", User: "u", Password: "p"}
	if err := ok.CheckAndSetDefaults(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	if ok.Domain != leaf.DefaultDomain || ok.LocalDomain != leaf.DefaultLocalDomain || ok.MaxAckPending != leaf.DefaultMaxAckPending {
		t.Fatalf("defaults not set: %+v", ok)
	}
	mutate := map[string]func(*leaf.Config){
		"no data dir":   func(c *leaf.Config) { c.DataDir = "" },
		"no password":   func(c *leaf.Config) { c.Password = "" },
		"same domain":   func(c *leaf.Config) { c.LocalDomain = leaf.DefaultDomain },
		"dotted domain": func(c *leaf.Config) { c.LocalDomain = "edge.a" },
		"bad scheme":    func(c *leaf.Config) { c.HubLeafURL = "http://127.0.0.1:7422" },
		"no host":       func(c *leaf.Config) { c.HubLeafURL = "nats-leaf://" },
	}
	for name, f := range mutate {
		t.Run(name, func(t *testing.T) {
			c := leaf.Config{DataDir: "d", HubLeafURL: "nats-leaf://127.0.0.1:7422", User: "u", Password: "p"}
			f(&c)
			if err := c.CheckAndSetDefaults(); !errors.Is(err, leaf.ErrInvalidConfig) {
				t.Fatalf("got %v, want ErrInvalidConfig", err)
			}
		})
	}
}

// TestConsumeThousandInOrder: the hub publishes 1,000 deltas; the leaf
// consumes all of them in order through the hub's domain, with acks, and
// sees the hub's own sequence numbers.
func TestConsumeThousandInOrder(t *testing.T) {
	h, l := connectedPair(t)
	publishN(t, h, 1000)
	ctx := testCtx(t)
	cons, err := l.Consumer(ctx, "edge-test", 0)
	if err != nil {
		t.Fatal(err)
	}
	assertSequences(t, consumeN(t, ctx, cons, 1000), 1)
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumAckPending != 0 || info.Delivered.Stream != 1000 || info.Config.AckPolicy != jetstream.AckExplicitPolicy ||
		info.Config.MaxAckPending != leaf.DefaultMaxAckPending {
		t.Fatalf("consumer state: %+v", info)
	}
	if h.LeafCount() != 1 {
		t.Fatalf("hub reports %d leaves", h.LeafCount())
	}
}

func TestConsumerStartSequenceAndBind(t *testing.T) {
	h, l := connectedPair(t)
	publishN(t, h, 20)
	ctx := testCtx(t)
	cons, err := l.Consumer(ctx, "from-11", 11)
	if err != nil {
		t.Fatal(err)
	}
	assertSequences(t, consumeN(t, ctx, cons, 5), 11)
	// Binding again ignores the start sequence and keeps the acked position.
	again, err := l.Consumer(ctx, "from-11", 1)
	if err != nil {
		t.Fatal(err)
	}
	assertSequences(t, consumeN(t, ctx, again, 5), 16)
}

func TestLocalJetStreamIsSeparate(t *testing.T) {
	_, l := connectedPair(t)
	ctx := testCtx(t)
	acct, err := l.LocalJetStream().AccountInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if acct.Domain != "edge-test" || acct.Streams != 0 {
		t.Fatalf("local jetstream: domain %q, %d streams", acct.Domain, acct.Streams)
	}
	remote, err := l.HubJetStream().AccountInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if remote.Domain != hub.DefaultDomain || remote.Streams != 1 {
		t.Fatalf("hub jetstream: domain %q, %d streams", remote.Domain, remote.Streams)
	}
}

func TestFetchRangeAndGetMsg(t *testing.T) {
	h, l := connectedPair(t)
	publishN(t, h, 600)
	ctx := testCtx(t)
	msgs, err := l.FetchRange(ctx, 17, 540)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 524 {
		t.Fatalf("got %d messages, want 524", len(msgs))
	}
	for i, m := range msgs {
		if m.Sequence != 17+uint64(i) || string(m.Data) != string(payload(m.Sequence)) || m.Subject != testSubject {
			t.Fatalf("position %d: seq %d data %q", i, m.Sequence, m.Data)
		}
	}
	one, err := l.GetMsg(ctx, 321)
	if err != nil || one.Sequence != 321 || string(one.Data) != string(payload(321)) {
		t.Fatalf("GetMsg(321): %+v, %v", one, err)
	}
	if _, err := l.GetMsg(ctx, 601); !errors.Is(err, leaf.ErrMsgNotFound) {
		t.Fatalf("GetMsg(601): %v", err)
	}
	for _, r := range [][2]uint64{{0, 3}, {5, 4}, {1, leaf.MaxFetchRange + 1}} {
		if _, err := l.FetchRange(ctx, r[0], r[1]); !errors.Is(err, leaf.ErrInvalidRange) {
			t.Fatalf("FetchRange(%d, %d): %v", r[0], r[1], err)
		}
	}
	if _, err := l.FetchRange(ctx, 590, 601); !errors.Is(err, leaf.ErrRangeUnavailable) {
		t.Fatalf("range past the end: %v", err)
	}
}

// TestAuthentication: a wrong password never links (the hub rejects it and
// reports no leaf); the right one links; both over TLS with client
// certificates from the dev TLS helper.
func TestAuthentication(t *testing.T) {
	pki, err := hub.NewDevTLS()
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingHandler{}
	h := startHub(t, hubConfig(t, t.TempDir(), pki.ServerConfig(true), slogFor(rec)))
	if !strings.HasPrefix(h.LeafURL(), "tls://") {
		t.Fatalf("leaf URL %q is not tls://", h.LeafURL())
	}
	ctx := testCtx(t)

	bad := startLeaf(t, leafConfig(t, h.LeafURL(), "wrong", pki.ClientConfig()))
	// Wait until the hub has seen and refused the attempt, so the checks
	// below are about a real attempt.
	poll(t, ctx, "the hub to refuse the leaf", func() bool { return rec.contains("Authorization Violation") })
	if bad.Connected() || h.LeafCount() != 0 {
		t.Fatalf("wrong password linked: leaf connected %v, hub leaves %d", bad.Connected(), h.LeafCount())
	}
	bad.Close()

	good := startLeaf(t, leafConfig(t, h.LeafURL(), leafPassword, pki.ClientConfig()))
	if err := good.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "the hub to count the leaf", func() bool { return h.LeafCount() == 1 })
	publishN(t, h, 3)
	cons, err := good.Consumer(ctx, "tls-edge", 0)
	if err != nil {
		t.Fatal(err)
	}
	assertSequences(t, consumeN(t, ctx, cons, 3), 1)
}

func TestTLSWithoutClientCertificateIsRefused(t *testing.T) {
	pki, err := hub.NewDevTLS()
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingHandler{}
	h := startHub(t, hubConfig(t, t.TempDir(), pki.ServerConfig(true), slogFor(rec)))
	noCert := pki.ClientConfig()
	noCert.Certificates = nil
	l := startLeaf(t, leafConfig(t, h.LeafURL(), leafPassword, noCert))
	poll(t, testCtx(t), "the hub to refuse the TLS handshake", func() bool { return rec.contains("TLS") })
	if l.Connected() || h.LeafCount() != 0 {
		t.Fatal("a leaf without a client certificate linked")
	}
}

// TestLinkCutResumes: the hub goes away; the leaf notices; a hub restarted
// on the same ports and DataDir is re-dialled by the leaf on its own, and the
// durable consumer continues exactly after its last ack.
func TestLinkCutResumes(t *testing.T) {
	dataDir := t.TempDir()
	cfg := hubConfig(t, dataDir, nil, nil)
	h1 := startHub(t, cfg)
	l := startLeaf(t, leafConfig(t, h1.LeafURL(), leafPassword, nil))
	ctx := testCtx(t)
	if err := l.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	publishN(t, h1, 100)
	cons, err := l.Consumer(ctx, "edge-cut", 0)
	if err != nil {
		t.Fatal(err)
	}
	assertSequences(t, consumeN(t, ctx, cons, 60), 1)

	cfg.ClientListen = hostPort(t, h1.ClientURL())
	cfg.LeafListen = hostPort(t, h1.LeafURL())
	h1.Close()
	poll(t, ctx, "the leaf to notice the cut", func() bool { return !l.Connected() })

	h2 := startHub(t, cfg)
	if err := l.WaitConnected(ctx); err != nil {
		t.Fatalf("leaf did not reconnect: %v", err)
	}
	publishN(t, h2, 50) // sequences 101..150 after the persisted 100
	// The old handle keeps working; the consumer state came from disk.
	assertSequences(t, consumeN(t, ctx, cons, 90), 61)
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	for m := range batch.Messages() {
		md, _ := m.Metadata()
		t.Fatalf("extra delivery of sequence %d after all were acked", md.Sequence.Stream)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.AckFloor.Stream != 150 || info.NumRedelivered != 0 {
		t.Fatalf("ack floor %d, redelivered %d", info.AckFloor.Stream, info.NumRedelivered)
	}
}

func TestLifecycle(t *testing.T) {
	l, err := leaf.New(leafConfig(t, "nats-leaf://127.0.0.1:1", leafPassword, nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Consumer(context.Background(), "x", 0); !errors.Is(err, leaf.ErrNotStarted) {
		t.Fatalf("consumer before start: %v", err)
	}
	if err := l.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := l.Start(testCtx(t)); !errors.Is(err, leaf.ErrAlreadyStarted) {
		t.Fatalf("second start: %v", err)
	}
	// No hub: the API call waits for the link until its context ends.
	short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := l.Consumer(short, "x", 0); err == nil {
		t.Fatal("consumer without a hub succeeded")
	}
	l.Close()
	l.Close()
	if err := l.Start(testCtx(t)); !errors.Is(err, leaf.ErrClosed) {
		t.Fatalf("start after close: %v", err)
	}
	if l.Conn() != nil || l.HubJetStream() != nil || l.Connected() {
		t.Fatal("closed leaf still exposes a connection")
	}
}

func hostPort(t testing.TB, rawURL string) string {
	t.Helper()
	i := strings.Index(rawURL, "://")
	host, port, err := net.SplitHostPort(rawURL[i+3:])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := strconv.Atoi(port); err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort(host, port)
}

// TestFetchRangeAgedOut: when the stream limits have discarded the start of
// a range, FetchRange says so (the edge then loads a snapshot).
func TestFetchRangeAgedOut(t *testing.T) {
	cfg := hubConfig(t, t.TempDir(), nil, nil)
	cfg.StreamMaxBytes = 4096
	h := startHub(t, cfg)
	l := startLeaf(t, leafConfig(t, h.LeafURL(), leafPassword, nil))
	ctx := testCtx(t)
	if err := l.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	publishN(t, h, 200)
	info, err := h.StreamInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first := info.State.FirstSeq
	if first <= 1 {
		t.Fatalf("limits discarded nothing: first %d", first)
	}
	if _, err := l.FetchRange(ctx, first-1, first+1); !errors.Is(err, leaf.ErrRangeUnavailable) {
		t.Fatalf("aged-out range: %v", err)
	}
	if _, err := l.GetMsg(ctx, first-1); !errors.Is(err, leaf.ErrMsgNotFound) {
		t.Fatalf("aged-out message: %v", err)
	}
	msgs, err := l.FetchRange(ctx, first, 200)
	if err != nil || uint64(len(msgs)) != 201-first {
		t.Fatalf("stored range: %d msgs, %v", len(msgs), err)
	}
}

// A connection the server closed (a slow consumer mid-snapshot) is
// re-dialled instead of failing every later request.
func TestClosedConnectionIsRedialled(t *testing.T) {
	_, l := connectedPair(t)
	old := l.Conn()
	old.Close()
	nc := l.Conn()
	if nc == nil || nc == old || nc.IsClosed() {
		t.Fatalf("Conn after close: %v", nc)
	}
	if _, err := l.HubJetStream().AccountInfo(testCtx(t)); err != nil {
		t.Fatalf("hub jetstream after re-dial: %v", err)
	}
}
