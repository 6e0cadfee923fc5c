// Package pop3 fetches a POP3 maildrop into the archive, with a small
// client of its own (RFC 1939, RFC 2449 CAPA, RESP-CODES and PIPELINING,
// RFC 2595 STLS, RFC 5034 SASL AUTH).
//
// The one Go POP3 library available, knadh/go-pop3, does not unstuff dots,
// splits long lines and holds whole messages in memory (LIBNOTES.md §9);
// net/textproto's DotReader turns CRLF into LF. This client streams every
// message byte for byte instead, on net and bufio: one file per concern
// (conn.go: dialling, TLS, timeouts; auth.go; capa.go; list.go; retr.go;
// dele.go; response.go: status lines and errors; dot.go: the unstuffer).
//
// # Terms
//
// Maildrop: the mailbox a POP3 session sees (RFC 1939), the INBOX.
//
// Message number: how a session names a message, 1..n; valid in that
// session only, since deletions and new mail renumber the next one.
//
// UIDL: the unique-id a server gives a message (RFC 1939 §7), the same in
// every session. It is the message's ref in the archive, under the source
// "pop3:<host>/<user>" (SourceName): what is recorded is never fetched
// again. A server without UIDL gets everything fetched, and the archive's
// content-addressed dedup recognises what it has.
//
// UPDATE state: what a session enters on QUIT, and the only moment the
// server removes the messages DELE marked (RFC 1939 §6). A session that
// ends any other way removes nothing.
//
// # Deleting safely
//
// With Config.Delete, a message is marked with DELE only once its delivery
// is committed in the archive (the importer commits the writer, and the
// writer's AfterCommit hooks say what became durable), and QUIT follows
// only after the marking. A crash, a kill, a lost connection or a failed
// commit before QUIT therefore deletes nothing, and the next run, knowing
// the UIDLs, deletes what is archived.
//
// # Errors
//
// A -ERR answer is an *Error with its RFC 2449/3206 response code ([AUTH],
// [IN-USE], [SYS/TEMP], ...): the session goes on. An answer that is not
// POP3 is a *ProtocolError, and a broken connection an I/O error: the
// session is then dead (Client.Err), and the importer reconnects. The
// importer also starts a new session, after a pause, when the greeting,
// the login or LIST is answered with [IN-USE] or [SYS/TEMP]; other -ERR
// answers to them end the run.
package pop3
