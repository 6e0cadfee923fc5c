package mbox

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func addSeeds(f *testing.F) {
	for _, tc := range readCases {
		for _, mode := range []byte{0, 1, 6, 9, 16} {
			f.Add([]byte(tc.in), mode|byte(tc.format))
		}
	}
	for _, tc := range writeCases {
		for _, pad := range []int{0, 13, 14, 15} {
			f.Add([]byte(strings.Repeat("-", pad)+tc.body), byte(4))
		}
	}
}

// FuzzReader reads arbitrary input with a small buffer and From_ line bound
// (so that chunk boundaries fall everywhere), short reads and skipped
// bodies, and checks it against the in-memory reference reader, and that
// offsets are increasing, within the input and consistent with body sizes.
//
// mode bits: 1 mboxo, 2 one-byte input reads, 4 small body reads,
// 8 skip every other body, 16 production buffer sizes.
func FuzzReader(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, mode byte) {
		format := Format(mode & 1)
		var in io.Reader = bytes.NewReader(data)
		if mode&2 != 0 {
			in = iotest.OneByteReader(in)
		}
		maxFrom, bufSize := 48, 16 // the buffer grows to maxFrom+3
		if mode&16 != 0 {
			maxFrom, bufSize = maxFromLine, 64<<10
		}
		r := newReader(in, ReaderOptions{Format: format}, bufSize, maxFrom)

		var got []refMsg
		var msgs []*Message
		garbage := false
		for i := 0; ; i++ {
			m, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			var fe *FormatError
			if errors.As(err, &fe) && i == 0 {
				garbage = true
				if fe.Offset != 0 {
					t.Fatalf("FormatError at %d, want 0", fe.Offset)
				}
				continue
			}
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			var body []byte
			switch k := len(msgs); {
			case mode&8 != 0 && k%2 == 1: // leave it to Next
			case mode&4 != 0:
				body = readSmall(t, m.Body, 1+k%7)
			default:
				if body, err = io.ReadAll(m.Body); err != nil {
					t.Fatalf("reading body: %v", err)
				}
			}
			msgs = append(msgs, m)
			got = append(got, refMsg{From: m.From, Offset: m.Offset, Body: string(body)})
		}

		want, wantGarbage := refRead(data, format, maxFrom)
		if garbage != wantGarbage || len(got) != len(want) {
			t.Fatalf("FormatError %v, %d messages; reference: %v, %d", garbage, len(got), wantGarbage, len(want))
		}
		var prevEnd int64
		for i, m := range msgs {
			got[i].End = m.End()
			if mode&8 != 0 && i%2 == 1 {
				got[i].Body = want[i].Body
			}
			if got[i] != want[i] {
				t.Fatalf("message %d:\n got %+v\nwant %+v", i, got[i], want[i])
			}
			if m.Offset < prevEnd || m.End() <= m.Offset || m.End() > int64(len(data)) ||
				int64(len(got[i].Body)) > m.End()-m.Offset-int64(len("From ")) {
				t.Fatalf("message %d: offsets %d-%d, body %d bytes, after %d, input %d bytes",
					i, m.Offset, m.End(), len(got[i].Body), prevEnd, len(data))
			}
			prevEnd = m.End()
		}
	})
}

// readSmall reads r with reads of n bytes.
func readSmall(t *testing.T, r io.Reader, n int) []byte {
	var out []byte
	p := make([]byte, n)
	for {
		k, err := r.Read(p)
		out = append(out, p[:k]...)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("reading body: %v", err)
		}
	}
}

// FuzzRoundTrip checks the writer both ways: input written as one body
// gives what the in-memory reference writer gives and reads back as
// norm(input); and the messages read from input, written and
// read again, come back with norm(body), the same sender (made a token) and
// the same date.
func FuzzRoundTrip(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, mode byte) {
		var out bytes.Buffer
		body := io.Reader(bytes.NewReader(data))
		if mode&2 != 0 {
			body = iotest.HalfReader(body)
		}
		bodyBuf := 64 << 10
		if mode&4 != 0 {
			bodyBuf = 16 // long lines: fragments and held CRs
		}
		if _, err := newWriter(&out, bodyBuf).WriteMessage("a", date2006, body); err != nil {
			t.Fatal(err)
		}
		if want := "From a Mon Jan  2 15:04:05 2006\n" + string(refWrite(data)); out.String() != want {
			t.Fatalf("wrote %q, want %q", out.String(), want)
		}
		msgs, garbage := readAll(t, NewReader(&out, ReaderOptions{}))
		if garbage || len(msgs) != 1 || msgs[0].Body != string(norm(data)) {
			t.Fatalf("as one body: read %d messages %+v, want body %q", len(msgs), msgs, norm(data))
		}

		format := Format(mode & 1)
		r := NewReader(bytes.NewReader(data), ReaderOptions{Format: format})
		out.Reset()
		w := NewWriter(&out)
		var first []*Message
		var bodies [][]byte
		for {
			m, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			var fe *FormatError
			if errors.As(err, &fe) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(m.Body)
			if err != nil {
				t.Fatal(err)
			}
			first, bodies = append(first, m), append(bodies, b)
			if _, err := w.WriteMessage(m.Sender, writable(m.Date), bytes.NewReader(b)); err != nil {
				t.Fatal(err)
			}
		}
		r = NewReader(bytes.NewReader(out.Bytes()), ReaderOptions{})
		for i := 0; ; i++ {
			m, err := r.Next()
			if errors.Is(err, io.EOF) {
				if i != len(first) {
					t.Fatalf("read back %d messages, wrote %d", i, len(first))
				}
				break
			}
			if err != nil {
				t.Fatalf("reading back message %d: %v", i, err)
			}
			if i >= len(first) {
				t.Fatalf("read back more than the %d messages written", len(first))
			}
			b, err := io.ReadAll(m.Body)
			if err != nil {
				t.Fatal(err)
			}
			if want := norm(bodies[i]); !bytes.Equal(b, want) {
				t.Fatalf("message %d: body %q, want %q", i, b, want)
			}
			if m.Sender != sanitizeSender(first[i].Sender) || !m.Date.Equal(writable(first[i].Date)) {
				t.Fatalf("message %d: sender %q date %v, want %q %v", i, m.Sender, m.Date, first[i].Sender, first[i].Date)
			}
		}
	})
}
