package archive

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
)

// ID is a message's identity: the SHA-256 of its bytes with every LF that
// is not already preceded by CR turned into CRLF. Nothing else is
// normalised, so two messages with the same ID are the same message as far
// as IMAP and SMTP can tell (both carry CRLF on the wire).
type ID [32]byte

// String returns the full lower-case hex form used in file names.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Short returns a 12-hex-digit prefix for people to read and type.
func (id ID) Short() string { return id.String()[:12] }

// IsZero reports whether id is the zero value.
func (id ID) IsZero() bool { return id == ID{} }

// ParseID parses the 64-digit hex form.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 64 {
		return id, fmt.Errorf("parsing id %q: want 64 hex digits, got %d characters", s, len(s))
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("parsing id %q: %w", s, err)
	}
	return id, nil
}

// Hasher computes an ID over a stream of message bytes. It is an io.Writer
// that keeps the one byte of state the normalisation needs across writes.
type Hasher struct {
	h      hash.Hash
	lastCR bool
	n      int64 // normalised size
}

// NewHasher returns a Hasher ready for writing.
func NewHasher() *Hasher { return &Hasher{h: sha256.New()} }

// Write feeds p to the hash, inserting CR before each bare LF. Runs
// without bare LFs (the common CRLF case) go to SHA-256 in one call.
func (x *Hasher) Write(p []byte) (int, error) {
	start, off := 0, 0
	for {
		i := bytes.IndexByte(p[off:], '\n')
		if i < 0 {
			break
		}
		i += off
		prevCR := x.lastCR
		if i > 0 {
			prevCR = p[i-1] == '\r'
		}
		if !prevCR {
			x.write(p[start:i])
			x.write(crlf)
			start = i + 1
		}
		off = i + 1
	}
	x.write(p[start:])
	return len(p), nil
}

var crlf = []byte("\r\n")

func (x *Hasher) write(p []byte) {
	if len(p) == 0 {
		return
	}
	x.h.Write(p)
	x.n += int64(len(p))
	x.lastCR = p[len(p)-1] == '\r'
}

// Sum returns the ID of everything written so far.
func (x *Hasher) Sum() ID {
	var id ID
	x.h.Sum(id[:0])
	return id
}

// Size returns the size of the normalised (CRLF) form: what IMAP reports as
// RFC822.SIZE and what SMTP sends.
func (x *Hasher) Size() int64 { return x.n }

// Sum computes the ID of a whole message in memory; for tests and small inputs.
func Sum(p []byte) ID {
	h := NewHasher()
	h.Write(p)
	return h.Sum()
}
