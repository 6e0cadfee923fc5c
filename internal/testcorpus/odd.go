package testcorpus

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"
)

// oddKinds are the deliberately malformed or unusual messages, one each with
// Options.Odd, all in INBOX:
//
//	no-message-id          no Message-ID header
//	no-date                no Date header
//	unparsable-date        Date: sometime yesterday, around noon
//	8bit-headers-utf8      raw UTF-8 in Subject and From, no RFC 2047
//	8bit-headers-latin1    raw ISO-8859-1 in Subject and From
//	long-header            one unfolded header line of more than 20 KB
//	duplicate-headers      two Subject, two Message-ID and two To headers
//	mbox-from-line         body has "From someone ..." after a blank line, and a ">From " line
//	unknown-charset        charset=x-unknown-8bit body, encoded-words in unknown charsets
//	bad-encoded-words      invalid base64/hex, unterminated and unknown-encoding words
//	broken-boundary        multipart whose delimiters do not match the declared boundary
//	missing-final-boundary multipart without the closing delimiter
//	8bit-body-no-cte       UTF-8 body without Content-Transfer-Encoding
//	bare-lf                the whole message has LF line ends, no CR at all
//	mixed-eol              CRLF headers, body lines alternating LF and CRLF
//	nul-byte               a NUL byte in the body
//	headers-only           header lines only: no blank line, no body
//	long-body-line         a body line of more than 200 KB
//	no-final-newline       the last body line has no line end
//	cr-only                every line ends in a bare CR (old Mac)
var oddKinds = []string{
	"no-message-id", "no-date", "unparsable-date", "8bit-headers-utf8", "8bit-headers-latin1",
	"long-header", "duplicate-headers", "mbox-from-line", "unknown-charset", "bad-encoded-words",
	"broken-boundary", "missing-final-boundary", "8bit-body-no-cte", "bare-lf", "mixed-eol",
	"nul-byte", "headers-only", "long-body-line", "no-final-newline", "cr-only",
}

// OddKinds returns the odd kinds in the order Options.Odd places them.
func OddKinds() []string { return slices.Clone(oddKinds) }

func latin1(s string) string {
	b, _ := encodeCharset("iso-8859-1", s)
	return string(b)
}

func (g *gen) oddMessage(i int, kind string) (*Message, error) {
	r := g.rng(i, streamOdd)
	t := time.Unix(epochLo+r.Int64N(epochHi-epochLo), 0).In(time.FixedZone("", 3600))
	mid := fmt.Sprintf("<odd-%s.%08x@example.net>", kind, r.Uint32())
	date := formatDate(t, 0)
	body := strings.ReplaceAll(wordsText(r, &langs[lEN], 600), "\n", "\r\n")

	from, subject := "Odd Sender <odd@example.net>", "Odd message: "+kind
	ctype, extra := "text/plain; charset=us-ascii", []string(nil)
	mids := []string{mid}
	dateHdr := date
	msgDate := t

	switch kind {
	case "no-message-id":
		mids = nil
	case "no-date":
		dateHdr, msgDate = "", time.Time{}
	case "unparsable-date":
		dateHdr, msgDate = "sometime yesterday, around noon", time.Time{}
	case "8bit-headers-utf8":
		subject, from = "Ungekodierter Betreff: Grüße aus Köln 你好", "Jörg Größer <odd@example.net>"
		ctype, extra = "text/plain; charset=utf-8", []string{"Content-Transfer-Encoding: 8bit"}
		body = "Grüße aus Köln, 你好.\r\n" + body
	case "8bit-headers-latin1":
		subject, from = latin1("Betreff mit Umlauten: Übergröße"), latin1("Jürgen Mäder <odd@example.net>")
		ctype, extra = "text/plain; charset=iso-8859-1", []string{"Content-Transfer-Encoding: 8bit"}
		body = latin1("Grüße, Jürgen\r\n") + body
	case "long-header":
		var b strings.Builder
		for k := 0; b.Len() < 20<<10; k++ {
			fmt.Fprintf(&b, " <%d.%012x@example.net>", k, r.Int64N(1<<48))
		}
		extra = []string{"X-Long-Header:" + b.String()}
	case "duplicate-headers":
		extra = []string{"Subject: Second Subject", fmt.Sprintf("Message-ID: <second-%08x@example.net>", r.Uint32()),
			"To: Bob <bob@example.org>"}
	case "mbox-from-line":
		body = "Hello,\r\n\r\nFrom someone@example.net Sat Jan  3 12:00:00 2015\r\n" +
			"the line above looks like an mbox separator.\r\n" +
			">From here on, this line was escaped once by an mbox writer.\r\n\r\n" + body
	case "unknown-charset":
		subject = "=?x-klingon?Q?tlhIngan_Hol?= and =?x-unknown?B?AAEC?="
		ctype, extra = "text/plain; charset=x-unknown-8bit", []string{"Content-Transfer-Encoding: 8bit"}
		var raw []byte
		for c := 0x80; c < 0x100; c++ {
			raw = append(raw, byte(c))
			if c%32 == 31 {
				raw = append(raw, '\r', '\n')
			}
		}
		body = string(raw) + body
	case "bad-encoded-words":
		subject = "=?utf-8?B?not!valid!base64?= =?utf-8?Q?bad=ZZhex?= =?utf-8?X?unknown?= =?utf-8?Q?unterminated_word"
		from = "=?iso-8859-1?Q?Bad=G0Name?= <odd@example.net>"
	case "broken-boundary":
		ctype = `multipart/mixed; boundary="declared-boundary"`
		body = "preamble\r\n--other-boundary\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n" +
			"--declared-boundar\r\nContent-Type: text/plain\r\n\r\nsecond part\r\n--other-boundary--\r\n"
	case "missing-final-boundary":
		ctype = `multipart/alternative; boundary="xyz"`
		body = "--xyz\r\nContent-Type: text/plain\r\n\r\nplain text\r\n--xyz\r\nContent-Type: text/html\r\n\r\n" +
			"<p>html, truncated\r\n"
	case "8bit-body-no-cte":
		ctype = "text/plain; charset=utf-8"
		body = "Straße, 東京, Ελλάδα — undeclared 8bit\r\n" + body
	case "nul-byte":
		body = "before the NUL\r\n\x00after the NUL\r\n" + body
	case "long-body-line":
		var b strings.Builder
		words := langs[lEN].words
		for b.Len() < 200<<10 {
			b.WriteString(words[r.IntN(len(words))])
			b.WriteByte(' ')
		}
		body = b.String() + "end\r\n"
	case "no-final-newline":
		body += "the last line has no line end"
	}

	var b bytes.Buffer
	hdr := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	hdr("Return-Path", "<odd@example.net>")
	fmt.Fprintf(&b, "Received: from mail.example.net (mail.example.net [198.51.100.99])\r\n\tby %s (Postfix) with ESMTPS id ODD%05X\r\n\tfor <%s>; %s\r\n",
		mxHost, r.IntN(1<<20), owner.addr, rcvDate(t.Add(time.Minute)))
	hdr("From", from)
	hdr("To", owner.name+" <"+owner.addr+">")
	hdr("Subject", subject)
	if dateHdr != "" {
		hdr("Date", dateHdr)
	}
	for _, m := range mids {
		hdr("Message-ID", m)
	}
	if kind == "headers-only" {
		// No MIME headers either: nothing follows.
	} else {
		hdr("MIME-Version", "1.0")
		hdr("Content-Type", ctype)
		for _, e := range extra {
			b.WriteString(e + "\r\n")
		}
		b.WriteString("\r\n")
		b.WriteString(body)
	}
	raw := b.Bytes()
	switch kind {
	case "bare-lf":
		raw = bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
	case "cr-only":
		raw = bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\r"))
	case "mixed-eol":
		k := bytes.Index(raw, []byte("\r\n\r\n")) + 4
		lines := bytes.SplitAfter(raw[k:], []byte("\r\n"))
		out := slices.Clone(raw[:k])
		for n, l := range lines {
			if n%2 == 0 && bytes.HasSuffix(l, []byte("\r\n")) {
				l = append(l[:len(l)-2:len(l)-2], '\n')
			}
			out = append(out, l...)
		}
		raw = out
	}
	m := &Message{
		Seq: i, Folder: g.folders[g.inbox].name, Flags: []string{`\Seen`},
		InternalDate: t.Add(time.Minute).UTC(), From: "odd@example.net",
		Date: msgDate, DupGroup: i, Tags: []string{"odd:" + kind}, Raw: raw,
	}
	if len(mids) > 0 {
		m.MessageID = mids[0]
	}
	return m, nil
}
