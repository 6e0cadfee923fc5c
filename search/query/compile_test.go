package query

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	bq "github.com/blevesearch/bleve/v2/search/query"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/search"
)

// testLoc is the time zone of the test documents' dates and of the
// queries (Options.Location), two hours east of UTC.
var testLoc = time.FixedZone("UTC+2", 2*3600)

func at(y int, mo time.Month, d, h, mi, s int) time.Time {
	return time.Date(y, mo, d, h, mi, s, 0, testLoc)
}

// testDoc is one message of the test index; the fields not set are absent.
type testDoc struct {
	id                             string
	from, fromAddr, to, toAddr     []string
	cc, ccAddr, bcc, bccAddr       []string
	subject, body                  string
	filename, attachType           []string
	date                           time.Time
	size                           float64
	messageID                      string
	account, folder, accountFolder []string
	flags                          []string
	hasAttachment                  bool
}

const (
	kib = 1 << 10
	mib = 1 << 20
)

// testDocs are hand-written messages. The expected results of the queries
// in TestSearch are written down by hand from this table.
var testDocs = []testDoc{
	{id: "d01", // English invoice with a PDF
		from: []string{"Alice Smith <asmith@x.org>"}, fromAddr: []string{"asmith@x.org"},
		to: []string{"Bob Jones <bob@example.org>"}, toAddr: []string{"bob@example.org"},
		subject:  "Invoice 2019-001 for March",
		body:     "Please find the invoice attached. Payment is due in 30 days.",
		filename: []string{"report.pdf"}, attachType: []string{"application/pdf"}, hasAttachment: true,
		date: at(2019, 3, 15, 10, 0, 0), size: 250000, messageID: "inv001@x.org",
		account: []string{"work"}, folder: []string{"INBOX"}, accountFolder: []string{"work/INBOX"},
		flags: []string{`\Seen`, "$Label1"}},
	{id: "d02", // plural "invoices"; cc and bcc; last second of 2019; exactly 1M
		from: []string{"alice@example.org"}, fromAddr: []string{"alice@example.org"},
		to: []string{"Carol <carol@example.com>"}, toAddr: []string{"carol@example.com"},
		cc: []string{"Dave <dave@example.net>"}, ccAddr: []string{"dave@example.net"},
		bcc: []string{"Eve <eve@secret.org>"}, bccAddr: []string{"eve@secret.org"},
		subject: "Invoices overdue", body: "Your invoices are overdue.",
		date: at(2019, 12, 31, 23, 59, 59), size: 1 * mib, messageID: "inv002@example.org",
		account: []string{"work"}, folder: []string{"Archive/2019"}, accountFolder: []string{"work/Archive/2019"},
		flags: []string{`\Seen`, `\Answered`}},
	{id: "d03", // "quarterly report" as a phrase; first instant of 2020; 1M+1
		from: []string{"Bob Jones <bob@example.org>"}, fromAddr: []string{"bob@example.org"},
		to: []string{"alice@example.org"}, toAddr: []string{"alice@example.org"},
		subject: "Quarterly report Q3", body: "The quarterly report is ready. Invoicing numbers look good.",
		date: at(2020, 1, 1, 0, 0, 0), size: 1*mib + 1, messageID: "q3@example.org",
		account: []string{"personal"}, folder: []string{"INBOX"}, accountFolder: []string{"personal/INBOX"},
		flags: []string{`\Flagged`}},
	{id: "d04", // "report" and "quarterly" not in a row; draft; 10k exactly
		from: []string{"Frank <frank@x.org>"}, fromAddr: []string{"frank@x.org"},
		to: []string{"bob@example.org"}, toAddr: []string{"bob@example.org"},
		subject: "Report: quarterly numbers", body: "Draft of the numbers.",
		date: at(2021, 6, 30, 23, 0, 0), size: 10 * kib, messageID: "draft4@x.org",
		account: []string{"work"}, folder: []string{"Drafts"}, accountFolder: []string{"work/Drafts"},
		flags: []string{`\Draft`}},
	{id: "d05", // German; first instant of July 2021; 10k-1
		from: []string{"Jürgen Müller <juergen@beispiel.de>"}, fromAddr: []string{"juergen@beispiel.de"},
		to: []string{"Alice Smith <asmith@x.org>"}, toAddr: []string{"asmith@x.org"},
		subject: "Besprechung am Montag", body: "Wir treffen uns im Besprechungsraum. Grüße, Jürgen",
		date: at(2021, 7, 1, 0, 0, 0), size: 10*kib - 1, messageID: "de5@beispiel.de",
		account: []string{"personal"}, folder: []string{"INBOX"}, accountFolder: []string{"personal/INBOX"},
		flags: []string{`\Seen`}},
	{id: "d06", // Chinese with 会议室 and 协议; attachment 报告.docx; 5M exactly
		from: []string{"王伟 <wang@example.cn>"}, fromAddr: []string{"wang@example.cn"},
		to: []string{"李娜 <li@example.cn>"}, toAddr: []string{"li@example.cn"},
		subject: "关于合作协议的会议", body: "请在会议室签署协议。",
		filename: []string{"报告.docx"}, hasAttachment: true,
		attachType: []string{"application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		date:       at(2022, 2, 28, 10, 0, 0), size: 5 * mib, messageID: "zh6@example.cn",
		account: []string{"personal"}, folder: []string{"收件箱"}, accountFolder: []string{"personal/收件箱"}},
	{id: "d07", // Chinese with 会议 but not 会议室; 5M+1
		from: []string{"王伟 <wang@example.cn>"}, fromAddr: []string{"wang@example.cn"},
		subject: "通知", body: "明天的会议取消了。",
		date: at(2022, 3, 1, 10, 0, 0), size: 5*mib + 1, messageID: "zh7@example.cn",
		account: []string{"personal"}, folder: []string{"收件箱"}, accountFolder: []string{"personal/收件箱"},
		flags: []string{`\Seen`}},
	{id: "d08", // Japanese (会議 with the Japanese character, not 会议)
		from: []string{"田中太郎 <tanaka@example.jp>"}, fromAddr: []string{"tanaka@example.jp"},
		subject: "会議の議事録", body: "東京で会議を開きます。",
		date: at(2018, 6, 15, 12, 0, 0), size: 4000, messageID: "ja8@example.jp",
		account: []string{"personal"}, folder: []string{"INBOX"}, accountFolder: []string{"personal/INBOX"},
		flags: []string{`\Seen`, `\Flagged`}},
	{id: "d09", // Korean
		from: []string{"김민수 <minsu@example.kr>"}, fromAddr: []string{"minsu@example.kr"},
		subject: "회의 일정", body: "다음 주 회의 일정을 확인하세요.",
		date: at(2021, 3, 1, 10, 0, 0), size: 6000, messageID: "ko9@example.kr",
		account: []string{"work"}, folder: []string{"INBOX"}, accountFolder: []string{"work/INBOX"},
		flags: []string{`\Seen`}},
	{id: "d10", // body derived from HTML, with a URL and foo:bar
		from: []string{"Example News <news@example.com>"}, fromAddr: []string{"news@example.com"},
		subject: "Weekly newsletter",
		body:    "Newsletter\n\nRead more at https://example.com/news/2020 \u2014 click here.\nRatio foo:bar.",
		date:    at(2020, 11, 5, 9, 0, 0), size: 50000, messageID: "nl10@example.com",
		account: []string{"personal"}, folder: []string{"Newsletters"}, accountFolder: []string{"personal/Newsletters"},
		flags: []string{`\Seen`, "$Junk"}},
	{id: "d11", // spam: example.com and news, but not the URL; the word "or"
		from: []string{"Spammer <deals@cheap.biz>"}, fromAddr: []string{"deals@cheap.biz"},
		subject: "Cheap watches", body: "Buy cheap watches now or never, news from example.com",
		date: at(2020, 6, 15, 8, 0, 0), size: 3000, messageID: "spam11@cheap.biz",
		account: []string{"work"}, folder: []string{"Spam"}, accountFolder: []string{"work/Spam"},
		flags: []string{"$Junk"}},
	{id: "d12", // copies in work/Archive/2019 and personal/INBOX; first instant of 2019-06-15
		from: []string{"Bob Jones <bob@example.org>"}, fromAddr: []string{"bob@example.org"},
		to: []string{"Alice Smith <asmith@x.org>"}, toAddr: []string{"asmith@x.org"},
		subject: "Holiday photos", body: "See the attached files.",
		filename: []string{"data.tar.gz", "Photo.JPG"}, attachType: []string{"application/gzip", "image/jpeg"}, hasAttachment: true,
		date: at(2019, 6, 15, 0, 0, 0), size: 2 * mib, messageID: "photos12@example.org",
		account: []string{"work", "personal"}, folder: []string{"Archive/2019", "INBOX"},
		accountFolder: []string{"work/Archive/2019", "personal/INBOX"},
		flags:         []string{`\Deleted`, `\Seen`}},
	{id: "d13", // cc and bcc addresses; last second of 2019-06-14; folder with spaces
		from: []string{"Alice Smith <asmith@x.org>"}, fromAddr: []string{"asmith@x.org"},
		to: []string{"team@example.org"}, toAddr: []string{"team@example.org"},
		cc: []string{"Grace Hopper <grace@navy.mil>"}, ccAddr: []string{"grace@navy.mil"},
		bcc: []string{"Heidi <heidi@example.org>"}, bccAddr: []string{"heidi@example.org"},
		subject: "Planning", body: "Agenda for the meeting.",
		date: at(2019, 6, 14, 23, 59, 59), size: 10*kib + 1, messageID: "A+b/c=d@Host.example",
		account: []string{"work"}, folder: []string{"Reçus & Factures"}, accountFolder: []string{"work/Reçus & Factures"},
		flags: []string{`\Answered`, `\Seen`}},
	{id: "d14", // full-width Latin letters
		from: []string{"me@home.net"}, fromAddr: []string{"me@home.net"},
		subject: "Ｍａｉｌａｒｋ release notes", body: "Version two is out.",
		date: at(2023, 1, 10, 12, 0, 0), size: 700, messageID: "rel14@home.net",
		account: []string{"personal"}, folder: []string{"Sent"}, accountFolder: []string{"personal/Sent"},
		flags: []string{`\Seen`}},
	{id: "d15", // old message
		from: []string{"Old Timer <old@legacy.com>"}, fromAddr: []string{"old@legacy.com"},
		subject: "Y2K readiness", body: "Are the systems ready?",
		date: at(1999, 1, 1, 12, 0, 0), size: 100, messageID: "y2k15@legacy.com",
		account: []string{"personal"}, folder: []string{"Archive/1999"}, accountFolder: []string{"personal/Archive/1999"},
		flags: []string{`\Seen`}},
}

func (d testDoc) fields() map[string]any {
	m := map[string]any{
		"_type":                   "message",
		search.FieldSubject:       d.subject,
		search.FieldBody:          d.body,
		search.FieldDate:          search.DateTerms(d.date),
		search.FieldDateKey:       search.DateKey(d.date, archive.ID{}),
		search.FieldSize:          search.SizeTerms(int64(d.size)),
		search.FieldMessageID:     d.messageID,
		search.FieldHasAttachment: d.hasAttachment,
		search.FieldFolder:        d.folder,
		search.FieldAccount:       d.account,
		search.FieldAccountFolder: d.accountFolder,
		search.FieldFrom:          d.from,
		search.FieldFromAddr:      d.fromAddr,
	}
	for k, v := range map[string][]string{
		search.FieldTo: d.to, search.FieldToAddr: d.toAddr, search.FieldCc: d.cc, search.FieldCcAddr: d.ccAddr,
		search.FieldBcc: d.bcc, search.FieldBccAddr: d.bccAddr, search.FieldFilename: d.filename,
		search.FieldAttachType: d.attachType, search.FieldFlags: d.flags,
	} {
		if v != nil {
			m[k] = v
		}
	}
	return m
}

var testIndex = sync.OnceValues(func() (bleve.Index, error) {
	m, err := search.NewMapping()
	if err != nil {
		return nil, err
	}
	idx, err := bleve.NewMemOnly(m)
	if err != nil {
		return nil, err
	}
	b := idx.NewBatch()
	for _, d := range testDocs {
		if err := b.Index(d.id, d.fields()); err != nil {
			return nil, err
		}
	}
	return idx, idx.Batch(b)
})

// searchIDs runs q against the test index and returns the sorted IDs.
func searchIDs(t *testing.T, q bq.Query) []string {
	t.Helper()
	idx, err := testIndex()
	if err != nil {
		t.Fatal(err)
	}
	res, err := idx.Search(bleve.NewSearchRequestOptions(q, 100, 0, false))
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	ids := []string{}
	for _, h := range res.Hits {
		ids = append(ids, h.ID)
	}
	slices.Sort(ids)
	return ids
}

// ids expands "d01 d02" into a sorted list.
func ids(s string) []string {
	out := strings.Fields(s)
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out
}

const allIDs = "d01 d02 d03 d04 d05 d06 d07 d08 d09 d10 d11 d12 d13 d14 d15"

func TestIndexHasAllDocs(t *testing.T) {
	idx, err := testIndex()
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := idx.DocCount(); n != uint64(len(testDocs)) {
		t.Fatalf("DocCount = %d, want %d", n, len(testDocs))
	}
}

// searchTests are queries and the IDs they must find in the test index,
// written by hand from testDocs.
var searchTests = []struct {
	q    string
	want string // space-separated document IDs
}{
	// Empty query, *, negation only.
	{"", allIDs},
	{"   ", allIDs},
	{"*", allIDs},
	{"-*", ""},
	{"-cheap", "d01 d02 d03 d04 d05 d06 d07 d08 d09 d10 d12 d13 d14 d15"},
	{"NOT cheap", "d01 d02 d03 d04 d05 d06 d07 d08 d09 d10 d12 d13 d14 d15"},
	{"-cheap -folder:INBOX -is:seen", "d04 d06"},
	{"--cheap", "d11"},

	// Bare words: AND-ed, across subject/from/to/cc/body/filename, no stemming.
	{"invoice", "d01"},
	{"Invoice", "d01"},
	{"INVOICE", "d01"},
	{"invoices", "d02"},
	{"invoice march", "d01"},
	{"invoice watches", ""},
	{"invoic*", "d01 d02 d03"},
	{"INVOIC*", "d01 d02 d03"},
	{"quarterly report", "d03 d04"},
	{"smith", "d01 d05 d12 d13"}, // From and To names
	{"dave", "d02"},              // Cc
	{"eve", ""},                  // Bcc is not searched by bare words
	{"pdf", "d01"},               // attachment file name part
	{"report", "d01 d03 d04"},    // report.pdf, subjects
	{"or", "d11"},                // lower-case "or" is a word
	{"cheap or", "d11"},
	{"mailark", "d14"}, // full-width letters are folded
	{"MAILARK", "d14"},
	{"Ｍａｉｌａｒｋ", "d14"},
	{"１２３", ""},                // full-width digits are dropped by the analyzer: nothing can match
	{"&", allIDs},              // no letters or digits: ignored
	{"cheap - watches", "d11"}, // lone "-" is ignored
	{"cheap &", "d11"},

	// Phrases.
	{`"quarterly report"`, "d03"},
	{`"report quarterly"`, "d04"}, // "Report: quarterly numbers"
	{`"Quarterly Report"`, "d03"},
	{`"invoice find"`, ""},
	{`"invoice attached"`, "d01"},
	{`"the invoice attached"`, "d01"},
	{`"quarterly report" -"quarterly report is ready"`, ""},

	// CJK.
	{"协议", "d06"},
	{"会议室", "d06"},
	{`"会议室"`, "d06"},
	{"会议", "d06 d07"},
	{"会*", "d06 d07 d08"}, // 会議 starts with the same character
	{"会議", "d08"},
	{"東京", "d08"},
	{"議事録", "d08"},
	{"회의", "d09"},
	{"일정", "d09"},
	{"body:会议室", "d06"},
	{"subject:会议室", ""},
	{"subject:协议", "d06"},
	{"签署 会议室", "d06"},
	{"会议室 OR 会議", "d06 d08"},
	{"会议 -会议室", "d07"},

	// German.
	{"besprechung", "d05"},
	{"Besprechungsraum", "d05"},
	{"besprech*", "d05"},
	{"grüße", "d05"},
	{"GRÜSSE", ""}, // no case folding of ß to ss
	{"from:jürgen", "d05"},
	{"from:JÜRGEN", "d05"},

	// URL-like words and unknown field prefixes are words.
	{"https://example.com/news/2020", "d10"},
	{"example.com news", "d10 d11"},
	{`"https://example.com/news/2020"`, "d10"},
	{"foo:bar", "d10"},
	{"http://nowhere.example/x", ""},

	// from: to: cc: bcc:
	{"from:alice", "d01 d02 d13"},
	{"from:Alice", "d01 d02 d13"},
	{"from:smith", "d01 d13"},
	{`from:"Alice Smith"`, "d01 d13"},
	{`from:"Smith Alice"`, ""},
	{"from:asmith@x.org", "d01 d13"},
	{"from:ASmith@X.Org", "d01 d13"},
	{"from:alice@example.org", "d02"},
	{`from:"alice@example.org"`, "d02"},
	{"from:bob@exa*", "d03 d12"},
	{"from:ali*", "d01 d02 d13"},
	{"from:@example.org", "d02 d03 d12"},
	{"from:王伟", "d06 d07"},
	{"from:news@example.com", "d10"},
	{"from:example.com", "d10"},
	{"to:bob@example.org", "d01 d04"},
	{"to:alice", "d03 d05 d12"},
	{"to:asmith@x.org", "d05 d12"},
	{"to:team@example.org", "d13"},
	{"cc:dave", "d02"},
	{"cc:grace@navy.mil", "d13"},
	{"cc:hopper", "d13"},
	{"bcc:eve", "d02"},
	{"bcc:heidi@example.org", "d13"},
	{"bcc:HEIDI", "d13"},
	{"FROM:alice", "d01 d02 d13"},

	// subject: body: filename: mimetype:
	{"subject:invoice", "d01"},
	{"body:invoice", "d01"},
	{"subject:quarterly", "d03 d04"},
	{`subject:"quarterly report"`, "d03"},
	{"subject:invoic*", "d01 d02"},
	{"body:invoic*", "d01 d02 d03"},
	{"body:march", ""},
	{"filename:pdf", "d01"},
	{"filename:report", "d01"},
	{"filename:report.pdf", "d01"},
	{`filename:"report.pdf"`, "d01"},
	{"filename:REPORT.PDF", "d01"},
	{"filename:df", ""},
	{"filename:pd*", "d01"},
	{"filename:rep*", "d01"},
	{"filename:报告", "d06"},
	{"filename:docx", "d06"},
	{"filename:gz", "d12"},
	{"filename:tar", "d12"},
	{"filename:tar.gz", "d12"},
	{"filename:jpg", "d12"},
	{"filename:photo*", "d12"},
	{"filename:data.tar", "d12"},
	{"filename:tar.g*", "d12"},
	{"filename:ta*", "d12"},
	{"filename:ar", ""},
	{"filename:tar.gzip", ""},
	{"filename:data.gz", ""},
	{`filename:"tar.gz"`, "d12"},
	{"mimetype:application/pdf", "d01"},
	{"mimetype:Image/JPEG", "d12"},
	{"mimetype:image/*", "d12"},
	{"mimetype:application/*", "d01 d06 d12"},
	{"mimetype:pdf", ""},

	// folder: account: and both.
	{"folder:INBOX", "d01 d03 d05 d08 d09 d12"},
	{"folder:inbox", ""},
	{"folder:Archive/2019", "d02 d12"},
	{"folder:Archive/*", "d02 d12 d15"},
	{"folder:收件箱", "d06 d07"},
	{`folder:"Reçus & Factures"`, "d13"},
	{`folder:"Reçus"`, ""},
	{"account:work", "d01 d02 d04 d09 d11 d12 d13"},
	{"account:Work", ""},
	{"account:personal", "d03 d05 d06 d07 d08 d10 d12 d14 d15"},
	{"account:work folder:INBOX", "d01 d09"},
	{"folder:INBOX account:work", "d01 d09"},
	{"account:personal folder:INBOX", "d03 d05 d08 d12"},
	{"account:work folder:Archive/2019", "d02 d12"},
	{"account:personal folder:Archive/*", "d15"},
	{"account:work (folder:INBOX OR folder:Spam)", "d01 d09 d11"},
	{"account:work -folder:INBOX", "d02 d04 d11 d12 d13"},
	{"account:work AND folder:INBOX", "d01 d09"},
	{"folder:INBOX OR account:work", "d01 d02 d03 d04 d05 d08 d09 d11 d12 d13"},
	{"account:w* folder:INBOX", "d01 d09 d12"}, // a prefix names no single account
	{"account:work account:personal folder:INBOX", "d12"},

	// id:
	{"id:inv001@x.org", "d01"},
	{"id:<inv001@x.org>", "d01"},
	{`id:"<inv001@x.org>"`, "d01"},
	{"id:INV001@x.org", ""},
	{"id:inv*", "d01 d02"},
	{"id:A+b/c=d@Host.example", "d13"},

	// is: tag: keyword:
	{"is:unread", "d03 d04 d06 d11"},
	{"-is:seen", "d03 d04 d06 d11"},
	{"is:seen", "d01 d02 d05 d07 d08 d09 d10 d12 d13 d14 d15"},
	{"is:read", "d01 d02 d05 d07 d08 d09 d10 d12 d13 d14 d15"},
	{"-is:unread", "d01 d02 d05 d07 d08 d09 d10 d12 d13 d14 d15"},
	{"is:flagged", "d03 d08"},
	{"IS:Flagged", "d03 d08"},
	{"is:answered", "d02 d13"},
	{"is:draft", "d04"},
	{"is:deleted", "d12"},
	{"is:unread is:flagged", "d03"},
	{"is:unread OR is:flagged", "d03 d04 d06 d08 d11"},
	{"tag:$Label1", "d01"},
	{"tag:$label1", ""},
	{"keyword:$Junk", "d10 d11"},
	{`tag:\Seen -is:read`, ""},
	{`tag:\Flagged`, "d03 d08"},
	{"tag:$*", "d01 d10 d11"},

	// has:
	{"has:attachment", "d01 d06 d12"},
	{"-has:attachment", "d02 d03 d04 d05 d07 d08 d09 d10 d11 d13 d14 d15"},
	{"has:attachment -filename:pdf", "d06 d12"},

	// date: after: before: (testLoc), at the boundaries.
	{"date:2019", "d01 d02 d12 d13"},
	{"date:2019-06", "d12 d13"},
	{"date:2019-06-15", "d12"},
	{"date:2019-06-14", "d13"},
	{"date:2019/6/15", "d12"},
	{"date:2019-12-31", "d02"},
	{"date:2020-01-01", "d03"},
	{"date:2019..2021-06", "d01 d02 d03 d04 d09 d10 d11 d12 d13"},
	{"date:2019..2019", "d01 d02 d12 d13"},
	{"date:2021-07..", "d05 d06 d07 d14"},
	{"date:..2018", "d08 d15"},
	{"date:..2019-06-14", "d01 d08 d13 d15"},
	{"after:2020", "d03 d04 d05 d06 d07 d09 d10 d11 d14"},
	{"after:2019-06-15", "d02 d03 d04 d05 d06 d07 d09 d10 d11 d12 d14"},
	{"before:2020", "d01 d02 d08 d12 d13 d15"},
	{"before:2019-06-15", "d01 d08 d13 d15"},
	{"after:2019 before:2020", "d01 d02 d12 d13"},
	{"-date:2019", "d03 d04 d05 d06 d07 d08 d09 d10 d11 d14 d15"},
	{"date:2019 OR date:2022", "d01 d02 d06 d07 d12 d13"},
	{"date:1990", ""},
	{"date:1990 -cheap", ""},
	{"date:1000", ""}, // before what Bleve can store: nothing
	{"date:1000 -cheap", ""},
	{"date:..1500", ""},
	{"date:1500..", allIDs},
	{"after:1000", allIDs},
	{"date:9999", ""},
	{"before:9999", allIDs},

	// size: at the boundaries.
	{"size:>1M", "d03 d06 d07 d12"},
	{"size:>=1M", "d02 d03 d06 d07 d12"},
	{"size:>1048575", "d02 d03 d06 d07 d12"},
	{"size:<10k", "d05 d08 d09 d11 d14 d15"},
	{"size:<10K", "d05 d08 d09 d11 d14 d15"},
	{"size:<=10k", "d04 d05 d08 d09 d11 d14 d15"},
	{"size:1M..5M", "d02 d03 d06 d12"},
	{"size:1m..5m", "d02 d03 d06 d12"},
	{"size:10240", "d04"},
	{"size:10k", "d04"},
	{"size:5M..", "d06 d07"},
	{"size:..100", "d15"},
	{"size:>1G", ""},
	{"size:<=1g", allIDs},
	{"size:0..", allIDs},
	{"-size:>1M", "d01 d02 d04 d05 d08 d09 d10 d11 d13 d14 d15"},

	// Operators and precedence.
	{"invoice OR watches", "d01 d11"},
	{"invoice AND march", "d01"},
	{"invoice AND watches", ""},
	{"quarterly OR cheap watches", "d03 d04 d11"},     // quarterly OR (cheap AND watches)
	{"cheap watches OR quarterly", "d03 d04 d11"},     // (cheap AND watches) OR quarterly
	{"(quarterly OR cheap) watches", "d11"},           // parentheses override
	{"quarterly OR cheap AND watches", "d03 d04 d11"}, // explicit AND binds tighter too
	{"report -quarterly", "d01"},
	{"report NOT quarterly", "d01"},
	{"-(quarterly OR cheap)", "d01 d02 d05 d06 d07 d08 d09 d10 d12 d13 d14 d15"},
	{"NOT (folder:INBOX OR folder:Spam) is:seen", "d02 d07 d10 d13 d14 d15"},
	{"(from:alice OR from:bob) has:attachment", "d01 d12"},
	{"folder:INBOX -is:seen", "d03"},
	{"-folder:INBOX -folder:Spam -is:seen", "d04 d06"},
	{"is:unread OR -has:attachment is:flagged", "d03 d04 d06 d08 d11"},
	{"(is:unread OR -has:attachment) is:flagged", "d03 d08"},
	{"-is:seen OR -account:personal", "d01 d02 d03 d04 d06 d09 d11 d13"},
	{"((invoice))", "d01"},
	{"invoice OR (quarterly (report OR numbers) -draft)", "d01 d03"},
}

// TestSearch runs each of searchTests against the test index.
func TestSearch(t *testing.T) {
	for _, tt := range searchTests {
		q, err := ParseAndCompile(tt.q, Options{Location: testLoc})
		if err != nil {
			t.Errorf("ParseAndCompile(%q): %v", tt.q, err)
			continue
		}
		if got, want := searchIDs(t, q), ids(tt.want); !slices.Equal(got, want) {
			n, _ := Parse(tt.q)
			t.Errorf("%q (parsed %q): got %v, want %v", tt.q, n, got, want)
		}
	}
}

// TestSearchLocation shows that dates begin and end in Options.Location:
// d03 is dated 2020-01-01 00:00 at UTC+2, which is 2019 in UTC.
func TestSearchLocation(t *testing.T) {
	for _, tt := range []struct {
		loc  *time.Location
		q    string
		want string
	}{
		{testLoc, "date:2019", "d01 d02 d12 d13"},
		{time.UTC, "date:2019", "d01 d02 d03 d12 d13"},
		{time.UTC, "date:2019-06-14", "d12 d13"},
		{time.UTC, "before:2020", "d01 d02 d03 d08 d12 d13 d15"},
		{time.FixedZone("UTC+3", 3*3600), "date:2019", "d01 d12 d13"},
		{time.FixedZone("UTC+1", 3600), "after:2020", "d04 d05 d06 d07 d09 d10 d11 d14"},
	} {
		q, err := ParseAndCompile(tt.q, Options{Location: tt.loc})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := searchIDs(t, q), ids(tt.want); !slices.Equal(got, want) {
			t.Errorf("%q in %v: got %v, want %v", tt.q, tt.loc, got, want)
		}
	}
}

// TestNilLocationIsLocal: a nil Options.Location compiles like time.Local.
func TestNilLocationIsLocal(t *testing.T) {
	for _, s := range []string{"date:2019-06-15", "after:2019 before:2020-03", "date:..2021"} {
		a, err1 := ParseAndCompile(s, Options{})
		b, err2 := ParseAndCompile(s, Options{Location: time.Local})
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Errorf("%q: nil location gives %s, time.Local gives %s", s, ja, jb)
		}
	}
}

func TestCompileShapes(t *testing.T) {
	for _, tt := range []struct {
		q    string
		want bq.Query
	}{
		{"", bq.NewMatchAllQuery()},
		{"*", bq.NewMatchAllQuery()},
		{"&", bq.NewMatchAllQuery()},
		{"-*", bq.NewMatchNoneQuery()},
		// A whole address is one exact term, without the phrase of its
		// words in the text field (which costs a third of such a search).
		{"from:Dmitri@Example.net", termQuery(search.FieldFromAddr, "dmitri@example.net")},
		{`to:"bob@example.org"`, termQuery(search.FieldToAddr, "bob@example.org")},
		{"cc:a@b", termQuery(search.FieldCcAddr, "a@b")},
	} {
		q, err := ParseAndCompile(tt.q, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := mustJSON(t, q), mustJSON(t, tt.want); got != want {
			t.Errorf("%q compiles to %s, want %s", tt.q, got, want)
		}
	}
	// A word is a match query with operator AND on each text field but
	// filename, where each term must be a name or the start of one up to a
	// dot: the index has every suffix after a dot of a name.
	q, err := ParseAndCompile("会议室", Options{})
	if err != nil {
		t.Fatal(err)
	}
	d, ok := q.(*bq.DisjunctionQuery)
	if !ok || len(d.Disjuncts) != len(search.TextFields) {
		t.Fatalf("会议室 compiles to %s, want a disjunction over %v", mustJSON(t, q), search.TextFields)
	}
	for i, f := range search.TextFields {
		if f == search.FieldFilename {
			want := `{"conjuncts":[{"disjuncts":[{"term":"会议","field":"filename"},{"prefix":"会议.","field":"filename"}],"min":0},` +
				`{"disjuncts":[{"term":"议室","field":"filename"},{"prefix":"议室.","field":"filename"}],"min":0}]}`
			if got := mustJSON(t, d.Disjuncts[i]); got != want {
				t.Errorf("filename part: %s, want %s", got, want)
			}
			continue
		}
		m, ok := d.Disjuncts[i].(*bq.MatchQuery)
		if !ok || m.Match != "会议室" || m.Field() != f || m.Operator != bq.MatchQueryOperatorAnd {
			t.Errorf("part %d: %s, want an AND match query on %s", i, mustJSON(t, d.Disjuncts[i]), f)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCompileErrors: hand-built nodes that Parse never returns.
func TestCompileErrors(t *testing.T) {
	for _, n := range []Node{
		nil,
		Term{Field: "nope", Value: "x"},
		Term{Field: "subject"},
		Term{Field: "is", Value: "bogus"},
		Term{Field: "has", Value: "pdf"},
		DateRange{Field: "date"},
		DateRange{Field: "date", From: Period{Year: 2019, Month: 13}, To: Period{Year: 2019, Month: 13}},
		DateRange{Field: "after"},
		DateRange{Field: "before", From: Period{Year: 2019}},
		DateRange{Field: "when", From: Period{Year: 2019}},
		SizeRange{Min: -5, Max: -1},
		And{Nodes: []Node{Term{Value: "x"}, Term{Field: "nope", Value: "y"}}},
		Or{Nodes: []Node{Term{Field: "nope", Value: "y"}}},
		Not{Node: Term{Field: "nope", Value: "y"}},
		&And{},
	} {
		if q, err := Compile(n, Options{}); err == nil {
			t.Errorf("Compile(%#v) = %T, want an error", n, q)
		}
	}
}

// TestCompileHandBuilt: nodes built without Parse compile and search.
func TestCompileHandBuilt(t *testing.T) {
	for _, tt := range []struct {
		n    Node
		want string
	}{
		{And{}, allIDs},
		{Or{}, ""}, // no alternative: nothing matches
		{Not{Node: Not{Node: Term{Value: "cheap"}}}, "d11"},
		{SizeRange{Min: 10 * kib, Max: 1 * mib, MinExclusive: true, MaxExclusive: true}, "d01 d10 d13"},
		{SizeRange{Min: -1, Max: -1}, allIDs},
		{Term{Field: "subject", Value: "quarterly report", Phrase: true}, "d03"},
		{Term{Field: "folder", Value: "INBOX", Phrase: true}, "d01 d03 d05 d08 d09 d12"},
		{DateRange{Field: "date", From: Period{Year: 2019, Month: 6, Day: 15}}, "d02 d03 d04 d05 d06 d07 d09 d10 d11 d12 d14"},
	} {
		q, err := Compile(tt.n, Options{Location: testLoc})
		if err != nil {
			t.Errorf("Compile(%#v): %v", tt.n, err)
			continue
		}
		if got, want := searchIDs(t, q), ids(tt.want); !slices.Equal(got, want) {
			t.Errorf("%#v: got %v, want %v", tt.n, got, want)
		}
	}
}

// TestLongAndOddWords: very long words, words the lowercase filter turns
// into invalid UTF-8 and names of many parts compile and search.
func TestLongAndOddWords(t *testing.T) {
	for _, s := range []string{
		"filename:" + strings.Repeat("x", 300),
		"filename:" + strings.Repeat("x", 300) + "*",
		"İstanbul", // the lowercase filter turns this into invalid UTF-8
		"filename:İstanbul",
		"filename:İstanbul*",
		"filename:a.b.c.d.e.f.g.h.i.j",
		strings.Repeat("(", 90) + "x" + strings.Repeat(")", 90),
	} {
		q, err := ParseAndCompile(s, Options{})
		if err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		if got := searchIDs(t, q); len(got) != 0 {
			t.Errorf("%q: got %v, want none", s, got)
		}
	}
}

// TestConcurrentCompile: Compile shares the analyzers of one mapping; run
// with -race.
func TestConcurrentCompile(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(searchTests))
	for range 4 {
		wg.Go(func() {
			for _, tt := range searchTests {
				if _, err := ParseAndCompile(tt.q, Options{Location: testLoc}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
