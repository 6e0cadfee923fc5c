package extract

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

type extractCase struct {
	name     string
	raw      string
	opts     *Options
	subject  string // exact, when set
	body     string // exact, when set
	bodyHas  []string
	bodyNot  []string
	atts     []Attachment // exact, when non-nil
	problems []string     // each must be a substring of some problem; nil: no problems allowed
	anyProbs bool         // do not check problems
	check    func(t *testing.T, d *Doc)
}

func runCase(t *testing.T, c extractCase) *Doc {
	t.Helper()
	d, err := Extract(strings.NewReader(c.raw), c.opts)
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	checkInvariants(t, d, c.opts)
	if c.subject != "" && d.Subject != c.subject {
		t.Errorf("Subject = %q, want %q", d.Subject, c.subject)
	}
	if c.body != "" && d.Body != c.body {
		t.Errorf("Body = %q, want %q", d.Body, c.body)
	}
	for _, s := range c.bodyHas {
		if !strings.Contains(d.Body, s) {
			t.Errorf("Body %q lacks %q", d.Body, s)
		}
	}
	for _, s := range c.bodyNot {
		if strings.Contains(d.Body, s) {
			t.Errorf("Body %q contains %q", d.Body, s)
		}
	}
	if c.atts != nil && !reflect.DeepEqual(d.Attachments, c.atts) && !(len(c.atts) == 0 && len(d.Attachments) == 0) {
		t.Errorf("Attachments = %+v, want %+v", d.Attachments, c.atts)
	}
	if !c.anyProbs {
		if c.problems == nil && len(d.Problems) > 0 {
			t.Errorf("unexpected problems: %q", d.Problems)
		}
		for _, p := range c.problems {
			if !hasProblem(d, p) {
				t.Errorf("no problem matching %q in %q", p, d.Problems)
			}
		}
	}
	if c.check != nil {
		c.check(t, d)
	}
	return d
}

func hasProblem(d *Doc, sub string) bool {
	for _, p := range d.Problems {
		if strings.Contains(p, sub) {
			return true
		}
	}
	return false
}

// checkInvariants holds for every output, valid input or not.
func checkInvariants(t testing.TB, d *Doc, opts *Options) {
	t.Helper()
	o := opts.withDefaults()
	strs := []string{d.MessageID, d.Subject, d.Body}
	for _, l := range [][]Address{d.From, d.To, d.Cc, d.Bcc, d.ReplyTo} {
		for _, a := range l {
			strs = append(strs, a.Name, a.Addr)
		}
	}
	for _, a := range d.Attachments {
		strs = append(strs, a.Filename, a.ContentType)
		if a.Size < 0 {
			t.Errorf("negative attachment size %d", a.Size)
		}
	}
	strs = append(strs, d.Problems...)
	for _, s := range strs {
		if !utf8.ValidString(s) {
			t.Errorf("invalid UTF-8 in output: %q", s)
		}
		if strings.IndexByte(s, 0) >= 0 {
			t.Errorf("NUL in output: %q", s)
		}
	}
	if len(d.Body) > o.MaxBodyText {
		t.Errorf("Body is %d bytes, limit %d", len(d.Body), o.MaxBodyText)
	}
	if len(d.Problems) > maxProblems+1 {
		t.Errorf("%d problems, limit %d", len(d.Problems), maxProblems+1)
	}
}

func TestCharsets(t *testing.T) {
	for _, c := range charsetCases {
		t.Run(c.label, func(t *testing.T) {
			runCase(t, extractCase{
				raw: msg(
					"Subject: "+word(c.label, c.raw),
					"Content-Type: text/plain; charset="+c.label,
					"Content-Transfer-Encoding: 8bit",
					"",
					c.raw,
				),
				subject: c.want,
				body:    c.want + "\n",
			})
		})
	}
}

func TestCharsetsQuotedPrintableAndBase64(t *testing.T) {
	qp := func(s string) string {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			b.WriteString("=")
			b.WriteString(strings.ToUpper(hex2(s[i])))
		}
		return b.String()
	}
	for _, c := range charsetCases {
		t.Run(c.label+"/qp", func(t *testing.T) {
			runCase(t, extractCase{
				raw: msg("Content-Type: text/plain; charset=\""+c.label+"\"",
					"Content-Transfer-Encoding: quoted-printable", "", qp(c.raw)),
				body: c.want + "\n",
			})
		})
		t.Run(c.label+"/base64", func(t *testing.T) {
			runCase(t, extractCase{
				raw: msg("Content-Type: text/plain; charset="+c.label,
					"Content-Transfer-Encoding: BASE64", "", b64(c.raw)),
				body: c.want,
			})
		})
	}
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&15]})
}

var headerCases = []extractCase{
	{
		name: "rfc2047 words joined, space between words dropped",
		raw: msg("Subject: =?UTF-8?B?5Lya6K6u?= =?UTF-8?Q?_notice?=  =?utf-8?q?=E2=80=94?= end",
			"", "x"),
		subject: "会议 notice— end",
	},
	{
		name: "character split across two words",
		// "会" is E4 BC 9A: the first word ends inside it.
		raw:     msg("Subject: =?UTF-8?Q?=E4=BC?= =?UTF-8?Q?=9A=E8=AD=B0?=", "", "x"),
		subject: "会議",
	},
	{
		name:    "GBK split across two words",
		raw:     msg("Subject: "+word("gbk", gbkXieyi[:1])+" "+word("gbk", gbkXieyi[1:]), "", "x"),
		subject: "协议",
	},
	{
		name:    "mixed charsets in one subject",
		raw:     msg("Subject: "+word("big5", big5Huiyi)+" / "+word("iso-2022-jp", iso2022jpKaig)+" / "+word("euc-kr", euckrHoeui)+" / "+word("koi8-r", koi8rPrivet), "", "x"),
		subject: "會議 / 会議 / 회의 / Привет",
	},
	{
		name:    "malformed words left as they are",
		raw:     msg("Subject: =?utf-8?B?###?= and =?utf-8?Q?=ZZ?= and =?utf-8?X?abc?= and =?broken", "", "x"),
		subject: "=?utf-8?B?###?= and =?utf-8?Q?=ZZ?= and =?utf-8?X?abc?= and =?broken",
	},
	{
		name:     "unknown charset in word",
		raw:      msg("Subject: "+word("x-klingon", latin1Gruesse), "", "x"),
		subject:  "Grüße",
		problems: []string{`unknown charset "x-klingon"`},
	},
	{
		name:    "lower-case encoding letter, language suffix, missing padding",
		raw:     msg("Subject: =?utf-8*en?b?SGVsbG8?=", "", "x"),
		subject: "Hello",
	},
	{
		name:    "folded subject",
		raw:     msg("Subject: first line", "  second line", "\tthird", "", "x"),
		subject: "first line  second line third",
	},
	{
		name:    "raw 8-bit GBK subject decoded with first part charset",
		raw:     msg("Subject: "+gbkXieyi, "Content-Type: multipart/mixed; boundary=b", "", "--b", "Content-Type: text/plain; charset=gb2312", "", "x", "--b--"),
		subject: "协议",
	},
	{
		name:    "raw 8-bit GBK subject without any charset: GB18030 heuristic",
		raw:     msg("Subject: "+gbkHuiyi+"通知"[0:0]+gbkXieyi, "", "x"),
		subject: "会议协议",
	},
	{
		name:    "raw 8-bit Latin-1 subject without charset: windows-1252",
		raw:     msg("Subject: "+latin1Gruesse+" aus M\xfcnchen", "", "x"),
		subject: "Grüße aus München",
	},
	{
		name:    "raw UTF-8 subject kept",
		raw:     msg("Subject: "+utf8Mixed, "Content-Type: text/plain; charset=gbk", "", "x"),
		subject: utf8Mixed,
	},
	{
		name:    "raw 8-bit Big5 subject with Big5 body charset",
		raw:     msg("Subject: "+big5Huiyi, "Content-Type: text/plain; charset=big5", "", big5Huiyi),
		subject: "會議",
		body:    "會議\n",
	},
	{
		name: "message id, date, addresses",
		raw: msg(
			"Message-ID:   <abc.123@example.com> (comment)",
			"Date: Fri, 21 Nov 1997 09:55:06 -0600",
			"From: \"Doe, John\" <john@example.com>",
			"To: a@example.com, \"B\" <b@example.com>",
			"To: c@example.com",
			"Cc: Group: d@example.com, e@example.com;",
			"Bcc: f@example.com",
			"Reply-To: =?UTF-8?Q?J=C3=B6rg?= <jorg@example.de>",
			"", "x"),
		check: func(t *testing.T, d *Doc) {
			if d.MessageID != "abc.123@example.com" {
				t.Errorf("MessageID %q", d.MessageID)
			}
			want := time.Date(1997, 11, 21, 15, 55, 6, 0, time.UTC)
			if !d.Date.Equal(want) {
				t.Errorf("Date %v, want %v", d.Date, want)
			}
			eqAddrs(t, "From", d.From, []Address{{"Doe, John", "john@example.com"}})
			eqAddrs(t, "To", d.To, []Address{{"", "a@example.com"}, {"B", "b@example.com"}, {"", "c@example.com"}})
			eqAddrs(t, "Cc", d.Cc, []Address{{"", "d@example.com"}, {"", "e@example.com"}})
			eqAddrs(t, "Bcc", d.Bcc, []Address{{"", "f@example.com"}})
			eqAddrs(t, "ReplyTo", d.ReplyTo, []Address{{"Jörg", "jorg@example.de"}})
		},
	},
	{
		name: "address fallback",
		raw: msg(
			"From: broken@@example.com",
			"To: M\xfcller, Hans <hans@example.de>, \"unterminated <u@example.com>",
			"Cc: =?GBK?B?1cXI/Q==?= <zhang@example.cn>, =?utf-8?q?=22Quoted=22?= <q@example.com>",
			"Bcc: \"=?utf-8?B?5Lya6K6u?=\" <in-quotes@example.com>",
			"", "x"),
		check: func(t *testing.T, d *Doc) {
			eqAddrs(t, "From", d.From, []Address{{"", "broken@@example.com"}})
			eqAddrs(t, "To", d.To, []Address{{"Müller", ""}, {"Hans", "hans@example.de"}, {"unterminated", "u@example.com"}})
			eqAddrs(t, "Cc", d.Cc, []Address{{"张三", "zhang@example.cn"}, {"\"Quoted\"", "q@example.com"}})
			eqAddrs(t, "Bcc", d.Bcc, []Address{{"会议", "in-quotes@example.com"}})
		},
	},
	{
		name: "raw 8-bit GBK display name",
		raw:  msg("From: "+gbkFujian+" <f@example.cn>", "", "x"),
		check: func(t *testing.T, d *Doc) {
			eqAddrs(t, "From", d.From, []Address{{"附件", "f@example.cn"}})
		},
	},
	{
		name:     "unparsable date",
		raw:      msg("Date: sometime last week", "", "x"),
		problems: []string{"unparsable Date"},
		check: func(t *testing.T, d *Doc) {
			if !d.Date.IsZero() {
				t.Errorf("Date = %v, want zero", d.Date)
			}
		},
	},
	{
		name: "lenient dates",
		raw:  msg("Date: Tue,  3 Mar 2020 10:00:00 +0800 (CST)", "", "x"),
		check: func(t *testing.T, d *Doc) {
			if d.Date.IsZero() || d.Date.Year() != 2020 {
				t.Errorf("Date = %v", d.Date)
			}
		},
	},
	{
		name:    "mbox From line before the header",
		raw:     msg("From someone@example.com Mon Jan  1 00:00:00 2001", "Subject: mbox", "", "body"),
		subject: "mbox",
		body:    "body\n",
	},
	{
		name:     "header line without colon starts the body",
		raw:      msg("Subject: s", "this is not a header", "more"),
		subject:  "s",
		body:     "this is not a header\nmore\n",
		problems: []string{"malformed header line"},
	},
	{
		name:    "headers only, no blank line, no final newline",
		raw:     "Subject: only headers\r\nFrom: a@example.com",
		subject: "only headers",
		check: func(t *testing.T, d *Doc) {
			if d.Body != "" {
				t.Errorf("Body = %q", d.Body)
			}
			eqAddrs(t, "From", d.From, []Address{{"", "a@example.com"}})
		},
	},
	{
		name:    "NUL bytes removed",
		raw:     msg("Subject: a\x00b", "", "c\x00d", "e\x00"),
		subject: "ab",
		body:    "cd\ne\n",
	},
	{
		name:    "empty input",
		raw:     "",
		subject: "",
		body:    "",
	},
}

func TestHeaders(t *testing.T) {
	for _, c := range headerCases {
		t.Run(c.name, func(t *testing.T) { runCase(t, c) })
	}
}

func eqAddrs(t *testing.T, field string, got, want []Address) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %+v, want %+v", field, got, want)
	}
}

var bodyCases = []extractCase{
	{
		name: "html only: no tags, scripts, styles or head; entities decoded; blocks break lines",
		raw: msg("Content-Type: text/html; charset=utf-8", "",
			"<!DOCTYPE html><html><head><title>Title text</title><meta charset=utf-8>",
			"<style>body { color: red }</style><script>var leaked = 1;</script></head>",
			"<body><h1>Hello&nbsp;&amp; welcome</h1><p>First   para<br>line two</p>",
			"<div>caf&eacute; &#20250;&#x8B70; &lt;tag&gt;</div><!-- a comment -->",
			"<ul><li>one</li><li>two</li></ul><table><tr><td>a</td><td>b</td></tr></table>",
			"<img src=x alt=\"Logo\"><script type=\"text/javascript\">document.write('x')</script>",
			"<pre>  keep   spaces</pre><noscript>no script text</noscript></body></html>"),
		body:    "Hello & welcome\nFirst para\nline two\ncafé 会議 <tag>\none\ntwo\na b\nLogo\n  keep   spaces\nno script text",
		bodyNot: []string{"leaked", "color", "Title text", "document.write", "comment"},
	},
	{
		name: "html charset from meta when Content-Type has none",
		raw: msg("Content-Type: text/html", "Content-Transfer-Encoding: 8bit", "",
			"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\"></head>",
			"<body>"+gbkXieyi+"</body></html>"),
		body: "协议",
	},
	{
		name: "html with unclosed head still yields body text",
		raw:  msg("Content-Type: text/html", "", "<html><head><title>t</title><p>visible</p></html>"),
		body: "visible",
	},
	{
		name: "alternative: plain preferred over html",
		raw: msg("Content-Type: multipart/alternative; boundary=alt", "",
			"--alt", "Content-Type: text/plain; charset=utf-8", "", "plain version",
			"--alt", "Content-Type: text/html; charset=utf-8", "", "<p>html version</p>",
			"--alt--"),
		body: "plain version",
	},
	{
		name: "alternative: plain preferred even when html comes first",
		raw: msg("Content-Type: multipart/alternative; boundary=alt", "",
			"--alt", "Content-Type: text/html", "", "<p>html version</p>",
			"--alt", "Content-Type: text/plain", "", "plain version",
			"--alt--"),
		body: "plain version",
	},
	{
		name: "alternative: empty plain falls back to html",
		raw: msg("Content-Type: multipart/alternative; boundary=alt", "",
			"--alt", "Content-Type: text/plain", "", "  ",
			"--alt", "Content-Type: text/html", "", "<p>html version</p>",
			"--alt--"),
		bodyHas: []string{"html version"},
	},
	{
		name: "alternative with related html and a named inline image",
		raw: msg("Content-Type: multipart/mixed; boundary=m", "",
			"--m", "Content-Type: multipart/alternative; boundary=alt", "",
			"--alt", "Content-Type: text/plain", "", "plain text",
			"--alt", "Content-Type: multipart/related; boundary=rel", "",
			"--rel", "Content-Type: text/html", "", "<p>html text</p>",
			"--rel", "Content-Type: image/png; name=logo.png", "Content-Disposition: inline", "Content-ID: <logo>",
			"Content-Transfer-Encoding: base64", "", b64("PNGDATA"),
			"--rel", "Content-Type: image/gif", "Content-ID: <spacer>", "Content-Disposition: inline",
			"Content-Transfer-Encoding: base64", "", b64("GIF"),
			"--rel--", "--alt--",
			"--m", "Content-Type: text/plain", "", "after",
			"--m--"),
		body:    "plain text\nafter",
		bodyNot: []string{"html text"},
		atts:    []Attachment{{"logo.png", "image/png", 7}},
	},
	{
		name: "nested message/rfc822 is findable",
		raw: msg("Subject: Fwd: report", "Content-Type: multipart/mixed; boundary=outer", "",
			"--outer", "Content-Type: text/plain", "", "See below.",
			"--outer", "Content-Type: message/rfc822", "Content-Disposition: inline", "",
			"From: =?UTF-8?Q?Zo=C3=AB?= <zoe@example.com>", "To: team@example.com",
			"Subject: =?UTF-8?B?5Lya6K6u?= minutes", "Date: Wed, 1 Jan 2020 12:00:00 +0000",
			"Content-Type: multipart/mixed; boundary=inner", "",
			"--inner", "Content-Type: text/plain; charset=iso-8859-1", "", "Inner "+latin1Gruesse,
			"--inner", "Content-Type: application/pdf", "Content-Disposition: attachment; filename=\"minutes.pdf\"",
			"Content-Transfer-Encoding: base64", "", b64("%PDF-1.4"),
			"--inner--",
			"--outer--"),
		subject: "Fwd: report",
		body:    "See below.\nFrom: Zoë <zoe@example.com>\nTo: team@example.com\nDate: Wed, 1 Jan 2020 12:00:00 +0000\nSubject: 会议 minutes\nInner Grüße",
		atts:    []Attachment{{"minutes.pdf", "application/pdf", 8}},
	},
	{
		name: "attached message counts as attachment with its size",
		raw: msg("Content-Type: multipart/mixed; boundary=o", "",
			"--o", "Content-Type: message/rfc822; name=fwd.eml", "Content-Disposition: attachment; filename=fwd.eml", "",
			"Subject: inner", "", "inner body",
			"--o--"),
		body: "Subject: inner\ninner body",
		atts: []Attachment{{"fwd.eml", "message/rfc822", int64(len("Subject: inner\r\n\r\ninner body"))}},
	},
	{
		name: "base64-encoded message/rfc822",
		raw: msg("Content-Type: multipart/mixed; boundary=o", "",
			"--o", "Content-Type: message/rfc822", "Content-Transfer-Encoding: base64", "",
			b64(msg("Subject: encoded inner", "Content-Type: text/plain; charset=koi8-r", "", koi8rPrivet)),
			"--o--"),
		body: "Subject: encoded inner\nПривет\n",
	},
	{
		name: "base64-encoded multipart",
		raw: msg("Content-Type: multipart/mixed; boundary=o", "Content-Transfer-Encoding: base64", "",
			b64(msg("--o", "Content-Type: text/plain", "", "decoded part", "--o--"))),
		body: "decoded part",
	},
	{
		name: "multipart/digest parts default to message/rfc822",
		raw: msg("Content-Type: multipart/digest; boundary=d", "",
			"--d", "", "Subject: digest one", "", "first",
			"--d", "", "Subject: digest two", "", "second",
			"--d--"),
		body: "Subject: digest one\nfirst\nSubject: digest two\nsecond",
	},
	{
		name: "quoted-printable soft breaks and literal equals",
		raw: msg("Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable", "",
			"soft=", "break caf=C3=A9 =3D equals", "trailing = space=  ", "end"),
		body:     "softbreak café = equals\ntrailing = spaceend\n",
		problems: []string{"damaged quoted-printable"}, // "= " is not a valid escape
	},
	{
		name: "quoted-printable with bad escape keeps the text",
		raw: msg("Content-Type: text/plain", "Content-Transfer-Encoding: quoted-printable", "",
			"100=ZZ percent"),
		body:     "100=ZZ percent\n",
		problems: []string{"damaged quoted-printable"},
	},
	{
		name: "broken base64 keeps what decodes",
		raw: msg("Content-Type: text/plain", "Content-Transfer-Encoding: base64", "",
			"SGVsbG8gV29y!!bGQ=", "A"),
		body:     "Hello World",
		problems: []string{"damaged base64"},
	},
	{
		name: "unknown charset: UTF-8 if valid",
		raw:  msg("Content-Type: text/plain; charset=x-made-up", "", utf8Mixed),
		body: utf8Mixed + "\n", problems: []string{`unknown charset "x-made-up"`},
	},
	{
		name: "unknown charset: windows-1252 when not UTF-8",
		raw:  msg("Content-Type: text/plain; charset=x-made-up", "", cp1252Cafe),
		body: "café “q”\n", problems: []string{"unknown charset"},
	},
	{
		name: "no charset, 8-bit text: windows-1252",
		raw:  msg("Content-Type: text/plain", "", "na\xefve"),
		body: "naïve\n",
	},
	{
		name: "invalid UTF-8 replaced",
		raw:  msg("Content-Type: text/plain; charset=utf-8", "", "ok \xff\xfe bad \xe4\xbc"),
		body: "ok \uFFFD\uFFFD bad \uFFFD\uFFFD\n", // one per invalid byte, as utf8.DecodeRune
	},
	{
		name: "missing final boundary",
		raw: msg("Content-Type: multipart/mixed; boundary=b", "",
			"--b", "Content-Type: text/plain", "", "first",
			"--b", "Content-Type: text/plain", "", "second, then EOF"),
		body:     "first\nsecond, then EOF\n",
		problems: []string{"missing closing boundary"},
	},
	{
		name: "inner multipart missing its close, ended by the outer boundary",
		raw: msg("Content-Type: multipart/mixed; boundary=outer", "",
			"--outer", "Content-Type: multipart/alternative; boundary=inner", "",
			"--inner", "Content-Type: text/plain", "", "inner text",
			"--outer", "Content-Type: text/plain", "", "outer text",
			"--outer--"),
		body:     "inner text\nouter text",
		problems: []string{"missing closing boundary"},
	},
	{
		name: "boundary never appears",
		raw: msg("Content-Type: multipart/mixed; boundary=nowhere", "",
			"This body has no parts at all.", "Still text."),
		body:     "This body has no parts at all.\nStill text.\n",
		problems: []string{"boundary never found"},
	},
	{
		name: "multipart without boundary parameter",
		raw:  msg("Content-Type: multipart/mixed", "", "plain words"),
		body: "plain words\n", problems: []string{"without usable boundary"},
	},
	{
		name: "bare LF line endings",
		raw: lf("Subject: bare", "Content-Type: multipart/mixed; boundary=\"b\"", "",
			"--b", "Content-Type: text/plain", "", "line one", "line two",
			"--b", "Content-Type: application/octet-stream; name=a.bin", "", "1234",
			"--b--"),
		subject: "bare",
		body:    "line one\nline two",
		atts:    []Attachment{{"a.bin", "application/octet-stream", 4}},
	},
	{
		name: "part header ended by boundary, boundary with trailing blanks, odd preamble",
		raw: msg("Content-Type: multipart/mixed; boundary=b", "", "--bx not a boundary",
			"--b  ", "Content-Type: text/plain",
			"--b", "Content-Type: text/plain", "", "text",
			"--b-- trailing junk", "epilogue ignored"),
		body: "text",
	},
	{
		name: "text attachment is indexed and listed",
		raw: msg("Content-Type: multipart/mixed; boundary=b", "",
			"--b", "Content-Type: text/plain", "", "body",
			"--b", "Content-Type: text/plain; name=notes.txt", "Content-Disposition: attachment", "", "note text",
			"--b--"),
		body: "body\nnote text",
		atts: []Attachment{{"notes.txt", "text/plain", 9}},
	},
	{
		name: "invalid content type is text/plain",
		raw:  msg("Content-Type: garbage", "", "words"),
		body: "words\n", problems: []string{"invalid Content-Type"},
	},
	{
		name: "unknown transfer encoding read as 8bit",
		raw:  msg("Content-Type: text/plain", "Content-Transfer-Encoding: x-uuencode", "", "raw"),
		body: "raw\n", problems: []string{"unknown Content-Transfer-Encoding"},
	},
}

func TestBodies(t *testing.T) {
	for _, c := range bodyCases {
		t.Run(c.name, func(t *testing.T) { runCase(t, c) })
	}
}

// attachPart wraps part headers into a message with a 5-byte body.
func attachPart(headers ...string) string {
	return msg(append(append([]string{"Content-Type: multipart/mixed; boundary=b", "", "--b"}, headers...),
		"Content-Transfer-Encoding: base64", "", b64("12345"), "--b--")...)
}

func filenameCases() []extractCase {
	part := attachPart
	cases := []struct{ name, raw, want, ctype string }{
		{"plain", part("Content-Type: application/pdf", "Content-Disposition: attachment; filename=report.pdf"), "report.pdf", "application/pdf"},
		{"quoted with spaces", part("Content-Type: application/pdf", "Content-Disposition: attachment; filename=\"my report.pdf\""), "my report.pdf", "application/pdf"},
		{"rfc2231 utf-8", part("Content-Type: application/pdf", "Content-Disposition: attachment; filename*=UTF-8''%E6%8A%A5%E5%91%8A.pdf"), "报告.pdf", "application/pdf"},
		{"rfc2231 gb2312", part("Content-Type: application/msword", "Content-Disposition: attachment; filename*=gb2312''%B8%BD%BC%FE.doc"), "附件.doc", "application/msword"},
		{"rfc2231 gbk with language", part("Content-Type: application/msword", "Content-Disposition: attachment; filename*=GBK'zh-cn'%B8%BD%BC%FE.doc"), "附件.doc", "application/msword"},
		{"rfc2231 continuations", part("Content-Type: application/pdf",
			"Content-Disposition: attachment;", " filename*0*=UTF-8''%E6%8A%A5; filename*1*=%E5%91%8A;", " filename*2=\"-final.pdf\""), "报告-final.pdf", "application/pdf"},
		{"rfc2231 gb2312 continuations split inside a character", part("Content-Type: application/msword",
			"Content-Disposition: attachment; filename*1*=%BD%BC%FE.doc; filename*0*=gb2312''%B8"), "附件.doc", "application/msword"},
		{"plain continuations", part("Content-Type: text/csv", "Content-Disposition: attachment; filename*0=\"very long \"; filename*1=\"name.csv\""), "very long name.csv", "text/csv"},
		{"rfc2047 inside quotes", part("Content-Type: application/zip", "Content-Disposition: attachment; filename=\""+word("GBK", gbkFujian)+".zip\""), "附件.zip", "application/zip"},
		{"content-type name only", part("Content-Type: image/jpeg; name=\"=?UTF-8?B?5Lya6K6u?=.jpg\""), "会议.jpg", "image/jpeg"},
		{"raw 8-bit GBK name", part("Content-Type: application/msword; name=\"" + gbkFujian + ".doc\""), "附件.doc", "application/msword"},
		{"filename* beats filename", part("Content-Type: application/pdf", "Content-Disposition: attachment; filename=\"fallback.pdf\"; filename*=UTF-8''real.pdf"), "real.pdf", "application/pdf"},
		{"disposition beats name", part("Content-Type: application/pdf; name=ct.pdf", "Content-Disposition: attachment; filename=cd.pdf"), "cd.pdf", "application/pdf"},
		{"windows path kept", part("Content-Type: application/pdf", "Content-Disposition: attachment; filename=\"C:\\dir\\x.pdf\""), "C:\\dir\\x.pdf", "application/pdf"},
		{"unnamed attachment", part("Content-Type: application/octet-stream"), "", "application/octet-stream"},
		{"unquoted name with spaces and specials", part("Content-Type: application/pdf; name=a (1) b.pdf"), "a (1) b.pdf", "application/pdf"},
		{"inline image with filename", part("Content-Type: image/png", "Content-Disposition: inline; filename=pic.png"), "pic.png", "image/png"},
	}
	var out []extractCase
	for _, c := range cases {
		out = append(out, extractCase{name: c.name, raw: c.raw, atts: []Attachment{{c.want, c.ctype, 5}}})
	}
	return append(out, extractCase{
		name: "inline image without filename is not an attachment",
		raw:  part("Content-Type: image/png", "Content-Disposition: inline", "Content-ID: <x>"),
		atts: []Attachment{},
	})
}

func TestFilenames(t *testing.T) {
	for _, c := range filenameCases() {
		t.Run(c.name, func(t *testing.T) { runCase(t, c) })
	}
}

func TestChineseWebmail(t *testing.T) {
	runCase(t, extractCase{
		raw:     chineseWebmail,
		subject: "会议通知",
		body:    "协议\n",
		atts:    []Attachment{{"附件.doc", "application/msword", 10}},
		check: func(t *testing.T, d *Doc) {
			eqAddrs(t, "From", d.From, []Address{{"张三", "zhang@example.cn"}})
			if d.MessageID != "20200303.1@example.cn" {
				t.Errorf("MessageID %q", d.MessageID)
			}
		},
	})
}

func TestOptionLimits(t *testing.T) {
	t.Run("MaxBodyText truncates at a rune boundary", func(t *testing.T) {
		runCase(t, extractCase{
			raw:      msg("Content-Type: text/plain; charset=utf-8", "", strings.Repeat("会", 100)),
			opts:     &Options{MaxBodyText: 10},
			body:     "会会会",
			problems: []string{"body text truncated at 10 bytes"},
		})
	})
	t.Run("MaxParts", func(t *testing.T) {
		var lines []string
		lines = append(lines, "Content-Type: multipart/mixed; boundary=b", "")
		for i := 0; i < 20; i++ {
			lines = append(lines, "--b", "Content-Type: text/plain", "", "p")
		}
		lines = append(lines, "--b--")
		d := runCase(t, extractCase{raw: msg(lines...), opts: &Options{MaxParts: 5}, problems: []string{"more than 5 parts"}})
		if got := strings.Count(d.Body, "p"); got != 4 {
			t.Errorf("%d parts indexed, want 4 (message + 4 parts = 5)", got)
		}
	})
	t.Run("MaxDepth", func(t *testing.T) {
		runCase(t, extractCase{
			raw: msg("Content-Type: multipart/mixed; boundary=a", "",
				"--a", "Content-Type: multipart/mixed; boundary=b", "",
				"--b", "Content-Type: multipart/mixed; boundary=c", "",
				"--c", "Content-Type: text/plain", "", "too deep",
				"--c--", "--b", "Content-Type: text/plain", "", "level two", "--b--", "--a--"),
			opts:     &Options{MaxDepth: 2},
			body:     "level two",
			problems: []string{"nesting deeper than 2 levels"},
		})
	})
	t.Run("MaxHeaderBytes keeps the start and the body", func(t *testing.T) {
		runCase(t, extractCase{
			raw: msg("Subject: kept", "Content-Type: text/plain; charset=koi8-r", "X-Big: "+strings.Repeat("x", 500),
				"Content-Transfer-Encoding: base64", "", koi8rPrivet), // past the limit: ignored
			opts:     &Options{MaxHeaderBytes: 100},
			subject:  "kept",
			body:     "Привет\n",
			problems: []string{"header exceeds 100 bytes"},
		})
	})
}

type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func TestReaderErrorIsReturned(t *testing.T) {
	boom := errors.New("disk on fire")
	d, err := Extract(&failingReader{r: strings.NewReader(msg("Subject: partial", "", "some text")), err: boom}, nil)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
	if d == nil || d.Subject != "partial" {
		t.Errorf("partial Doc not returned: %+v", d)
	}
}
