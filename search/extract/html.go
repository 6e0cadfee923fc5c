package extract

import (
	"bytes"
	"errors"
	"io"

	"golang.org/x/net/html"
)

// htmlToText streams HTML from r into w as plain text: no tags, nothing
// from <head>, <script>, <style> or <template>, entities decoded, white
// space collapsed as a browser would, and line breaks for block elements.
// It returns early once w's buffer is full.
//
// The tokenizer holds one token in memory; maxTok bounds it. A bigger
// token (a huge data: URI, or a text run longer than the whole body
// budget) is skipped up to the next '>' and tokenizing resumes there.
func (x *extractor) htmlToText(r io.Reader, w *textWriter, maxTok int, where string) {
	c := htmlConv{w: w}
	for {
		z := html.NewTokenizer(r)
		z.SetMaxBuf(maxTok)
		if !c.run(z) {
			return
		}
		x.problem("%s: HTML token larger than %d bytes skipped", where, maxTok)
		r = &skipPastGT{r: r}
	}
}

// Element classes, looked up once per tag.
const (
	tagSkip     = 1 << iota // content is not text for the reader
	tagHeadOnly             // may appear in <head>; anything else ends it
	tagBlock                // starts and ends a line
)

var htmlTags = func() map[string]uint8 {
	m := map[string]uint8{}
	for _, t := range []string{"script", "style", "title", "template", "iframe", "svg", "math"} {
		m[t] |= tagSkip
	}
	for _, t := range []string{"meta", "link", "base", "title", "style", "script", "noscript", "template"} {
		m[t] |= tagHeadOnly
	}
	for _, t := range []string{"address", "article", "aside", "blockquote", "body", "br", "caption",
		"center", "dd", "details", "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption",
		"figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "html",
		"li", "main", "menu", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody",
		"tfoot", "thead", "tr", "ul", "option", "legend"} {
		m[t] |= tagBlock
	}
	return m
}()

// tagName reads the lower-cased element name from a raw tag ("<P class=x>",
// "</p>") into buf. Tokenizer.TagName allocates per call, which showed in
// profiles of tag-heavy newsletters.
func tagName(raw []byte, buf *[16]byte) []byte {
	i := 1
	if i < len(raw) && raw[i] == '/' {
		i++
	}
	n := 0
	for ; i < len(raw); i++ {
		c := raw[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '/' || c == '>' {
			break
		}
		if n == len(buf) {
			return nil // longer than any name we look for
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[n] = c
		n++
	}
	return buf[:n]
}

type htmlConv struct {
	w       *textWriter
	skip    string // element whose content is being skipped
	nskip   int    // nesting of skip inside itself (template, svg)
	inHead  bool
	pre     int
	newline bool // a block boundary is pending
	space   bool // white space is pending
	started bool // some text has been written
}

// run tokenizes until EOF (false) or an oversized token (true).
func (c *htmlConv) run(z *html.Tokenizer) (resume bool) {
	for !c.w.dst.full() {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return errors.Is(z.Err(), html.ErrBufferExceeded)
		case html.TextToken:
			if c.skip != "" {
				continue
			}
			t := z.Text()
			if c.inHead {
				if isHTMLSpace(t) {
					continue
				}
				c.inHead = false // text ends an unclosed <head>
			}
			c.text(t)
		case html.StartTagToken, html.SelfClosingTagToken:
			var buf [16]byte
			c.startTag(z, tagName(z.Raw(), &buf), tt == html.SelfClosingTagToken)
		case html.EndTagToken:
			var buf [16]byte
			c.endTag(tagName(z.Raw(), &buf))
		}
	}
	return false
}

func (c *htmlConv) startTag(z *html.Tokenizer, name []byte, selfClosing bool) {
	if c.skip != "" {
		if string(name) == c.skip && !selfClosing {
			c.nskip++
		}
		return
	}
	class := htmlTags[string(name)]
	if c.inHead && class&tagHeadOnly == 0 {
		c.inHead = false
	}
	switch string(name) {
	case "head":
		c.inHead = !selfClosing
		return
	case "body":
		c.inHead = false
	case "noscript", "noembed", "noframes", "plaintext":
		// Mail readers run no scripts: this content is shown, so parse it
		// as markup rather than raw text.
		z.NextIsNotRawText()
	case "pre", "textarea", "listing", "xmp":
		if !selfClosing {
			c.pre++
		}
	case "td", "th":
		c.space = true
	case "img":
		c.alt(z)
	}
	if class&tagSkip != 0 && !selfClosing {
		c.skip, c.nskip = string(name), 1
		return
	}
	if class&tagBlock != 0 {
		c.newline = true
	}
}

func (c *htmlConv) endTag(name []byte) {
	if c.skip != "" {
		if string(name) == c.skip {
			if c.nskip--; c.nskip <= 0 {
				c.skip = ""
			}
		}
		return
	}
	switch string(name) {
	case "head":
		c.inHead = false
	case "pre", "textarea", "listing", "xmp":
		if c.pre > 0 {
			c.pre--
		}
	}
	if htmlTags[string(name)]&tagBlock != 0 {
		c.newline = true
	}
}

// alt indexes an image's alternative text: most mail readers block
// images and show it instead.
func (c *htmlConv) alt(z *html.Tokenizer) {
	for {
		k, v, more := z.TagAttr()
		if string(k) == "alt" && len(v) > 0 {
			c.text(v)
		}
		if !more {
			return
		}
	}
}

// text writes a run of character data, collapsing white space outside
// preformatted elements.
func (c *htmlConv) text(t []byte) {
	if c.pre > 0 {
		c.flushBreaks()
		c.w.Write(t)
		c.started = true
		return
	}
	for len(t) > 0 {
		n := htmlSpaceLen(t)
		if n > 0 {
			c.space = true
			t = t[n:]
			continue
		}
		end := 0
		for end < len(t) && htmlSpaceLen(t[end:]) == 0 {
			end++
		}
		c.flushBreaks()
		c.w.Write(t[:end])
		c.started = true
		t = t[end:]
	}
}

func (c *htmlConv) flushBreaks() {
	switch {
	case !c.started:
	case c.newline:
		c.w.Write([]byte{'\n'})
	case c.space:
		c.w.Write([]byte{' '})
	}
	c.newline, c.space = false, false
}

// htmlSpaceLen returns the length of the white space at the start of t:
// ASCII blanks and no-break spaces (U+00A0, often the only "text" in
// layout cells), or 0.
func htmlSpaceLen(t []byte) int {
	switch {
	case len(t) == 0:
		return 0
	case t[0] == ' ' || t[0] == '\t' || t[0] == '\n' || t[0] == '\r' || t[0] == '\f':
		return 1
	case len(t) >= 2 && t[0] == 0xC2 && t[1] == 0xA0:
		return 2
	}
	return 0
}

func isHTMLSpace(t []byte) bool {
	for len(t) > 0 {
		n := htmlSpaceLen(t)
		if n == 0 {
			return false
		}
		t = t[n:]
	}
	return true
}

// skipPastGT drops input up to and including the next '>'.
type skipPastGT struct {
	r    io.Reader
	done bool
}

func (s *skipPastGT) Read(p []byte) (int, error) {
	for !s.done {
		n, err := s.r.Read(p)
		if i := bytes.IndexByte(p[:n], '>'); i >= 0 {
			s.done = true
			return copy(p, p[i+1:n]), err
		}
		if err != nil {
			return 0, err
		}
	}
	return s.r.Read(p)
}
