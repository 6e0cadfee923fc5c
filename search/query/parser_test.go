package query

import (
	"errors"
	"reflect"
	"testing"
)

// parseTests: input → canonical String of the parsed query.
var parseTests = []struct{ in, want string }{
	// Empty and all.
	{"", "*"},
	{" \t\n", "*"},
	{"\u3000", "*"}, // ideographic space
	{"*", "*"},
	{"-*", "-*"},

	// Words, phrases, prefixes.
	{"invoice", "invoice"},
	{"  invoice  ", "invoice"},
	{"invoice acme", "invoice acme"},
	{"invoice\u3000acme", "invoice acme"},
	{`"quarterly report"`, `"quarterly report"`},
	{`"a \"b\" c"`, `"a \"b\" c"`},
	{`"back\\slash"`, `"back\\slash"`},
	{`"\Seen"`, `"\\Seen"`}, // a lone backslash is literal
	{`"x"y`, `"x" y`},
	{`x"y"`, `x "y"`},
	{"invoic*", "invoic*"},
	{"invoic**", "invoic**"},
	{"*invoice", "*invoice"}, // only a trailing * is a prefix
	{"in*voice", "in*voice"},
	{`"invoic*"`, `"invoic*"`},
	{"会议室", "会议室"},
	{`"会议室"`, `"会议室"`},
	{"e-mail", "e-mail"},
	{"or", "or"},
	{"and not", "and not"},
	{"Or", "Or"},
	{`"OR"`, `"OR"`},
	{`"-x"`, `"-x"`},
	{`"from:x"`, `"from:x"`},

	// Unknown field prefixes are words.
	{"http://example.com/a?b=c", "http://example.com/a?b=c"},
	{"foo:bar", "foo:bar"},
	{"foo:", "foo:"},
	{":x", ":x"},
	{"mailto:bob@example.org", "mailto:bob@example.org"},

	// Fields: canonical lower-case names; keyword: is tag:.
	{"from:alice", "from:alice"},
	{"FROM:alice", "from:alice"},
	{"From:Alice", "from:Alice"},
	{"to:bob@example.org", "to:bob@example.org"},
	{"cc:x bcc:y", "cc:x bcc:y"},
	{`from:"Alice Smith"`, `from:"Alice Smith"`},
	{`from:"alice"`, `from:"alice"`},
	{"from:ali*", "from:ali*"},
	{"from:OR", "from:OR"},
	{"from:-x", "from:-x"},
	{"from:a:b", "from:a:b"},
	{"subject:invoice", "subject:invoice"},
	{`subject:"quarterly report"`, `subject:"quarterly report"`},
	{"body:会议室", "body:会议室"},
	{"filename:pdf", "filename:pdf"},
	{"mimetype:image/*", "mimetype:image/*"},
	{"folder:INBOX", "folder:INBOX"},
	{"folder:Archive/2019", "folder:Archive/2019"},
	{"folder:收件箱", "folder:收件箱"},
	{`folder:"Reçus & Factures"`, `folder:"Reçus & Factures"`},
	{`folder:"INBOX"`, "folder:INBOX"}, // quotes in exact fields only delimit
	{`folder:"a*"`, `folder:"a*"`},
	{`folder:"a(b)"`, `folder:"a(b)"`},
	{`folder:"say \"hi\""`, `folder:"say \"hi\""`},
	{"account:work folder:INBOX", "account:work folder:INBOX"},
	{"id:<abc@example.org>", "id:abc@example.org"},
	{"id:abc@example.org", "id:abc@example.org"},
	{"id:<<a>>", "id:a"},
	{"id:<a*", "id:a*"},
	{"id:a>*", "id:a*"},
	{"id:a<b>c", "id:a<b>c"},
	{`id:"<a b@c>"`, `id:"a b@c"`},
	{"is:flagged", "is:flagged"},
	{"is:UNREAD", "is:unread"},
	{"IS:Seen", "is:seen"},
	{"is:read is:answered is:draft is:deleted", "is:read is:answered is:draft is:deleted"},
	{"tag:$Label1", "tag:$Label1"},
	{"keyword:$Label1", "tag:$Label1"},
	{`tag:\Seen`, `tag:\Seen`},
	{"has:attachment", "has:attachment"},
	{"has:Attachment", "has:attachment"},

	// Dates.
	{"date:2019", "date:2019"},
	{"date:2019-06", "date:2019-06"},
	{"date:2019-06-15", "date:2019-06-15"},
	{"date:2019/6/5", "date:2019-06-05"},
	{"date:2019-6", "date:2019-06"},
	{"date:2020-02-29", "date:2020-02-29"},
	{"date:2019..2021-06", "date:2019..2021-06"},
	{"date:2019..2019", "date:2019"},
	{"date:2019-06..2019", "date:2019-06..2019"},
	{"date:2019..", "date:2019.."},
	{"date:..2019", "date:..2019"},
	{`date:"2019"`, "date:2019"},
	{"after:2019-06-15", "after:2019-06-15"},
	{"AFTER:2019/06/15", "after:2019-06-15"},
	{"before:2020", "before:2020"},
	{"after:2019 before:2020", "after:2019 before:2020"},

	// Sizes.
	{"size:>1M", "size:>1M"},
	{"size:<10k", "size:<10K"},
	{"size:>=1024", "size:>=1K"},
	{"size:<=1m", "size:<=1M"},
	{"size:1M..5M", "size:1M..5M"},
	{"size:1024k", "size:1M"},
	{"size:1536k", "size:1536K"},
	{"size:1000", "size:1000"},
	{"size:0", "size:0"},
	{"size:1g", "size:1G"},
	{"size:1M..", "size:>=1M"},
	{"size:..5M", "size:<=5M"},
	{"size:5M..5M", "size:5M"},

	// Operators and precedence: OR is looser than (implicit or explicit) AND.
	{"a b c", "a b c"},
	{"a AND b", "a b"},
	{"a OR b", "a OR b"},
	{"a OR b OR c", "a OR b OR c"},
	{"a OR b c", "a OR (b c)"},
	{"a b OR c", "(a b) OR c"},
	{"a AND b OR c AND d", "(a b) OR (c d)"},
	{"(a OR b) c", "(a OR b) c"},
	{"a (b OR c) d", "a (b OR c) d"},
	{"(a b) c", "a b c"},
	{"((a))", "a"},
	{"(a OR (b OR c))", "a OR b OR c"},
	{"a OR (b c)", "a OR (b c)"},
	{"(a b) OR (c d)", "(a b) OR (c d)"},
	{"-a", "-a"},
	{"NOT a", "-a"},
	{"NOT NOT a", "--a"},
	{"--a", "--a"},
	{"a -b", "a -b"},
	{"a NOT b", "a -b"},
	{"a AND NOT b", "a -b"},
	{"-a OR b", "-a OR b"},
	{"NOT a OR b", "-a OR b"},
	{"NOT (a OR b)", "-(a OR b)"},
	{"-(a b)", "-(a b)"},
	{`-"a b"`, `-"a b"`},
	{"-from:x", "-from:x"},
	{"-is:seen", "-is:seen"},
	{"-date:2019", "-date:2019"},
	{"-size:>1M", "-size:>1M"},
	{"-", "-"},
	{"a - b", "a - b"},
	{"(a -)", "a -"},
	{"--", "--"},
	{"---", "---"},
	{"a-b", "a-b"},
	{"(a)OR(b)", "a OR b"},
	{"a(b)", "a b"},
	{"a AND(b OR c)", "a (b OR c)"},
	{"-spam", "-spam"},
}

func TestParse(t *testing.T) {
	for _, tt := range parseTests {
		n, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		got := n.String()
		if got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
			continue
		}
		n2, err := Parse(got)
		if err != nil {
			t.Errorf("Parse(%q) (canonical of %q): %v", got, tt.in, err)
		} else if n2.String() != got {
			t.Errorf("canonical form %q reparses as %q", got, n2.String())
		}
	}
}

// TestParseTree checks the AST itself for a few inputs.
func TestParseTree(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Node
	}{
		{"", All{}},
		{"a", Term{Value: "a"}},
		{`"a b"`, Term{Value: "a b", Phrase: true}},
		{"a*", Term{Value: "a", Prefix: true}},
		{`subject:"a b"`, Term{Field: "subject", Value: "a b", Phrase: true}},
		{`folder:"a b"`, Term{Field: "folder", Value: "a b"}},
		{"from:x*", Term{Field: "from", Value: "x", Prefix: true}},
		{"id:<x@y>", Term{Field: "id", Value: "x@y"}},
		{"keyword:K", Term{Field: "tag", Value: "K"}},
		{"a OR b c", Or{Nodes: []Node{Term{Value: "a"}, And{Nodes: []Node{Term{Value: "b"}, Term{Value: "c"}}}}}},
		{"a b OR c", Or{Nodes: []Node{And{Nodes: []Node{Term{Value: "a"}, Term{Value: "b"}}}, Term{Value: "c"}}}},
		{"-a b", And{Nodes: []Node{Not{Node: Term{Value: "a"}}, Term{Value: "b"}}}},
		{"(a b) (c OR d)", And{Nodes: []Node{Term{Value: "a"}, Term{Value: "b"}, Or{Nodes: []Node{Term{Value: "c"}, Term{Value: "d"}}}}}},
		{"date:2019-06", DateRange{Field: "date", From: Period{2019, 6, 0}, To: Period{2019, 6, 0}}},
		{"date:2019..2021-06-30", DateRange{Field: "date", From: Period{2019, 0, 0}, To: Period{2021, 6, 30}}},
		{"date:..2019", DateRange{Field: "date", To: Period{2019, 0, 0}}},
		{"after:2019", DateRange{Field: "after", From: Period{2019, 0, 0}}},
		{"before:2019", DateRange{Field: "before", To: Period{2019, 0, 0}}},
		{"size:>1k", SizeRange{Min: 1024, Max: -1, MinExclusive: true}},
		{"size:>=1k", SizeRange{Min: 1024, Max: -1}},
		{"size:<1k", SizeRange{Min: -1, Max: 1024, MaxExclusive: true}},
		{"size:<=1k", SizeRange{Min: -1, Max: 1024}},
		{"size:1k..2k", SizeRange{Min: 1024, Max: 2048}},
		{"size:7", SizeRange{Min: 7, Max: 7}},
	} {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

// parseErrorTests: input → byte position and the whole message.
var parseErrorTests = []struct {
	in  string
	pos int
	msg string
}{
	// Parentheses.
	{"(from:x", 7, `expected ")" after "(from:x"`},
	{"subject:foo (from:x", 19, `expected ")" after "(from:x"`},
	{"(a (b c)", 8, `expected ")" after "(a (b c)"`},
	{"(a b OR c  ", 11, `expected ")" after "(a b OR c"`},
	{"(", 1, `expected a term after "(", found end of query`},
	{"()", 1, `expected a term after "(", found ")"`},
	{"a ( )", 4, `expected a term after "(", found ")"`},
	{")", 0, `expected a term, found ")" without a matching "("`},
	{") a", 0, `expected a term, found ")" without a matching "("`},
	{"a b)", 3, `expected end of query, found ")" without a matching "("`},
	{"(a))", 3, `expected end of query, found ")" without a matching "("`},
	{"(a b c d e f g h i j k l m n o p q r s", 38, `expected ")" after "(a b c d e f g h i j k l m n o…"`},

	// Quotes.
	{`"abc`, 4, `expected a closing quote (") after "\"abc"`},
	{`a "b c`, 6, `expected a closing quote (") after "\"b c"`},
	{`subject:"x`, 10, `expected a closing quote (") after "\"x"`},
	{`"a\"`, 4, `expected a closing quote (") after "\"a\\\""`},
	{`""`, 1, `expected text between the quotes`},
	{`from:""`, 6, `expected text between the quotes after "from:"`},

	// Operators without a term on one side.
	{"OR", 0, `expected a term before "OR"`},
	{"OR a", 0, `expected a term before "OR"`},
	{"a OR", 4, `expected a term after "OR", found end of query`},
	{"a OR )", 5, `expected a term after "OR", found ")"`},
	{"a OR OR b", 5, `expected a term after "OR", found "OR"`},
	{"(OR a)", 1, `expected a term before "OR"`},
	{"(a OR)", 5, `expected a term after "OR", found ")"`},
	{"a AND", 5, `expected a term after "AND", found end of query`},
	{"AND a", 0, `expected a term before "AND"`},
	{"a AND OR b", 6, `expected a term after "AND", found "OR"`},
	{"a OR AND b", 5, `expected a term after "OR", found "AND"`},
	{"NOT", 3, `expected a term after "NOT", found end of query`},
	{"a NOT", 5, `expected a term after "NOT", found end of query`},
	{"NOT OR a", 4, `expected a term after "NOT", found "OR"`},
	{"NOT )", 4, `expected a term after "NOT", found ")"`},
	{"-OR", 1, `expected a term after "-", found "OR"`},
	{"a -AND b", 3, `expected a term after "-", found "AND"`},

	// Fields without a value.
	{"from:", 5, `expected a value after "from:"`},
	{"from: alice", 5, `expected a value after "from:"`},
	{"FROM:", 5, `expected a value after "FROM:"`},
	{"a subject:", 10, `expected a value after "subject:"`},
	{"folder:(x)", 7, `expected a value after "folder:"`},
	{"from:*", 5, `expected text before "*" after "from:"`},
	{"folder:*", 7, `expected text before "*" after "folder:"`},
	{"id:<>", 3, `expected a message ID after "id:", found "<>"`},
	{"id:<", 3, `expected a message ID after "id:", found "<"`},
	{"is:", 3, `expected a value after "is:"`},

	// is: and has:
	{"is:foo", 3, `expected flagged, seen, read, unread, answered, draft or deleted after "is:", found "foo"`},
	{"is:flag*", 3, `expected flagged, seen, read, unread, answered, draft or deleted after "is:", found "flag*"`},
	{"has:pdf", 4, `expected "attachment" after "has:", found "pdf"`},
	{"has:attachments", 4, `expected "attachment" after "has:", found "attachments"`},

	// Dates.
	{"date:x", 5, `expected a date like 2019, 2019-06 or 2019-06-15, found "x"`},
	{"date:19", 5, `expected a date like 2019, 2019-06 or 2019-06-15, found "19"`},
	{"date:20190", 5, `expected a date like 2019, 2019-06 or 2019-06-15, found "20190"`},
	{"date:2019-", 5, `expected a date like 2019, 2019-06 or 2019-06-15, found "2019-"`},
	{"date:2019-06-15-1", 5, `expected a date like 2019, 2019-06 or 2019-06-15, found "2019-06-15-1"`},
	{"date:2019-123", 5, `expected a date like 2019, 2019-06 or 2019-06-15, found "2019-123"`},
	{"date:2019.06", 5, `expected a date like 2019, 2019-06 or 2019-06-15, found "2019.06"`},
	{"date:2019*", 5, `expected a date like 2019, 2019-06 or 2019-06-15, found "2019*"`},
	{"date:２０１９", 5, `expected a date like 2019, 2019-06 or 2019-06-15, found "２０１９"`},
	{"date:0000", 5, `expected a year from 0001 to 9999, found "0000"`},
	{"date:2019-13", 10, `expected a month from 01 to 12, found "13"`},
	{"date:2019-0", 10, `expected a month from 01 to 12, found "0"`},
	{"date:2019-02-29", 13, `expected a day from 01 to 28 in 2019-02, found "29"`},
	{"date:2019-06-31", 13, `expected a day from 01 to 30 in 2019-06, found "31"`},
	{"date:2019-06-00", 13, `expected a day from 01 to 30 in 2019-06, found "00"`},
	{"date:2019..2021-13", 16, `expected a month from 01 to 12, found "13"`},
	{"date:2019..x", 11, `expected a date like 2019, 2019-06 or 2019-06-15, found "x"`},
	{"date:2019...2020", 11, `expected a date like 2019, 2019-06 or 2019-06-15, found ".2020"`},
	{"date:..", 5, `expected a date like 2019, 2019-06 or 2019-06-15 before or after ".."`},
	{"date:2021..2019", 5, `expected the earlier date before "..", found "2021..2019"`},
	{"date:2019-07..2019-06", 5, `expected the earlier date before "..", found "2019-07..2019-06"`},
	{"after:2019..2020", 6, `expected a single date after "after:" (ranges go after "date:"), found "2019..2020"`},
	{"before:..2020", 7, `expected a single date after "before:" (ranges go after "date:"), found "..2020"`},
	{"after:", 6, `expected a value after "after:"`},
	{`date:"2019-13"`, 11, `expected a month from 01 to 12, found "13"`},

	// Sizes.
	{"size:x", 5, `expected a size like 500, 10k, 5M or 1G, found "x"`},
	{"size:>", 6, `expected a size like 500, 10k, 5M or 1G after "size:>"`},
	{"size:>=", 7, `expected a size like 500, 10k, 5M or 1G after "size:>="`},
	{"size:1X", 5, `expected a size like 500, 10k, 5M or 1G, found "1X"`},
	{"size:1.5M", 5, `expected a size like 500, 10k, 5M or 1G, found "1.5M"`},
	{"size:-1", 5, `expected a size like 500, 10k, 5M or 1G, found "-1"`},
	{"size:M", 5, `expected a size like 500, 10k, 5M or 1G, found "M"`},
	{"size:1MB", 5, `expected a size like 500, 10k, 5M or 1G, found "1MB"`},
	{"size:>>1", 6, `expected a size like 500, 10k, 5M or 1G, found ">1"`},
	{"size:1M..x", 9, `expected a size like 500, 10k, 5M or 1G, found "x"`},
	{"size:..", 5, `expected a size like 500, 10k, 5M or 1G before or after ".."`},
	{"size:5M..1M", 5, `expected the smaller size before "..", found "5M..1M"`},
	{"size:>9999999999G", 6, `expected a size of at most 8388608G, found "9999999999G"`},
	{"size:99999999999999999999", 5, `expected a size of at most 8388608G, found "99999999999999999999"`},
	{"size:1*", 5, `expected a size like 500, 10k, 5M or 1G, found "1*"`},

	// Input that is not UTF-8.
	{"a \xff", 2, `expected UTF-8 text, found byte 0xff`},

	// Nesting.
	{nest(101), 100, `expected at most 100 nested parentheses and negations`},
	{dashes(101) + "a", 100, `expected at most 100 nested parentheses and negations`},
}

func nest(n int) string {
	s := ""
	for range n {
		s += "("
	}
	s += "a"
	for range n {
		s += ")"
	}
	return s
}

func dashes(n int) string {
	s := ""
	for range n {
		s += "-"
	}
	return s
}

func TestParseErrors(t *testing.T) {
	for _, tt := range parseErrorTests {
		n, err := Parse(tt.in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, %v; want a *SyntaxError", tt.in, n, err)
			continue
		}
		if se.Pos != tt.pos || se.Msg != tt.msg {
			t.Errorf("Parse(%q): error at %d %q, want at %d %q", tt.in, se.Pos, se.Msg, tt.pos, tt.msg)
		}
		if se.Pos < 0 || se.Pos > len(tt.in) {
			t.Errorf("Parse(%q): position %d outside the input", tt.in, se.Pos)
		}
		if _, err := ParseAndCompile(tt.in, Options{}); !errors.As(err, &se) {
			t.Errorf("ParseAndCompile(%q) = %v, want a *SyntaxError", tt.in, err)
		}
	}
}

func TestSyntaxErrorText(t *testing.T) {
	_, err := Parse("subject:foo (from:x")
	if got, want := err.Error(), `query: at position 19: expected ")" after "(from:x"`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	// The examples in the package documentation.
	for in, want := range map[string]string{
		"(from:x":      `query: at position 7: expected ")" after "(from:x"`,
		"a OR":         `query: at position 4: expected a term after "OR", found end of query`,
		"date:2019-13": `query: at position 10: expected a month from 01 to 12, found "13"`,
	} {
		if _, err := Parse(in); err == nil || err.Error() != want {
			t.Errorf("Parse(%q) error %v, want %s", in, err, want)
		}
	}
}

// TestStringHandBuilt: String of nodes that Parse does not produce still
// renders something that parses.
func TestStringHandBuilt(t *testing.T) {
	for _, tt := range []struct {
		n    Node
		want string
	}{
		{And{}, "*"},
		{Or{}, "-*"},
		{Not{}, "-*"},
		{And{Nodes: []Node{And{Nodes: []Node{Term{Value: "a"}, Term{Value: "b"}}}, Term{Value: "c"}}}, "(a b) c"},
		{Or{Nodes: []Node{Or{Nodes: []Node{Term{Value: "a"}, Term{Value: "b"}}}, Term{Value: "c"}}}, "(a OR b) OR c"},
		{Term{Value: "OR"}, `"OR"`},
		{Term{Value: "-x"}, `"-x"`},
		{Term{Value: "from:x"}, `"from:x"`},
		{Term{Value: "x*"}, `"x*"`},
		{Term{Value: "a b"}, `"a b"`},
		{Term{Field: "folder", Value: "a b", Phrase: true}, `folder:"a b"`},
		{Term{Field: "folder", Value: "INBOX", Phrase: true}, `folder:INBOX`},
		{SizeRange{Min: -1, Max: -1}, "size:>=0"},
		{SizeRange{Min: 1024, Max: 2048, MinExclusive: true}, "(size:>1K size:<=2K)"},
		{SizeRange{Min: 1000, Max: 1000}, "size:1000"},
		{DateRange{Field: "date", From: Period{2019, 1, 2}}, "date:2019-01-02.."},
	} {
		got := tt.n.String()
		if got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.n, got, tt.want)
		}
		if _, err := Parse(got); err != nil {
			t.Errorf("Parse(%q): %v", got, err)
		}
	}
}
