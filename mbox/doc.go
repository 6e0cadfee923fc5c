// Package mbox reads and writes Unix mbox files as a stream, in constant
// memory whatever the size of the file or of its lines.
//
// It exists because github.com/emersion/go-mbox alters messages (it quotes
// only "From " lines, adds blank lines on every cycle and splits on any line
// starting with "From "); see shared/LIBNOTES.md §6.
//
// # From_ line
//
// Each message starts with a From_ line: "From ", an envelope sender token,
// and the delivery date in asctime form ("Mon Jan _2 15:04:05 2006"). asctime
// has no zone: the reader takes it as UTC, which the writer uses (some
// mailers wrote local time; the file does not say).
// The reader also accepts the variants that Thunderbird, Google Takeout and
// others write: a numeric or named zone before or after the year
// ("Sat Jan 03 12:00:00 +0000 2015"), a missing seconds field, and extra
// trailing fields. A From_ line, line feed included, is at most 1024 bytes;
// the bound keeps the reader's look-ahead constant.
//
// # Separator
//
// A line starting with "From " separates messages only if it is the first
// line of the input, or if it follows an empty line ("\n" or "\r\n") and the
// rest of it is a sender token followed by a date as above. The second
// condition keeps mboxo files with an unquoted "From " at the start of a
// paragraph in one piece. The empty line before a separator, and one empty
// line at the end of the input, belong to the framing: the message does not
// include them (only that one line: a message that ended with two empty lines
// keeps one).
//
// # Quoting
//
// mboxrd (the default, [MboxRD]) escapes every body line matching
// `^>*From ` with one more ">", which makes quoting reversible: the reader
// removes one ">" from lines matching `^>+From `. mboxo ([MboxO]) escapes
// only `^From `, so it is not reversible; its reader removes one ">" from
// lines matching `^>From ` only. The two formats cannot be told apart from
// the file: the caller chooses. The writer always writes mboxrd.
//
// # Bytes kept and bytes changed
//
// The reader returns the message bytes as they are in the file, line endings
// (LF or CRLF), NUL bytes and a missing final newline included; it only
// removes the framing above. The writer writes LF line endings: it converts
// each CRLF to LF unless the CR is itself preceded by a CR (converting
// "\r\r\n" would change the message's identity, the SHA-256 of its bytes with
// every bare LF made CRLF), and it ends a non-empty message without a final
// newline with one. A bare CR is kept. So for every body b, reading back what
// the writer wrote gives b with those two changes, and the same identity as b
// with a final newline.
//
// # Damaged input
//
// An input that does not start with "From " (leading garbage, or not an
// mbox at all) makes the first [Reader.Next] return a [*FormatError] rather
// than one message of garbage; calling Next again skips to the first
// separator and goes on, so an importer can record the error and continue.
// An input that ends in the middle of a line returns that last line as it
// is, without a newline: the reader adds no bytes.
//
// # Offsets and resuming
//
// [Message.Offset] is the offset of the message's From_ line and
// [Message.End] the offset just past the message (where the next From_ line
// or the end of the input starts). To resume an import at a recorded End x,
// seek the file to x and pass ReaderOptions{BaseOffset: x}: offsets stay
// absolute, and the first line read must be a From_ line.
package mbox
