package archive

import (
	"bytes"
	"crypto/sha256"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestHasherNormalisesLineEndings(t *testing.T) {
	crlf := []byte("Subject: x\r\n\r\nline one\r\nline two\r\n")
	lf := []byte("Subject: x\n\nline one\nline two\n")
	mixed := []byte("Subject: x\r\n\nline one\nline two\r\n")
	want := ID(sha256.Sum256(crlf))
	for name, in := range map[string][]byte{"crlf": crlf, "lf": lf, "mixed": mixed} {
		if got := Sum(in); got != want {
			t.Errorf("%s: got %s, want %s", name, got.Short(), want.Short())
		}
	}
	// Only bare LF changes; a lone CR is content.
	if Sum([]byte("a\rb\r\n")) == Sum([]byte("a\r\nb\r\n")) {
		t.Error("a lone CR was normalised")
	}
	h := NewHasher()
	h.Write(lf)
	if h.Size() != int64(len(crlf)) {
		t.Errorf("normalised size %d, want %d", h.Size(), len(crlf))
	}
}

func TestHasherChunkBoundaries(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		msg := make([]byte, rng.IntN(300))
		for j := range msg {
			msg[j] = "ab\r\n"[rng.IntN(4)]
		}
		want := sha256.Sum256(normaliseSlow(msg))
		h := NewHasher()
		rest := msg
		for len(rest) > 0 {
			n := 1 + rng.IntN(len(rest))
			h.Write(rest[:n])
			rest = rest[n:]
		}
		if got := h.Sum(); got != ID(want) {
			t.Fatalf("message %q: chunked hash differs", msg)
		}
	}
}

// normaliseSlow is the specification, byte by byte.
func normaliseSlow(p []byte) []byte {
	var b bytes.Buffer
	for i, c := range p {
		if c == '\n' && (i == 0 || p[i-1] != '\r') {
			b.WriteByte('\r')
		}
		b.WriteByte(c)
	}
	return b.Bytes()
}

func TestParseID(t *testing.T) {
	id := Sum([]byte("x"))
	got, err := ParseID(id.String())
	if err != nil || got != id {
		t.Fatalf("ParseID(String()) = %v, %v", got, err)
	}
	for _, bad := range []string{"", "xyz", id.String()[:63], id.String() + "0", "zz" + id.String()[2:]} {
		if _, err := ParseID(bad); err == nil {
			t.Errorf("ParseID(%q) succeeded", bad)
		}
	}
}

func FuzzHasher(f *testing.F) {
	f.Add([]byte("a\r\nb\nc\r\r\n"), uint8(3))
	f.Fuzz(func(t *testing.T, msg []byte, split uint8) {
		want := ID(sha256.Sum256(normaliseSlow(msg)))
		h := NewHasher()
		at := int(split)
		if at > len(msg) {
			at = len(msg)
		}
		h.Write(msg[:at])
		h.Write(msg[at:])
		if h.Sum() != want {
			t.Fatalf("hash of %q split at %d differs from the specification", msg, at)
		}
		if h.Size() != int64(len(normaliseSlow(msg))) {
			t.Fatalf("size differs")
		}
	})
}

func FuzzHeaderInfo(f *testing.F) {
	for _, s := range []string{
		"Subject: =?GBK?B?0K3S6Q==?=\r\n folded\r\nFrom: a@b\r\n\r\nbody",
		"Message-ID: <a@b>\nDate: Mon, 02 Jan 2006 15:04:05 +0000\n\n",
		"no header at all",
		"Subject: =?unknown?Q?x?=\r\n\r\n",
		"\x00\xff: \xfe\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		var c headCapture
		c.Write(head)
		h := parseHeaderInfo(c.buf)
		for _, s := range []string{h.Subject, h.From, h.MessageID} {
			if !utf8.ValidString(s) {
				t.Fatalf("not valid UTF-8: %q", s)
			}
		}
		if strings.ContainsRune(h.Subject+h.From, 0) {
			t.Fatalf("NUL in decoded text: %q %q", h.Subject, h.From)
		}
		if len(c.buf) > maxHeadCapture {
			t.Fatalf("captured %d bytes", len(c.buf))
		}
	})
}
