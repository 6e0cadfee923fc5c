package mbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

var date2006 = time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)

// writeCases are the tricky bodies; they also seed the fuzz corpora.
var writeCases = []struct {
	name   string
	sender string
	date   time.Time
	body   string
	want   string // after the From_ line
}{
	{"plain", "a@b", date2006, "Subject: x\n\nhi\n", "Subject: x\n\nhi\n\n"},
	{"quoting", "a@b", date2006, "From x\n>From y\n>>From z\n>Fromage\nFrom\n> From\n", ">From x\n>>From y\n>>>From z\n>Fromage\nFrom\n> From\n\n"},
	{"CRLF to LF", "a@b", date2006, "A\r\n\r\nB\r\n", "A\n\nB\n\n"},
	{"CRCRLF kept", "a@b", date2006, "A\r\r\nB\r\n", "A\r\r\nB\n\n"},
	{"bare CR kept", "a@b", date2006, "A\rB\n\r", "A\rB\n\n\n"},
	{"final CR after CR", "a@b", date2006, "A\r\r", "A\r\r\n\n"},
	{"final newline added", "a@b", date2006, "no newline", "no newline\n\n"},
	{"empty body", "a@b", date2006, "", "\n"},
	{"only quote marks", "a@b", date2006, ">>", ">>\n\n"},
	{"quoted From at end", "a@b", date2006, ">From ", ">>From \n\n"},
	{"From without space", "a@b", date2006, "From\n>From", "From\n>From\n\n"},
	{"trailing empty lines kept", "a@b", date2006, "A\n\n", "A\n\n\n"},
	{"NUL", "a@b", date2006, "\x00\n", "\x00\n\n"},
}

func TestWriterCases(t *testing.T) {
	for _, tc := range writeCases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			n, err := NewWriter(&out).WriteMessage(tc.sender, tc.date, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			want := "From a@b Mon Jan  2 15:04:05 2006\n" + tc.want
			if out.String() != want || n != int64(out.Len()) {
				t.Errorf("wrote %d bytes %q, want %q", n, out.String(), want)
			}
			if got := string(refWrite([]byte(tc.body))); got != tc.want {
				t.Errorf("reference writer: %q", got)
			}
			// Neither short reads nor lines longer than the buffer (in
			// fragments, with a CR held across them) change anything.
			for pad := range 20 {
				body := strings.Repeat("-", pad) + tc.body
				var out2 bytes.Buffer
				newWriter(&out2, 16).WriteMessage(tc.sender, tc.date, iotest.OneByteReader(strings.NewReader(body)))
				if want := "From a@b Mon Jan  2 15:04:05 2006\n" + string(refWrite([]byte(body))); out2.String() != want {
					t.Errorf("16-byte buffer, %d bytes before: %q, want %q", pad, out2.String(), want)
				}
			}
		})
	}
}

func TestWriterFromLine(t *testing.T) {
	for _, tc := range []struct {
		sender string
		date   time.Time
		want   string
	}{
		{"", time.Time{}, "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n"},
		{"a b\tc\r\n\x7f", date2006, "From a_b_c___ Mon Jan  2 15:04:05 2006\n"},
		{"ü@x", time.Date(2015, 1, 3, 13, 0, 0, 0, time.FixedZone("", 3600)), "From ü@x Sat Jan  3 12:00:00 2015\n"},
	} {
		var out bytes.Buffer
		if _, err := NewWriter(&out).WriteMessage(tc.sender, tc.date, strings.NewReader("")); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := strings.Cut(out.String(), "\n"); got+"\n" != tc.want {
			t.Errorf("From_ line %q, want %q", got, tc.want)
		}
	}
	// A huge sender is cut so that the line stays a separator.
	var out bytes.Buffer
	w := NewWriter(&out)
	w.WriteMessage(strings.Repeat("é", 2*maxFromLine), date2006, strings.NewReader("A\n"))
	w.WriteMessage("b", date2006, strings.NewReader("B\n"))
	if msgs, _ := readAll(t, NewReader(&out, ReaderOptions{})); len(msgs) != 2 {
		t.Errorf("long sender: read %d messages, want 2", len(msgs))
	}
}

func TestWriterDateRange(t *testing.T) {
	var out bytes.Buffer
	n, err := NewWriter(&out).WriteMessage("a", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), strings.NewReader("A\n"))
	if err == nil || n != 0 || out.Len() != 0 {
		t.Errorf("year 10000: wrote %d bytes, err %v; want an error and nothing written", n, err)
	}
}

func TestWriterErrors(t *testing.T) {
	boom := errors.New("boom")
	// A body that fails: the error is wrapped and the count says what to truncate.
	var out bytes.Buffer
	body := io.MultiReader(strings.NewReader("A\n"), &errReader{boom})
	n, err := NewWriter(&out).WriteMessage("a", date2006, body)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "reading message body") || n != int64(out.Len()) {
		t.Errorf("failing body: n %d (output %d), err %v", n, out.Len(), err)
	}
	// An output that fails, before or after the buffer fills.
	for _, size := range []int{10, 1 << 20} {
		w := NewWriter(&failWriter{left: 40, err: boom})
		_, err := w.WriteMessage("a", date2006, strings.NewReader(strings.Repeat("x\n", size)))
		if !errors.Is(err, boom) {
			t.Errorf("failing output, %d lines: got %v", size, err)
		}
	}
}

type failWriter struct {
	left int
	err  error
}

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.left {
		n := w.left
		w.left = 0
		return n, w.err
	}
	w.left -= len(p)
	return len(p), nil
}

// randomBody builds bodies from the pieces that matter to the format.
func randomBody(rng *rand.Rand) []byte {
	pieces := []string{"From ", ">", ">>From ", "\r", "\n", "\r\n", "\n\n", "a", " ", "\x00", "é",
		"From a Mon Jan  2 15:04:05 2006\n", "\nFrom b Sat Jan 03 12:00:00 +0000 2015\r\n", strings.Repeat("y", 100)}
	var b []byte
	for range rng.IntN(40) {
		b = append(b, pieces[rng.IntN(len(pieces))]...)
	}
	return b
}

// TestRoundTripRandom writes random bodies into one mbox and reads them
// back: each comes back as norm(body), and nothing else changed.
// TestNormKeepsIdentity shows that norm keeps the archive identity.
func TestRoundTripRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 500 {
		var out bytes.Buffer
		w := NewWriter(&out)
		var bodies [][]byte
		for range 1 + rng.IntN(5) {
			b := randomBody(rng)
			bodies = append(bodies, b)
			if _, err := w.WriteMessage(fmt.Sprint("s", iter), date2006, bytes.NewReader(b)); err != nil {
				t.Fatal(err)
			}
		}
		msgs, garbage := readAll(t, NewReader(bytes.NewReader(out.Bytes()), ReaderOptions{}))
		if garbage || len(msgs) != len(bodies) {
			t.Fatalf("iteration %d: read %d messages, wrote %d:\n%q", iter, len(msgs), len(bodies), out.String())
		}
		for i, m := range msgs {
			if want := norm(bodies[i]); m.Body != string(want) {
				t.Fatalf("iteration %d message %d: body %q, want %q", iter, i, m.Body, want)
			}
		}
	}
}

// TestNormKeepsIdentity checks the oracle itself: norm changes nothing that
// the archive identity sees, once the final newline is there.
func TestNormKeepsIdentity(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		b := randomBody(rng)
		withNL := b
		if len(b) > 0 && b[len(b)-1] != '\n' {
			withNL = append(withNL, '\n')
		}
		if got := norm(b); !bytes.Equal(crlfID(got), crlfID(withNL)) || !bytes.Equal(norm(got), got) {
			t.Fatalf("norm(%q) = %q: identity changed or not idempotent", b, got)
		}
	}
}
