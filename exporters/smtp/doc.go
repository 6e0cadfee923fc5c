// Package smtp delivers archived messages through an SMTP server with
// go-smtp's client: unchanged (the CRLF form of the archived bytes, all
// original headers kept), with an explicit envelope (Options.From,
// Options.To), never to the messages' own recipients.
//
// Connections use STARTTLS by default (implicit TLS or none on request)
// and AUTH PLAIN or LOGIN when a user is given. Each message is checked
// against what SMTP and the server can take as it is: no NUL (BINARYMIME
// is not sent), no bare CR, no line over 998 octets, 8-bit body only with
// 8BITMIME (or SMTPUTF8), 8-bit headers only with SMTPUTF8 (MAIL FROM then
// says SMTPUTF8), at most the server's SIZE. A message that fails is
// reported, never re-encoded. A message without a final line break is
// sent (SMTP's DATA ends it with CRLF, so the delivered copy has another
// ID) with a warning.
//
// 4xx answers, and connections lost before a message was complete, are
// retried Options.Retries times with exponential back-off; 5xx answers
// fail the message and the run goes on. A connection lost after the whole
// message went out and before the answer leaves its delivery uncertain: it
// is reported (ErrUncertain), not retried and not recorded. Options.Rate
// paces the messages.
//
// A receipt per message, keyed by ("smtp://host:port", envelope sender,
// sorted recipients, message ID), is committed right after the 250 to its
// DATA, so a rerun sends only what has none. SMTP cannot be asked what it
// already has, so right before the final dot of DATA the message is marked
// as being sent (archive.ReceiptSending): a run killed or interrupted
// before it recorded the answer leaves the mark, and the next run reports
// that message as uncertain (most likely delivered) and does not send it
// again, rather than deliver it twice. A message selected in several
// folders is sent once.
package smtp
