package device

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	_ "github.com/mattn/go-sqlite3" // database/sql driver "sqlite3"

	"github.com/melmastoon/iam/syncproto"
	"github.com/melmastoon/iam/syncproto/devproto"
)

// File modes of the state directory and its files.
const (
	dirMode  os.FileMode = 0o700
	fileMode os.FileMode = 0o600
)

// schemaVersion is PRAGMA user_version of a current state file.
const schemaVersion = 1

// schema is one row (id = 1): the whole device state. Every change
// rewrites the row in one statement, so each change is atomic.
const schema = `
CREATE TABLE IF NOT EXISTS device_state (
	id                 INTEGER PRIMARY KEY CHECK (id = 1),
	tenant_id          TEXT    NOT NULL,
	tenant_slug        TEXT    NOT NULL,
	device_id          TEXT    NOT NULL,
	account_id         TEXT    NOT NULL,
	private_key        BLOB    NOT NULL, -- Ed25519 seed, 32 bytes
	chain              TEXT    NOT NULL, -- JSON array of base64 DER, leaf first
	trust_bundle       BLOB    NOT NULL, -- devcert canonical JSON
	delta_anchor       TEXT    NOT NULL, -- JSON syncproto.TrustAnchor
	delta_keys         TEXT    NOT NULL, -- JSON []syncproto.SigningKey
	retired_kids       TEXT    NOT NULL, -- JSON []string
	anchor_certificate BLOB,             -- as received, not verified
	entity             TEXT    NOT NULL, -- JSON devproto.DevicePayload
	cursor             INTEGER NOT NULL, -- entity version held
	server_time_ms     INTEGER NOT NULL  -- newest core-signed time seen
);`

// record is the persisted state. Values are treated as immutable: a
// change makes a copy (clone) and stores it with put.
type record struct {
	TenantID, TenantSlug, DeviceID, AccountID string
	Key                                       ed25519.PrivateKey
	Chain                                     [][]byte
	Bundle                                    []byte
	Anchor                                    syncproto.TrustAnchor
	Keys                                      []syncproto.SigningKey
	Retired                                   []string
	AnchorCert                                []byte
	Entity                                    devproto.DevicePayload
	ServerTimeMs                              int64
}

func (r *record) clone() *record {
	c := *r
	return &c
}

// store is the SQLite state file.
type store struct {
	db *sql.DB
}

// openStore opens (creating if needed) dir/device.db with the directory at
// mode 0700 and the file at 0600.
func openStore(ctx context.Context, dir string) (*store, error) {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, fmt.Errorf("device: state dir: %w", err)
	}
	if err := os.Chmod(dir, dirMode); err != nil {
		return nil, fmt.Errorf("device: state dir: %w", err)
	}
	path := filepath.Join(dir, StateFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return nil, fmt.Errorf("device: state file: %w", err)
	}
	f.Close()
	if err := os.Chmod(path, fileMode); err != nil {
		return nil, fmt.Errorf("device: state file: %w", err)
	}
	// SQLite creates its journal with the database file's mode.
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000&_synchronous=FULL&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("device: open state: %w", err)
	}
	db.SetMaxOpenConns(1)
	s := &store{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *store) migrate(ctx context.Context) error {
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("device: read schema version: %w", err)
	}
	if v > schemaVersion {
		return fmt.Errorf("device: state file schema %d is newer than this library's %d", v, schemaVersion)
	}
	if _, err := s.db.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("device: create schema: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
		return fmt.Errorf("device: set schema version: %w", err)
	}
	return nil
}

func (s *store) close() error { return s.db.Close() }

// enrolled reports whether the file holds an enrollment.
func (s *store) enrolled(ctx context.Context) (bool, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM device_state").Scan(&n); err != nil {
		return false, fmt.Errorf("device: read state: %w", err)
	}
	return n > 0, nil
}

// put writes r as the state, in one statement (one transaction).
func (s *store) put(ctx context.Context, r *record) error {
	var js [5][]byte
	var err error
	for i, v := range []any{r.Chain, r.Anchor, r.Keys, r.Retired, r.Entity} {
		if js[i], err = json.Marshal(v); err != nil {
			return fmt.Errorf("device: encode state: %w", err)
		}
	}
	_, err = s.db.ExecContext(ctx, `INSERT OR REPLACE INTO device_state (id, tenant_id, tenant_slug, device_id, account_id,
		private_key, chain, trust_bundle, delta_anchor, delta_keys, retired_kids, anchor_certificate, entity, cursor, server_time_ms)
		VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.TenantID, r.TenantSlug, r.DeviceID, r.AccountID, r.Key.Seed(), string(js[0]), r.Bundle,
		string(js[1]), string(js[2]), string(js[3]), r.AnchorCert, string(js[4]), r.Entity.Version, r.ServerTimeMs)
	if err != nil {
		return fmt.Errorf("device: write state: %w", err)
	}
	return nil
}

// load reads the state; ErrNotEnrolled if there is none.
func (s *store) load(ctx context.Context) (*record, error) {
	var r record
	var seed []byte
	var chain, anchor, keys, retired, entity string
	var cursor int64
	err := s.db.QueryRowContext(ctx, `SELECT tenant_id, tenant_slug, device_id, account_id, private_key, chain, trust_bundle,
		delta_anchor, delta_keys, retired_kids, anchor_certificate, entity, cursor, server_time_ms FROM device_state WHERE id = 1`).
		Scan(&r.TenantID, &r.TenantSlug, &r.DeviceID, &r.AccountID, &seed, &chain, &r.Bundle,
			&anchor, &keys, &retired, &r.AnchorCert, &entity, &cursor, &r.ServerTimeMs)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotEnrolled
	}
	if err != nil {
		return nil, fmt.Errorf("device: read state: %w", err)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("device: state holds a private key of %d bytes", len(seed))
	}
	r.Key = ed25519.NewKeyFromSeed(seed)
	for _, f := range []struct {
		text string
		v    any
	}{{chain, &r.Chain}, {anchor, &r.Anchor}, {keys, &r.Keys}, {retired, &r.Retired}, {entity, &r.Entity}} {
		if err := json.Unmarshal([]byte(f.text), f.v); err != nil {
			return nil, fmt.Errorf("device: decode state: %w", err)
		}
	}
	if cursor != r.Entity.Version {
		return nil, fmt.Errorf("device: state cursor %d disagrees with entity version %d", cursor, r.Entity.Version)
	}
	return &r, nil
}
