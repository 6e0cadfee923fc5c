package query

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxDepth bounds the nesting of parentheses and negations, so that a
// hostile query cannot exhaust the stack.
const maxDepth = 100

// Parse parses a query of the search language (see the package
// documentation). An empty or blank query gives All. Errors are
// *SyntaxError.
//
// Grammar (OR binds looser than AND, which binds looser than NOT and -):
//
//	query   = [ or ] EOF
//	or      = and { "OR" and }
//	and     = unary { [ "AND" ] unary }
//	unary   = "NOT" unary | "-" unary | primary
//	primary = "(" or ")" | term
func Parse(s string) (Node, error) {
	if !utf8.ValidString(s) {
		for i := 0; i < len(s); {
			r, w := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && w == 1 {
				return nil, errorf(i, "expected UTF-8 text, found byte 0x%02x", s[i])
			}
			i += w
		}
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{src: s, toks: toks}
	switch t := p.peek(); t.kind {
	case tEOF:
		return All{}, nil
	case tRParen:
		return nil, errorf(t.pos, "expected a term, found %q without a matching \"(\"", ")")
	}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		// parseOr stops only at the end or at ")".
		return nil, errorf(t.pos, "expected end of query, found %q without a matching \"(\"", ")")
	}
	return n, nil
}

type parser struct {
	src   string
	toks  []token
	i     int
	depth int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// startsUnary reports whether t can begin a unary.
func startsUnary(t token) bool {
	switch t.kind {
	case tWord, tLParen, tNot, tMinus:
		return true
	}
	return false
}

// expectTerm fails unless the next token begins a term; after names the
// operator just read.
func (p *parser) expectTerm(after string) error {
	t := p.peek()
	if startsUnary(t) {
		return nil
	}
	return errorf(t.pos, "expected a term after %q, found %s", after, t.describe(p.src))
}

func (p *parser) parseOr() (Node, error) {
	var nodes []Node
	for {
		if t := p.peek(); t.kind == tOr || t.kind == tAnd {
			return nil, errorf(t.pos, "expected a term before %q", p.src[t.pos:t.end])
		}
		n, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		if o, ok := n.(Or); ok {
			nodes = append(nodes, o.Nodes...)
		} else {
			nodes = append(nodes, n)
		}
		if p.peek().kind != tOr {
			break
		}
		p.next()
		if err := p.expectTerm("OR"); err != nil {
			return nil, err
		}
	}
	if len(nodes) == 1 {
		return nodes[0], nil
	}
	return Or{Nodes: nodes}, nil
}

func (p *parser) parseAnd() (Node, error) {
	var nodes []Node
	for {
		n, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		if a, ok := n.(And); ok {
			nodes = append(nodes, a.Nodes...)
		} else {
			nodes = append(nodes, n)
		}
		t := p.peek()
		if t.kind == tAnd {
			p.next()
			if err := p.expectTerm("AND"); err != nil {
				return nil, err
			}
			continue
		}
		if !startsUnary(t) {
			break
		}
	}
	if len(nodes) == 1 {
		return nodes[0], nil
	}
	return And{Nodes: nodes}, nil
}

func (p *parser) parseUnary() (Node, error) {
	t := p.peek()
	if t.kind != tNot && t.kind != tMinus {
		return p.parsePrimary()
	}
	p.next()
	if err := p.expectTerm(p.src[t.pos:t.end]); err != nil {
		return nil, err
	}
	if err := p.enter(t); err != nil {
		return nil, err
	}
	n, err := p.parseUnary()
	p.depth--
	if err != nil {
		return nil, err
	}
	return Not{Node: n}, nil
}

func (p *parser) enter(t token) error {
	p.depth++
	if p.depth > maxDepth {
		return errorf(t.pos, "expected at most %d nested parentheses and negations", maxDepth)
	}
	return nil
}

func (p *parser) parsePrimary() (Node, error) {
	t := p.next()
	switch t.kind {
	case tWord:
		return p.term(t)
	case tLParen:
		if k := p.peek().kind; k == tRParen || k == tEOF {
			return nil, errorf(p.peek().pos, "expected a term after %q, found %s", "(", p.peek().describe(p.src))
		}
		if err := p.enter(t); err != nil {
			return nil, err
		}
		n, err := p.parseOr()
		p.depth--
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			return nil, errorf(c.pos, "expected %q after %q", ")", snippet(p.src[t.pos:c.pos]))
		}
		return n, nil
	}
	// Callers check startsUnary first.
	return nil, errorf(t.pos, "expected a term, found %s", t.describe(p.src))
}

// term builds the node for a word token, validating field values.
func (p *parser) term(t token) (Node, error) {
	if t.field == "" {
		switch {
		case t.quoted && t.value == "":
			return nil, errorf(t.vpos, "expected text between the quotes")
		case t.prefix && t.value == "":
			return All{}, nil
		}
		return Term{Value: t.value, Phrase: t.quoted, Prefix: t.prefix}, nil
	}
	name := p.src[t.pos:t.vpos]
	if t.quoted {
		name = p.src[t.pos : t.vpos-1]
	}
	kind := fieldKinds[t.field]
	raw := t.value
	if t.prefix {
		raw += "*"
	}
	if raw == "" {
		if t.quoted {
			return nil, errorf(t.vpos, "expected text between the quotes after %q", name)
		}
		return nil, errorf(t.vpos, "expected a value after %q", name)
	}
	if t.prefix && (kind == kindIs || kind == kindHas || kind == kindDate || kind == kindSize) {
		// These values never end in "*"; let the value check below report it.
		t.value, t.prefix = raw, false
	}
	switch kind {
	case kindText, kindAddr, kindExact:
		v := t.value
		if t.field == "id" {
			v = strings.TrimRight(strings.TrimLeft(v, "<"), ">")
			if v == "" {
				return nil, errorf(t.vpos, "expected a message ID after %q, found %q", name, raw)
			}
		}
		if v == "" { // only "*" was given
			return nil, errorf(t.vpos, "expected text before \"*\" after %q", name)
		}
		return Term{Field: t.field, Value: v, Phrase: t.quoted && kind != kindExact, Prefix: t.prefix}, nil
	case kindIs:
		v := strings.ToLower(t.value)
		if _, ok := isValues[v]; !ok {
			return nil, errorf(t.vpos, "expected %s after %q, found %q", isList, name, t.value)
		}
		return Term{Field: "is", Value: v}, nil
	case kindHas:
		v := strings.ToLower(t.value)
		if v != "attachment" {
			return nil, errorf(t.vpos, "expected \"attachment\" after %q, found %q", name, t.value)
		}
		return Term{Field: "has", Value: v}, nil
	case kindDate:
		return parseDateValue(t.field, name, t.value, t.vpos)
	case kindSize:
		return parseSizeValue(name, t.value, t.vpos)
	}
	return nil, errorf(t.pos, "expected a known field, found %q", name) // unreachable
}

// maxSize is the largest size accepted (the size terms of search/keys.go
// hold 54 bits).
const maxSize = 1 << 53

const sizeExample = "a size like 500, 10k, 5M or 1G"

// parseSizeValue parses the value of size: at pos: N, >N, >=N, <N, <=N,
// N..M, N.. or ..M, where N is digits with an optional unit k/K (1024),
// m/M (1024²) or g/G (1024³).
func parseSizeValue(name, v string, pos int) (Node, error) {
	for _, op := range []string{">=", "<=", ">", "<"} {
		if rest, ok := strings.CutPrefix(v, op); ok {
			n, err := parseSize(name+op, rest, pos+len(op))
			if err != nil {
				return nil, err
			}
			switch op {
			case ">=":
				return SizeRange{Min: n, Max: -1}, nil
			case "<=":
				return SizeRange{Min: -1, Max: n}, nil
			case ">":
				return SizeRange{Min: n, Max: -1, MinExclusive: true}, nil
			}
			return SizeRange{Min: -1, Max: n, MaxExclusive: true}, nil
		}
	}
	lo, hi, isRange := strings.Cut(v, "..")
	if !isRange {
		n, err := parseSize(name, v, pos)
		if err != nil {
			return nil, err
		}
		return SizeRange{Min: n, Max: n}, nil
	}
	if lo == "" && hi == "" {
		return nil, errorf(pos, "expected %s before or after \"..\"", sizeExample)
	}
	r := SizeRange{Min: -1, Max: -1}
	var err error
	if lo != "" {
		if r.Min, err = parseSize(name, lo, pos); err != nil {
			return nil, err
		}
	}
	if hi != "" {
		if r.Max, err = parseSize(name, hi, pos+len(lo)+2); err != nil {
			return nil, err
		}
	}
	if r.Max >= 0 && r.Min > r.Max {
		return nil, errorf(pos, "expected the smaller size before \"..\", found %q", v)
	}
	return r, nil
}

func parseSize(after, s string, pos int) (int64, error) {
	if s == "" {
		return 0, errorf(pos, "expected %s after %q", sizeExample, after)
	}
	digits := s
	mult := int64(1)
	switch s[len(s)-1] {
	case 'k', 'K':
		mult = 1 << 10
	case 'm', 'M':
		mult = 1 << 20
	case 'g', 'G':
		mult = 1 << 30
	}
	if mult != 1 {
		digits = s[:len(s)-1]
	}
	if digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
		return 0, errorf(pos, "expected %s, found %q", sizeExample, s)
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n > maxSize/mult {
		return 0, errorf(pos, "expected a size of at most %dG, found %q", int64(maxSize>>30), s)
	}
	return n * mult, nil
}
