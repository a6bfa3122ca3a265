package core

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/melmastoon/iam/core/relay"
	"github.com/melmastoon/iam/internal/obs"
)

// Snapshot protocol subjects (docs/deltas.md, "Snapshot bootstrap").
const (
	// SnapshotTenantsSubject answers with the JSON list of tenant ids that
	// have a delta chain.
	SnapshotTenantsSubject = "iam.snapshot.tenants"
	// SnapshotGetSubject takes {"tenant": id} and streams the tenant's
	// signed snapshot chunks to the reply subject, one message per chunk.
	SnapshotGetSubject = "iam.snapshot.get"
	// snapshotQueue makes one core of several answer each request.
	snapshotQueue = "iam-core-snapshots"
)

// Headers of a snapshot chunk message.
const (
	HeaderChunk     = "Iam-Chunk"
	HeaderChunks    = "Iam-Chunks"
	HeaderStreamSeq = "Iam-Stream-Seq"
	HeaderAnchor    = "Iam-Anchor"
	HeaderError     = "Iam-Error"
)

// SnapshotRequest is the body of an iam.snapshot.get request.
type SnapshotRequest struct {
	Tenant string `json:"tenant"`
}

// maxSnapshotRequestBytes bounds a request body.
const maxSnapshotRequestBytes = 1024

// snapshotTimeout bounds taking and sending one snapshot.
const snapshotTimeout = 2 * time.Minute

type snapshotMetrics struct {
	served   *prometheus.CounterVec
	duration prometheus.Histogram
}

func (c *Core) snapshotMetrics() *snapshotMetrics {
	reg := c.metrics.Registry
	return &snapshotMetrics{
		served: obs.RegisterOrExisting(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "core_snapshots_served_total",
			Help: "Snapshot requests answered, by result (ok, error)."}, []string{"result"})),
		duration: obs.RegisterOrExisting(reg, prometheus.NewHistogram(prometheus.HistogramOpts{Name: "core_snapshot_seconds",
			Help: "Time to take and send one tenant snapshot.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)})),
	}
}

// serveSnapshots answers snapshot requests from edges on the hub until ctx
// ends. Requests of one subscription are handled one at a time, so a core
// builds at most one snapshot at once; the others wait in the
// subscription's queue.
func (c *Core) serveSnapshots(ctx context.Context) error {
	m := c.snapshotMetrics()
	nc := c.link.Conn()
	tenants, err := nc.QueueSubscribe(SnapshotTenantsSubject, snapshotQueue, func(msg *nats.Msg) {
		c.answerTenants(ctx, msg)
	})
	if err != nil {
		return err
	}
	get, err := nc.QueueSubscribe(SnapshotGetSubject, snapshotQueue, func(msg *nats.Msg) {
		start := time.Now()
		if err := c.answerSnapshot(ctx, msg); err != nil {
			m.served.WithLabelValues("error").Inc()
			return
		}
		m.served.WithLabelValues("ok").Inc()
		m.duration.Observe(time.Since(start).Seconds())
	})
	if err != nil {
		_ = tenants.Unsubscribe()
		return err
	}
	go func() {
		<-ctx.Done()
		_ = tenants.Unsubscribe()
		_ = get.Unsubscribe()
	}()
	return nil
}

func (c *Core) answerTenants(ctx context.Context, msg *nats.Msg) {
	if msg.Reply == "" {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ids, err := c.relay.ChainTenants(rctx)
	if err != nil {
		c.log.WarnContext(ctx, "snapshot tenant list failed", "error", err)
		c.replyError(msg, "tenant list unavailable")
		return
	}
	if ids == nil {
		ids = []string{}
	}
	body, _ := json.Marshal(ids)
	_ = msg.Respond(body)
}

// answerSnapshot takes the requested snapshot and sends its chunks.
func (c *Core) answerSnapshot(ctx context.Context, msg *nats.Msg) error {
	if msg.Reply == "" {
		return errors.New("no reply subject")
	}
	var req SnapshotRequest
	if len(msg.Data) > maxSnapshotRequestBytes || json.Unmarshal(msg.Data, &req) != nil || req.Tenant == "" {
		c.replyError(msg, "bad request")
		return errors.New("bad request")
	}
	rctx, cancel := context.WithTimeout(ctx, snapshotTimeout)
	defer cancel()
	start := time.Now()
	chunks, cert, streamSeq, err := c.relay.Snapshot(rctx, req.Tenant, relay.DefaultSnapshotChunkRecords)
	if err != nil {
		c.log.WarnContext(ctx, "snapshot failed", "tenant", req.Tenant, "error", err)
		if errors.Is(err, relay.ErrNoChain) {
			c.replyError(msg, "no chain")
		} else {
			c.replyError(msg, "snapshot unavailable")
		}
		return err
	}
	nc := c.link.Conn()
	bytes := 0
	for i, chunk := range chunks {
		out := &nats.Msg{Subject: msg.Reply, Data: chunk, Header: nats.Header{}}
		out.Header.Set(HeaderChunk, strconv.Itoa(i))
		out.Header.Set(HeaderChunks, strconv.Itoa(len(chunks)))
		out.Header.Set(HeaderStreamSeq, strconv.FormatUint(streamSeq, 10))
		if i == 0 {
			out.Header.Set(HeaderAnchor, base64.RawURLEncoding.EncodeToString(cert))
		}
		if err := nc.PublishMsg(out); err != nil {
			c.log.WarnContext(ctx, "snapshot send failed", "tenant", req.Tenant, "chunk", i, "error", err)
			return err
		}
		bytes += len(chunk)
	}
	if err := nc.FlushWithContext(rctx); err != nil {
		c.log.WarnContext(ctx, "snapshot flush failed", "tenant", req.Tenant, "error", err)
		return err
	}
	c.log.InfoContext(ctx, "snapshot served", "tenant", req.Tenant, "chunks", len(chunks), "bytes", bytes,
		"stream_seq", streamSeq, "duration", time.Since(start))
	return nil
}

func (c *Core) replyError(msg *nats.Msg, reason string) {
	out := &nats.Msg{Subject: msg.Reply, Header: nats.Header{}}
	out.Header.Set(HeaderError, reason)
	_ = msg.RespondMsg(out)
}
