package mbox

import (
	"strings"
	"time"
	"unicode/utf8"
)

// asctime is the From_ line date layout (C's asctime, always UTC here).
const asctime = "Mon Jan _2 15:04:05 2006"

// maxFromLine bounds a From_ line, line feed included. A longer line that
// starts with "From " is never a separator, so deciding needs a bounded
// look-ahead; real From_ lines are under 300 bytes.
const maxFromLine = 1024

// Date layouts tried on the fields after the sender, joined by one space
// (so "Jan  3" and "Jan 03" both become a form that layout "2" accepts).
// Six-field layouts go first: their five-field prefix never parses.
var (
	fromLayouts6 = []string{
		"Mon Jan 2 15:04:05 -0700 2006", // Google Takeout
		"Mon Jan 2 15:04:05 MST 2006",   // date(1)
		"Mon Jan 2 15:04:05 2006 -0700",
		"Mon Jan 2 15:04:05 2006 MST",
	}
	fromLayouts5 = []string{
		"Mon Jan 2 15:04:05 2006", // asctime: Thunderbird, mutt, procmail
		"Mon Jan 2 15:04 2006",
	}
)

// parseFrom splits the part of a From_ line after "From " (without its line
// ending) into the sender token and the date. ok reports whether a date was
// found; it is what makes a "From " line a separator after an empty line.
// Extra fields after the date (old "remote from host" suffixes) are ignored.
func parseFrom(rest string) (sender string, date time.Time, ok bool) {
	f := strings.FieldsFunc(rest, func(r rune) bool { return r == ' ' || r == '\t' })
	if len(f) == 0 {
		return "", time.Time{}, false
	}
	sender, d := f[0], f[1:]
	for _, try := range []struct {
		n       int
		layouts []string
	}{{6, fromLayouts6}, {5, fromLayouts5}} {
		if len(d) < try.n {
			continue
		}
		s := strings.Join(d[:try.n], " ")
		for _, l := range try.layouts {
			// time.Parse accepts a fraction after the seconds that no
			// layout has; the writer could not write it back: refuse it.
			if t, err := time.Parse(l, s); err == nil && t.Nanosecond() == 0 {
				return sender, t, true
			}
		}
	}
	return sender, time.Time{}, false
}

// maxSender keeps a written From_ line within maxFromLine, so that the
// reader sees it as a separator.
const maxSender = maxFromLine - len("From  \n") - len(asctime)

// sanitizeSender makes s one From_ line token: blanks and control bytes would
// split it or end the line, so they become '_', and it is cut to maxSender
// bytes at a UTF-8 boundary. Empty means MAILER-DAEMON.
func sanitizeSender(s string) string {
	if s == "" {
		return "MAILER-DAEMON"
	}
	if len(s) > maxSender {
		i := maxSender
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i]
	}
	b := []byte(s) // bytewise: other bytes, valid UTF-8 or not, are kept
	for i, c := range b {
		if c <= ' ' || c == 0x7f {
			b[i] = '_'
		}
	}
	return string(b)
}
