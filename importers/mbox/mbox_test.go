package mbox

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/importers"
	"github.com/mailark/mailark/mbox"
)

// fourMessages is a hand-written mbox: asctime From_ lines (one with a
// single-digit day), a Takeout-style line with a zone, a message without
// a Date header, and Date headers that differ from the From_ dates.
const fourMessages = `From alice@example.org Sat Jan  3 12:00:00 2015
From: Alice <alice@example.org>
To: me@example.org
Subject: one
Date: Fri, 02 Jan 2015 08:00:00 +0000
Message-ID: <one@example.org>

first body

From bob@example.org Thu Feb 14 09:30:15 2019
From: Bob <bob@example.org>
To: me@example.org
Subject: two
Date: Wed, 13 Feb 2019 10:00:00 +0100
Message-ID: <two@example.org>

second body,
on two lines

From carol@example.org Tue Dec 31 23:59:59 2019
From: Carol <carol@example.org>
To: me@example.org
Subject: three

third body, no Date header

From 1659879234567890123@xxx Wed Mar 04 05:06:07 -0500 2020
From: Dave <dave@example.org>
To: me@example.org
Subject: four
Date: Sun, 01 Mar 2020 00:00:00 +0000

fourth body
`

// The four messages as they must be archived: no From_ line, no framing.
var fourStored = []string{
	"From: Alice <alice@example.org>\nTo: me@example.org\nSubject: one\nDate: Fri, 02 Jan 2015 08:00:00 +0000\nMessage-ID: <one@example.org>\n\nfirst body\n",
	"From: Bob <bob@example.org>\nTo: me@example.org\nSubject: two\nDate: Wed, 13 Feb 2019 10:00:00 +0100\nMessage-ID: <two@example.org>\n\nsecond body,\non two lines\n",
	"From: Carol <carol@example.org>\nTo: me@example.org\nSubject: three\n\nthird body, no Date header\n",
	"From: Dave <dave@example.org>\nTo: me@example.org\nSubject: four\nDate: Sun, 01 Mar 2020 00:00:00 +0000\n\nfourth body\n",
}

func TestImportFromDatesAreInternalDates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "four.mbox")
	writeFile(t, path, fourMessages)
	a, rep := importFile(t, path, Options{Labels: true})

	if rep.New != 4 || rep.Failed != 0 || rep.Linked != 0 || rep.Existing != 0 || len(rep.Problems) != 0 {
		t.Fatalf("report %+v, problems %v; want 4 new and nothing else", rep.RunCounts, rep.Problems)
	}
	// From_ dates: asctime is UTC; "-0500" is five hours behind UTC.
	wantDates := []int64{
		1420286400, // Sat Jan  3 12:00:00 2015 UTC
		1550136615, // Thu Feb 14 09:30:15 2019 UTC
		1577836799, // Tue Dec 31 23:59:59 2019 UTC
		1583316367, // Wed Mar 04 05:06:07 2020 -0500 = 10:06:07 UTC
	}
	got := catalogEntries(t, a)
	if len(got) != 4 {
		t.Fatalf("%d entries, want 4: %+v", len(got), got)
	}
	for i, e := range got {
		id := lfID(t, fourStored[i])
		want := entry{Folder: "INBOX", UID: uint32(i + 1), ID: id, Flags: "", Date: wantDates[i],
			Filename: fmt.Sprintf("%d.%s:2,", wantDates[i], id)}
		if e != want {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, e, want)
		}
		if b := readEntry(t, a, e); b != fourStored[i] {
			t.Errorf("message %d stored as %q, want %q", i, b, fourStored[i])
		}
	}
	archive.TestVerify(t, a)
}

// TestQuoting: mboxrd removes one '>' from every ">+From " line; mboxo only
// from ">From ". Unquoted "From " lines that are no separator stay.
func TestQuoting(t *testing.T) {
	const file = `From a@example.org Sat Jan  3 12:00:00 2015
Subject: quoting

>From here
>>From there
>>>From far away
> From is not quoted (space)
>Fromage is not From_
From the middle of a paragraph

From nobody in particular, not a separator

From b@example.org Sat Jan  3 12:00:01 2015
Subject: after

last
`
	for _, tc := range []struct {
		format mbox.Format
		first  string
	}{
		{mbox.MboxRD, "Subject: quoting\n\nFrom here\n>From there\n>>From far away\n> From is not quoted (space)\n>Fromage is not From_\n" +
			"From the middle of a paragraph\n\nFrom nobody in particular, not a separator\n"},
		{mbox.MboxO, "Subject: quoting\n\nFrom here\n>>From there\n>>>From far away\n> From is not quoted (space)\n>Fromage is not From_\n" +
			"From the middle of a paragraph\n\nFrom nobody in particular, not a separator\n"},
	} {
		t.Run(tc.format.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "q.mbox")
			writeFile(t, path, file)
			a, rep := importFile(t, path, Options{Format: tc.format})
			if rep.New != 2 || rep.Failed != 0 {
				t.Fatalf("report %+v %v, want 2 new", rep.RunCounts, rep.Problems)
			}
			got := catalogEntries(t, a)
			if len(got) != 2 {
				t.Fatalf("%d entries, want 2", len(got))
			}
			if b := readEntry(t, a, got[0]); b != tc.first {
				t.Errorf("first message stored as\n%q\nwant\n%q", b, tc.first)
			}
			if got[0].ID != lfID(t, tc.first) {
				t.Errorf("first message id %s, want %s", got[0].ID, lfID(t, tc.first))
			}
			if b := readEntry(t, a, got[1]); b != "Subject: after\n\nlast\n" {
				t.Errorf("second message stored as %q", b)
			}
		})
	}
}

// TestMboxWriterRoundTrip: what package mbox's writer writes (mboxrd), the
// importer reads back to the same identity, "From " body lines included.
func TestMboxWriterRoundTrip(t *testing.T) {
	bodies := []string{
		"Subject: a\r\n\r\nFrom the start\r\n>From quoted\r\n\r\nFrom x@y Sat Jan  3 12:00:00 2015\r\n",
		"Subject: b\n\nno CR here\n",
	}
	path := filepath.Join(t.TempDir(), "rt.mbox")
	var b strings.Builder
	w := mbox.NewWriter(&b)
	for i, body := range bodies {
		if _, err := w.WriteMessage("x@example.org", fixedDate(i), strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, path, b.String())
	a, rep := importFile(t, path, Options{})
	if rep.New != 2 || rep.Failed != 0 {
		t.Fatalf("report %+v %v", rep.RunCounts, rep.Problems)
	}
	got := catalogEntries(t, a)
	// The writer stores LF line ends; the identity is that of the CRLF form.
	want := []string{
		lfID(t, "Subject: a\n\nFrom the start\n>From quoted\n\nFrom x@y Sat Jan  3 12:00:00 2015\n"),
		lfID(t, "Subject: b\n\nno CR here\n"),
	}
	for i, e := range got {
		if e.ID != want[i] || e.Date != 1136214245+int64(i) {
			t.Errorf("entry %d: id %s date %d, want %s %d", i, e.ID, e.Date, want[i], 1136214245+int64(i))
		}
	}
}

// takeout is one Google Takeout message with the given X-Gmail-Labels.
func takeout(n int, labels string) string {
	return fmt.Sprintf("From 16598792345678901%02d@xxx Wed Mar 04 05:06:07 +0000 2020\n"+
		"X-GM-THRID: 16598792345678901%02d\nX-Gmail-Labels: %s\nFrom: x@example.org\nSubject: labels %d\n\nbody %d\n\n", n, n, labels, n, n)
}

func TestGmailLabels(t *testing.T) {
	for _, tc := range []struct {
		name   string
		labels string
		opts   Options
		want   map[string]string // folder → flags
	}{
		{"inbox, label with comma, starred, opened", `Inbox,Important,"Work, Q1",Starred,Opened`, Options{Labels: true},
			map[string]string{"INBOX": `\Flagged \Seen`, "Work, Q1": `\Flagged \Seen`}},
		{"archived and category only", `Archived,Category Promotions,Opened`, Options{Labels: true},
			map[string]string{"Archive": `\Seen`}},
		{"category only, no opened", `Category Promotions`, Options{Labels: true},
			map[string]string{"Archive": ""}},
		{"unread is not seen", `Inbox,Category Updates,Unread`, Options{Labels: true},
			map[string]string{"INBOX": ""}},
		{"unread wins over opened", `Inbox,Opened,Unread`, Options{Labels: true},
			map[string]string{"INBOX": ""}},
		{"starred unread archived", `Starred,Unread`, Options{Labels: true},
			map[string]string{"Archive": `\Flagged`}},
		{"sent", `Sent,Opened`, Options{Labels: true},
			map[string]string{"Sent": `\Seen`}},
		{"drafts", `Drafts,Opened`, Options{Labels: true},
			map[string]string{"Drafts": `\Draft \Seen`}},
		{"nested label first", `Work/Q1,Inbox,Opened`, Options{Labels: true},
			map[string]string{"INBOX": `\Seen`, "Work/Q1": `\Seen`}},
		{"system labels any case", `INBOX,OPENED,STARRED`, Options{Labels: true},
			map[string]string{"INBOX": `\Flagged \Seen`}},
		// Takeout encodes the whole value as one RFC 2047 word when a
		// label is not ASCII.
		{"encoded word, Q", `=?UTF-8?Q?Inbox,Opened,Re=C3=A7us_&_Factures?=`, Options{Labels: true},
			map[string]string{"INBOX": `\Seen`, "Reçus & Factures": `\Seen`}},
		{"encoded word, B", `=?UTF-8?B?QXJjaGl2ZWQsT3BlbmVkLOaUtuS7tueusQ==?=`, Options{Labels: true},
			map[string]string{"收件箱": `\Seen`}},
		{"encoded words, folded", "=?UTF-8?Q?Inbox,Opened,?=\n =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=", Options{Labels: true},
			map[string]string{"INBOX": `\Seen`, "Grüße": `\Seen`}},
		{"labels off", `Inbox,Important,"Work, Q1",Starred,Opened`, Options{Labels: false},
			map[string]string{"INBOX": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "takeout.mbox")
			raw := takeout(1, tc.labels)
			writeFile(t, path, raw)
			a, rep := importFile(t, path, tc.opts)
			// The report counts messages read: one, new, whatever
			// the number of folders it is filed in.
			if rep.Failed != 0 || len(rep.Problems) != 0 || rep.New != 1 || rep.Linked != 0 {
				t.Fatalf("report %+v %v", rep.RunCounts, rep.Problems)
			}
			stored := strings.TrimSuffix(raw[strings.Index(raw, "\n")+1:], "\n")
			id := lfID(t, stored)
			got := map[string]string{}
			var files []string
			for _, e := range catalogEntries(t, a) {
				if e.ID != id || e.UID != 1 || e.Date != 1583298367 {
					t.Errorf("entry %+v: want id %s, uid 1, date 1583298367", e, id)
				}
				got[e.Folder] = e.Flags
				files = append(files, entryPath(t, a, e))
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("folders and flags %q, want %q", got, tc.want)
			}
			for _, f := range files[1:] {
				if !sameFile(t, files[0], f) {
					t.Errorf("%s and %s are not one inode", files[0], f)
				}
			}
			archive.TestVerify(t, a)
		})
	}
}

func TestSplitLabels(t *testing.T) {
	for in, want := range map[string][]string{
		`Inbox,Important,"Work, Q1",Starred,Opened`: {"Inbox", "Important", "Work, Q1", "Starred", "Opened"},
		` Inbox , Sent `:         {"Inbox", "Sent"},
		`"a,b,c"`:                {"a,b,c"},
		``:                       {},
		`,,`:                     {},
		`Category Social,Unread`: {"Category Social", "Unread"},
	} {
		if got := splitLabels(in); !slices.Equal(got, want) || got == nil {
			t.Errorf("splitLabels(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestStatusFlags: Thunderbird's X-Mozilla-Status bits and mutt's
// Status/X-Status letters become flags; a header in the body does not.
func TestStatusFlags(t *testing.T) {
	cases := []struct {
		header string
		want   string
	}{
		{"X-Mozilla-Status: 0001", `\Seen`},
		{"X-Mozilla-Status: 0003", `\Answered \Seen`},
		{"X-Mozilla-Status: 0005", `\Flagged \Seen`},
		{"X-Mozilla-Status: 0000", ``},
		{"X-Mozilla-Status: 0009", `\Deleted \Seen`},
		{"X-Mozilla-Status: 1001", `$Forwarded \Seen`},
		{"x-mozilla-status:0004", `\Flagged`},
		{"Status: RO\nX-Status: AF", `\Answered \Flagged \Seen`},
		{"Status: O", ``},
		{"Status: R", `\Seen`},
		{"X-Status: DT", `\Deleted \Draft`},
		{"Subject: in the body\n\nStatus: RO\nX-Mozilla-Status: 0005", ``},
	}
	var b strings.Builder
	for i, c := range cases {
		fmt.Fprintf(&b, "From x@example.org Sat Jan  3 12:00:%02d 2015\nMessage-ID: <%d@example.org>\n%s\n\nbody %d\n\n", i, i, c.header, i)
	}
	path := filepath.Join(t.TempDir(), "status.mbox")
	writeFile(t, path, b.String())
	a, rep := importFile(t, path, Options{Labels: true})
	if rep.New != int64(len(cases)) || rep.Failed != 0 {
		t.Fatalf("report %+v %v", rep.RunCounts, rep.Problems)
	}
	got := catalogEntries(t, a)
	if len(got) != len(cases) {
		t.Fatalf("%d entries, want %d", len(got), len(cases))
	}
	for i, c := range cases {
		if got[i].Flags != c.want {
			t.Errorf("%q: flags %q, want %q", c.header, got[i].Flags, c.want)
		}
		if info := got[i].Filename[strings.Index(got[i].Filename, ":2,")+3:]; info != wantInfo(c.want) {
			t.Errorf("%q: file name info %q, want %q", c.header, info, wantInfo(c.want))
		}
	}
}

// wantInfo is the Maildir info of the system flags in a flag list.
func wantInfo(flags string) string {
	var letters []byte
	for f, l := range map[string]byte{`\Draft`: 'D', `\Flagged`: 'F', `$Forwarded`: 'P', `\Answered`: 'R', `\Seen`: 'S', `\Deleted`: 'T'} {
		if slices.Contains(strings.Fields(flags), f) {
			letters = append(letters, l)
		}
	}
	slices.Sort(letters)
	return string(letters)
}

// TestTruncatedLastMessage: a file that ends in the middle of a line keeps
// the last message byte for byte and says so in the report.
func TestTruncatedLastMessage(t *testing.T) {
	const first = "From a@example.org Sat Jan  3 12:00:00 2015\nSubject: complete\n\nwhole\n\n"
	for _, tc := range []struct {
		name, last, stored string
		warn               bool
	}{
		{"cut in body", "From b@example.org Sun Jan  4 12:00:00 2015\nSubject: cut\n\nthis line is cut off mid-wo",
			"Subject: cut\n\nthis line is cut off mid-wo", true},
		{"cut in header", "From b@example.org Sun Jan  4 12:00:00 2015\nSubject: cu",
			"Subject: cu", true},
		{"cut after CR", "From b@example.org Sun Jan  4 12:00:00 2015\r\nSubject: cr\r\n\r\nbody\r",
			"Subject: cr\r\n\r\nbody\r", true},
		{"ends with newline, no empty line", "From b@example.org Sun Jan  4 12:00:00 2015\nSubject: fine\n\nbody\n",
			"Subject: fine\n\nbody\n", false},
		{"ends with CRLF", "From b@example.org Sun Jan  4 12:00:00 2015\r\nSubject: fine\r\n\r\nbody\r\n",
			"Subject: fine\r\n\r\nbody\r\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cut.mbox")
			writeFile(t, path, first+tc.last)
			a, rep := importFile(t, path, Options{})
			if rep.New != 2 || rep.Failed != 0 {
				t.Fatalf("report %+v %v, want 2 new", rep.RunCounts, rep.Problems)
			}
			var want []archive.RunProblem
			if tc.warn {
				want = []archive.RunProblem{{
					Where: "mbox:" + path + "@" + strconv.Itoa(len(first)),
					Error: "message does not end with a newline (truncated file?); stored as it is",
				}}
			}
			if !slices.Equal(rep.Problems, want) {
				t.Errorf("problems %+v, want %+v", rep.Problems, want)
			}
			got := catalogEntries(t, a)
			if len(got) != 2 {
				t.Fatalf("%d entries", len(got))
			}
			if b := readEntry(t, a, got[0]); b != "Subject: complete\n\nwhole\n" {
				t.Errorf("first stored as %q", b)
			}
			if b := readEntry(t, a, got[1]); b != tc.stored {
				t.Errorf("last stored as %q, want %q", b, tc.stored)
			}
			archive.TestVerify(t, a)
		})
	}
}

// TestDamagedInput: what is not a message is a failed message in the
// report, and the messages around it are imported.
func TestDamagedInput(t *testing.T) {
	const msgA = "From a@example.org Sat Jan  3 12:00:00 2015\nSubject: a\n\nA\n\n"
	const msgB = "From b@example.org Sat Jan  3 12:00:01 2015\nSubject: b\n\nB\n\n"
	const garbage = "This is not an mbox.\nIt has a preface.\n\n"
	for _, tc := range []struct {
		name     string
		file     string
		new      int64
		failedAt []int // offsets of failed messages
		reason   string
	}{
		{"garbage before the first From_ line", garbage + msgA + msgB, 2, []int{0}, "does not start with a From_ line"},
		{"empty message in the middle", msgA + "From e@example.org Sat Jan  3 12:00:02 2015\n\n" + msgB, 2,
			[]int{len(msgA)}, archive.ErrEmptyMessage.Error()},
		{"empty file", "", 0, nil, ""},
		{"only garbage", "no mbox at all\n", 0, []int{0}, "does not start with a From_ line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "damaged.mbox")
			writeFile(t, path, tc.file)
			a, rep := importFile(t, path, Options{})
			if rep.New != tc.new || rep.Failed != int64(len(tc.failedAt)) {
				t.Errorf("report %+v, want %d new, %d failed", rep.RunCounts, tc.new, len(tc.failedAt))
			}
			if len(rep.Problems) != len(tc.failedAt) {
				t.Fatalf("problems %+v, want %d", rep.Problems, len(tc.failedAt))
			}
			for i, p := range rep.Problems {
				where := "mbox:" + path + "@" + strconv.Itoa(tc.failedAt[i])
				if p.Where != where || !p.Fatal || !strings.Contains(p.Error, tc.reason) {
					t.Errorf("problem %+v, want failed at %s with %q", p, where, tc.reason)
				}
			}
			var bodies []string
			for _, e := range catalogEntries(t, a) {
				bodies = append(bodies, readEntry(t, a, e))
			}
			if want := []string{"Subject: a\n\nA\n", "Subject: b\n\nB\n"}[:tc.new]; !slices.Equal(bodies, want) {
				t.Errorf("stored %q, want %q", bodies, want)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		path, want string
	}{
		{dir, "is a directory"},
		{filepath.Join(dir, "missing.mbox"), "no such file"},
	} {
		if _, err := Open(tc.path, "", Options{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%s) = %v, want an error with %q", tc.path, err, tc.want)
		}
	}
}

var _ importers.Checkpointer = (*countingSource)(nil)
