package replica

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
	"github.com/mattn/go-sqlite3"

	"github.com/melmastoon/iam/syncproto"
)

// BulkIndexThreshold is the number of rows a snapshot must bring to a
// table, and at least as many as the table already holds, for LoadSnapshot
// to drop the table's indexes during the load and build them afterwards
// (LIMITS.md: loading then indexing is 5× faster than loading indexed).
// Smaller loads keep the indexes: rebuilding a large table's index for a
// small tenant would cost more than it saves.
const BulkIndexThreshold = 10_000

// snapshotRecord is one entity record of a snapshot chunk: an upsert type
// from the payload table of docs/deltas.md and its data.
type snapshotRecord struct {
	Type string         `cbor:"type"`
	Data map[string]any `cbor:"data"`
}

// recordDecMode decodes snapshot records. The chunk they arrive in was
// already checked to be core deterministic CBOR within syncproto's limits
// (VerifyChunk), so the record needs no second canonical round trip; the
// same limits apply and unknown record fields are refused.
var recordDecMode = mustRecordDecMode()

func mustRecordDecMode() cbor.DecMode {
	dm, err := cbor.DecOptions{
		MaxNestedLevels:   syncproto.MaxNestedLevels,
		MaxArrayElements:  syncproto.MaxArrayElements,
		MaxMapPairs:       syncproto.MaxMapPairs,
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		UTF8:              cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(err) // static options; unreachable
	}
	return dm
}

// tenantSnapshot is a verified, decoded snapshot.
type tenantSnapshot struct {
	anchor    syncproto.TrustAnchor
	state     syncproto.VerifierState
	changes   []Change
	hasTenant bool
}

// LoadSnapshot bootstraps (or resets) one tenant from a signed snapshot:
// anchorCert (the anchor certificate, raw COSE bytes) must verify against
// the system root, and chunks (COSE bytes, in order from chunk 0 to the
// final one) against the tenant root it certifies. Each record is a CBOR
// map {"type": <upsert delta type>, "data": <payload>}. In ONE transaction
// the tenant's rows are replaced by the snapshot's (bulk-loaded, indexes
// built after the load where it matters, see BulkIndexThreshold), its
// verifier state is set to the snapshot's sequence, hash, keys and time,
// and the stream cursor becomes max(cursor, streamSeq), the stream sequence
// the snapshot was taken at. Deltas of the tenant continue at the snapshot's
// Seq+1.
//
// It returns a *RejectError and changes nothing when the anchor or a chunk
// does not verify, a chunk is missing (ErrGap), a record is not an upsert
// (ErrUnknownType) or invalid or duplicated (ErrPayload), the snapshot is
// older than what the replica already applied for the tenant (ErrRollback),
// or the certificate names another root for a tenant already followed
// (ErrAnchor).
func (r *Replica) LoadSnapshot(ctx context.Context, chunks [][]byte, anchorCert []byte, streamSeq uint64) error {
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	if err := r.checkOpen(); err != nil {
		return err
	}
	snap, err := r.verifySnapshot(chunks, anchorCert)
	if err != nil {
		return r.rejected(ctx, "", 0, err)
	}
	tenant := snap.anchor.Tenant
	if err := r.bulkLoad(ctx, snap, streamSeq); err != nil {
		var se sqlite3.Error
		if errors.As(err, &se) && se.Code == sqlite3.ErrConstraint {
			return r.rejected(ctx, tenant, 0, fmt.Errorf("%w: duplicate record: %w", ErrPayload, err))
		}
		return err
	}
	ch, err := r.newChain(snap.anchor, snap.state)
	if err != nil {
		return err // unreachable: the loader validated the state
	}
	ch.deleted = !snap.hasTenant
	r.mu.Lock()
	r.chains[tenant] = ch
	r.cursor = max(r.cursor, streamSeq)
	cursor, n := r.cursor, len(r.chains)
	r.mu.Unlock()
	r.metrics.snapshots.Inc()
	r.metrics.seq.Set(float64(cursor))
	r.metrics.tenants.Set(float64(n))
	r.log.InfoContext(ctx, "replica snapshot loaded", "tenant", tenant, "seq", snap.state.Seq,
		"records", len(snap.changes), "stream_seq", cursor)
	if r.cfg.OnApplied != nil {
		r.cfg.OnApplied(Applied{Tenant: tenant, Seq: snap.state.Seq, Hash: snap.state.Hash, Snapshot: true})
	}
	return nil
}

// verifySnapshot checks the anchor and every chunk and decodes the records.
func (r *Replica) verifySnapshot(chunks [][]byte, anchorCert []byte) (*tenantSnapshot, error) {
	anchor, err := syncproto.VerifyAnchor(anchorCert, r.cfg.SystemAnchor)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAnchor, err)
	}
	snap := &tenantSnapshot{anchor: anchor}
	if err := r.checkKnownAnchor(anchor); err != nil {
		return nil, err
	}
	loader, err := syncproto.NewSnapshotLoader(anchor)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAnchor, err)
	}
	for _, msg := range chunks {
		if err := snap.addChunk(loader, msg); err != nil {
			return nil, err
		}
	}
	if snap.state, err = loader.State(); err != nil {
		return nil, err
	}
	if seq, _ := r.TenantSeq(anchor.Tenant); seq > snap.state.Seq {
		return nil, fmt.Errorf("%w: snapshot at seq %d, replica at %d", syncproto.ErrRollback, snap.state.Seq, seq)
	}
	return snap, nil
}

// checkKnownAnchor refuses a certificate naming another root for a tenant
// the replica already follows (a root change is not part of the contract).
func (r *Replica) checkKnownAnchor(anchor syncproto.TrustAnchor) error {
	ch := r.chain(anchor.Tenant)
	if ch == nil || ch.anchor.Kid == anchor.Kid && ed25519.PublicKey(ch.anchor.PublicKey).Equal(anchor.PublicKey) {
		return nil
	}
	return fmt.Errorf("%w: tenant %s is followed under root %q", ErrAnchor, anchor.Tenant, ch.anchor.Kid)
}

func (s *tenantSnapshot) addChunk(loader *syncproto.SnapshotLoader, msg []byte) error {
	chunk, err := loader.VerifyChunk(msg)
	if err != nil {
		return err
	}
	if err := loader.AcceptChunk(chunk); err != nil {
		return err
	}
	for i, raw := range chunk.Records {
		var rec snapshotRecord
		if err := recordDecMode.Unmarshal(raw, &rec); err != nil {
			return fmt.Errorf("%w: chunk %d record %d: %w", ErrPayload, chunk.Index, i, err)
		}
		p, ok := upserts[rec.Type]
		if !ok {
			return fmt.Errorf("%w: chunk %d record %d: %q is not an upsert type", ErrUnknownType, chunk.Index, i, rec.Type)
		}
		c, err := parseFields(p, rec.Data, s.anchor.Tenant)
		if err != nil {
			return fmt.Errorf("chunk %d record %d: %w", chunk.Index, i, err)
		}
		_, isTenant := c.(Tenant)
		s.hasTenant = s.hasTenant || isTenant
		s.changes = append(s.changes, c)
	}
	return nil
}
