package extract

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Address is a parsed mailbox. Name is empty when the field gave none.
type Address struct{ Name, Addr string }

// Attachment describes one attached (or named inline) part.
type Attachment struct {
	Filename    string // decoded; "" when the part has no name
	ContentType string // lower-case media type without parameters
	Size        int64  // bytes after transfer decoding
}

// Doc is the indexable text of one message.
type Doc struct {
	MessageID                  string // without <>
	Subject                    string
	From, To, Cc, Bcc, ReplyTo []Address
	Date                       time.Time // zero if missing or unparsable
	// Body is the text of every text/plain part and of text/html parts
	// turned into text (one per multipart/alternative), including those
	// of attached messages, whose From/To/Date/Subject come first. Parts
	// are separated by "\n".
	Body        string
	Attachments []Attachment
	// Problems lists what was wrong with the message and how it was
	// worked around: bad encodings, unknown charsets, missing boundaries,
	// limits hit. The Doc is still usable.
	Problems []string
}

// Options bounds the work done on one message. Zero or negative fields
// take the defaults.
type Options struct {
	MaxBodyText int // bytes of Body kept; default 2 MiB
	// MaxBodyWords bounds the words of Body (a Han, kana or Hangul
	// character counts as one); default 150,000. Indexing costs memory per
	// word, not per byte: 2 MiB of one-letter words made an import peak
	// over 150 MB in Bleve's analysis, and phrase queries slow down with
	// the occurrences of a word in one document.
	MaxBodyWords   int
	MaxParts       int // MIME parts examined; default 2000
	MaxDepth       int // multipart / message nesting; default 50
	MaxHeaderBytes int // bytes kept per header block; default 1 MiB
}

// Defaults for Options.
const (
	DefaultMaxBodyText    = 2 << 20
	DefaultMaxBodyWords   = 150_000
	DefaultMaxParts       = 2000
	DefaultMaxDepth       = 50
	DefaultMaxHeaderBytes = 1 << 20
)

// maxProblems bounds Doc.Problems; identical problems are listed once.
const maxProblems = 50

func (o *Options) withDefaults() Options {
	var v Options
	if o != nil {
		v = *o
	}
	def := func(p *int, d int) {
		if *p <= 0 {
			*p = d
		}
	}
	def(&v.MaxBodyText, DefaultMaxBodyText)
	def(&v.MaxBodyWords, DefaultMaxBodyWords)
	def(&v.MaxParts, DefaultMaxParts)
	def(&v.MaxDepth, DefaultMaxDepth)
	def(&v.MaxHeaderBytes, DefaultMaxHeaderBytes)
	return v
}

// Extract reads one raw RFC 5322 message from r and returns its
// indexable text. It streams: memory stays bounded by opts whatever the
// size or shape of the message. Malformed mail never fails; it yields a
// partial Doc with Problems. An error is returned only when r fails; the
// Doc then holds what was extracted before the failure.
func Extract(r io.Reader, opts *Options) (*Doc, error) {
	src := &errReader{r: r}
	x := &extractor{
		opts: opts.withDefaults(),
		doc:  &Doc{},
		seen: map[string]bool{},
	}
	x.body = newTextBuf(x.opts.MaxBodyText)
	x.body.maxWords = x.opts.MaxBodyWords
	x.discard = &textBuf{discard: true}
	buf := bufPool.Get().(*[]byte)
	defer bufPool.Put(buf)
	x.buf = *buf

	s := newScanner(src)
	top := x.walk(s, 0, x.body, false)
	s.release()
	x.finish(top)
	if src.err != nil {
		return x.doc, fmt.Errorf("extract: reading message: %w", src.err)
	}
	return x.doc, nil
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// extractor is the state of one Extract call.
type extractor struct {
	opts    Options
	doc     *Doc
	body    *textBuf
	discard *textBuf
	buf     []byte // copy buffer for text parts
	seen    map[string]bool
	hint    string // first charset declared by any part: for raw 8-bit headers
	parts   int
	stopped bool // MaxParts hit: the rest of the input is drained
}

// problem records a non-fatal problem once.
func (x *extractor) problem(format string, args ...any) {
	if len(x.doc.Problems) > maxProblems {
		return
	}
	p := fmt.Sprintf(format, args...)
	if x.seen[p] {
		return
	}
	x.seen[p] = true
	if len(x.doc.Problems) == maxProblems {
		p = "more problems omitted"
	}
	x.doc.Problems = append(x.doc.Problems, cleanLine(p))
}

// decodeCharset decodes header bytes (encoded words, RFC 2231 values),
// reporting unknown charsets.
func (x *extractor) decodeCharset(label string, b []byte) string {
	s, ok := decodeBytes(label, b)
	if !ok {
		x.problem("unknown charset %q in header", normCharset(label))
	}
	return s
}

// finish decodes the top-level header now that the charset hint is known.
func (x *extractor) finish(top *header) {
	d := x.doc
	if top != nil {
		hint := x.hint
		d.MessageID = x.messageID(top.get("message-id"), hint)
		d.Subject = x.headerText(top.get("subject"), hint)
		d.From = x.addresses(top.all("from"), hint)
		d.To = x.addresses(top.all("to"), hint)
		d.Cc = x.addresses(top.all("cc"), hint)
		d.Bcc = x.addresses(top.all("bcc"), hint)
		d.ReplyTo = x.addresses(top.all("reply-to"), hint)
		if v := top.get("date"); v != "" {
			if t, ok := parseDate(cleanLine(decode8bit([]byte(v), hint))); ok {
				d.Date = t
			} else {
				x.problem("unparsable Date %q", truncateUTF8(cleanLine(decode8bit([]byte(v), hint)), 100))
			}
		}
	}
	if x.body.wordsHit {
		x.problem("body text truncated at %d words", x.opts.MaxBodyWords)
	} else if x.body.truncated {
		x.problem("body text truncated at %d bytes", x.opts.MaxBodyText)
	}
	d.Body = string(x.body.b)
}

// errReader remembers the first error of the source other than io.EOF,
// which is the only way Extract fails.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}
