// Package migrations embeds the forward-only SQL migrations of the project:
// postgres/ for core's PostgreSQL database and, from the delta issue on,
// sqlite/ for the edge replica. Files are numbered, never edited once landed,
// and applied by pressly/goose (see core/store.Migrate) under an advisory
// lock so concurrent core instances cannot race.
package migrations

import "embed"

// Postgres holds core's migrations under the directory "postgres".
//
//go:embed postgres/*.sql
var Postgres embed.FS
