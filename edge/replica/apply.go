package replica

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/melmastoon/iam/syncproto"
)

// NATS headers of a delta (docs/deltas.md).
const (
	HeaderTenant = "Iam-Tenant"
	HeaderSeq    = "Iam-Seq"
	HeaderAnchor = "Iam-Anchor"
)

// Message is one delta as consumed from the IAM_DELTAS stream.
type Message struct {
	StreamSeq uint64            // JetStream stream sequence
	Subject   string            // NATS subject (the delta type); informational, not trusted
	Data      []byte            // the COSE_Sign1 bytes
	Headers   map[string]string // Iam-Tenant, Iam-Seq, Iam-Anchor, traceparent
}

// Result says what Apply did with a message that was not rejected.
type Result struct {
	// Duplicate: nothing was applied because the stream sequence was at or
	// below the cursor, or the message is the tenant's last applied delta
	// again (then the cursor advanced to it).
	Duplicate bool
	Tenant    string
	Seq       uint64 // tenant sequence applied (0 for a duplicate stream seq)
	Type      string
}

// Applied is what Config.OnApplied receives after a commit.
type Applied struct {
	Tenant      string
	StreamSeq   uint64 // 0 for a snapshot
	Seq         uint64 // the tenant sequence now applied
	Hash        syncproto.Hash
	Type        string // delta type; "" for a snapshot
	ID          string // envelope id; "" for a snapshot
	Traceparent string
	// Time is the delta's signed time: when core committed the change
	// (core's clock). Zero for a snapshot.
	Time time.Time
	// Snapshot: the tenant's state was replaced by a snapshot; reload it
	// from Reader. Changes is then empty.
	Snapshot bool
	// Changes are the entity changes in order (none for a key rotation).
	Changes []Change
	// Raw is the delta's COSE_Sign1 bytes exactly as received (shared, do
	// not modify); nil for a snapshot. Device sync relays it for device.*
	// deltas and key rotations.
	Raw []byte
}

// pending is a verified delta on its way into a transaction.
type pending struct {
	tenant    string
	streamSeq uint64
	chain     *tenantChain
	isNew     bool
	env       *syncproto.Envelope
	state     syncproto.VerifierState
	changes   []Change
	deleted   bool
	duplicate bool
	raw       []byte // the message's COSE bytes, for device deltas and key rotations
}

// Apply verifies one message and, if it is the next delta of its tenant,
// applies it with the tenant's new verifier state and the stream cursor in
// one SQLite transaction. A stream sequence at or below the cursor is a
// duplicate and changes nothing. A message that fails verification returns
// a *RejectError (wrapping ErrGap when the tenant sequence jumps ahead:
// re-fetch the missing range) and changes nothing, not even the cursor.
// Other errors are storage failures; the message may be retried.
func (r *Replica) Apply(ctx context.Context, m Message) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	if err := r.checkOpen(); err != nil {
		return Result{}, err
	}
	if m.StreamSeq <= r.StreamCursor() {
		return Result{Duplicate: true}, nil
	}
	now := r.cfg.Now()
	p, err := r.verify(m, now)
	if err != nil {
		return Result{}, r.rejected(ctx, header(m.Headers, HeaderTenant), m.StreamSeq, err)
	}
	if p.duplicate {
		seq, _ := r.TenantSeq(p.tenant)
		return Result{Duplicate: true, Tenant: p.tenant, Seq: seq}, r.advanceCursor(ctx, m.StreamSeq)
	}
	if err := r.commit(ctx, p); err != nil {
		return Result{}, err
	}
	r.accept(ctx, p, now)
	r.notify(p)
	return Result{Tenant: p.tenant, Seq: p.env.Seq, Type: p.env.Type}, nil
}

// verify checks m against its tenant's chain and decodes its payload.
func (r *Replica) verify(m Message, now time.Time) (*pending, error) {
	tenant := header(m.Headers, HeaderTenant)
	if tenant == "" {
		return nil, fmt.Errorf("%w: no %s", ErrHeader, HeaderTenant)
	}
	p := &pending{tenant: tenant, streamSeq: m.StreamSeq, chain: r.chain(tenant), raw: m.Data}
	if p.chain == nil {
		ch, err := r.chainFromAnchor(tenant, header(m.Headers, HeaderAnchor))
		if err != nil {
			return nil, err
		}
		p.chain, p.isNew = ch, true
	}
	env, err := p.chain.verifier.Verify(m.Data, now)
	if errors.Is(err, syncproto.ErrDuplicate) && !p.isNew {
		p.duplicate = true
		return p, nil
	}
	if err != nil {
		return nil, err
	}
	p.env = env
	return p, r.decode(p, m, now)
}

func (r *Replica) decode(p *pending, m Message, now time.Time) error {
	env := p.env
	if s := header(m.Headers, HeaderSeq); s != "" && s != strconv.FormatUint(env.Seq, 10) {
		return fmt.Errorf("%w: %s %q, envelope seq %d", ErrHeader, HeaderSeq, s, env.Seq)
	}
	p.deleted = p.chain.deleted
	switch env.Type {
	case syncproto.TypeCheckpoint:
		return fmt.Errorf("%w: a checkpoint is not a delta (use AcceptCheckpoint)", ErrUnknownType)
	case syncproto.TypeKeyRotation:
		// handled by the verifier: the new key lands in the verifier state
	default:
		c, err := parseDelta(env.Type, env.Data, env.Tenant)
		if err != nil {
			return err
		}
		p.changes = []Change{c}
		p.deleted = deletedAfter(p.deleted, c)
	}
	var err error
	p.state, err = p.chain.verifier.StateAfter(env, now)
	return err
}

func deletedAfter(deleted bool, c Change) bool {
	switch c.(type) {
	case TenantDeleted:
		return true
	case Tenant:
		return false
	}
	return deleted
}

// chainFromAnchor starts the chain of a tenant seen for the first time
// from its anchor certificate (base64url, padded or not).
func (r *Replica) chainFromAnchor(tenant, certB64 string) (*tenantChain, error) {
	if certB64 == "" {
		return nil, fmt.Errorf("%w: first message of tenant %s has no %s", ErrAnchor, tenant, HeaderAnchor)
	}
	cert, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(certB64, "="))
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not base64url", ErrAnchor, HeaderAnchor)
	}
	anchor, err := syncproto.VerifyAnchor(cert, r.cfg.SystemAnchor)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAnchor, err)
	}
	if anchor.Tenant != tenant {
		return nil, fmt.Errorf("%w: certificate is for tenant %s", ErrAnchor, anchor.Tenant)
	}
	return r.newChain(anchor, syncproto.VerifierState{})
}

// commit writes the delta, the verifier state and the cursor in one
// transaction.
func (r *Replica) commit(ctx context.Context, p *pending) error {
	return r.inTx(ctx, func(tx *txExec) error {
		for _, c := range p.changes {
			if err := c.write(tx, p.tenant); err != nil {
				return err
			}
		}
		if err := writeRaw(tx, p.tenant, p.env, p.changes, p.raw); err != nil {
			return err
		}
		if err := saveChain(tx, p.tenant, p.chain.anchor, p.state, p.deleted); err != nil {
			return err
		}
		return saveCursor(tx, p.streamSeq)
	})
}

// accept moves the in-memory verifier and cursor to what was committed.
func (r *Replica) accept(ctx context.Context, p *pending, now time.Time) {
	ch := p.chain
	if err := ch.verifier.Accept(p.env, now); err != nil {
		// Unreachable while applyMu serializes writers; keep memory equal
		// to the database anyway.
		r.log.ErrorContext(ctx, "replica verifier accept failed after commit", "tenant", p.tenant, "error", err)
		if fresh, err2 := r.newChain(ch.anchor, p.state); err2 == nil {
			ch = fresh
		}
	}
	r.mu.Lock()
	ch.deleted = p.deleted
	r.chains[p.tenant] = ch
	r.cursor = p.streamSeq
	n := len(r.chains)
	r.mu.Unlock()
	r.metrics.applied.Inc()
	r.metrics.seq.Set(float64(p.streamSeq))
	r.metrics.tenants.Set(float64(n))
}

func (r *Replica) notify(p *pending) {
	if r.cfg.OnApplied == nil {
		return
	}
	r.cfg.OnApplied(Applied{Tenant: p.tenant, StreamSeq: p.streamSeq, Seq: p.env.Seq, Hash: p.env.Hash(),
		Type: p.env.Type, ID: p.env.ID, Traceparent: p.env.Traceparent, Time: p.env.Timestamp(), Changes: p.changes, Raw: p.raw})
}

// rejected counts and logs a rejection and returns it as a *RejectError.
func (r *Replica) rejected(ctx context.Context, tenant string, streamSeq uint64, err error) error {
	re := reject(tenant, streamSeq, err)
	r.metrics.rejected.WithLabelValues(re.Reason).Inc()
	r.log.WarnContext(ctx, "replica rejected delta", "reason", re.Reason, "tenant", tenant,
		"stream_seq", streamSeq, "error", err)
	return re
}

// Skip advances the stream cursor to streamSeq without applying anything,
// for a message the caller decided to give up on (counted in
// delta_skipped_total). A streamSeq at or below the cursor is a no-op.
func (r *Replica) Skip(ctx context.Context, streamSeq uint64) error {
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	if err := r.checkOpen(); err != nil {
		return err
	}
	if streamSeq <= r.StreamCursor() {
		return nil
	}
	if err := r.advanceCursor(ctx, streamSeq); err != nil {
		return err
	}
	r.metrics.skipped.Inc()
	r.log.WarnContext(ctx, "replica skipped stream sequence", "stream_seq", streamSeq)
	return nil
}

func (r *Replica) advanceCursor(ctx context.Context, streamSeq uint64) error {
	if err := r.inTx(ctx, func(tx *txExec) error { return saveCursor(tx, streamSeq) }); err != nil {
		return err
	}
	r.mu.Lock()
	r.cursor = streamSeq
	r.mu.Unlock()
	r.metrics.seq.Set(float64(streamSeq))
	return nil
}

// header looks a header up exactly, then case-insensitively.
func header(h map[string]string, name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
