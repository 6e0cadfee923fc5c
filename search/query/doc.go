// Package query implements mailark's search language, in the style of
// notmuch and Gmail. Parse turns a query into a Node (whose String is the
// canonical form of the query), and Compile turns a Node into a Bleve query
// over the fields of package search. Bleve's own query-string syntax is
// never exposed. The sections below are the user's reference of the
// language; the CLI help and the README quote them.
//
// # Search language
//
// A query is a list of terms. A message matches when it matches every
// term. An empty query, or *, matches all messages.
//
//	invoice acme                 both words
//	"quarterly report"           the words next to each other, in this order
//	invoic*                      a word that starts with "invoic"
//	from:alice has:attachment    both conditions
//	invoice OR receipt           either
//	invoice -draft               invoice, but not draft (also: NOT draft)
//	(invoice OR receipt) 2019    parentheses group
//
// # Words and phrases
//
// A word or a "quoted phrase" without a field searches the subject, the
// From, To and Cc headers (names and addresses), the body and the file
// names of attachments. Case does not matter, and full-width and
// half-width forms are the same. Words are not stemmed: invoice does not
// find invoices (use invoice*).
//
// A word with punctuation inside, such as a URL or an address
// (https://example.com/news, alice@example.org, e-mail), is split into
// parts the way the text was split when it was indexed, and all parts must
// occur in the same field; quote it to require them next to each other.
// Words without letters or digits (such as - or &) are ignored.
//
// Chinese, Japanese and Korean text is indexed as overlapping pairs of
// characters. A word such as 会议室 matches a field that contains all of its
// pairs (会议 and 议室), so text that has only 会议 does not match; quote
// it, "会议室", to require the exact sequence.
//
// A * at the end of a word searches for a prefix: invoic* finds invoice
// and invoicing. A * anywhere else, or inside quotes, has no special
// meaning.
//
// # Fields
//
// A term field:value searches one field. Field names are not case
// sensitive. A value with spaces or parentheses is quoted
// (folder:"Sent Items"); a value of a text field in quotes is a phrase
// (subject:"quarterly report"). A * at the end of the value searches for a
// prefix, except in is:, has:, date: and size:.
//
//	from:  to:  cc:  bcc:  sender and recipients. A value with an @ is an
//	                       address: the exact address in any case, or the
//	                       address in the header (from:alice@example.org).
//	                       Other values are words of names and addresses:
//	                       from:alice finds "Alice Smith <asmith@x.org>"
//	                       and alice@example.org.
//	subject:  body:        the subject, the text of the body
//	filename:              file names of attachments. A word also matches
//	                       the parts of a name between dots: filename:pdf
//	                       finds report.pdf.
//	mimetype:              MIME type of an attachment, exact, in any case
//	                       (mimetype:application/pdf, mimetype:image/*)
//	folder:                a folder, exact and case sensitive
//	                       (folder:INBOX, folder:Archive/2019, folder:收件箱,
//	                       folder:"Reçus & Factures")
//	account:               an account, exact and case sensitive. With
//	                       account: in the same AND group, folder: means
//	                       that account's folder: account:work folder:INBOX
//	                       finds work's INBOX only, also inside parentheses
//	                       and after -.
//	id:                    the Message-ID, exact, with or without <>
//	tag:  keyword:         an IMAP keyword or flag, exact and case
//	                       sensitive (tag:$Label1, tag:\Seen)
//	is:                    is:flagged, is:seen (or is:read), is:unread (not
//	                       seen), is:answered, is:draft, is:deleted
//	has:attachment         messages with attachments
//	date:  after:  before: the date of the message (see Dates)
//	size:                  the size of the message in bytes (see Sizes)
//
// A word whose part before a colon is not a field name, such as
// https://example.com or foo:bar, is an ordinary word.
//
// # Dates
//
// A date is a year (2019), a month (2019-06) or a day (2019-06-15), in
// local time; "/" may replace "-" and month and day may have one digit
// (2019/6/5). A date stands for the whole period, from its first instant up
// to the first instant after it.
//
//	date:2019              during 2019
//	date:2019..2021-06     from the start of 2019 to the end of June 2021
//	date:2019-06-15..      on or after 15 June 2019
//	date:..2019            up to the end of 2019
//	after:2019-06-15       on or after 15 June 2019 (the same as date:2019-06-15..)
//	before:2019-06-15      before 15 June 2019, that day excluded
//
// # Sizes
//
// A size is a whole number with an optional unit: k or K (1024 bytes),
// m or M (1024 k), g or G (1024 M); no unit means bytes.
//
//	size:>1M               larger than 1 MiB (1048576 bytes)
//	size:>=1M              1 MiB or larger
//	size:<10k  size:<=10k  smaller than, at most 10 KiB
//	size:1M..5M            from 1 MiB to 5 MiB, both included
//	size:1M..  size:..5M   at least 1 MiB, at most 5 MiB
//	size:2048              exactly 2048 bytes
//
// # Operators
//
// Terms next to each other must all match; AND may be written between
// them. OR matches either side and binds more loosely than AND:
// a OR b c means a OR (b AND c). NOT x and -x exclude what x matches; a
// query of only exclusions, like -spam, searches all messages.
// Parentheses group. Operators are recognised only in upper case; in lower
// case, or, and and not are ordinary words. A - excludes only at the start of a term: e-mail is
// a word, and a lone - is ignored.
//
// # Quotes
//
// Double quotes make a phrase and let a value hold spaces, parentheses and
// colons. Inside quotes, \" is a quote and \\ a backslash; any other
// backslash is itself.
//
// # Errors
//
// A query that cannot be read is an error that gives the byte position
// (counted from 0) and what was expected there: unbalanced parentheses, a
// quote that is not closed, OR, AND or NOT without a term on one side, a
// field without a value (from:), an unknown is: or has: value, or a bad
// date or size. For example:
//
//	(from:x         query: at position 7: expected ")" after "(from:x"
//	a OR            query: at position 4: expected a term after "OR", found end of query
//	date:2019-13    query: at position 10: expected a month from 01 to 12, found "13"
package query
