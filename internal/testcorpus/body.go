package testcorpus

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"
)

// wordsText returns about n bytes of wrapped paragraphs of random words of l.
func wordsText(r *rand.Rand, l *lang, n int) string {
	var b strings.Builder
	b.Grow(n + 128)
	line, lines := 0, 0
	para := 3 + r.IntN(6)
	for b.Len() < n {
		w := l.words[r.IntN(len(l.words))]
		if line > 0 {
			b.WriteString(l.sep)
			line += len(l.sep)
		}
		b.WriteString(w)
		line += utf8.RuneCountInString(w)
		if line >= l.width {
			b.WriteByte('\n')
			line = 0
			lines++
			if lines%para == 0 {
				b.WriteByte('\n')
			}
		}
	}
	if line > 0 {
		b.WriteByte('\n')
	}
	return b.String()
}

// insertWord puts w between two words of the first paragraph line after the
// first one (a separate word for languages with spaces).
func insertWord(text, w, sep string) string {
	i := strings.IndexByte(text, '\n')
	if i < 0 {
		return text + sep + w + "\n"
	}
	return text[:i] + sep + w + text[i:]
}

// chooseCTE picks a transfer encoding the way MUAs of that charset tend to.
func chooseCTE(r *rand.Rand, cs string) string {
	x := r.IntN(100)
	switch cs {
	case "us-ascii":
		return "7bit"
	case "utf-8":
		return pick3(x, 40, 30, "quoted-printable", "base64", "8bit")
	case "iso-8859-1":
		return pick3(x, 70, 0, "quoted-printable", "base64", "8bit")
	case "koi8-r":
		return pick3(x, 20, 30, "quoted-printable", "base64", "8bit")
	case "iso-2022-jp":
		return pick3(x, 0, 15, "quoted-printable", "base64", "7bit")
	}
	return pick3(x, 0, 60, "quoted-printable", "base64", "8bit") // CJK multibyte
}

func pick3(x, a, b int, ea, eb, ec string) string {
	switch {
	case x < a:
		return ea
	case x < a+b:
		return eb
	}
	return ec
}

// leaf builds a text/<sub> entity of text (with '\n' line ends) in cs/cte.
func leaf(r *rand.Rand, sub, text, cs, cte string) (*entity, error) {
	data, err := encodeCharset(cs, text)
	if err != nil {
		return nil, err
	}
	data = crlf(data)
	e := &entity{}
	ct := "text/" + sub + "; charset=" + cs
	if r.IntN(2) == 0 {
		ct = "text/" + sub + `; charset="` + cs + `"`
	}
	if sub == "plain" && r.IntN(7) == 0 {
		ct += "; format=flowed"
	}
	e.add("Content-Type", ct)
	e.add("Content-Transfer-Encoding", cte)
	switch cte {
	case "base64":
		e.body = appendBase64(nil, data)
	case "quoted-printable":
		e.body = encodeQP(data)
	default:
		e.body = data
	}
	return e, nil
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\n", "<br>\n")

// htmlOf renders text as HTML. Its draws come from seed, not from the body's
// generator, because their number depends on the text (and the list copy of a
// message has one more paragraph, which must not shift later draws).
func htmlOf(seed uint64, text, cs string) string {
	r := rand.New(rand.NewPCG(seed, 0x68746d6c))
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=" + cs + "\"></head>\n<body>\n")
	for _, p := range strings.Split(text, "\n\n") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		p = htmlEscaper.Replace(p)
		if r.IntN(4) == 0 {
			p = "<b>" + p + "</b>"
		}
		b.WriteString(`<p style="font-family:Arial,sans-serif">` + p + "</p>\n")
	}
	if r.IntN(2) == 0 {
		fmt.Fprintf(&b, "<p><a href=\"https://www.example.com/doc/%d\">details</a></p>\n", r.IntN(1000000))
	}
	b.WriteString("</body></html>\n")
	return b.String()
}

var boundaryStyles = []string{"----=_Part_%d_%d.%d", "=_%x%x%x", "Apple-Mail=_%08X-%04X-%012X", "000000000000%06x%06x%x", "b1_%x%x%x"}

func boundary(r *rand.Rand) string {
	st := boundaryStyles[r.IntN(len(boundaryStyles))]
	return fmt.Sprintf(st, r.IntN(1<<24), r.IntN(1<<24), r.Int64N(1<<40))
}

// bodyOpts is what the body needs from the message around it.
type bodyOpts struct {
	s        *spec
	list     bool
	listName string
}

// body builds the MIME body of a normal message and its tags. All draws come
// from r in an order that does not depend on o.list, so the list copy of a
// message (near-dup) has the same body apart from the footer.
func (g *gen) body(r *rand.Rand, o bodyOpts) (*entity, []string, error) {
	s := o.s
	l := &langs[s.lang]
	f := g.folders[s.folder]
	var tags []string
	tags = append(tags, "lang:"+l.code)

	cs := weighted(r, l.charsets)
	cte := chooseCTE(r, cs)
	nbytes := lognormal(r, 1300, 0.85, 120, 30000)
	shapeX := r.IntN(100)
	large := r.IntN(1000) < 4
	cjkNeedle := (s.lang == lZhHans || s.lang == lZhHant) && r.IntN(50) == 0
	noMIME := cs == "us-ascii" && r.IntN(6) == 0

	// The text.
	var t strings.Builder
	t.WriteString(l.greeting + "\n\n")
	if s.quokka {
		t.WriteString("About the " + needleBody + " photos: see below.\n\n")
		tags = append(tags, "needle:"+needleBody)
	}
	words := wordsText(r, l, nbytes)
	words = insertWord(words, l.marker, l.sep)
	if cjkNeedle {
		words = insertWord(words, needleCJK, l.sep)
		tags = append(tags, "needle:"+needleCJK)
	}
	t.WriteString(words)
	if s.reply {
		fmt.Fprintf(&t, "\nOn %s, %s wrote:\n", s.parentAt.Format("Mon, Jan 2, 2006 at 15:04"), s.parentBy)
		q := wordsText(r, l, 100+r.IntN(400))
		for _, line := range strings.Split(strings.TrimRight(q, "\n"), "\n") {
			t.WriteString(">" + strings.TrimRight(" "+line, " ") + "\n")
		}
	}
	t.WriteString("\n-- \n" + s.from.ascii + "\n")
	if o.list {
		fmt.Fprintf(&t, "\n-- \nYou received this message because you are subscribed to the %q group.\n"+
			"To unsubscribe from this group and stop receiving emails from it, send an email to %s+unsubscribe@lists.example.com.\n",
			o.listName, o.listName)
	}
	text := t.String()

	// The shape. Large messages get their size from an attachment.
	shape := "plain"
	switch {
	case large || s.fwd:
		shape = "mixed"
	case f.role == roleBilling:
		shape = pickShape(shapeX, 0, 20, 10, 0)
	case f.role == roleList || f.role == roleReviews:
		shape = pickShape(shapeX, 70, 30, 0, 0)
	case noMIME:
		shape = "plain"
	default:
		shape = pickShape(shapeX, 44, 26, 6, 4)
	}
	if shape != "plain" {
		noMIME = false
	}
	tags = append(tags, "mime:"+shape)
	if noMIME {
		tags = append(tags, "no-mime")
		e := &entity{body: crlf([]byte(text))}
		return e, append(tags, "cte:7bit", "charset:us-ascii"), nil
	}
	tags = append(tags, "charset:"+cs, "cte:"+cte)
	if l.cjk {
		tags = append(tags, "cjk:"+cs)
	}

	plain, err := leaf(r, "plain", text, cs, cte)
	if err != nil {
		return nil, nil, err
	}
	htmlCS, htmlCTE := cs, cte
	if r.IntN(2) == 0 {
		htmlCS, htmlCTE = "utf-8", "quoted-printable"
	}
	html := func() (*entity, error) { return leaf(r, "html", htmlOf(r.Uint64(), text, htmlCS), htmlCS, htmlCTE) }
	alternative := func() (*entity, error) {
		h, err := html()
		if err != nil {
			return nil, err
		}
		return &entity{hdr: [][2]string{{"Content-Type", "multipart/alternative; boundary=\"" + "%s" + "\""}},
			parts: []*entity{plain, h}}, nil
	}
	var top *entity
	switch shape {
	case "plain":
		top = plain
	case "html":
		top, err = html()
	case "alternative":
		top, err = alternative()
	case "related":
		cid := fmt.Sprintf("image001.png@01D%X.%X", r.IntN(1<<24), r.IntN(1<<32))
		h, herr := leaf(r, "html", strings.Replace(htmlOf(r.Uint64(), text, htmlCS), "</body>", `<img src="cid:`+cid+`" alt="logo">`+"\n</body>", 1), htmlCS, htmlCTE)
		if herr != nil {
			return nil, nil, herr
		}
		img := &entity{body: appendBase64(nil, fakePNG(r))}
		img.add("Content-Type", `image/png; name="image001.png"`)
		img.add("Content-Transfer-Encoding", "base64")
		img.add("Content-ID", "<"+cid+">")
		img.add("Content-Disposition", `inline; filename="image001.png"`)
		rel := &entity{hdr: [][2]string{{"Content-Type", `multipart/related; type="text/html"; boundary="%s"`}}, parts: []*entity{h, img}}
		top = &entity{hdr: [][2]string{{"Content-Type", `multipart/alternative; boundary="%s"`}}, parts: []*entity{plain, rel}}
		tags = append(tags, "attach:png")
	case "mixed":
		first := plain
		if r.IntN(10) < 4 {
			if first, err = alternative(); err != nil {
				return nil, nil, err
			}
		}
		parts := []*entity{first}
		n := []int{1, 1, 1, 1, 1, 1, 2, 2, 2, 3}[r.IntN(10)]
		if s.fwd && !large {
			n = r.IntN(2)
		}
		for k := range n {
			size := lognormal(r, 7000, 1.1, 300, 200000)
			if large && k == 0 {
				size = int(75000 * math.Exp(r.Float64()*math.Log(730000.0/75000)))
				tags = append(tags, "large")
			}
			a, atags, err := g.attachment(r, size, f.role == roleBilling && k == 0)
			if err != nil {
				return nil, nil, err
			}
			parts = append(parts, a)
			tags = append(tags, atags...)
		}
		if s.fwd {
			fw, err := g.forwarded(r, s)
			if err != nil {
				return nil, nil, err
			}
			parts = append(parts, fw)
			tags = append(tags, "fwd:rfc822")
		}
		top = &entity{hdr: [][2]string{{"Content-Type", `multipart/mixed; boundary="%s"`}}, parts: parts}
		if r.IntN(3) == 0 {
			top.preamble = "This is a multi-part message in MIME format.\r\n"
		}
	}
	if err != nil {
		return nil, nil, err
	}
	setBoundaries(r, top)
	return top, tags, nil
}

func pickShape(x, plain, alt, html, related int) string {
	switch {
	case x < plain:
		return "plain"
	case x < plain+alt:
		return "alternative"
	case x < plain+alt+html:
		return "html"
	case x < plain+alt+html+related:
		return "related"
	}
	return "mixed"
}

// setBoundaries fills the "%s" placeholder of every multipart's Content-Type
// with a fresh boundary (drawn top-down, so deterministic).
func setBoundaries(r *rand.Rand, e *entity) {
	if e.parts == nil {
		return
	}
	e.boundary = boundary(r)
	for k, h := range e.hdr {
		if h[0] == "Content-Type" && strings.Contains(h[1], "%s") {
			e.hdr[k][1] = strings.Replace(h[1], "%s", e.boundary, 1)
		}
	}
	for _, p := range e.parts {
		setBoundaries(r, p)
	}
}

// attachment builds one attachment of about size raw bytes.
func (g *gen) attachment(r *rand.Rand, size int, invoice bool) (*entity, []string, error) {
	styleX := r.IntN(100)
	style := pick3(styleX, 55, 20, "ascii", "rfc2231", "")
	if style == "" {
		style = pick3(styleX-75, 10, 0, "rfc2231-cont", "", "rfc2047-quoted")
	}
	var an attName
	if style == "ascii" {
		an = asciiAttNames[r.IntN(len(asciiAttNames))]
	} else {
		an = intlAttNames[r.IntN(len(intlAttNames))]
	}
	if invoice {
		an = attName{"invoice.pdf", "application/pdf", "pdf"}
		if style != "ascii" {
			an.name = "Rechnung Nr. " + fmt.Sprint(r.IntN(100000)) + " – März.pdf"
		}
	}
	var tags []string
	if r.IntN(60) == 0 {
		if style == "ascii" {
			an = attName{fmt.Sprintf("%s-census-%d.csv", needleFile, r.IntN(100)), "text/csv", "csv"}
		} else {
			an = attName{needleFile + "-Übersicht.pdf", "application/pdf", "pdf"}
		}
		tags = append(tags, "needle:"+needleFile)
	}
	tags = append(tags, "attach:"+an.kind, "fname:"+style)

	var data []byte
	switch an.kind {
	case "pdf":
		data = fakePDF(r, size, an.name)
	case "zip":
		data = fakeZip(r, size)
	case "csv":
		data = fakeCSV(r, size)
	case "png":
		data = fakePNG(r)
	case "jpg":
		data = fakeJPEG(r, size)
	default:
		data = randBytes(r, size)
	}
	e := &entity{}
	ctype := an.ctype
	if an.kind == "csv" {
		ctype += "; charset=utf-8"
	}
	switch style {
	case "ascii":
		fn := `"` + an.name + `"`
		if r.IntN(5) == 0 {
			fn = an.name // a token needs no quotes
		}
		e.add("Content-Type", ctype+"; name="+fn)
		e.add("Content-Disposition", "attachment; filename="+fn)
	case "rfc2231", "rfc2231-cont":
		w, err := encodedWords(an.name, "utf-8", 'B')
		if err != nil {
			return nil, nil, err
		}
		e.add("Content-Type", ctype+`; name="`+w+`"`)
		chunk := 0
		if style == "rfc2231-cont" {
			chunk = 30
		}
		e.add("Content-Disposition", "attachment; "+rfc2231("filename", an.name, chunk))
	default: // RFC 2047 inside quotes: not standard, very common
		cs := "utf-8"
		if _, err := encodeCharset("gbk", an.name); err == nil && hasHan(an.name) && r.IntN(2) == 0 {
			cs = "gbk"
		}
		w, err := encodedWords(an.name, cs, 'B')
		if err != nil {
			return nil, nil, err
		}
		e.add("Content-Type", ctype+`; name="`+w+`"`)
		e.add("Content-Disposition", `attachment; filename="`+w+`"`)
	}
	if an.kind == "csv" && r.IntN(2) == 0 {
		e.add("Content-Transfer-Encoding", "quoted-printable")
		e.body = encodeQP(crlf(data))
	} else {
		e.add("Content-Transfer-Encoding", "base64")
		e.body = appendBase64(nil, data)
	}
	return e, tags, nil
}

// forwarded builds a message/rfc822 part holding a short earlier message.
func (g *gen) forwarded(r *rand.Rand, s *spec) (*entity, error) {
	p := pickPerson(r)
	l := &langs[lEN]
	if r.IntN(3) == 0 {
		l = &langs[[]int{lDE, lZhHans, lJA, lRU}[r.IntN(4)]]
	}
	cs := weighted(r, l.charsets)
	cte := chooseCTE(r, cs)
	text := l.greeting + "\n\n" + insertWord(wordsText(r, l, 300+r.IntN(1500)), l.marker, l.sep) + "\n-- \n" + p.ascii + "\n"
	in, err := leaf(r, "plain", text, cs, cte)
	if err != nil {
		return nil, err
	}
	from, err := formatAddr(p, 'B', false)
	if err != nil {
		return nil, err
	}
	when := s.date.Add(-time.Duration(3600+r.IntN(20*86400)) * time.Second)
	subj := langs[lEN].subjects[r.IntN(len(langs[lEN].subjects))]
	subj = strings.NewReplacer("{n}", fmt.Sprint(r.IntN(1000)), "{d}", when.Format("02.01.2006")).Replace(subj)
	esubj, err := encodeText(subj, "utf-8", 'Q', false)
	if err != nil {
		return nil, err
	}
	var b entityBuf
	b.header("From", from)
	b.header("To", owner.name+" <"+owner.addr+">")
	b.header("Subject", esubj)
	b.header("Date", when.Format("Mon, 2 Jan 2006 15:04:05 -0700"))
	b.header("Message-ID", fmt.Sprintf("<fwd.%016x@%s>", r.Uint64(), p.addr[strings.IndexByte(p.addr, '@')+1:]))
	b.header("MIME-Version", "1.0")
	in.writeHeaders(&b.Buffer)
	b.WriteString("\r\n")
	in.writeBody(&b.Buffer)
	fw := &entity{body: b.Bytes()}
	fw.add("Content-Type", "message/rfc822")
	if r.IntN(2) == 0 {
		fw.add("Content-Disposition", "inline")
	} else {
		fw.add("Content-Disposition", `attachment; filename="forwarded message.eml"`)
	}
	return fw, nil
}

type entityBuf struct{ bytes.Buffer }

func (b *entityBuf) header(name, value string) { writeHeader(&b.Buffer, name, value) }
