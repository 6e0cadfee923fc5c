package query

import (
	"strconv"
	"strings"
	"unicode"
)

// Node is a parsed query. The concrete types are All, And, Or, Not, Term,
// DateRange and SizeRange (values, not pointers).
//
// String renders the canonical form of the query: Parse(n.String()) gives a
// node with the same String for every node that Parse returned. The
// canonical form spells field names in lower case, writes "tag:" for
// "keyword:", dates as 2019-06-15, sizes in the largest exact unit, makes
// precedence explicit with parentheses around AND groups inside OR, and
// writes negation as "-".
type Node interface {
	String() string
	node()
}

// All matches every message. Parse returns it for an empty query and for "*".
type All struct{}

// And matches messages that match every one of Nodes (implicit or explicit
// AND). Parse never nests an And directly inside an And.
type And struct{ Nodes []Node }

// Or matches messages that match at least one of Nodes. Parse never nests
// an Or directly inside an Or.
type Or struct{ Nodes []Node }

// Not matches messages that Node does not match ("-x" or "NOT x").
type Not struct{ Node Node }

// Term is a word, a "phrase" or a prefix*, bare or after a field name.
type Term struct {
	// Field is the search-language field name in lower case ("from",
	// "subject", "folder", "is", ...; "tag" for keyword:), or "" for bare
	// words and phrases, which search all text fields.
	Field string
	// Value is the text with quotes and escapes removed, without the
	// trailing "*" of a prefix, and for id: without the angle brackets.
	Value string
	// Phrase is set when the value was quoted in a text or address field
	// (bare, from/to/cc/bcc/subject/body/filename): its words must occur
	// next to each other in this order. For exact fields quotes only
	// delimit the value, and Phrase is false.
	Phrase bool
	// Prefix is set by a trailing unquoted "*": the last word matches
	// every word that starts with it.
	Prefix bool
}

// DateRange is date:, after: or before:. A zero Period is unbounded.
//
//	date:From..To  matches [start of From, end of To)
//	after:From     matches [start of From, +inf)
//	before:To      matches (-inf, start of To)
type DateRange struct {
	Field    string // "date", "after" or "before"
	From, To Period
}

// Period is a calendar year (Month == 0), month (Day == 0) or day, in the
// time zone given to Compile. The zero Period means "unbounded".
type Period struct{ Year, Month, Day int }

// SizeRange is size:. Bounds are in bytes; -1 means unbounded.
type SizeRange struct {
	Min, Max                   int64
	MinExclusive, MaxExclusive bool
}

func (All) node()       {}
func (And) node()       {}
func (Or) node()        {}
func (Not) node()       {}
func (Term) node()      {}
func (DateRange) node() {}
func (SizeRange) node() {}

// fieldKind says how a field's value is parsed and compiled.
type fieldKind uint8

const (
	kindText  fieldKind = iota + 1 // subject body filename: analysed text
	kindAddr                       // from to cc bcc: text, or exact address with '@'
	kindExact                      // folder account id tag mimetype: exact terms
	kindIs                         // is: flags
	kindHas                        // has:attachment
	kindDate                       // date after before
	kindSize                       // size
)

// fieldNames maps the lower-cased field names of the language to their
// canonical spelling.
var fieldNames = map[string]string{
	"from": "from", "to": "to", "cc": "cc", "bcc": "bcc",
	"subject": "subject", "body": "body", "filename": "filename",
	"folder": "folder", "account": "account", "id": "id",
	"tag": "tag", "keyword": "tag", "mimetype": "mimetype",
	"is": "is", "has": "has",
	"date": "date", "after": "after", "before": "before",
	"size": "size",
}

var fieldKinds = map[string]fieldKind{
	"from": kindAddr, "to": kindAddr, "cc": kindAddr, "bcc": kindAddr,
	"subject": kindText, "body": kindText, "filename": kindText,
	"folder": kindExact, "account": kindExact, "id": kindExact, "tag": kindExact, "mimetype": kindExact,
	"is": kindIs, "has": kindHas,
	"date": kindDate, "after": kindDate, "before": kindDate,
	"size": kindSize,
}

// isValues are the accepted values of is:, mapped to IMAP flags; "unread"
// is the negation of \Seen.
var isValues = map[string]string{
	"flagged":  `\Flagged`,
	"seen":     `\Seen`,
	"read":     `\Seen`,
	"unread":   `\Seen`,
	"answered": `\Answered`,
	"draft":    `\Draft`,
	"deleted":  `\Deleted`,
}

const isList = "flagged, seen, read, unread, answered, draft or deleted"

func (All) String() string { return "*" }

func (n And) String() string { return joinNodes(n.Nodes, " ", "*") }

func (n Or) String() string { return joinNodes(n.Nodes, " OR ", "-*") }

// joinNodes writes nodes with sep between them, a nested And or Or in
// parentheses; empty is what no nodes mean.
func joinNodes(nodes []Node, sep, empty string) string {
	if len(nodes) == 0 {
		return empty
	}
	var b strings.Builder
	for i, c := range nodes {
		if i > 0 {
			b.WriteString(sep)
		}
		switch c.(type) {
		case And, Or:
			b.WriteString("(" + c.String() + ")")
		default:
			b.WriteString(str(c))
		}
	}
	return b.String()
}

func (n Not) String() string {
	switch n.Node.(type) {
	case And, Or:
		return "-(" + n.Node.String() + ")"
	}
	return "-" + str(n.Node)
}

// str is n.String() that tolerates a nil node in hand-built trees.
func str(n Node) string {
	if n == nil {
		return "*"
	}
	return n.String()
}

func (t Term) String() string {
	v := t.Value
	kind := fieldKinds[t.Field]
	// A prefix is written unquoted with its "*"; v itself may end in "*"
	// (the lexer takes off only the last one), hence the check of v+"x".
	if t.Prefix && !needsQuote(v+"x", t.Field == "") {
		if t.Field == "" {
			return v + "*"
		}
		return t.Field + ":" + v + "*"
	}
	quote := needsQuote(v, t.Field == "") ||
		(t.Phrase && (t.Field == "" || kind == kindText || kind == kindAddr))
	if quote {
		v = quoteValue(v)
	}
	if t.Prefix {
		v += "*" // hand-built only: cannot be written so that it parses back
	}
	if t.Field == "" {
		return v
	}
	return t.Field + ":" + v
}

// needsQuote reports whether v must be quoted to lex back as one word.
// bare: v stands alone, not after "field:".
func needsQuote(v string, bare bool) bool {
	if v == "" || strings.HasSuffix(v, "*") {
		return true
	}
	for _, r := range v {
		if r == '"' || r == '(' || r == ')' || unicode.IsSpace(r) {
			return true
		}
	}
	if !bare {
		return false
	}
	if v == "AND" || v == "OR" || v == "NOT" || (v[0] == '-' && v != "-") {
		return true
	}
	if i := strings.IndexByte(v, ':'); i > 0 {
		if _, ok := fieldNames[strings.ToLower(v[:i])]; ok {
			return true
		}
	}
	return false
}

// quoteValue quotes v, escaping '"' and '\' with a backslash.
func quoteValue(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' || v[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('"')
	return b.String()
}

func (d DateRange) String() string {
	switch d.Field {
	case "after":
		return "after:" + d.From.String()
	case "before":
		return "before:" + d.To.String()
	}
	if d.From == d.To && !d.From.IsZero() {
		return "date:" + d.From.String()
	}
	return "date:" + d.From.String() + ".." + d.To.String()
}

// IsZero reports whether p is the zero (unbounded) Period.
func (p Period) IsZero() bool { return p == Period{} }

// String renders p as 2019, 2019-06 or 2019-06-15; "" for the zero Period.
func (p Period) String() string {
	switch {
	case p.IsZero():
		return ""
	case p.Month == 0:
		return pad(p.Year, 4)
	case p.Day == 0:
		return pad(p.Year, 4) + "-" + pad(p.Month, 2)
	}
	return pad(p.Year, 4) + "-" + pad(p.Month, 2) + "-" + pad(p.Day, 2)
}

func pad(n, width int) string {
	s := strconv.Itoa(n)
	for len(s) < width {
		s = "0" + s
	}
	return s
}

func (s SizeRange) String() string {
	lo, hi := formatSize(s.Min), formatSize(s.Max)
	switch {
	case s.Min < 0 && s.Max < 0:
		return "size:>=0"
	case s.Max < 0 && s.MinExclusive:
		return "size:>" + lo
	case s.Max < 0:
		return "size:>=" + lo
	case s.Min < 0 && s.MaxExclusive:
		return "size:<" + hi
	case s.Min < 0:
		return "size:<=" + hi
	case s.MinExclusive || s.MaxExclusive:
		// Not produced by Parse: write it as two conditions.
		l, h := SizeRange{Min: s.Min, Max: -1, MinExclusive: s.MinExclusive}, SizeRange{Min: -1, Max: s.Max, MaxExclusive: s.MaxExclusive}
		return "(" + l.String() + " " + h.String() + ")"
	case s.Min == s.Max:
		return "size:" + lo
	}
	return "size:" + lo + ".." + hi
}

// formatSize writes n bytes with the largest unit that divides it exactly.
func formatSize(n int64) string {
	if n > 0 {
		for _, u := range []struct {
			suffix string
			mult   int64
		}{{"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
			if n%u.mult == 0 {
				return strconv.FormatInt(n/u.mult, 10) + u.suffix
			}
		}
	}
	return strconv.FormatInt(n, 10)
}
