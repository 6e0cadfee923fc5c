// Package exporters holds what every exporter shares: reading an archived
// message for sending (Body), the receipts journal, and the per-folder
// report. The exporters themselves are one package per format:
// exporters/imap (APPEND), exporters/smtp, exporters/mbox, exporters/eml.
// Each consumes an *archive.Selection (archive.Select: --account,
// --folder, --query) and depends on nothing of the project but archive.
//
// # Bytes
//
// The archive keeps each message's bytes exactly as received, and its ID
// is the SHA-256 of those bytes with every LF not preceded by CR made CRLF.
// IMAP and SMTP carry that CRLF form (sizes are counted that way, and the
// copy a server stores has the same ID); mbox and .eml files get the bytes
// as stored (mbox framing aside). Every exporter checks each message
// against its ID while reading it and refuses a damaged file (ErrDamaged)
// rather than send something else under its name.
//
// # Receipts
//
// A receipt (archive.Receipt) records that a target confirmed a message:
// per (target server, user, target folder or recipients, message ID). The
// network exporters skip messages with a receipt, which makes reruns and
// resumed runs idempotent, and record receipts only after the server's
// confirmation, in small batches (Journal). The file exporters write whole
// files each time and need none.
//
// # Report
//
// A Report has one FolderReport per target folder: selected, done
// (appended, sent, written), already there by receipt, found there by
// reconciliation, selected twice for the same target (done once), failed,
// and left (an interrupted run did not get to them), in messages and bytes,
// plus the verification where one ran; and the per-message problems.
package exporters
