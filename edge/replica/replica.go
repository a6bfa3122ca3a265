package replica

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"sync"

	"github.com/melmastoon/iam/syncproto"
)

// Replica is an open SQLite replica. Its methods are safe for concurrent
// use; writes (Apply, Skip, AcceptCheckpoint, LoadSnapshot) are serialized.
type Replica struct {
	cfg     Config
	log     *slog.Logger
	writer  *sql.DB // one connection: the only writer
	reader  *sql.DB // read-only connections
	metrics *metrics
	stmts   *stmtCache // writer statements, under applyMu

	applyMu sync.Mutex // serializes writers, held across verify → commit → accept

	mu     sync.RWMutex // guards the fields below
	chains map[string]*tenantChain
	cursor uint64
	closed bool
}

// tenantChain is one tenant stream the replica follows.
type tenantChain struct {
	anchor   syncproto.TrustAnchor
	verifier *syncproto.Verifier
	deleted  bool // the tenant's tombstone was applied
}

// Open opens (creating if needed) and migrates the replica at cfg.Path and
// resumes every tenant chain from its persisted verifier state. It fails if
// the config is invalid, the file cannot be opened or migrated, a persisted
// state is invalid, or the metrics cannot be registered.
func Open(ctx context.Context, cfg Config) (*Replica, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	writer, reader, err := openDBs(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	r := &Replica{cfg: cfg, log: cfg.Logger, writer: writer, reader: reader, chains: map[string]*tenantChain{},
		stmts: &stmtCache{db: writer, stmts: map[string]*sql.Stmt{}}}
	if err := r.load(ctx); err != nil {
		_ = r.closeDBs()
		return nil, err
	}
	if r.metrics, err = newMetrics(cfg.Registry, r.maxStalenessSeconds); err != nil {
		_ = r.closeDBs()
		return nil, fmt.Errorf("replica: metrics: %w", err)
	}
	r.metrics.seq.Set(float64(r.cursor))
	r.metrics.tenants.Set(float64(len(r.chains)))
	r.log.InfoContext(ctx, "replica opened", "path", cfg.Path, "stream_seq", r.cursor, "tenants", len(r.chains))
	return r, nil
}

func (r *Replica) load(ctx context.Context) error {
	if err := r.writer.QueryRowContext(ctx, `SELECT seq FROM stream_cursor WHERE id = 1`).Scan(&r.cursor); err != nil {
		return fmt.Errorf("replica: read cursor: %w", err)
	}
	rows, err := r.writer.QueryContext(ctx, `SELECT tenant_id, anchor, verifier_state, deleted FROM tenant_chains`)
	if err != nil {
		return fmt.Errorf("replica: read chains: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var tenant, anchorJSON, stateJSON string
		var deleted bool
		if err := rows.Scan(&tenant, &anchorJSON, &stateJSON, &deleted); err != nil {
			return fmt.Errorf("replica: read chains: %w", err)
		}
		ch, err := r.restoreChain(anchorJSON, stateJSON)
		if err != nil {
			return fmt.Errorf("replica: chain of tenant %s: %w", tenant, err)
		}
		ch.deleted = deleted
		r.chains[tenant] = ch
	}
	return rows.Err()
}

func (r *Replica) restoreChain(anchorJSON, stateJSON string) (*tenantChain, error) {
	var anchor syncproto.TrustAnchor
	var st syncproto.VerifierState
	if err := json.Unmarshal([]byte(anchorJSON), &anchor); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(stateJSON), &st); err != nil {
		return nil, err
	}
	return r.newChain(anchor, st)
}

func (r *Replica) newChain(anchor syncproto.TrustAnchor, st syncproto.VerifierState) (*tenantChain, error) {
	v, err := syncproto.NewVerifier(syncproto.VerifierConfig{Anchor: anchor, Freshness: r.cfg.Freshness, State: st})
	if err != nil {
		return nil, err
	}
	return &tenantChain{anchor: anchor, verifier: v}, nil
}

// Close closes the database. It waits for a write in progress; later calls
// fail with ErrClosed. Closing twice is a no-op.
func (r *Replica) Close() error {
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	return r.closeDBs()
}

func (r *Replica) closeDBs() error {
	r.stmts.close()
	errR := r.reader.Close()
	errW := r.writer.Close()
	if errW != nil {
		return fmt.Errorf("replica: close: %w", errW)
	}
	return errR
}

func (r *Replica) checkOpen() error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return ErrClosed
	}
	return nil
}

// Reader returns the read-only connection pool, for queries of the
// replicated state (the decision engine). Writes through it fail.
func (r *Replica) Reader() *sql.DB { return r.reader }

// StreamCursor returns the last stream sequence applied or skipped.
func (r *Replica) StreamCursor() uint64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cursor
}

// TenantSeq returns the tenant's last applied sequence and its chain hash
// (0 and ZeroHash for a tenant the replica does not follow).
func (r *Replica) TenantSeq(tenant string) (uint64, syncproto.Hash) {
	ch := r.chain(tenant)
	if ch == nil {
		return 0, syncproto.ZeroHash
	}
	st := ch.verifier.State()
	return st.Seq, st.Hash
}

// Tenants returns the ids of the tenant chains the replica follows.
func (r *Replica) Tenants() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.chains))
	for t := range r.chains {
		out = append(out, t)
	}
	return out
}

func (r *Replica) chain(tenant string) *tenantChain {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.chains[tenant]
}

// maxStalenessSeconds feeds the staleness gauge; +Inf when a tenant never
// had a checkpoint.
func (r *Replica) maxStalenessSeconds() float64 {
	d := r.MaxStaleness()
	if d == Never {
		return math.Inf(1)
	}
	return d.Seconds()
}

// saveChain writes the tenant's anchor and verifier state in tx.
func saveChain(tx execer, tenant string, anchor syncproto.TrustAnchor, st syncproto.VerifierState, deleted bool) error {
	anchorJSON, err := json.Marshal(anchor)
	if err != nil {
		return err
	}
	stateJSON, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return tx.exec(`INSERT INTO tenant_chains (tenant_id, anchor, verifier_state, last_checkpoint_at, deleted)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id) DO UPDATE SET anchor = excluded.anchor,
		verifier_state = excluded.verifier_state, last_checkpoint_at = excluded.last_checkpoint_at,
		deleted = excluded.deleted`, tenant, string(anchorJSON), string(stateJSON), st.CheckpointTime, deleted)
}

func saveCursor(tx execer, seq uint64) error {
	return tx.exec(`UPDATE stream_cursor SET seq = ? WHERE id = 1`, seq)
}

// inTx runs fn in one write transaction.
func (r *Replica) inTx(ctx context.Context, fn func(*txExec) error) error {
	tx, err := r.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("replica: begin: %w", err)
	}
	te := newTxExec(ctx, tx, r.stmts)
	defer te.close()
	if err := fn(te); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("replica: write: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("replica: commit: %w", err)
	}
	te.close()
	te.stmts = nil
	r.stmts.prepare(ctx, te.missed)
	return nil
}
