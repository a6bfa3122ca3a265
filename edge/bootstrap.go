package edge

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/melmastoon/iam/edge/leaf"
	"github.com/melmastoon/iam/edge/replica"
	"github.com/melmastoon/iam/internal/obs"
)

// Snapshot protocol (docs/deltas.md, "Snapshot bootstrap"); the names
// equal core's (core/snapshots.go).
const (
	snapshotTenantsSubject = "iam.snapshot.tenants"
	snapshotGetSubject     = "iam.snapshot.get"
	hdrChunk               = "Iam-Chunk"
	hdrChunks              = "Iam-Chunks"
	hdrStreamSeq           = "Iam-Stream-Seq"
	hdrAnchor              = "Iam-Anchor"
	hdrError               = "Iam-Error"
)

// Bootstrap timing.
const (
	snapshotListTimeout  = 10 * time.Second
	snapshotChunkTimeout = 30 * time.Second // between two chunks (the first includes taking the snapshot)
	snapshotMaxChunks    = 100_000
	snapshotListRounds   = 3
)

// errNoSnapshots reports that no core answers snapshot requests.
var errNoSnapshots = errors.New("edge: no snapshot responder")

// tenantSnapshot is one tenant's snapshot as received.
type tenantSnapshot struct {
	tenant    string
	chunks    [][]byte
	anchor    []byte
	streamSeq uint64
}

func (e *Edge) bootstrapCounter() prometheus.Counter {
	return obs.RegisterOrExisting(e.metrics.Registry, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "edge_snapshot_bootstraps_total",
		Help: "Snapshot bootstraps completed (every tenant loaded from a signed snapshot)."}))
}

// needsBootstrap reports whether the replica must start from snapshots:
// it is empty while the hub's stream is not, or the stream no longer holds
// the message after the cursor (discarded by the stream's limits).
func (e *Edge) needsBootstrap(ctx context.Context) (bool, error) {
	js := e.leaf.HubJetStream()
	if js == nil {
		return false, leaf.ErrNotStarted
	}
	sctx, cancel := context.WithTimeout(ctx, snapshotListTimeout)
	defer cancel()
	stream, err := js.Stream(sctx, leaf.StreamName)
	if err != nil {
		return false, fmt.Errorf("edge: stream info: %w", err)
	}
	st := stream.CachedInfo().State
	cursor := e.replica.StreamCursor()
	if st.LastSeq == 0 || st.LastSeq <= cursor {
		return false, nil
	}
	return cursor == 0 || st.FirstSeq > cursor+1, nil
}

// bootstrap loads every tenant that has a delta chain from a signed
// snapshot, then leaves the cursor where the consumer continues. Snapshots
// are taken one tenant at a time, each at its own stream sequence; they are
// loaded in stream order and, between two, the stream messages of tenants
// already loaded (or not in the list) are applied, while those of tenants
// whose snapshot comes later are covered by that snapshot. So every tenant
// continues its chain from its own snapshot and the consumer starts at the
// highest snapshot's stream sequence + 1.
func (e *Edge) bootstrap(ctx context.Context) error {
	need, err := e.needsBootstrap(ctx)
	if err != nil || !need {
		return err
	}
	start := time.Now()
	nc := e.leaf.Conn()
	if nc == nil {
		return leaf.ErrNotStarted
	}
	e.log.InfoContext(ctx, "snapshot bootstrap starting", "cursor", e.replica.StreamCursor())
	snaps := map[string]*tenantSnapshot{}
	for round := 0; round < snapshotListRounds; round++ {
		tenants, err := requestTenants(ctx, nc)
		if err != nil {
			return err
		}
		added := 0
		for _, t := range tenants {
			if snaps[t] != nil {
				continue
			}
			s, err := requestSnapshot(ctx, nc, t)
			if err != nil {
				return err
			}
			snaps[t] = s
			added++
		}
		if added == 0 {
			break
		}
	}
	ordered := make([]*tenantSnapshot, 0, len(snaps))
	for _, s := range snaps {
		ordered = append(ordered, s)
	}
	slices.SortFunc(ordered, func(a, b *tenantSnapshot) int {
		if c := cmpU64(a.streamSeq, b.streamSeq); c != 0 {
			return c
		}
		return strings.Compare(a.tenant, b.tenant)
	})
	pending := map[string]bool{}
	for _, s := range ordered {
		pending[s.tenant] = true
	}
	records := 0
	for i, s := range ordered {
		if err := e.replica.LoadSnapshot(ctx, s.chunks, s.anchor, s.streamSeq); err != nil {
			return fmt.Errorf("edge: load snapshot of %s: %w", s.tenant, err)
		}
		delete(pending, s.tenant)
		records += len(s.chunks)
		if i+1 < len(ordered) {
			if err := e.replayBetween(ctx, ordered[i+1].streamSeq, pending); err != nil {
				return err
			}
		}
	}
	e.bootstrapCounter().Inc()
	e.log.InfoContext(ctx, "snapshot bootstrap done", "tenants", len(ordered), "chunks", records,
		"cursor", e.replica.StreamCursor(), "duration_ms", time.Since(start).Milliseconds())
	return nil
}

// replayBetween applies the stream messages after the cursor up to to,
// leaving out those of tenants whose snapshot is still to be loaded. It
// starts no lower than the stream's first sequence: older messages were
// discarded by the stream's limits.
func (e *Edge) replayBetween(ctx context.Context, to uint64, pending map[string]bool) error {
	from := e.replica.StreamCursor() + 1
	if js := e.leaf.HubJetStream(); js != nil {
		// Messages below the stream's first sequence are gone (limits).
		if stream, err := js.Stream(ctx, leaf.StreamName); err == nil {
			from = max(from, stream.CachedInfo().State.FirstSeq)
		}
	}
	for from <= to {
		end := min(to, from+leaf.MaxFetchRange-1)
		msgs, err := e.leaf.FetchRange(ctx, from, end)
		if err != nil {
			return fmt.Errorf("edge: bootstrap replay %d..%d: %w", from, end, err)
		}
		for _, m := range msgs {
			if pending[m.Header.Get(replica.HeaderTenant)] {
				continue // part of that tenant's snapshot
			}
			if err := e.apply(ctx, m.Sequence, m.Subject, m.Data, m.Header); err != nil {
				return err
			}
		}
		from = end + 1
	}
	return nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func requestTenants(ctx context.Context, nc *nats.Conn) ([]string, error) {
	rctx, cancel := context.WithTimeout(ctx, snapshotListTimeout)
	defer cancel()
	msg, err := nc.RequestWithContext(rctx, snapshotTenantsSubject, nil)
	if errors.Is(err, nats.ErrNoResponders) {
		return nil, errNoSnapshots
	}
	if err != nil {
		return nil, fmt.Errorf("edge: snapshot tenant list: %w", err)
	}
	if reason := msg.Header.Get(hdrError); reason != "" {
		return nil, fmt.Errorf("edge: snapshot tenant list: %s", reason)
	}
	var tenants []string
	if err := json.Unmarshal(msg.Data, &tenants); err != nil {
		return nil, fmt.Errorf("edge: snapshot tenant list: %w", err)
	}
	return tenants, nil
}

// requestSnapshot asks for one tenant's snapshot and collects its chunk
// messages from a fresh inbox.
func requestSnapshot(ctx context.Context, nc *nats.Conn, tenant string) (*tenantSnapshot, error) {
	inbox := nc.NewRespInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return nil, err
	}
	defer func() { _ = sub.Unsubscribe() }()
	_ = sub.SetPendingLimits(-1, -1)
	body, _ := json.Marshal(map[string]string{"tenant": tenant})
	if err := nc.Flush(); err != nil {
		return nil, err
	}
	if err := nc.PublishRequest(snapshotGetSubject, inbox, body); err != nil {
		return nil, err
	}
	s := &tenantSnapshot{tenant: tenant}
	total := -1
	for total < 0 || len(s.chunks) < total {
		cctx, cancel := context.WithTimeout(ctx, snapshotChunkTimeout)
		msg, err := sub.NextMsgWithContext(cctx)
		cancel()
		if errors.Is(err, nats.ErrNoResponders) {
			return nil, errNoSnapshots
		}
		if err != nil {
			return nil, fmt.Errorf("edge: snapshot of %s: chunk %d: %w", tenant, len(s.chunks), err)
		}
		if reason := msg.Header.Get(hdrError); reason != "" {
			return nil, fmt.Errorf("edge: snapshot of %s: %s", tenant, reason)
		}
		idx, err1 := strconv.Atoi(msg.Header.Get(hdrChunk))
		n, err2 := strconv.Atoi(msg.Header.Get(hdrChunks))
		seq, err3 := strconv.ParseUint(msg.Header.Get(hdrStreamSeq), 10, 64)
		switch {
		case err1 != nil || err2 != nil || err3 != nil || n < 1 || n > snapshotMaxChunks:
			return nil, fmt.Errorf("edge: snapshot of %s: bad chunk headers", tenant)
		case idx != len(s.chunks) || total >= 0 && (n != total || seq != s.streamSeq):
			return nil, fmt.Errorf("edge: snapshot of %s: chunk %d/%d out of order (want %d)", tenant, idx, n, len(s.chunks))
		}
		if idx == 0 {
			total, s.streamSeq = n, seq
			a := strings.TrimRight(msg.Header.Get(hdrAnchor), "=")
			if s.anchor, err = base64.RawURLEncoding.DecodeString(a); err != nil || len(s.anchor) == 0 {
				return nil, fmt.Errorf("edge: snapshot of %s: bad anchor header", tenant)
			}
		}
		s.chunks = append(s.chunks, msg.Data)
	}
	return s, nil
}
