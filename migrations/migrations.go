// Package migrations holds the numbered SQL migrations of both stores,
// embedded so every binary carries the schema it expects. The adapters apply
// them on open, in file name order, each once.
package migrations

import "embed"

// Postgres holds postgres/*.sql.
//
//go:embed postgres/*.sql
var Postgres embed.FS

// SQLite holds sqlite/*.sql.
//
//go:embed sqlite/*.sql
var SQLite embed.FS
