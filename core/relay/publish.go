package relay

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"

	"github.com/melmastoon/iam/syncproto"
)

// NATS headers of a delta (docs/deltas.md).
const (
	HeaderTenant      = "Iam-Tenant"
	HeaderSeq         = "Iam-Seq"
	HeaderAnchor      = "Iam-Anchor"
	HeaderTraceparent = "traceparent"
	// anchorMaxSeq is the last tenant seq that carries HeaderAnchor.
	anchorMaxSeq = 2
)

// outboxRow is one unpublished outbox row.
type outboxRow struct {
	tenant      string
	id          int64
	eventID     string
	typ         string
	subject     string
	data        string
	traceparent string
	createdAt   time.Time
}

// publishedDelta is one delta the stream acknowledged, to be recorded.
type publishedDelta struct {
	tenant    string
	outboxID  int64 // 0 for a key rotation, which has no outbox row
	seq       uint64
	hash      syncproto.Hash
	streamSeq uint64
	createdAt time.Time
}

// fetchPending reads up to limit unpublished rows below the horizon.
func (r *Relay) fetchPending(ctx context.Context, limit int) ([]outboxRow, error) {
	rows, err := r.pool.Query(ctx, `SELECT tenant_id, id, event_id, type, subject, data, traceparent, created_at
		FROM iam_relay_pending($1)`, limit)
	if err != nil {
		return nil, fmt.Errorf("relay: pending rows: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (outboxRow, error) {
		var o outboxRow
		err := row.Scan(&o.tenant, &o.id, &o.eventID, &o.typ, &o.subject, &o.data, &o.traceparent, &o.createdAt)
		return o, err
	})
}

// pass publishes one batch and records it. It returns how many outbox
// rows it published. On error the leader's view may be ahead of the
// database: the caller reconciles before the next pass.
func (l *leader) pass(ctx context.Context) (int, error) {
	rows, err := l.r.fetchPending(ctx, l.r.cfg.BatchSize)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	done := make([]publishedDelta, 0, len(rows)+1)
	for _, row := range rows {
		tc, err := l.chainFor(ctx, row.tenant, true)
		if err != nil {
			return 0, err
		}
		if tc.seq() == 0 {
			d, err := l.publishKeyring(ctx, row.tenant, tc)
			if err != nil {
				return 0, err
			}
			done = append(done, d)
		}
		d, err := l.publishRow(ctx, tc, row)
		if err != nil {
			return 0, err
		}
		done = append(done, d)
	}
	if hook := l.r.cfg.beforeMark; hook != nil {
		if err := hook(len(done)); err != nil {
			return 0, err
		}
	}
	if err := l.r.markPublished(ctx, done); err != nil {
		return 0, err
	}
	l.observe(done)
	return len(rows), nil
}

func (l *leader) observe(done []publishedDelta) {
	now := l.r.cfg.Now()
	for _, d := range done {
		if d.outboxID != 0 {
			l.r.m.publishLag.Observe(now.Sub(d.createdAt).Seconds())
		}
	}
	l.r.m.published.Add(float64(len(done)))
	l.r.m.streamSeq.Set(float64(l.lastSeq))
}

// publishKeyring publishes the tenant's seq-1 KeyRotation, signed by the
// tenant root, introducing its delta-signing key.
func (l *leader) publishKeyring(ctx context.Context, tenant string, tc *tenantChain) (publishedDelta, error) {
	env := syncproto.Envelope{ID: keyringEventID(tenant), Time: l.r.cfg.Now().UnixMilli(), Source: Source, Subject: tenant}
	msg, err := tc.chain.Rotate(tc.keys.root, tc.keys.signing, nil, env)
	if err != nil {
		return publishedDelta{}, fmt.Errorf("relay: sign key rotation of %s: %w", tenant, err)
	}
	return l.publish(ctx, tc, syncproto.TypeKeyRotation, keyringMsgID(tenant), "", msg, 0, time.Time{})
}

// publishRow signs the row as the tenant's next delta and publishes it.
func (l *leader) publishRow(ctx context.Context, tc *tenantChain, row outboxRow) (publishedDelta, error) {
	data, err := dataToCBOR([]byte(row.data))
	if err != nil {
		return publishedDelta{}, fmt.Errorf("relay: outbox row %s: %w", row.eventID, err)
	}
	tp := validTraceparent(row.traceparent)
	env := syncproto.Envelope{ID: row.eventID, Time: row.createdAt.UnixMilli(), Source: Source, Subject: row.subject,
		Type: row.typ, DataContentType: syncproto.DataContentTypeCBOR, Data: data, Traceparent: tp}
	msg, err := tc.chain.Next(env)
	if err != nil {
		return publishedDelta{}, fmt.Errorf("relay: sign outbox row %s: %w", row.eventID, err)
	}
	return l.publish(ctx, tc, row.typ, row.eventID, tp, msg, row.id, row.createdAt)
}

// publish appends msg (already the chain's head) to the stream with the
// expected last sequence.
func (l *leader) publish(ctx context.Context, tc *tenantChain, subject, msgID, tp string, msg []byte,
	outboxID int64, created time.Time) (publishedDelta, error) {
	seq, hash := tc.chain.Head()
	hdr := nats.Header{}
	hdr.Set(HeaderTenant, tc.keys.tenant)
	hdr.Set(HeaderSeq, strconv.FormatUint(seq, 10))
	if tp != "" {
		hdr.Set(HeaderTraceparent, tp)
	}
	if seq <= anchorMaxSeq {
		hdr.Set(HeaderAnchor, tc.anchorCert)
	}
	streamSeq, err := l.r.cfg.Hub.PublishDelta(ctx, subject, msg, msgID, l.lastSeq, hdr)
	if err != nil {
		return publishedDelta{}, fmt.Errorf("relay: publish %s: %w", msgID, err)
	}
	if streamSeq <= l.lastSeq {
		return publishedDelta{}, fmt.Errorf("%w: %s at stream seq %d", ErrDuplicatePublish, msgID, streamSeq)
	}
	l.lastSeq = streamSeq
	return publishedDelta{tenant: tc.keys.tenant, outboxID: outboxID, seq: seq, hash: hash, streamSeq: streamSeq, createdAt: created}, nil
}

var traceparentPattern = regexp.MustCompile(`^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$`)

// validTraceparent returns tp when it is W3C trace context that syncproto
// accepts, else "" (a bad header must not block the stream).
func validTraceparent(tp string) string {
	if !traceparentPattern.MatchString(tp) || tp[:2] == "ff" ||
		tp[3:35] == "00000000000000000000000000000000" || tp[36:52] == "0000000000000000" {
		return ""
	}
	return tp
}
