package archive

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"

	_ "modernc.org/sqlite" // registers the "sqlite" driver (pure Go, no cgo)
)

// schemaVersion is stored in PRAGMA user_version; bump it with a migration.
const schemaVersion = 1

// The catalog is derived from the Maildir files except for sync_state,
// runs and receipts, which only the catalog holds (see docs/format.md).
const schema = `
CREATE TABLE IF NOT EXISTS messages (
	id          INTEGER PRIMARY KEY,
	hash        BLOB    NOT NULL UNIQUE,   -- ID: SHA-256 of the CRLF-normalised bytes
	size        INTEGER NOT NULL,          -- bytes as stored in the file
	crlf_size   INTEGER NOT NULL,          -- bytes as sent over IMAP/SMTP
	message_id  TEXT    NOT NULL DEFAULT '', -- Message-ID header without <>
	date        INTEGER,                   -- Date header, unix seconds; NULL if none
	subject     TEXT    NOT NULL DEFAULT '',
	from_addr   TEXT    NOT NULL DEFAULT '',
	path        TEXT    NOT NULL,          -- first stored copy, relative to ARCHIVE/maildir
	added       INTEGER NOT NULL,          -- when archived, unix seconds
	indexed     INTEGER NOT NULL DEFAULT 0, -- 1 once the search index has this version
	version     INTEGER NOT NULL DEFAULT 0  -- bumped when folders or flags change
);
CREATE INDEX IF NOT EXISTS messages_message_id ON messages(message_id) WHERE message_id <> '';
CREATE INDEX IF NOT EXISTS messages_unindexed ON messages(id) WHERE indexed = 0;

CREATE TABLE IF NOT EXISTS folders (
	id          INTEGER PRIMARY KEY,
	account     TEXT    NOT NULL,
	name        TEXT    NOT NULL,          -- canonical IMAP name, '/' separator, UTF-8
	uidvalidity INTEGER NOT NULL,
	uidnext     INTEGER NOT NULL DEFAULT 1,
	UNIQUE (account, name)
);

CREATE TABLE IF NOT EXISTS entries (
	folder_id     INTEGER NOT NULL REFERENCES folders(id),
	uid           INTEGER NOT NULL,
	message       INTEGER NOT NULL REFERENCES messages(id),
	flags         TEXT    NOT NULL DEFAULT '', -- normalised IMAP flags and keywords, space separated
	internal_date INTEGER NOT NULL,            -- unix seconds
	filename      TEXT    NOT NULL,            -- base name in the folder's cur/
	PRIMARY KEY (folder_id, uid),
	UNIQUE (folder_id, message)
);
CREATE INDEX IF NOT EXISTS entries_message ON entries(message);

CREATE TABLE IF NOT EXISTS near_dups (
	message_id TEXT    NOT NULL,
	a          INTEGER NOT NULL REFERENCES messages(id),
	b          INTEGER NOT NULL REFERENCES messages(id),
	PRIMARY KEY (a, b)
);

CREATE TABLE IF NOT EXISTS sync_state (
	source TEXT NOT NULL,   -- e.g. "mbox:/path", "imap:host/user/INBOX"
	key    TEXT NOT NULL,
	value  TEXT NOT NULL,
	PRIMARY KEY (source, key)
);

CREATE TABLE IF NOT EXISTS source_refs (
	source  TEXT    NOT NULL,
	ref     TEXT    NOT NULL, -- IMAP UID, POP3 UIDL, ...
	message INTEGER NOT NULL REFERENCES messages(id),
	PRIMARY KEY (source, ref)
);

CREATE TABLE IF NOT EXISTS runs (
	id        INTEGER PRIMARY KEY,
	command   TEXT    NOT NULL,
	args      TEXT    NOT NULL DEFAULT '',
	user      TEXT    NOT NULL DEFAULT '',
	host      TEXT    NOT NULL DEFAULT '',
	pid       INTEGER NOT NULL DEFAULT 0,
	started   INTEGER NOT NULL,
	finished  INTEGER,
	status    TEXT    NOT NULL DEFAULT 'running', -- running, ok, partial, failed, interrupted
	new       INTEGER NOT NULL DEFAULT 0,
	linked    INTEGER NOT NULL DEFAULT 0,
	existing  INTEGER NOT NULL DEFAULT 0,
	near_dups INTEGER NOT NULL DEFAULT 0,
	failed    INTEGER NOT NULL DEFAULT 0,
	bytes     INTEGER NOT NULL DEFAULT 0,
	report    TEXT    NOT NULL DEFAULT ''  -- JSON: per-message problems
);

CREATE TABLE IF NOT EXISTS receipts (
	target      TEXT    NOT NULL,           -- "imap://host:port", "smtp://host:port"
	user        TEXT    NOT NULL,           -- IMAP login; SMTP envelope sender
	folder      TEXT    NOT NULL,           -- IMAP target mailbox; SMTP sorted recipients
	message     BLOB    NOT NULL,           -- ID (SHA-256), not a row id: survives reindex
	uidvalidity INTEGER NOT NULL DEFAULT 0, -- APPENDUID (UIDPLUS) or found by reconciliation; 0 unknown
	uid         INTEGER NOT NULL DEFAULT 0,
	size        INTEGER NOT NULL,           -- bytes sent (CRLF)
	how         TEXT    NOT NULL,           -- appended, found, sent
	run         INTEGER NOT NULL DEFAULT 0, -- runs.id
	at          INTEGER NOT NULL,           -- unix seconds
	PRIMARY KEY (target, user, folder, message)
);
`

// openCatalog opens catalog.db. WAL lets readers (stats, search) run while
// one writer imports; synchronous=FULL makes every commit durable, which is
// what lets a checkpoint or a POP3 DELE follow it safely.
func openCatalog(ctx context.Context, path string, readOnly bool) (*sql.DB, error) {
	if !readOnly {
		// Mail is private: create the catalog 0600 (SQLite gives its -wal
		// and -shm files the same mode) instead of following the umask.
		f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("creating catalog %s: %w", path, err)
		}
		f.Close()
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	if readOnly {
		q.Add("mode", "ro")
		// Readers look rows up at random (a search's hits): mapped, a page
		// costs no read call and no copy, a millisecond of a 12 ms search.
		// SQLite maps at most this much and reads the rest.
		q.Add("_pragma", "mmap_size(1073741824)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(FULL)")
	}
	dsn := "file:" + path + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening catalog %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening catalog %s: %w", path, err)
	}
	if readOnly {
		return db, nil
	}
	// One writer connection: the importer's batch transaction is the only
	// writer, and SQLite serialises writers anyway.
	db.SetMaxOpenConns(1)
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		db.Close()
		return nil, fmt.Errorf("reading catalog version: %w", err)
	}
	if v > schemaVersion {
		db.Close()
		return nil, fmt.Errorf("catalog %s has schema version %d; this mailark knows up to %d: upgrade mailark", path, v, schemaVersion)
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("creating catalog schema: %w", err)
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
		db.Close()
		return nil, fmt.Errorf("setting catalog version: %w", err)
	}
	return db, nil
}
