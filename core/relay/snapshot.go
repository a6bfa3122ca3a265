package relay

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/iam/syncproto"
	"github.com/melmastoon/iam/syncproto/devproto"
)

// Snapshot limits. A chunk holds at most chunkRecords records (default
// DefaultSnapshotChunkRecords, never more than syncproto.MaxArrayElements)
// and closes early once its records reach SnapshotChunkBytes, so a signed
// chunk stays well under the hub's 2 MiB message payload.
const (
	DefaultSnapshotChunkRecords = 2_000
	SnapshotChunkBytes          = 1 << 20
)

// ErrNoChain reports a snapshot request for a tenant that has no delta
// chain yet (nothing was ever published for it).
var ErrNoChain = errors.New("relay: tenant has no delta chain")

// Upsert types used for snapshot records (docs/deltas.md, payload table).
const (
	recTenant     = "melmastoon.iam.tenant.created.v1"
	recOrg        = "melmastoon.iam.organization.created.v1"
	recAccount    = "melmastoon.iam.account.created.v1"
	recRole       = "melmastoon.iam.role.created.v1"
	recBinding    = "melmastoon.iam.role_binding.created.v1"
	recSession    = "melmastoon.iam.session.revoked.v1"
	recSigningKey = "melmastoon.iam.signing_key.published.v1"
	recFlag       = "melmastoon.iam.feature_flag.set.v1"
	recTenantCA   = devproto.TenantCAType
	recDevice     = devproto.DeviceEnrolledType
)

// ChainTenants lists the tenants that have a delta chain (those a
// snapshot can be taken of), in id order.
func (r *Relay) ChainTenants(ctx context.Context) ([]string, error) {
	rows, err := r.pool.Query(ctx, `SELECT t FROM iam_relay_chain_tenants() AS t`)
	if err != nil {
		return nil, fmt.Errorf("relay: chain tenants: %w", err)
	}
	ts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("relay: chain tenants: %w", err)
	}
	return ts, nil
}

// Snapshot takes a signed snapshot of the tenant (docs/deltas.md,
// "Snapshots"): in one REPEATABLE READ, read-only transaction it reads the
// tenant's chain head (seq N, hash, stream sequence) and every replicated
// row, turns the rows into {"type", "data"} records with the payloads of
// the delta table, and signs them in chunks with the tenant's ROOT key;
// chunk 0 lists the tenant's delta-signing key, so a verifier continues
// the chain at N+1. It returns the chunks, the tenant's anchor certificate
// and the stream sequence of delta N.
//
// The rows may be slightly AHEAD of delta N (committed, not yet
// published); the later deltas are idempotent upserts and tombstones, so
// applying them on top converges to the same state.
func (r *Relay) Snapshot(ctx context.Context, tenant string, chunkRecords int) (chunks [][]byte, anchorCert []byte, streamSeq uint64, err error) {
	if !isCanonicalUUID(tenant) {
		return nil, nil, 0, fmt.Errorf("relay: snapshot: tenant %q is not a UUID", tenant)
	}
	if chunkRecords <= 0 {
		chunkRecords = DefaultSnapshotChunkRecords
	}
	chunkRecords = min(chunkRecords, syncproto.MaxArrayElements)
	var (
		seq     int64
		sseq    int64
		head    []byte
		records []cbor.RawMessage
	)
	err = pgx.BeginTxFunc(ctx, r.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, setTenantSQL, tenant); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `SELECT seq, head, stream_seq FROM delta_chains WHERE tenant_id = $1`, tenant).Scan(&seq, &head, &sseq)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNoChain
		}
		if err != nil {
			return err
		}
		records, err = snapshotRecords(ctx, tx, tenant)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNoChain) {
			return nil, nil, 0, fmt.Errorf("%w: %s", ErrNoChain, tenant)
		}
		return nil, nil, 0, fmt.Errorf("relay: snapshot of %s: %w", tenant, err)
	}
	if len(head) != syncproto.HashSize || seq < 1 || sseq < 1 {
		return nil, nil, 0, fmt.Errorf("relay: chain head of %s is corrupt", tenant)
	}
	tk, err := r.tenantKeys(ctx, tenant, false)
	if err != nil {
		return nil, nil, 0, err
	}
	cert, err := r.anchorCertificate(ctx, tk)
	if err != nil {
		return nil, nil, 0, err
	}
	chunks, err = signChunks(tk, &syncproto.Snapshot{Tenant: tenant, Seq: uint64(seq), Hash: head,
		Time: r.cfg.Now().UnixMilli()}, records, chunkRecords)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("relay: snapshot of %s: %w", tenant, err)
	}
	return chunks, cert, uint64(sseq), nil
}

// signChunks splits records into chunks (by count and size) and signs each
// with the tenant root; chunk 0 carries the delta-signing key.
func signChunks(tk *tenantKeys, base *syncproto.Snapshot, records []cbor.RawMessage, perChunk int) ([][]byte, error) {
	var out [][]byte
	start := 0
	for index := uint32(0); index == 0 || start < len(records); index++ {
		end, size := start, 0
		for end < len(records) && end-start < perChunk && (end == start || size+len(records[end]) <= SnapshotChunkBytes) {
			size += len(records[end])
			end++
		}
		s := *base
		s.Index, s.Final, s.Records = index, end == len(records), records[start:end]
		if index == 0 {
			s.Keys = []syncproto.SigningKey{tk.signing.SigningKey()}
		}
		msg, err := tk.root.SignSnapshot(&s)
		if err != nil {
			return nil, err
		}
		out = append(out, msg)
		start = end
	}
	return out, nil
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func optTS(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

// snapshotRecords reads every replicated row of the tenant (parents before
// children) as {"type", "data"} records. A deleted tenant has none: its
// tenant.deleted delta removed every row from the edges.
func snapshotRecords(ctx context.Context, tx pgx.Tx, tenant string) ([]cbor.RawMessage, error) {
	var recs []cbor.RawMessage
	add := func(typ string, data map[string]any) error {
		raw, err := syncproto.EncodeData(map[string]any{"type": typ, "data": data})
		if err != nil {
			return err
		}
		recs = append(recs, raw)
		return nil
	}
	var (
		id, slug, name, status string
		version                int64
		created, updated       time.Time
	)
	err := tx.QueryRow(ctx, `SELECT id::text, slug, name, status, version, created_at, updated_at FROM tenants WHERE id = $1`,
		tenant).Scan(&id, &slug, &name, &status, &version, &created, &updated)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && status == "deleted" {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := add(recTenant, map[string]any{"id": id, "slug": slug, "name": name, "status": status,
		"version": version, "created_at": ts(created), "updated_at": ts(updated)}); err != nil {
		return nil, err
	}
	for _, q := range snapshotQueries {
		rows, err := tx.Query(ctx, q.sql, tenant)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			data, err := q.scan(rows)
			if err == nil {
				err = add(q.typ, data)
			}
			if err != nil {
				rows.Close()
				return nil, err
			}
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return recs, nil
}

type snapshotQuery struct {
	typ  string
	sql  string
	scan func(pgx.Rows) (map[string]any, error)
}

var snapshotQueries = []snapshotQuery{
	{recOrg, `SELECT id::text, parent_id::text, name, depth, version, created_at, updated_at
		FROM organizations WHERE tenant_id = $1 ORDER BY depth, path`,
		func(rows pgx.Rows) (map[string]any, error) {
			var id, name string
			var parent *string
			var depth, version int64
			var created, updated time.Time
			err := rows.Scan(&id, &parent, &name, &depth, &version, &created, &updated)
			var p any
			if parent != nil {
				p = *parent
			}
			return map[string]any{"id": id, "parent_id": p, "name": name, "depth": depth, "version": version,
				"created_at": ts(created), "updated_at": ts(updated)}, err
		}},
	{recAccount, `SELECT id::text, status, version FROM accounts WHERE tenant_id = $1 ORDER BY id`,
		func(rows pgx.Rows) (map[string]any, error) {
			var id, status string
			var version int64
			err := rows.Scan(&id, &status, &version)
			return map[string]any{"id": id, "status": status, "version": version}, err
		}},
	{recRole, `SELECT r.id::text, r.name, r.version, r.created_at, r.updated_at,
		COALESCE((SELECT array_agg(p.permission ORDER BY p.permission) FROM role_permissions p
		          WHERE p.tenant_id = r.tenant_id AND p.role_id = r.id), '{}')
		FROM roles r WHERE r.tenant_id = $1 ORDER BY r.id`,
		func(rows pgx.Rows) (map[string]any, error) {
			var id, name string
			var version int64
			var created, updated time.Time
			var perms []string
			err := rows.Scan(&id, &name, &version, &created, &updated, &perms)
			ps := make([]any, len(perms))
			for i, p := range perms {
				ps[i] = p
			}
			return map[string]any{"id": id, "name": name, "permissions": ps, "version": version,
				"created_at": ts(created), "updated_at": ts(updated)}, err
		}},
	{recBinding, `SELECT id::text, account_id::text, role_id::text, organization_id::text, created_at
		FROM role_bindings WHERE tenant_id = $1 ORDER BY id`,
		func(rows pgx.Rows) (map[string]any, error) {
			var id, account, role, org string
			var created time.Time
			err := rows.Scan(&id, &account, &role, &org, &created)
			return map[string]any{"id": id, "account_id": account, "role_id": role, "organization_id": org,
				"created_at": ts(created)}, err
		}},
	{recSession, `SELECT id::text, account_id::text, coalesce(revoke_reason, ''), revoked_at
		FROM sessions WHERE tenant_id = $1 AND revoked_at IS NOT NULL ORDER BY id`,
		func(rows pgx.Rows) (map[string]any, error) {
			var id, account, reason string
			var revoked time.Time
			err := rows.Scan(&id, &account, &reason, &revoked)
			return map[string]any{"id": id, "account_id": account, "reason": reason, "revoked_at": ts(revoked)}, err
		}},
	{recSigningKey, `SELECT kid, public_key, state, published_at, not_before, retire_at
		FROM signing_keys WHERE tenant_id = $1 ORDER BY kid`,
		func(rows pgx.Rows) (map[string]any, error) {
			var kid, state string
			var pub []byte
			var published, notBefore time.Time
			var retire *time.Time
			err := rows.Scan(&kid, &pub, &state, &published, &notBefore, &retire)
			return map[string]any{"kid": kid, "public_key": base64.StdEncoding.EncodeToString(pub), "state": state,
				"alg": "EdDSA", "published_at": ts(published), "not_before": ts(notBefore), "retire_at": optTS(retire)}, err
		}},
	{recFlag, `SELECT name, enabled, rollout_percent, version, updated_at
		FROM feature_flags WHERE tenant_id = $1 ORDER BY name`,
		func(rows pgx.Rows) (map[string]any, error) {
			var name string
			var enabled bool
			var pct, version int64
			var updated time.Time
			err := rows.Scan(&name, &enabled, &pct, &version, &updated)
			return map[string]any{"name": name, "enabled": enabled, "rollout_percent": pct, "version": version,
				"updated_at": ts(updated)}, err
		}},
	{recTenantCA, `SELECT max(generation), array_agg(root_cert ORDER BY generation), array_agg(issuing_cert ORDER BY generation)
		FROM tenant_cas WHERE tenant_id = $1 AND state = 'active' HAVING count(*) > 0`,
		func(rows pgx.Rows) (map[string]any, error) {
			var gen int64
			var roots, issuing [][]byte
			err := rows.Scan(&gen, &roots, &issuing)
			return map[string]any{"generation": gen, "roots": base64List(roots), "intermediates": base64List(issuing)}, err
		}},
	{recDevice, `SELECT id::text, account_id::text, name, platform, status, cert_serial, not_after, version
		FROM devices WHERE tenant_id = $1 ORDER BY id`,
		func(rows pgx.Rows) (map[string]any, error) {
			var id, account, name, platform, status, serial string
			var notAfter time.Time
			var version int64
			err := rows.Scan(&id, &account, &name, &platform, &status, &serial, &notAfter, &version)
			return map[string]any{"id": id, "account_id": account, "name": name, "platform": platform, "status": status,
				"cert_serial": serial, "not_after": notAfter.UTC().Truncate(time.Second).Format(time.RFC3339), "version": version}, err
		}},
}

// base64List renders DER certificates as the tenant_ca payload lists them.
func base64List(ders [][]byte) []any {
	out := make([]any, len(ders))
	for i, d := range ders {
		out[i] = base64.StdEncoding.EncodeToString(d)
	}
	return out
}
