package query

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/blevesearch/bleve/v2/mapping"
	bq "github.com/blevesearch/bleve/v2/search/query"

	"github.com/mailark/mailark/search"
)

// Options control Compile.
type Options struct {
	// Location is the time zone in which dates of date:, after: and before:
	// begin and end. nil means time.Local.
	Location *time.Location
}

// ParseAndCompile parses s and compiles it. An empty query matches all
// messages. Parse errors are *SyntaxError.
func ParseAndCompile(s string, opts Options) (bq.Query, error) {
	n, err := Parse(s)
	if err != nil {
		return nil, err
	}
	return Compile(n, opts)
}

// Compile translates n into a Bleve query for an index built with
// search.NewMapping; words are analysed with that mapping's analyzers, as
// the documents were. All (and a query of only ignored words such as "&")
// gives a match-all query, a query that cannot match gives a match-none
// query. Nodes returned by Parse always compile; an error means a
// hand-built node with an unknown field or an invalid value.
func Compile(n Node, opts Options) (bq.Query, error) {
	m, err := indexMapping()
	if err != nil {
		return nil, err
	}
	c := &compiler{m: m, loc: opts.Location}
	if c.loc == nil {
		c.loc = time.Local
	}
	r, err := c.node(n, "")
	if err != nil {
		return nil, err
	}
	switch r.k {
	case kNone:
		return bq.NewMatchNoneQuery(), nil
	case kAll, kIgnored:
		return bq.NewMatchAllQuery(), nil
	case kNeg:
		return r.positive(), nil
	}
	return r.q, nil
}

var indexMapping = sync.OnceValues(search.NewMapping)

// kind classifies an intermediate result; tracking all/none/negated
// results lets And, Or and Not simplify, and keeps Bleve's BooleanQuery
// from ever seeing a MatchNone "must" clause (which it treats as match-all
// when there is a "must not" clause).
type kind uint8

const (
	kIgnored kind = iota // no searchable text (e.g. "-"): drops out of And, Or and Not
	kAll                 // every message
	kNone                // no message
	kPos                 // the messages q matches
	kNeg                 // every message except those q matches
)

type result struct {
	k kind
	q bq.Query
}

func pos(q bq.Query) result { return result{k: kPos, q: q} }

// positive returns a query for a kPos or kNeg result.
func (r result) positive() bq.Query {
	if r.k == kNeg {
		return bq.NewBooleanQuery([]bq.Query{bq.NewMatchAllQuery()}, nil, []bq.Query{r.q})
	}
	return r.q
}

type compiler struct {
	m   mapping.IndexMapping
	loc *time.Location
}

// nodes compiles each of ns.
func (c *compiler) nodes(ns []Node, account string) ([]result, error) {
	rs := make([]result, 0, len(ns))
	for _, n := range ns {
		r, err := c.node(n, account)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// node compiles n. account is the account that folder: terms refer to
// (from an account: term AND-ed with them), or "".
func (c *compiler) node(n Node, account string) (result, error) {
	switch n := n.(type) {
	case All:
		return result{k: kAll}, nil
	case And:
		rs, err := c.nodes(n.Nodes, andAccount(n, account))
		if err != nil {
			return result{}, err
		}
		return and(rs), nil
	case Or:
		if len(n.Nodes) == 0 {
			return result{k: kNone}, nil
		}
		rs, err := c.nodes(n.Nodes, account)
		if err != nil {
			return result{}, err
		}
		return or(rs), nil
	case Not:
		r, err := c.node(n.Node, account)
		return not(r), err
	case Term:
		return c.term(n, account)
	case DateRange:
		return c.date(n)
	case SizeRange:
		return c.size(n)
	case nil:
		return result{}, errors.New("query: nil node")
	}
	return result{}, fmt.Errorf("query: unknown node type %T", n)
}

// andAccount returns the account that folder: terms in a refer to: the
// value of its positive account: terms when they all agree, else outer.
func andAccount(a And, outer string) string {
	acct := ""
	for _, ch := range a.Nodes {
		t, ok := ch.(Term)
		if !ok || t.Field != "account" || t.Prefix {
			continue
		}
		if acct != "" && acct != t.Value {
			return "" // several accounts: folder names are ambiguous
		}
		acct = t.Value
	}
	if acct == "" {
		return outer
	}
	return acct
}

func not(r result) result {
	switch r.k {
	case kAll:
		r.k = kNone
	case kNone:
		r.k = kAll
	case kPos:
		r.k = kNeg
	case kNeg:
		r.k = kPos
	}
	return r
}

func and(rs []result) result {
	var must, mustNot []bq.Query
	all := false
	for _, r := range rs {
		switch r.k {
		case kNone:
			return r
		case kAll:
			all = true
		case kPos:
			must = append(must, r.q)
		case kNeg:
			mustNot = append(mustNot, r.q)
		}
	}
	switch {
	case len(must) == 0 && len(mustNot) == 0:
		if all {
			return result{k: kAll}
		}
		return result{k: kIgnored}
	case len(mustNot) == 0:
		return pos(conj(must))
	case len(must) == 0:
		return result{k: kNeg, q: disj(mustNot)} // -a -b = -(a OR b)
	}
	return pos(bq.NewBooleanQuery(must, nil, mustNot))
}

func or(rs []result) result {
	var qs []bq.Query
	none := false
	for _, r := range rs {
		switch r.k {
		case kAll:
			return r
		case kNone:
			none = true
		case kPos, kNeg:
			qs = append(qs, r.positive())
		}
	}
	switch {
	case len(qs) == 0 && none:
		return result{k: kNone}
	case len(qs) == 0:
		return result{k: kIgnored}
	}
	return pos(disj(qs))
}

func conj(qs []bq.Query) bq.Query {
	if len(qs) == 1 {
		return qs[0]
	}
	return bq.NewConjunctionQuery(qs)
}

func disj(qs []bq.Query) bq.Query {
	if len(qs) == 1 {
		return qs[0]
	}
	return bq.NewDisjunctionQuery(qs)
}

// Index field names of the language's text and address fields.
var (
	textFields = map[string]string{
		"subject": search.FieldSubject, "body": search.FieldBody, "filename": search.FieldFilename,
		"from": search.FieldFrom, "to": search.FieldTo, "cc": search.FieldCc, "bcc": search.FieldBcc,
	}
	addrFields = map[string]string{
		"from": search.FieldFromAddr, "to": search.FieldToAddr, "cc": search.FieldCcAddr, "bcc": search.FieldBccAddr,
	}
	exactFields = map[string]string{
		"folder": search.FieldFolder, "account": search.FieldAccount, "id": search.FieldMessageID,
		"tag": search.FieldFlags, "mimetype": search.FieldAttachType,
	}
)

func (c *compiler) term(t Term, account string) (result, error) {
	if t.Value == "" {
		return result{}, fmt.Errorf("query: empty value in %s", t)
	}
	switch t.Field {
	case "":
		rs := make([]result, 0, len(search.TextFields))
		for _, f := range search.TextFields {
			rs = append(rs, c.text(f, t))
		}
		return or(rs), nil
	case "is":
		flag, ok := isValues[t.Value]
		if !ok || t.Prefix {
			return result{}, fmt.Errorf("query: invalid value in %s", t)
		}
		r := pos(termQuery(search.FieldFlags, flag))
		if t.Value == "unread" {
			r.k = kNeg
		}
		return r, nil
	case "has":
		if t.Value != "attachment" || t.Prefix {
			return result{}, fmt.Errorf("query: invalid value in %s", t)
		}
		q := bq.NewBoolFieldQuery(true)
		q.SetField(search.FieldHasAttachment)
		return pos(q), nil
	}
	switch fieldKinds[t.Field] {
	case kindText:
		return c.text(textFields[t.Field], t), nil
	case kindAddr:
		f := addrFields[t.Field]
		if !t.Prefix && isAddress(t.Value) {
			// A whole address is indexed exactly (lower-cased) in the
			// address field; the phrase of its words in the text field
			// would find nothing more and costs a third of the query.
			return c.exact(f, c.lowerKeyword(f, t.Value), false), nil
		}
		text := c.text(textFields[t.Field], Term{Value: t.Value, Phrase: t.Phrase || hasAt(t.Value), Prefix: t.Prefix})
		if !hasAt(t.Value) {
			return text, nil
		}
		// Part of an address ("@example.org", "bob@exa*"): the exact
		// (lower-cased) address, or the words of it in a row in the
		// display form, e.g. "Bob <bob@example.org>".
		return or([]result{c.exact(f, c.lowerKeyword(f, t.Value), t.Prefix), text}), nil
	case kindExact:
		f, v := exactFields[t.Field], t.Value
		switch t.Field {
		case "folder":
			if account != "" {
				f, v = search.FieldAccountFolder, account+"/"+v
			}
		case "mimetype":
			v = c.lowerKeyword(f, v)
		}
		return c.exact(f, v, t.Prefix), nil
	}
	return result{}, fmt.Errorf("query: unknown field in %s", t)
}

func hasAt(s string) bool { return strings.IndexByte(s, '@') >= 0 }

// isAddress reports whether s is a whole address, local@domain, as the
// address fields hold them: one "@" with text on both sides and no
// spaces or angle brackets.
func isAddress(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && domain != "" && !strings.ContainsAny(s, "<>\"") &&
		strings.IndexByte(domain, '@') < 0 && strings.IndexFunc(s, unicode.IsSpace) < 0
}

func isLetterOrDigit(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func termQuery(field, v string) bq.Query {
	q := bq.NewTermQuery(v)
	q.SetField(field)
	return q
}

func (c *compiler) exact(field, v string, prefix bool) result {
	if prefix {
		return pos(prefixQuery(field, v))
	}
	return pos(termQuery(field, v))
}

// analyze returns the terms that field's analyzer makes of text.
func (c *compiler) analyze(field, text string) []string {
	name := c.m.AnalyzerNameForPath(field)
	if field == search.FieldFilename {
		// The index adds the dot-separated parts of each name; the words
		// of a query are not split (termOf matches them against parts).
		name = search.TextAnalyzer
	}
	a := c.m.AnalyzerNamed(name)
	if a == nil {
		return nil
	}
	ts := a.Analyze([]byte(text))
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t.Term)
	}
	return out
}

// lowerKeyword lower-cases v as the whole-value analyzer of field does.
func (c *compiler) lowerKeyword(field, v string) string {
	if ts := c.analyze(field, v); len(ts) == 1 {
		return ts[0]
	}
	return v
}

// text compiles a word, phrase or prefix t.Value against one text field.
//
//   - word: every term of the analysed word must occur in the field (a
//     match query with operator AND), so 会议室 needs both 会议 and 议室;
//   - phrase of several terms: a match phrase query;
//   - prefix: the terms before the last must occur, and a term must start
//     with the last one.
//
// In the filename field a term also matches the dot-separated parts of a
// term: the tokenizer keeps "report.pdf" as one term, and filename:pdf
// must find it.
func (c *compiler) text(field string, t Term) result {
	terms := c.analyze(field, t.Value)
	if len(terms) == 0 {
		if strings.IndexFunc(t.Value, isLetterOrDigit) >= 0 {
			// Text the analyzer drops (it drops full-width digits): it
			// cannot be in the index.
			return result{k: kNone}
		}
		return result{k: kIgnored} // punctuation only
	}
	filename := field == search.FieldFilename
	switch {
	case t.Prefix:
		qs := make([]bq.Query, 0, len(terms))
		for _, term := range terms[:len(terms)-1] {
			qs = append(qs, c.termOf(field, term, filename))
		}
		// In file names a part that starts with the prefix is a term
		// too: the index has the suffix after every dot.
		qs = append(qs, prefixQuery(field, terms[len(terms)-1]))
		return pos(conj(qs))
	case t.Phrase && len(terms) > 1:
		q := bq.NewMatchPhraseQuery(t.Value)
		q.SetField(field)
		if filename {
			q.Analyzer = search.TextAnalyzer // as analyze: the query's words are not split
		}
		return pos(q)
	case filename:
		qs := make([]bq.Query, 0, len(terms))
		for _, term := range terms {
			qs = append(qs, c.termOf(field, term, true))
		}
		return pos(conj(qs))
	}
	q := bq.NewMatchQuery(t.Value)
	q.SetField(field)
	q.SetOperator(bq.MatchQueryOperatorAnd)
	return pos(q)
}

// termOf matches one analysed term; in file names also as a run of
// dot-separated parts of a term ("pdf" in "report.pdf", "tar" and "tar.gz"
// in "x.tar.gz"). The index has every suffix after a dot of a file name
// (search.filenameParts), so such a run is a term itself or the start of
// one, followed by a dot.
func (c *compiler) termOf(field, term string, filename bool) bq.Query {
	if !filename {
		return termQuery(field, term)
	}
	return bq.NewDisjunctionQuery([]bq.Query{termQuery(field, term), prefixQuery(field, term+".")})
}

func prefixQuery(field, prefix string) bq.Query {
	q := bq.NewPrefixQuery(prefix)
	q.SetField(field)
	return q
}

func (c *compiler) date(d DateRange) (result, error) {
	start, end, err := d.Bounds(c.loc)
	if err != nil {
		return result{}, err
	}
	if start.IsZero() && end.IsZero() {
		return result{k: kAll}, nil
	}
	return pos(search.DateRangeQuery(start, end)), nil
}

func (c *compiler) size(s SizeRange) (result, error) {
	if s.Min < -1 || s.Max < -1 || s.Min > maxSize || s.Max > maxSize {
		return result{}, fmt.Errorf("query: invalid size in %s", s)
	}
	lo, hi := uint64(0), uint64(maxSize)
	if s.Min >= 0 {
		lo = uint64(s.Min)
		if s.MinExclusive {
			lo++
		}
	}
	if s.Max >= 0 {
		if hi = uint64(s.Max); s.MaxExclusive {
			if hi == 0 {
				return result{k: kNone}, nil
			}
			hi--
		}
	}
	if s.Min < 0 && s.Max < 0 {
		return result{k: kAll}, nil
	}
	return pos(search.SizeRangeQuery(lo, hi)), nil
}
