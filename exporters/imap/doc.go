// Package imap exports archived messages to an IMAP server with APPEND
// (go-imap v2's imapclient), keeping folders, flags (keywords too; never
// \Recent) and INTERNALDATE, and the bytes: each message goes in its CRLF
// form (see package exporters), so the server's copy has the archive's ID.
//
// # Target folders
//
// A source folder account/A/B becomes the target folder A/B; Options.Prefix
// puts everything below a folder ("%a" in it: the account), and
// Options.FolderMap renames a folder with its subfolders (Namer). The
// canonical '/'-separated name is translated to the server's delimiter
// (LIST "" "") and personal namespace prefix (NAMESPACE); a level holding
// the delimiter cannot be named (use a folder map), and U+2215, which the
// IMAP importer writes for a '/' inside a level, becomes '/' again where
// the delimiter is something else. imapclient encodes names to modified
// UTF-7 itself (or sends UTF-8 after ENABLE UTF8=ACCEPT), so names are
// handled as UTF-8 here. Missing folders are CREATEd and SUBSCRIBEd.
//
// # Receipts and reconciliation
//
// The server's OK to an APPEND is the only thing that records a receipt
// (with the APPENDUID where the server has UIDPLUS), keyed by
// ("imap://host:port", user, target folder, message ID). Receipts are
// committed in batches of Options.ReceiptBatch (32) or every
// Options.ReceiptInterval (500 ms): a kill between an OK and the commit of
// its batch leaves at most those receipts, plus the APPENDs in flight,
// unrecorded. So every run, before appending into a folder that exists,
// reconciles it (see locate): the selected messages without a receipt are
// looked for by Message-ID (or, without one, the absence of one) and
// RFC822.SIZE, candidates are fetched and hashed, and an exact match is
// recorded as found instead of being appended again. Thus no message is
// appended twice across any sequence of killed and resumed runs, as long as
// the server stores the bytes it is given; a server that rewrites messages
// on APPEND defeats the byte comparison, and there a kill can duplicate at
// most the messages whose receipts were not yet committed. The same
// reconciliation resolves the APPENDs in flight when a connection drops
// (after Options.ReconnectDelay, so the server can finish what it got):
// those found are recorded, the others sent again.
//
// Messages IMAP cannot carry unchanged are reported and not sent: one with
// a NUL byte (an IMAP literal cannot hold it, and imapclient has no literal8
// APPEND), one with a bare CR (servers store lines; Dovecot drops a final
// CR), and one above the server's APPENDLIMIT (sending it would only earn
// NO [TOOBIG], and imapclient drops the connection when a synchronising
// literal is refused).
//
// # Pipelining
//
// imapclient has no MULTIAPPEND, but its Append holds the connection only
// while the command and literal are written, and its Wait may run in
// another goroutine. So each connection has a sender that writes APPEND
// after APPEND and a receiver that collects the tagged answers in order,
// up to Options.Window in flight. imapclient sends a literal without
// waiting for "+" only up to 4 KiB (and only when the server has LITERAL+
// or LITERAL-), so a larger message costs a round trip on its connection
// whatever the window.
//
// Options.Connections connections work in parallel, each on whole target
// folders, largest first: servers lock a mailbox for each APPEND (Dovecot's
// maildir takes its dovecot-uidlist lock), so several connections on one
// folder wait for each other, while connections on different folders keep
// both the server's processes and the exporter busy. Within its folder a
// connection keeps the archive's order, so the target's UIDs follow it.
// Each connection SELECTs the folder it appends to: Dovecot then saves into
// the mailbox it has open instead of opening and syncing it for every
// APPEND, about half its work per message. BenchmarkExportIMAP compares
// settings with a one-APPEND-at-a-time loop (imapsync's way) in one run.
//
// # Verification
//
// With Options.Verify, every selected message with a receipt is looked up
// on the server afterwards: by UID FETCH RFC822.SIZE where the receipt has
// a UID and the folder its UIDVALIDITY, else by Message-ID and size. One
// that is missing loses its receipt (the next run appends it again) and
// counts as a failure, as does one with another size.
package imap
