package store

import (
	"context"
	"time"
)

// EdgeStatus is an edge's latest report of its replica.
type EdgeStatus struct {
	Name        string    `json:"name"`
	StreamSeq   uint64    `json:"stream_seq"`
	Tenants     int       `json:"tenants"`
	StalenessMS int64     `json:"staleness_ms"`
	Version     string    `json:"version"`
	FirstSeen   time.Time `json:"first_seen"`
	LastContact time.Time `json:"last_contact"`
}

// RecordEdgeStatus stores an edge's report (global scope).
func (t *Tx) RecordEdgeStatus(ctx context.Context, s EdgeStatus) error {
	_, err := t.exec(ctx, `INSERT INTO edges (name, stream_seq, tenants, staleness_ms, version, first_seen, last_contact)
		VALUES ($1, $2, $3, $4, $5, $6, $6)
		ON CONFLICT (name) DO UPDATE SET stream_seq = excluded.stream_seq, tenants = excluded.tenants,
		  staleness_ms = excluded.staleness_ms, version = excluded.version, last_contact = excluded.last_contact`,
		s.Name, int64(s.StreamSeq), s.Tenants, s.StalenessMS, s.Version, t.now())
	return err
}

// ListEdges lists every edge that ever reported, by name.
func (t *Tx) ListEdges(ctx context.Context) ([]EdgeStatus, error) {
	rows, err := t.query(ctx, `SELECT name, stream_seq, tenants, staleness_ms, version, first_seen, last_contact FROM edges ORDER BY name LIMIT 10000`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []EdgeStatus
	for rows.Next() {
		var s EdgeStatus
		var seq int64
		if err := rows.Scan(&s.Name, &seq, &s.Tenants, &s.StalenessMS, &s.Version, &s.FirstSeen, &s.LastContact); err != nil {
			return nil, err
		}
		s.StreamSeq = uint64(seq)
		out = append(out, s)
	}
	return out, rows.Err()
}
