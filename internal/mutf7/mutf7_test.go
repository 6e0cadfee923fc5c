package mutf7

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// pairs are canonical encodings; the first five are RFC 3501 §5.1.3's and
// the task's examples. They also seed the fuzz corpora.
var pairs = []struct{ dec, enc string }{
	{"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
	{"&", "&-"},
	{"Entwürfe", "Entw&APw-rfe"},
	{"收件箱", "&ZTZO9nux-"},
	{"Reçus & Factures", "Re&AOc-us &- Factures"},
	{"", ""},
	{"INBOX", "INBOX"},
	{" !~", " !~"},
	{"😀", "&2D3eAA-"},                            // U+1F600: surrogate pair D83D DE00
	{"a😀é b", "a&2D3eAADp- b"},                   // pair and BMP in one section
	{"日本語&", "&ZeVnLIqe-&-"},                     // "-&-" is a literal '&', not a null shift
	{"é é", "&AOk- &AOk-"},                       // one section per run
	{"a\tb\x00\x7f", "a&AAk-b&AAAAfw-"},          // controls and DEL are not direct
	{"&&-", "&-&--"},                             // '-' is direct
	{"\uFFFD", "&,,0-"},                          // the replacement character itself
	{"\U0010FFFF", "&2,,f,w-"},                   // the last code point
	{strings.Repeat("я", 5), "&BE8ETwRPBE8ETw-"}, // lengths 0, 1, 2 mod 3 bytes
}

func TestEncodeDecode(t *testing.T) {
	for _, p := range pairs {
		if got := Encode(p.dec); got != p.enc {
			t.Errorf("Encode(%q) = %q, want %q", p.dec, got, p.enc)
		}
		if got, err := Decode(p.enc); err != nil || got != p.dec {
			t.Errorf("Decode(%q) = %q, %v; want %q", p.enc, got, err, p.dec)
		}
	}
}

// TestEncodeInvalidUTF8 checks that each bad byte becomes U+FFFD.
func TestEncodeInvalidUTF8(t *testing.T) {
	if got, want := Encode("a\xff\xfeb"), Encode("a\uFFFD\uFFFDb"); got != want {
		t.Errorf("Encode(invalid) = %q, want %q", got, want)
	}
}

// TestDecodeRejects lists what RFC 3501 forbids or is not canonical.
func TestDecodeRejects(t *testing.T) {
	for _, s := range []string{
		"&",           // unterminated
		"a&ZeVnLIqe",  // unterminated
		"&A-",         // 6 bits: no whole byte
		"&AA-",        // one byte: no whole UTF-16 unit
		"&AOkA-",      // three bytes
		"&AOl-",       // non-zero padding bits
		"&AOk=-",      // padding
		"&AO?-",       // outside the alphabet
		"&AO/k-",      // '/' instead of ','
		"&AO\nk-",     // encoding/base64 would skip the newline
		"&AGE-",       // 'a' in base64
		"&ACY-",       // '&' in base64
		"&AOk-&AOk-",  // null shift
		"&2D0-",       // lone high surrogate
		"&3gA-",       // lone low surrogate
		"&2D0AQQ-",    // high surrogate then 'A'
		"&2D3YPQ-",    // high surrogate then high surrogate
		"ä",           // raw UTF-8
		"a\tb",        // raw control
		"\x7f",        // raw DEL
		"Entw\xfcrfe", // raw Latin-1
	} {
		got, err := Decode(s)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("Decode(%q) = %q, %v; want ErrInvalid", s, got, err)
		}
	}
	_, err := Decode("ab&AOk")
	if want := "mutf7: decoding at byte 2: base64 section without closing '-': invalid modified UTF-7"; err == nil || err.Error() != want {
		t.Errorf("error text %q, want %q", err, want)
	}
}

func FuzzRoundTrip(f *testing.F) {
	for _, p := range pairs {
		f.Add(p.dec)
	}
	f.Add("a\xffb")
	f.Fuzz(func(t *testing.T, s string) {
		enc := Encode(s)
		dec, err := Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Encode(%q)) = %q: %v", s, enc, err)
		}
		want := string([]rune(s)) // invalid bytes become U+FFFD, as documented
		if dec != want {
			t.Fatalf("Decode(Encode(%q)) = %q, want %q (encoded %q)", s, dec, want, enc)
		}
		for i := range len(enc) {
			if !direct(enc[i]) {
				t.Fatalf("Encode(%q) = %q has byte %#02x", s, enc, enc[i])
			}
		}
	})
}

// FuzzDecode checks that Decode never panics, and that what it accepts is
// canonical: valid UTF-8 that encodes back to the same string.
func FuzzDecode(f *testing.F) {
	for _, p := range pairs {
		f.Add(p.enc)
	}
	f.Add("&AOk-&AOk-")
	f.Add("&2D0AQQ-")
	f.Fuzz(func(t *testing.T, s string) {
		dec, err := Decode(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Decode(%q): error %v does not wrap ErrInvalid", s, err)
			}
			return
		}
		if !utf8.ValidString(dec) {
			t.Fatalf("Decode(%q) = %q: invalid UTF-8", s, dec)
		}
		if enc := Encode(dec); enc != s {
			t.Fatalf("Decode(%q) = %q, which encodes as %q", s, dec, enc)
		}
	})
}
