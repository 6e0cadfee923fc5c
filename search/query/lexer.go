package query

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// SyntaxError is a query that cannot be parsed. Pos is the byte offset
// (0-based) in the input where the parser stopped: where the missing thing
// was expected, or where the bad value starts.
type SyntaxError struct {
	Pos int
	Msg string // names what was expected, e.g. `expected ")" after "(from:x"`
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("query: at position %d: %s", e.Pos, e.Msg)
}

func errorf(pos int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

type tokKind uint8

const (
	tEOF    tokKind = iota
	tWord           // bare word, "phrase" or field:value
	tLParen         // (
	tRParen         // )
	tAnd            // AND
	tOr             // OR
	tNot            // NOT
	tMinus          // - directly before a term
)

type token struct {
	kind   tokKind
	pos    int    // byte offset of the token
	end    int    // byte offset just after it
	field  string // canonical field name; "" for bare words and phrases
	value  string // quotes, escapes and the prefix "*" removed
	vpos   int    // byte offset of the value (inside the quotes when quoted)
	quoted bool
	prefix bool // unquoted value ending in "*"
}

// describe names a token for "found ..." in error messages.
func (t token) describe(src string) string {
	if t.kind == tEOF {
		return "end of query"
	}
	return fmt.Sprintf("%q", snippet(src[t.pos:t.end]))
}

// snippet shortens s to about 30 characters for error messages.
func snippet(s string) string {
	s = strings.TrimRightFunc(s, unicode.IsSpace)
	n := 0
	for i := range s {
		if n == 30 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

func isSpaceAt(s string, i int) (bool, int) {
	r, w := utf8.DecodeRuneInString(s[i:])
	return unicode.IsSpace(r), w
}

// lex splits s into tokens. Whitespace (any Unicode space, such as the
// ideographic space U+3000) separates tokens; "(", ")" and '"' end a word.
func lex(s string) ([]token, error) {
	var toks []token
	i := 0
	for {
		for i < len(s) {
			sp, w := isSpaceAt(s, i)
			if !sp {
				break
			}
			i += w
		}
		if i >= len(s) {
			return append(toks, token{kind: tEOF, pos: len(s), end: len(s)}), nil
		}
		switch s[i] {
		case '(':
			toks = append(toks, token{kind: tLParen, pos: i, end: i + 1})
			i++
		case ')':
			toks = append(toks, token{kind: tRParen, pos: i, end: i + 1})
			i++
		case '"':
			v, end, err := lexQuoted(s, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tWord, pos: i, end: end, value: v, vpos: i + 1, quoted: true})
			i = end
		case '-':
			// A lone "-" (before a space, ")" or the end) is a word, which
			// compiles to nothing; otherwise it negates what follows.
			lone := i+1 == len(s) || s[i+1] == ')'
			if !lone {
				lone, _ = isSpaceAt(s, i+1)
			}
			if lone {
				toks = append(toks, token{kind: tWord, pos: i, end: i + 1, value: "-", vpos: i})
			} else {
				toks = append(toks, token{kind: tMinus, pos: i, end: i + 1})
			}
			i++
		default:
			t, err := lexWord(s, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i = t.end
		}
	}
}

// lexWord reads a word, keyword or field:value starting at i.
func lexWord(s string, i int) (token, error) {
	j := i
	for j < len(s) {
		if c := s[j]; c == '(' || c == ')' || c == '"' {
			break
		}
		sp, w := isSpaceAt(s, j)
		if sp {
			break
		}
		j += w
	}
	raw := s[i:j]
	switch raw {
	case "AND":
		return token{kind: tAnd, pos: i, end: j}, nil
	case "OR":
		return token{kind: tOr, pos: i, end: j}, nil
	case "NOT":
		return token{kind: tNot, pos: i, end: j}, nil
	}
	t := token{kind: tWord, pos: i, end: j, value: raw, vpos: i}
	if c := strings.IndexByte(raw, ':'); c > 0 {
		if name, ok := fieldNames[strings.ToLower(raw[:c])]; ok {
			t.field = name
			t.value = raw[c+1:]
			t.vpos = i + c + 1
			if t.value == "" && j < len(s) && s[j] == '"' {
				v, end, err := lexQuoted(s, j)
				if err != nil {
					return token{}, err
				}
				t.value, t.vpos, t.end, t.quoted = v, j+1, end, true
				return t, nil
			}
		}
	}
	if strings.HasSuffix(t.value, "*") {
		t.value = t.value[:len(t.value)-1]
		t.prefix = true
	}
	return t, nil
}

// lexQuoted reads a quoted string starting at the '"' at p. Inside quotes
// \" is a quote and \\ a backslash; any other backslash is literal.
func lexQuoted(s string, p int) (value string, end int, err error) {
	var b strings.Builder
	for k := p + 1; k < len(s); k++ {
		switch c := s[k]; {
		case c == '"':
			return b.String(), k + 1, nil
		case c == '\\' && k+1 < len(s) && (s[k+1] == '"' || s[k+1] == '\\'):
			b.WriteByte(s[k+1])
			k++
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, errorf(len(s), "expected a closing quote (\") after %q", snippet(s[p:]))
}
