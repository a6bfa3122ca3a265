package migrations

import "embed"

// SQLite holds the edge replica's migrations under the directory "sqlite",
// applied by edge/replica.Open with pressly/goose (dialect sqlite3).
//
//go:embed sqlite/*.sql
var SQLite embed.FS
