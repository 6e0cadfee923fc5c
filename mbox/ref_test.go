package mbox

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"
	"time"
)

// This file holds the test oracles: an in-memory reference reader written
// straight from the rules in doc.go (whole input, split into lines), the
// writer's expected transformation, and the archive identity.

type refMsg struct {
	From        string
	Offset, End int64
	Body        string
}

// refRead splits data by the package rules. garbage reports that the input
// does not start with a From_ line (the reader's first Next gives a
// FormatError, then it goes on with the messages after the garbage).
func refRead(data []byte, f Format, maxFrom int) (msgs []refMsg, garbage bool) {
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	offs := make([]int64, len(lines)+1)
	for i, l := range lines {
		offs[i+1] = offs[i] + int64(len(l))
	}
	isBlank := func(l []byte) bool { return string(l) == "\n" || string(l) == "\r\n" }
	fromLine := func(l []byte) bool { return bytes.HasPrefix(l, fromPrefix) && len(l) <= maxFrom }
	isSep := func(l []byte) bool {
		_, _, ok := parseFrom(string(trimEOL(l[min(len(l), 5):])))
		return fromLine(l) && ok
	}
	// scan returns the first line of the framing after the lines from k on
	// (an empty line before a separator or at the end) and the next From_ line.
	scan := func(k int) (end, next int) {
		for j := k; j < len(lines); j++ {
			if isBlank(lines[j]) && (j+1 == len(lines) || isSep(lines[j+1])) {
				return j, j + 1
			}
		}
		return len(lines), len(lines)
	}
	i := 0
	if len(lines) > 0 && !fromLine(lines[0]) {
		garbage = true
		_, i = scan(0)
	}
	for i < len(lines) {
		end, next := scan(i + 1)
		var body []byte
		for _, l := range lines[i+1 : end] {
			body = append(body, unquote(l, f)...)
		}
		msgs = append(msgs, refMsg{
			From:   string(trimEOL(lines[i][5:])),
			Offset: offs[i],
			End:    offs[next],
			Body:   string(body),
		})
		i = next
	}
	return msgs, garbage
}

func unquote(l []byte, f Format) []byte {
	k := len(l) - len(bytes.TrimLeft(l, ">"))
	if k > 0 && bytes.HasPrefix(l[k:], fromPrefix) && (f == MboxRD || k == 1) {
		return l[1:]
	}
	return l
}

// readAll reads every message of r, recording a leading FormatError.
func readAll(t testing.TB, r *Reader) (msgs []refMsg, garbage bool) {
	t.Helper()
	for {
		m, err := r.Next()
		if errors.Is(err, io.EOF) {
			return msgs, garbage
		}
		var fe *FormatError
		if errors.As(err, &fe) && len(msgs) == 0 && !garbage {
			garbage = true
			continue
		}
		if err != nil {
			t.Fatalf("Next after %d messages: %v", len(msgs), err)
		}
		if m.End() != -1 {
			t.Fatalf("message %d: End = %d before the body was read, want -1", len(msgs), m.End())
		}
		body, err := io.ReadAll(m.Body)
		if err != nil {
			t.Fatalf("reading body %d: %v", len(msgs), err)
		}
		msgs = append(msgs, refMsg{m.From, m.Offset, m.End(), string(body)})
	}
}

// norm is what the writer does to a body: end it with a newline, then turn
// each CRLF whose CR does not follow a CR into LF.
func norm(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] != '\n' {
		b = append(slices.Clip(b), '\n')
	}
	out := make([]byte, 0, len(b))
	for i, c := range b {
		if c == '\r' && i+1 < len(b) && b[i+1] == '\n' && (i == 0 || b[i-1] != '\r') {
			continue
		}
		out = append(out, c)
	}
	return out
}

// refWrite is what the writer writes after the From_ line, built from the
// rules in memory: norm(body), each line matching `^>*From ` quoted with one
// more '>', and the separator line.
func refWrite(body []byte) []byte {
	var out []byte
	for _, l := range bytes.SplitAfter(norm(body), []byte("\n")) {
		if k := len(l) - len(bytes.TrimLeft(l, ">")); bytes.HasPrefix(l[k:], fromPrefix) {
			out = append(out, '>')
		}
		out = append(out, l...)
	}
	return append(out, '\n')
}

// crlfID is the archive's identity form of a message: every LF not already
// preceded by CR becomes CRLF (DESIGN.md §2).
func crlfID(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/16)
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

// writable is the date the writer can write for d: zero, or out of its year
// range, becomes the epoch.
func writable(d time.Time) time.Time {
	if y := d.UTC().Year(); d.IsZero() || y < 0 || y > 9999 {
		return time.Unix(0, 0)
	}
	return d
}
