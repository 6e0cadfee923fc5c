package extract

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	gmcharset "github.com/emersion/go-message/charset"
	"golang.org/x/text/transform"
)

// allFixtures collects every message used by the table tests, for the
// streaming, fuzz and benchmark harnesses.
func allFixtures() []string {
	raws := []string{chineseWebmail, newsletter}
	for _, c := range charsetCases {
		raws = append(raws, msg("Subject: "+word(c.label, c.raw), "Content-Type: text/plain; charset="+c.label, "", c.raw))
	}
	return raws
}

// TestStreamingIsChunkIndependent feeds every fixture one byte at a time
// and in odd-sized reads: the result must not depend on read sizes.
func TestStreamingIsChunkIndependent(t *testing.T) {
	for i, raw := range append(allFixtures(), tableRaws()...) {
		want, err := Extract(strings.NewReader(raw), nil)
		if err != nil {
			t.Fatal(err)
		}
		for name, r := range map[string]io.Reader{
			"one byte": iotest.OneByteReader(strings.NewReader(raw)),
			"half":     iotest.HalfReader(strings.NewReader(raw)),
			"data+err": iotest.DataErrReader(strings.NewReader(raw)),
		} {
			got, err := Extract(r, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("fixture %d, %s reads:\n got %+v\nwant %+v", i, name, got, want)
			}
		}
	}
}

// tableRaws returns the raw messages of the table tests in this package.
func tableRaws() []string {
	var out []string
	for _, cs := range [][]extractCase{headerCases, bodyCases, filenameCases()} {
		for _, c := range cs {
			out = append(out, c.raw)
		}
	}
	return out
}

func TestTransferDecodersStream(t *testing.T) {
	cases := []struct {
		name string
		t    func() transform.Transformer
		in   string
		want string
		bad  bool
	}{
		{"b64", func() transform.Transformer { return &b64Decoder{} }, "SGVs\r\nbG8g\r\nV29y bGQ=", "Hello World", false},
		{"b64 concatenated blocks", func() transform.Transformer { return &b64Decoder{} }, "SGk=SGk=", "HiHi", false},
		{"b64 missing padding", func() transform.Transformer { return &b64Decoder{} }, "SGVsbG8", "Hello", false},
		{"b64 junk", func() transform.Transformer { return &b64Decoder{} }, "SG*Vs#bG8", "Hello", true},
		{"b64 lone char", func() transform.Transformer { return &b64Decoder{} }, "SGVsbG8hQ", "Hello!", true},
		{"qp", func() transform.Transformer { return &qpDecoder{} }, "a=3Db=\r\nc=\nd= \t\r\ne=e9=E9", "a=bcde\xe9\xe9", false},
		{"qp bad escapes", func() transform.Transformer { return &qpDecoder{} }, "a=G1=\x00=", "a=G1=\x00", true},
		{"utf7", func() transform.Transformer { return &utf7Decoder{} }, "A+ImIDkQ.+-+2D3cAQ-x+", "A≢Α.+\U0001F401x+", false},
		{"guess utf8", func() transform.Transformer { return newGuessDecoder() }, "Grüße", "Grüße", false},
		{"guess latin", func() transform.Transformer { return newGuessDecoder() }, "Gr\xfc\xdfe ü", "Grüße Ã¼", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, chunked := range []bool{false, true} {
				tr := c.t()
				var r io.Reader = strings.NewReader(c.in)
				if chunked {
					r = iotest.OneByteReader(r)
				}
				out, err := io.ReadAll(transform.NewReader(r, tr))
				if err != nil {
					t.Fatal(err)
				}
				if string(out) != c.want {
					t.Errorf("chunked=%v: got %q, want %q", chunked, out, c.want)
				}
				switch d := tr.(type) {
				case *b64Decoder:
					if d.bad != c.bad {
						t.Errorf("bad = %v", d.bad)
					}
				case *qpDecoder:
					if d.bad != c.bad {
						t.Errorf("bad = %v", d.bad)
					}
				}
			}
		})
	}
}

func TestParams(t *testing.T) {
	cases := []struct {
		in    string
		token string
		want  params
	}{
		{" text/plain; charset=\"utf-8\"; format=flowed", "text/plain",
			params{"charset": {value: "utf-8"}, "format": {value: "flowed"}}},
		{"multipart/mixed; boundary=----=_Part_0_123.456", "multipart/mixed",
			params{"boundary": {value: "----=_Part_0_123.456"}}},
		{"TEXT/HTML;CHARSET=GBK", "text/html", params{"charset": {value: "GBK"}}},
		{"text/plain charset=us-ascii", "text/plain", params{"charset": {value: "us-ascii"}}},
		{"attachment; filename=\"a \\\"q\\\" b.txt\"; size=3", "attachment",
			params{"filename": {value: "a \"q\" b.txt"}, "size": {value: "3"}}},
		{"attachment; filename*=utf-8'en'%E2%82%AC%20rates.txt", "attachment",
			params{"filename": {value: "€ rates.txt", ext: true, charset: "utf-8"}}},
		{"attachment; filename*2=c; filename*0*=us-ascii''a%20; filename*1=b", "attachment",
			params{"filename": {value: "a bc", ext: true, charset: "us-ascii"}}},
		{"attachment; filename*0=\"x\"; filename*1=\"y\"", "attachment",
			params{"filename": {value: "xy"}}},
		{"attachment; filename=dup1; filename=dup2; ;=x; novalue", "attachment",
			params{"filename": {value: "dup1"}}},
		{"attachment; filename=\"unterminated", "attachment", params{"filename": {value: "unterminated"}}},
		{"", "", params{}},
	}
	for _, c := range cases {
		tok, ps := parseParamHeader(c.in)
		if tok != c.token || !reflect.DeepEqual(ps, c.want) {
			t.Errorf("parseParamHeader(%q) = %q %+v, want %q %+v", c.in, tok, ps, c.token, c.want)
		}
	}
}

func TestDecode8bit(t *testing.T) {
	cases := []struct{ in, hint, want string }{
		{"plain ascii", "", "plain ascii"},
		{utf8Mixed, "gbk", utf8Mixed},
		{gbkXieyi + "abc" + gbkHuiyi, "", "协议abc会议"},
		{gbkXieyi, "euc-kr", "\u8475\uf94f"}, // the declared charset wins, right or wrong
		{big5Huiyi, "big5", "會議"},
		{koi8rPrivet, "koi8-r", "Привет"},
		{latin1Gruesse, "utf-8", "Grüße"}, // hint useless: heuristic, not GB-like pairs
		{latin1Gruesse, "", "Grüße"},
		{"M\xfcller Stra\xdfe", "", "Müller Straße"},
		{"caf\xe9", "x-unknown-label", "café"},
		{"r\xe9\xe9lu", "", "réélu"},       // one pair: not enough for GB18030
		{"\xfc\xdf \xe4\xf6", "", "üß äö"}, // pairs, but user-defined GBK area
		{gbkZhangsan, "", "张三"},
		{"Re: " + gbkXieyi + gb18030Ext, "", "Re: 协议𠀀"},
	}
	for _, c := range cases {
		if got := decode8bit([]byte(c.in), c.hint); got != c.want {
			t.Errorf("decode8bit(%q, %q) = %q, want %q", c.in, c.hint, got, c.want)
		}
	}
}

func TestTextWriter(t *testing.T) {
	cases := []struct {
		name   string
		chunks []string
		guess  bool
		want   string
	}{
		{"rune split across writes", []string{"a\xe4", "\xbc", "\x9ab"}, false, "a会b"},
		{"crlf split across writes", []string{"a\r", "\nb\rc"}, false, "a\nb\nc"},
		{"nul dropped", []string{"a\x00b\x00"}, false, "ab"},
		{"incomplete at end", []string{"ok\xe4\xbc"}, false, "ok\uFFFD"},
		{"invalid replaced", []string{"\xff\xfeok"}, false, "\uFFFD\uFFFDok"},
		{"guess stays utf-8", []string{"Grü", "\xc3\x9fe"}, true, "Grüße"},
		{"guess switches to windows-1252", []string{"ok \xe9t\xe9 \x93q\x94 ", "ü"}, true, "ok été “q” Ã¼"},
		{"guess incomplete at end", []string{"caf\xc3"}, true, "cafÃ"},
	}
	for _, c := range cases {
		buf := newTextBuf(1000)
		w := newTextWriter(buf)
		w.guess = c.guess
		for _, ch := range c.chunks {
			w.Write([]byte(ch))
		}
		w.Close()
		if string(buf.b) != c.want {
			t.Errorf("%s: got %q, want %q", c.name, buf.b, c.want)
		}
	}
}

func TestTextBufLimit(t *testing.T) {
	b := newTextBuf(7)
	b.append([]byte("ab"))
	b.append([]byte("€€")) // 6 bytes, only one fits
	b.append([]byte("c"))  // dropped: the buffer was truncated
	if string(b.b) != "ab€" || !b.truncated {
		t.Errorf("got %q truncated=%v", b.b, b.truncated)
	}
}

func TestHTMLToText(t *testing.T) {
	cases := []struct{ in, want string }{
		{"a<b>b</b>c", "abc"},
		{"a <br> b", "a\nb"},
		{"<p>x</p>\n\n<p>y</p>", "x\ny"},
		{"<style>p{}</style><script>x</script><template><p>t</p></template>ok", "ok"},
		{"<svg><text>drawn</text></svg>ok", "ok"},
		{"<textarea>  keep  </textarea>", "  keep  "},
		{"&lt;&gt;&amp;&quot;&#39;&euro;&unknown;", "<>&\"'€&unknown;"},
		{"<head><meta charset=utf-8><title>T</title></head><body>b</body>", "b"},
		{"<td>1</td><td>2</td>", "1 2"},
		{"<p>a</p><img alt='pic'>", "a\npic"},
		{"x<!-- <p>hidden</p> -->y", "xy"},
	}
	x := &extractor{seen: map[string]bool{}, doc: &Doc{}}
	for _, c := range cases {
		buf := newTextBuf(1000)
		w := newTextWriter(buf)
		x.htmlToText(strings.NewReader(c.in), w, 1<<20, "test")
		w.Close()
		if got := string(buf.b); got != c.want {
			t.Errorf("htmlToText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestMergeEncodedWords(t *testing.T) {
	in := "=?utf-8?q?=E4=BC?= =?UTF-8?Q?=9A?= <a@b>, =?gbk?b?" + b64(gbkXieyi) + "?= x"
	got := mergeEncodedWords(in)
	want := "=?utf-8?B?" + b64("会") + "?= <a@b>, =?gbk?b?" + b64(gbkXieyi) + "?= x"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSplitAddressList(t *testing.T) {
	got := splitAddressList(`"a, b" <x@y>, (c, d) z@w; grp: m@n, o@p;, <q,r@s>`)
	want := []string{`"a, b" <x@y>`, `(c, d) z@w`, `m@n`, `o@p`, `<q,r@s>`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestScannerKeepsBoundaryLineEnds(t *testing.T) {
	// The CR LF before a boundary belongs to the boundary, even when the
	// buffer edge falls between CR and LF.
	for _, n := range []int{scanBufSize - 2, scanBufSize - 1, scanBufSize, scanBufSize + 1} {
		body := strings.Repeat("x", n)
		raw := msg("Content-Type: multipart/mixed; boundary=b", "", "--b",
			"Content-Type: application/octet-stream; name=x", "", body, "--b--")
		d, err := Extract(iotest.HalfReader(bytes.NewReader([]byte(raw))), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Attachments) != 1 || d.Attachments[0].Size != int64(n) {
			t.Errorf("line of %d: attachments %+v", n, d.Attachments)
		}
	}
}

// TestCharsetRegistry checks that the labels registered at init reach
// go-message (so every user of it in the program decodes them) and that
// lookupEncoding resolves labels exactly as go-message does.
func TestCharsetRegistry(t *testing.T) {
	labels := []string{"euc-cn", "x-big5", "x-gbk", "gb2312", "cp932", "utf-7", "unknown-8bit",
		"iso-8859-1", "windows-1251", "koi8-r", "shift_jis", "iso-2022-jp", "utf-16", "big5-hkscs",
		"ks_c_5601-1987", "x-mac-roman", "latin2", "x-no-such-charset"}
	sample := []byte("A+ImI-" + gbkXieyi + big5Huiyi + latin1Gruesse)
	for _, l := range labels {
		r, err := gmcharset.Reader(l, bytes.NewReader(sample))
		enc := lookupEncoding(l)
		if (err == nil) != (enc != nil) {
			t.Errorf("%s: go-message err=%v, lookupEncoding=%v", l, err, enc)
			continue
		}
		if err != nil {
			continue
		}
		viaGM, _ := io.ReadAll(r)
		viaLookup, _ := enc.NewDecoder().Bytes(sample)
		if !bytes.Equal(viaGM, viaLookup) {
			t.Errorf("%s: go-message %q, lookupEncoding %q", l, viaGM, viaLookup)
		}
	}
	if lookupEncoding("x-no-such-charset") != nil {
		t.Error("unknown label resolved")
	}
}

// TestHeaderDecodingIsLinear feeds adversarial 1 MB header values that
// made naive encoded-word and address scanning quadratic.
func TestHeaderDecodingIsLinear(t *testing.T) {
	inputs := map[string]string{
		"openings without end":  strings.Repeat("=?a?q?x", 150000),
		"openings, end at last": strings.Repeat("=?a?b?QUJD", 100000) + "?=",
		"colons":                strings.Repeat("a:", 500000),
		"long words":            strings.Repeat("=?utf-8?b?"+strings.Repeat("QUJD", 100)+"?= ", 2500),
	}
	for name, v := range inputs {
		t.Run(name, func(t *testing.T) {
			raw := "Subject: " + v + "\r\nTo: " + v + "\r\n\r\n"
			start := time.Now()
			d, err := Extract(strings.NewReader(raw), &Options{MaxHeaderBytes: 4 << 20})
			if err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, d, nil)
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("took %v", el)
			}
		})
	}
}

// TestConcurrentUse runs Extract from several goroutines: buffers are
// pooled, so results must still be independent.
func TestConcurrentUse(t *testing.T) {
	raws := append(allFixtures(), emlFixtures()...)
	want := make([]*Doc, len(raws))
	for i, raw := range raws {
		want[i], _ = Extract(strings.NewReader(raw), nil)
	}
	done := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func() {
			for n := 0; n < 20; n++ {
				for i, raw := range raws {
					got, _ := Extract(iotest.HalfReader(strings.NewReader(raw)), nil)
					if !reflect.DeepEqual(got, want[i]) {
						done <- fmt.Errorf("message %d differs under concurrency", i)
						return
					}
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
