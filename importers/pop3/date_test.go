package pop3

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestInternalDate(t *testing.T) {
	day := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	cases := []struct {
		name, head string
		want       time.Time
	}{
		{"newest Received wins", "Received: from a by b;\r\n Tue, 1 Jun 2021 10:00:00 +0000 (UTC)\r\nReceived: from c by a; Mon, 31 May 2021 09:00:00 +0000\r\nDate: Sun, 30 May 2021 08:00:00 +0000\r\n\r\n", day("2021-06-01T10:00:00Z")},
		{"folded, tab, lower case", "received: from a\r\n\tby b\r\n\tfor <x@y>; Wed, 2 Jun 2021 11:00:00 +0200\r\n\r\n", day("2021-06-02T09:00:00Z")},
		{"bad Received, next one", "Received: from a by b; yesterday\r\nReceived: by c; Thu, 3 Jun 2021 12:00:00 -0000\r\n\r\n", day("2021-06-03T12:00:00Z")},
		{"Received without date, Date", "Received: by local\r\nDate: Fri, 4 Jun 2021 13:00:00 +0000\r\n\r\n", day("2021-06-04T13:00:00Z")},
		{"no Received", "Subject: x\r\nDate: Sat, 5 Jun 2021 14:00:00 +0000\r\n\r\n", day("2021-06-05T14:00:00Z")},
		{"nothing", "Subject: x\r\n\r\n", time.Time{}},
		{"unparsable Date", "Date: sometime yesterday, around noon\r\n\r\n", time.Time{}},
		{"LF only", "Received: by c; Sun, 6 Jun 2021 15:00:00 +0000\nSubject: x\n\n", day("2021-06-06T15:00:00Z")},
		{"CR only", "Subject: x\rReceived: by c; Mon, 7 Jun 2021 16:00:00 +0000\r\r", day("2021-06-07T16:00:00Z")},
		{"body not read", "Subject: x\r\n\r\nReceived: by c; Mon, 7 Jun 2021 16:00:00 +0000\r\n", time.Time{}},
		{"before 1970", "Date: Thu, 1 Jan 1960 00:00:00 +0000\r\n\r\n", time.Time{}},
	}
	for _, tc := range cases {
		var h headerCapture
		// Through the capture in small pieces, as the stream arrives.
		io.Copy(&h, iotest.OneByteReader(strings.NewReader(tc.head)))
		if got := internalDate(h.buf); !got.Equal(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestHeaderCaptureBounded(t *testing.T) {
	var h headerCapture
	big := "X-Long: " + strings.Repeat("a", 2*maxHeaderCapture) + "\r\n\r\n"
	io.Copy(&h, strings.NewReader(big))
	if len(h.buf) > maxHeaderCapture || !h.done {
		t.Fatalf("captured %d bytes, done %v", len(h.buf), h.done)
	}
}

func TestAddedCRLF(t *testing.T) {
	cases := []struct {
		name, in string
		size     int64
		want     string
	}{
		{"server added CRLF", "a\r\nlast\r\n", 7, "a\r\nlast"},
		{"message ends in CRLF", "a\r\nlast\r\n", 9, "a\r\nlast\r\n"},
		{"size unknown", "last\r\n", 0, "last\r\n"},
		{"size lies high", "last\r\n", 100, "last\r\n"},
		{"CR-only message", "a\rb\r\r\n", 4, "a\rb\r"},
		{"only the added CRLF", "\r\n", 0, "\r\n"},
		{"ends in LF", "a\nb\n", 2, "a\nb\n"},
		{"empty", "", 0, ""},
	}
	for _, tc := range cases {
		for _, wrap := range []struct {
			name string
			f    func(io.Reader) io.Reader
		}{{"whole", func(r io.Reader) io.Reader { return r }}, {"one byte", iotest.OneByteReader}, {"half", iotest.HalfReader}, {"data+EOF", iotest.DataErrReader}} {
			r := &addedCRLF{r: wrap.f(strings.NewReader(tc.in)), size: tc.size}
			var got bytes.Buffer
			buf := make([]byte, 5)
			for {
				n, err := r.Read(buf)
				got.Write(buf[:n])
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if got.String() != tc.want {
				t.Errorf("%s (%s): %q, want %q", tc.name, wrap.name, got.String(), tc.want)
			}
		}
		// And with a tiny buffer.
		got, err := io.ReadAll(iotest.OneByteReader(&addedCRLF{r: strings.NewReader(tc.in), size: tc.size}))
		if err != nil || string(got) != tc.want {
			t.Errorf("%s (2-byte reads): %q %v, want %q", tc.name, got, err, tc.want)
		}
	}
}
