// Package imap imports mail from an IMAP server into the archive, read-only
// and incrementally.
//
// # Connections
//
// A connection is implicit TLS, STARTTLS (refused if the server does not
// offer it) or, only when asked for, plain. Login is AUTHENTICATE PLAIN
// when offered, else LOGIN; XOAUTH2 and OAUTHBEARER send the password
// source's value as the bearer token. Every connection reads through an
// idle watchdog (idleConn): while a command is outstanding, each read may
// wait at most Options.IdleTimeout for the next bytes, however long the
// whole response takes. imapclient's own deadlines (30 s per response,
// 5 min per literal, not extended while bytes flow) are replaced by it, so
// a 30 MB message on a slow link is fine and a stalled server is noticed.
// A dropped or stalled connection is reopened with exponential back-off and
// the work goes on from the first UID not yet received.
//
// # Folders
//
// LIST "" "*" gives the folders; imapclient decodes modified UTF-7, and the
// server's delimiter becomes '/', mailark's canonical separator. A '/'
// inside a name on a server with another delimiter becomes U+2215 (∕), so
// that it cannot turn into a level of hierarchy. \Noselect and \NonExistent
// folders are skipped; special-use attributes are logged and reported.
//
// # Checkpoints
//
// The sync state of a folder lives under the source
// "imap:<host>/<user>/<folder>" (folder in canonical form) with keys
//
//	uidvalidity  the folder's UIDVALIDITY when lastuid was recorded
//	lastuid      every UID <= lastuid was archived, found gone, or is in failed
//	failed       UIDs that could not be archived (ranges "3,7:9"), retried next run
//
// and every message records a source_refs row (ref "<uidvalidity>:<uid>").
// The writer goroutine stages these values with the deliveries they
// describe, so they become durable in the same catalog transaction. A rerun
// costs one EXAMINE per folder when UIDNEXT shows nothing above lastuid;
// otherwise one UID FETCH lastuid+1:* (UID RFC822.SIZE) lists the new
// messages. A changed UIDVALIDITY rescans the folder from UID 1; dedup
// makes the messages already archived "already archived".
//
// # Goroutines
//
// Run starts Options.Connections workers, each with its own connection,
// and one writer goroutine. Workers take jobs from a shared queue: "examine
// a folder" (EXAMINE, list the new UIDs, queue fetch batches) and "fetch a
// batch" (UID FETCH of at most BatchMessages UIDs or BatchBytes, with
// BODY.PEEK[] FLAGS INTERNALDATE RFC822.SIZE), so a large folder is shared
// by all connections. A worker streams each literal into Writer.Spool (a
// temporary file, hashed on the way; never the whole message in memory)
// and, once the message's response is complete, hands it to the writer,
// which alone calls DeliverSpooled and SetState. Per folder, the writer
// moves lastuid over the sorted list of UIDs to fetch only as far as every
// UID is delivered, gone or recorded as failed, whatever order the
// connections deliver in.
package imap
