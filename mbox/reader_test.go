package mbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
)

const (
	fromA = "From a@example.org Mon Jan  2 15:04:05 2006\n"
	fromB = "From b@example.org Tue Jan  3 15:04:05 2006\n"
)

// readCases are the tricky inputs; they also seed the fuzz corpora.
var readCases = []struct {
	name    string
	in      string
	format  Format
	garbage bool     // the first Next gives a FormatError
	bodies  []string // the messages after it
}{
	{name: "empty input", in: ""},
	{name: "one message", in: fromA + "Subject: x\n\nbody\n\n", bodies: []string{"Subject: x\n\nbody\n"}},
	{name: "no final empty line", in: fromA + "A\n", bodies: []string{"A\n"}},
	{name: "two messages", in: fromA + "A\n\n" + fromB + "B\n\n", bodies: []string{"A\n", "B\n"}},
	{name: "two trailing empty lines keep one", in: fromA + "A\n\n\n" + fromB + "B\n\n\n", bodies: []string{"A\n\n", "B\n\n"}},
	{name: "From line without date after empty line", in: fromA + "A\n\nFrom here on, we go\nB\n", bodies: []string{"A\n\nFrom here on, we go\nB\n"}},
	{name: "From_ line not after empty line", in: fromA + "A\n" + fromB + "B\n", bodies: []string{"A\n" + fromB + "B\n"}},
	{name: "mboxrd unquoting", in: fromA + ">From x\n>>From y\n>>>From z\n>Fromage\n>\n>>\n> From\nFrom\n",
		bodies: []string{"From x\n>From y\n>>From z\n>Fromage\n>\n>>\n> From\nFrom\n"}},
	{name: "mboxo unquoting", in: fromA + ">From x\n>>From y\n>>>From z\n", format: MboxO,
		bodies: []string{"From x\n>>From y\n>>>From z\n"}},
	{name: "quoted From_ line after empty line", in: fromA + "A\n\n>" + fromB + "B\n", bodies: []string{"A\n\n" + fromB + "B\n"}},
	{name: "CRLF", in: "From a Mon Jan  2 15:04:05 2006\r\nA\r\n\r\nB\r\n\r\nFrom b Mon Jan  2 15:04:05 2006\r\nC\r\n\r\n",
		bodies: []string{"A\r\n\r\nB\r\n", "C\r\n"}},
	{name: "empty messages", in: fromA + "\n" + fromB + "\n" + fromA, bodies: []string{"", "", ""}},
	{name: "From_ line at end without newline", in: "From a Mon Jan  2 15:04:05 2006", bodies: []string{""}},
	{name: "NUL bytes", in: fromA + "A\x00B\n\x00\n\n" + fromB + "\x00", bodies: []string{"A\x00B\n\x00\n", "\x00"}},
	{name: "truncated last message", in: fromA + "A\n\n" + fromB + "last line", bodies: []string{"A\n", "last line"}},
	{name: "truncated after CR", in: fromA + "x\r", bodies: []string{"x\r"}},
	{name: "bare CR lines", in: fromA + "\r\r\n\r" + fromB, bodies: []string{"\r\r\n\r" + fromB}},
	{name: "Takeout", in: "From 1234@xxx Sat Jan 03 12:00:00 +0000 2015\nX-GM-THRID: 1\n\nhi\n\nFrom 5678@xxx Sun Jan 04 12:00:00 +0000 2015\nbye\n",
		bodies: []string{"X-GM-THRID: 1\n\nhi\n", "bye\n"}},
	{name: "Thunderbird", in: "From - Sat Jan  3 12:00:00 2015\nA\n\nFrom - Sun Jan  4 12:00:00 2015\nB\n",
		bodies: []string{"A\n", "B\n"}},
	{name: "first From_ line without date", in: "From nobody\nA\n\n" + fromB + "B\n", bodies: []string{"A\n", "B\n"}},
	{name: "leading garbage", in: "junk\n\n" + fromA + "A\n", garbage: true, bodies: []string{"A\n"}},
	{name: "leading empty line", in: "\n" + fromA + "A\n", garbage: true, bodies: []string{"A\n"}},
	{name: "not an mbox", in: "Subject: hi\n\nbody\n", garbage: true},
	{name: "lowercase from", in: "from a Mon Jan  2 15:04:05 2006\n", garbage: true},
}

func TestReaderCases(t *testing.T) {
	for _, tc := range readCases {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.in)
			msgs, garbage := readAll(t, NewReader(bytes.NewReader(data), ReaderOptions{Format: tc.format}))
			if garbage != tc.garbage {
				t.Errorf("FormatError first = %v, want %v", garbage, tc.garbage)
			}
			var bodies []string
			for _, m := range msgs {
				bodies = append(bodies, m.Body)
			}
			if fmt.Sprintf("%q", bodies) != fmt.Sprintf("%q", tc.bodies) {
				t.Errorf("bodies\n got %q\nwant %q", bodies, tc.bodies)
			}
			// Each message spans from its From_ line to the next one.
			for i, m := range msgs {
				if !strings.HasPrefix(tc.in[m.Offset:], "From "+m.From) {
					t.Errorf("message %d: Offset %d is not at its From_ line", i, m.Offset)
				}
				if want := int64(len(data)); i+1 < len(msgs) {
					want = msgs[i+1].Offset
					if m.End != want {
						t.Errorf("message %d: End = %d, want %d", i, m.End, want)
					}
				} else if m.End != want {
					t.Errorf("last message: End = %d, want %d", m.End, want)
				}
			}
			// The reference reader agrees on everything.
			ref, refGarbage := refRead(data, tc.format, maxFromLine)
			if fmt.Sprint(ref) != fmt.Sprint(msgs) || refGarbage != garbage {
				t.Errorf("reference reader disagrees:\n got %+v\nwant %+v", msgs, ref)
			}
		})
	}
}

// TestReaderResume checks that a reader started at any message's End, with
// BaseOffset, gives the remaining messages with the same absolute offsets.
func TestReaderResume(t *testing.T) {
	for _, tc := range readCases {
		data := []byte(tc.in)
		all, _ := readAll(t, NewReader(bytes.NewReader(data), ReaderOptions{Format: tc.format}))
		for i, m := range all {
			r := NewReader(bytes.NewReader(data[m.End:]), ReaderOptions{Format: tc.format, BaseOffset: m.End})
			rest, garbage := readAll(t, r)
			if garbage || fmt.Sprint(rest) != fmt.Sprint(all[i+1:]) {
				t.Errorf("%s: resuming at %d:\n got %+v\nwant %+v", tc.name, m.End, rest, all[i+1:])
			}
		}
	}
}

func TestReaderFields(t *testing.T) {
	in := "From a@example.org Sat Jan 03 12:00:00 +0100 2015\r\nA\n"
	m, err := NewReader(strings.NewReader(in), ReaderOptions{BaseOffset: 100}).Next()
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2015, 1, 3, 11, 0, 0, 0, time.UTC)
	if m.From != "a@example.org Sat Jan 03 12:00:00 +0100 2015" || m.Sender != "a@example.org" ||
		!m.Date.Equal(want) || m.Offset != 100 {
		t.Errorf("got From %q Sender %q Date %v Offset %d", m.From, m.Sender, m.Date, m.Offset)
	}
}

func TestFormatError(t *testing.T) {
	_, err := NewReader(strings.NewReader("Subject: x\n"), ReaderOptions{BaseOffset: 7}).Next()
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Offset != 7 {
		t.Fatalf("got %v, want *FormatError at offset 7", err)
	}
	if got := err.Error(); got != "mbox: reading at offset 7: input does not start with a From_ line" {
		t.Errorf("Error() = %q", got)
	}
}

// TestReaderSkip checks that Next skips an unread or partly read body.
func TestReaderSkip(t *testing.T) {
	in := fromA + "A1\nA2\n\n" + fromB + "B\n\n" + fromA + "C\n"
	r := NewReader(strings.NewReader(in), ReaderOptions{})
	var got []string
	for i := 0; ; i++ {
		m, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m.From)
		if i == 1 {
			io.ReadFull(m.Body, make([]byte, 1))
		}
		if i < 2 && m.End() != -1 {
			t.Errorf("message %d: End before reading = %d", i, m.End())
		}
		if i == 2 {
			b, _ := io.ReadAll(m.Body)
			if string(b) != "C\n" {
				t.Errorf("third body %q", b)
			}
		}
	}
	if len(got) != 3 {
		t.Fatalf("got %d messages, want 3: %q", len(got), got)
	}
}

// TestReaderLongFromLine checks that a "From " line longer than the bound
// is body text after an empty line, and a FormatError at the start.
func TestReaderLongFromLine(t *testing.T) {
	long := "From " + strings.Repeat("x", maxFromLine) + " Mon Jan  2 15:04:05 2006\n"
	msgs, garbage := readAll(t, NewReader(strings.NewReader(fromA+"A\n\n"+long), ReaderOptions{}))
	if garbage || len(msgs) != 1 || msgs[0].Body != "A\n\n"+long {
		t.Errorf("long From_ line after empty line: got %d messages", len(msgs))
	}
	msgs, garbage = readAll(t, NewReader(strings.NewReader(long+"\n"+fromA), ReaderOptions{}))
	if !garbage || len(msgs) != 1 || msgs[0].Body != "" {
		t.Errorf("long first line: garbage %v, %d messages", garbage, len(msgs))
	}
}

// TestReaderLongLines reads 1 MB lines: plain, and a run of 1 MB of '>'
// quoting a From_ line, which must lose exactly one '>'.
func TestReaderLongLines(t *testing.T) {
	line := strings.Repeat("x", 1<<20) + "\n"
	run := strings.Repeat(">", 1<<20)
	in := fromA + line + "\n" + run + "From y\n" + run + "x\n\n" + fromB + line
	msgs, _ := readAll(t, NewReader(strings.NewReader(in), ReaderOptions{}))
	want := []string{line + "\n" + run[1:] + "From y\n" + run + "x\n", line}
	if len(msgs) != 2 || msgs[0].Body != want[0] || msgs[1].Body != want[1] {
		t.Errorf("long lines not read back (%d messages)", len(msgs))
	}
}

// TestReaderConstantMemory streams a 64 MB message of one line, and a 16 MB
// run of '>', and checks that reading allocates almost nothing.
func TestReaderConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 80 MB")
	}
	in := io.MultiReader(strings.NewReader(fromA),
		&repeatReader{b: 'x', n: 64 << 20}, strings.NewReader("\n"),
		&repeatReader{b: '>', n: 16 << 20}, strings.NewReader("From \n"))
	before := totalAlloc()
	r := NewReader(in, ReaderOptions{})
	m, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, m.Body)
	if err != nil || n != 80<<20+6 {
		t.Fatalf("read %d bytes, %v", n, err)
	}
	if grew := totalAlloc() - before; grew > 1<<20 {
		t.Errorf("reading 80 MB allocated %d bytes, want < 1 MB", grew)
	}
}

func totalAlloc() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// repeatReader yields n copies of b.
type repeatReader struct {
	b byte
	n int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n)
	for i := range k {
		p[i] = r.b
	}
	r.n -= k
	return k, nil
}

// TestReaderError checks that a read error reaches Body and Next, wrapped
// with the offset, and stays.
func TestReaderError(t *testing.T) {
	boom := errors.New("boom")
	in := io.MultiReader(strings.NewReader(fromA+"A\n"), &errReader{boom})
	r := NewReader(in, ReaderOptions{})
	m, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(m.Body)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "offset 46") {
		t.Errorf("Body: got %v, want boom at offset 46", err)
	}
	if _, err := r.Next(); !errors.Is(err, boom) {
		t.Errorf("Next: got %v, want boom", err)
	}
}

type errReader struct{ err error }

func (r *errReader) Read([]byte) (int, error) { return 0, r.err }

func TestParseFrom(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
	}
	for _, tc := range []struct {
		in     string
		sender string
		date   time.Time
		ok     bool
	}{
		{"a@b Mon Jan  2 15:04:05 2006", "a@b", utc(2006, 1, 2, 15, 4, 5), true},
		{"a@b Mon Jan 2 15:04:05 2006", "a@b", utc(2006, 1, 2, 15, 4, 5), true},
		{"- Sat Jan 03 12:00:00 2015", "-", utc(2015, 1, 3, 12, 0, 0), true},
		{"1@xxx Sat Jan 03 12:00:00 +0000 2015", "1@xxx", utc(2015, 1, 3, 12, 0, 0), true},
		{"x Sat Jan 03 12:00:00 -0500 2015", "x", utc(2015, 1, 3, 17, 0, 0), true},
		{"x Sat Jan  3 12:00:00 UTC 2015", "x", utc(2015, 1, 3, 12, 0, 0), true},
		{"x Sat Jan  3 12:00:00 2015 +0100", "x", utc(2015, 1, 3, 11, 0, 0), true},
		{"x\tSat Jan  3 12:00 2015", "x", utc(2015, 1, 3, 12, 0, 0), true},
		{"x Sat Jan  3 12:00:00 2015 remote from y", "x", utc(2015, 1, 3, 12, 0, 0), true},
		{"x Sat Feb 30 12:00:00 2015", "x", time.Time{}, false},
		{"x Sat Jan  3 12:00:00,01 2015", "x", time.Time{}, false}, // found by FuzzRoundTrip
		{"here on, we go", "here", time.Time{}, false},
		{"Mon Jan  2 15:04:05 2006", "Mon", time.Time{}, false},
		{"", "", time.Time{}, false},
	} {
		sender, date, ok := parseFrom(tc.in)
		if sender != tc.sender || !date.Equal(tc.date) || ok != tc.ok {
			t.Errorf("parseFrom(%q) = %q, %v, %v; want %q, %v, %v", tc.in, sender, date, ok, tc.sender, tc.date, tc.ok)
		}
	}
}
