package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// Session errors.
var (
	ErrSessionNotFound = errors.Join(errors.New("store: session not found"), ErrNotFound)
	// ErrRefreshTokenUnknown is returned for a refresh token hash that was
	// never issued (or whose session is gone).
	ErrRefreshTokenUnknown = errors.New("store: refresh token unknown")
)

// Session is a refresh-token family.
type Session struct {
	ID              string     `json:"id"`
	AccountID       AccountID  `json:"account_id"`
	AMR             []string   `json:"amr"`
	SourceIP        string     `json:"source_ip"`
	UserAgent       string     `json:"user_agent"`
	CreatedAt       time.Time  `json:"created_at"`
	ExpiresAt       time.Time  `json:"expires_at"`
	LastRefreshedAt *time.Time `json:"last_refreshed_at"`
	RevokedAt       *time.Time `json:"revoked_at"`
	RevokeReason    *string    `json:"revoke_reason"`
}

const sessionColumns = `id, account_id, amr, source_ip, user_agent, created_at, expires_at, last_refreshed_at, revoked_at, revoke_reason`

func scanSession(row pgx.Row) (Session, error) {
	var s Session
	var id AccountID
	var sid SessionID
	err := row.Scan(&sid, &id, &s.AMR, &s.SourceIP, &s.UserAgent, &s.CreatedAt, &s.ExpiresAt, &s.LastRefreshedAt, &s.RevokedAt, &s.RevokeReason)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, ErrSessionNotFound
	}
	s.ID, s.AccountID = sid.String(), id
	return s, err
}

// NewSession describes a session to open.
type NewSession struct {
	Account   AccountID
	AMR       []string
	SourceIP  string
	UserAgent string
	TTL       time.Duration // absolute lifetime of the family
	// RefreshHash is the hash of the first refresh token.
	RefreshHash []byte
}

// OpenSession creates a session with its first refresh token and audits the
// sign-in as auth.login (success).
func (t *Tx) OpenSession(ctx context.Context, actor Actor, n NewSession) (Session, error) {
	id := SessionID{newID()}
	now := t.now()
	s, err := scanSession(t.queryRow(ctx, `INSERT INTO sessions (tenant_id, id, account_id, amr, source_ip, user_agent, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING `+sessionColumns,
		t.tenant.UUID, id.UUID, n.Account.UUID, n.AMR, n.SourceIP, n.UserAgent, now, now.Add(n.TTL)))
	if err != nil {
		return Session{}, err
	}
	if err := t.insertRefreshToken(ctx, id, n.RefreshHash, s.ExpiresAt); err != nil {
		return Session{}, err
	}
	return s, nil
}

func (t *Tx) insertRefreshToken(ctx context.Context, session SessionID, hash []byte, expires time.Time) error {
	_, err := t.exec(ctx, `INSERT INTO refresh_tokens (tenant_id, token_hash, session_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		t.tenant.UUID, hash, session.UUID, t.now(), expires)
	return err
}

// RefreshToken is a stored refresh token and its session.
type RefreshToken struct {
	Session         Session
	RotatedAt       *time.Time
	SuccessorSealed []byte
	ExpiresAt       time.Time
}

// GetSession returns one session.
func (t *Tx) GetSession(ctx context.Context, id SessionID) (Session, error) {
	return scanSession(t.queryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE tenant_id = $1 AND id = $2`, t.tenant.UUID, id.UUID))
}

// ListSessions lists an account's sessions, newest first.
func (t *Tx) ListSessions(ctx context.Context, account AccountID) ([]Session, error) {
	if _, err := t.GetAccount(ctx, account); err != nil {
		return nil, err
	}
	rows, err := t.query(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE tenant_id = $1 AND account_id = $2
		ORDER BY created_at DESC LIMIT 1000`, t.tenant.UUID, account.UUID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanSession)
}

// RevokeSessions revokes the live sessions of account (all of them when
// only is nil). Each revocation writes an audit row (action) and a
// session.revoked outbox row, so edges drop the session at once. It returns
// how many sessions it revoked.
func (t *Tx) RevokeSessions(ctx context.Context, actor Actor, account AccountID, only *SessionID, action, reason string) (int, error) {
	rows, err := t.query(ctx, `UPDATE sessions SET revoked_at = $4, revoke_reason = $5
		WHERE tenant_id = $1 AND account_id = $2 AND ($3::uuid IS NULL OR id = $3) AND revoked_at IS NULL
		RETURNING id`, t.tenant.UUID, account.UUID, only, t.now(), reason)
	if err != nil {
		return 0, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[SessionID])
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		err := t.record(ctx, actor,
			AuditEvent{Action: action, TargetType: "session", TargetID: id.String(), Details: map[string]any{"account_id": account, "reason": reason}},
			Event{Type: "melmastoon.iam.session.revoked.v1", Subject: id.String(),
				Data: map[string]any{"id": id, "account_id": account, "reason": reason, "revoked_at": t.now()}})
		if err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// RefreshGrant is everything a refresh decides on, read in one statement.
type RefreshGrant struct {
	Token         RefreshToken
	AccountStatus string
	LockedUntil   *time.Time
}

// RefreshGrantByHash loads and locks a refresh token together with its
// session and its account's status, in one round trip.
func (t *Tx) RefreshGrantByHash(ctx context.Context, hash []byte) (RefreshGrant, error) {
	var g RefreshGrant
	var sid SessionID
	s := &g.Token.Session
	err := t.queryRow(ctx, `SELECT rt.rotated_at, rt.successor_sealed, rt.expires_at,
			s.id, s.account_id, s.amr, s.source_ip, s.user_agent, s.created_at, s.expires_at, s.last_refreshed_at, s.revoked_at, s.revoke_reason,
			a.status, a.locked_until
		FROM refresh_tokens rt
		JOIN sessions s ON s.tenant_id = rt.tenant_id AND s.id = rt.session_id
		JOIN accounts a ON a.tenant_id = s.tenant_id AND a.id = s.account_id
		WHERE rt.tenant_id = $1 AND rt.token_hash = $2
		FOR UPDATE OF rt`, t.tenant.UUID, hash).Scan(
		&g.Token.RotatedAt, &g.Token.SuccessorSealed, &g.Token.ExpiresAt,
		&sid, &s.AccountID, &s.AMR, &s.SourceIP, &s.UserAgent, &s.CreatedAt, &s.ExpiresAt, &s.LastRefreshedAt, &s.RevokedAt, &s.RevokeReason,
		&g.AccountStatus, &g.LockedUntil)
	if errors.Is(err, pgx.ErrNoRows) {
		return g, ErrRefreshTokenUnknown
	}
	s.ID = sid.String()
	return g, err
}

// CompleteRefresh rotates oldHash to newHash (keeping the sealed successor
// for the grace window), touches the session and writes the session.refresh
// audit row: four statements in one round trip.
func (t *Tx) CompleteRefresh(ctx context.Context, actor Actor, session SessionID, oldHash, newHash, successorSealed []byte, expires time.Time) error {
	now := t.now()
	b := &pgx.Batch{}
	b.Queue(`UPDATE refresh_tokens SET rotated_at = $3, successor_sealed = $4 WHERE tenant_id = $1 AND token_hash = $2`,
		t.tenant.UUID, oldHash, now, successorSealed)
	b.Queue(`UPDATE sessions SET last_refreshed_at = $3 WHERE tenant_id = $1 AND id = $2`, t.tenant.UUID, session.UUID, now)
	b.Queue(`INSERT INTO refresh_tokens (tenant_id, token_hash, session_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		t.tenant.UUID, newHash, session.UUID, now, expires)
	b.Queue(`INSERT INTO audit_events (tenant_id, id, occurred_at, actor, action, target_type, target_id, source_ip, traceparent)
		VALUES ($1, $2, $3, $4, 'session.refresh', 'session', $5, $6, $7)`,
		t.tenant.UUID, newID(), now, actor.ID, session.String(), actor.SourceIP, actor.TraceParent)
	return t.tx.SendBatch(ctx, b).Close()
}
