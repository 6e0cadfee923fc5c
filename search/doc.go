// Package search keeps mailark's full-text index: one Bleve document per
// unique message, keyed by its ID (SHA-256 hex), with the fields in
// mapping.go. The index is derived data: the catalog marks what is not yet
// indexed (or changed since), Sync catches up, and a rebuild starts from
// nothing.
//
// # Concurrency
//
// Bleve keeps an exclusive lock on the index, so only the process that
// owns the archive (the importer, or the server) writes it. Other
// processes may open it read-only; while a writer holds it, OpenReadOnly
// fails after a short wait with ErrBusy instead of hanging.
package search
