// Package imapserver serves a mailark archive read-only over IMAP
// (IMAP4rev1 with NAMESPACE, BINARY, CHILDREN, IDLE, UNSELECT), on
// go-imap v2's imapserver with a Session over the catalog (folders, UIDs,
// flags, dates, sizes), the Maildir files (bodies, streamed) and the
// search index (SEARCH TEXT and BODY).
//
// # Read-only
//
// SELECT and EXAMINE both answer [READ-ONLY]; STORE, APPEND, COPY, MOVE,
// EXPUNGE, CREATE, DELETE, RENAME, SUBSCRIBE and UNSUBSCRIBE are refused
// with NO [NOPERM] or NO [CANNOT]; CLOSE works and removes nothing. No
// client command writes a file, a flag or a catalog row; \Seen is never
// set by FETCH.
//
// # Mailboxes
//
// A user mapped to one account sees its folders as they are; one mapped
// to several sees one top-level mailbox per account ("work/INBOX"). The
// delimiter is "/". UIDVALIDITY and UIDs are the catalog's, stable across
// restarts.
//
// # Limits
//
// Connections are limited in total and per remote address; each
// connection has a command rate limit, a login deadline and go-imap's
// read timeouts; failed logins are delayed progressively per address and
// per user. See guardConn for the transport rules (STARTTLS,
// LOGINDISABLED, literal sizes) and Config for the numbers.
package imapserver
