package archive

import (
	"slices"
	"strings"
)

// IMAP system flags and the Maildir info letters they map to. The letters
// must appear in ASCII order in a file name (Maildir spec), which sortedLetters
// guarantees. \Recent is a session property and never stored.
const (
	FlagSeen      = `\Seen`
	FlagAnswered  = `\Answered`
	FlagFlagged   = `\Flagged`
	FlagDeleted   = `\Deleted`
	FlagDraft     = `\Draft`
	FlagForwarded = `$Forwarded` // Maildir 'P' (passed), by convention
)

var flagLetter = map[string]byte{
	FlagDraft:     'D',
	FlagFlagged:   'F',
	FlagForwarded: 'P',
	FlagAnswered:  'R',
	FlagSeen:      'S',
	FlagDeleted:   'T',
}

var letterFlag = map[byte]string{
	'D': FlagDraft,
	'F': FlagFlagged,
	'P': FlagForwarded,
	'R': FlagAnswered,
	'S': FlagSeen,
	'T': FlagDeleted,
}

// NormalizeFlags returns the flags with system flags in their canonical
// case, \Recent dropped, duplicates removed, sorted: the form the catalog
// keeps so that equal flag sets compare equal.
func NormalizeFlags(flags []string) []string {
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.HasPrefix(f, `\`) {
			switch strings.ToLower(f) {
			case `\seen`:
				f = FlagSeen
			case `\answered`:
				f = FlagAnswered
			case `\flagged`:
				f = FlagFlagged
			case `\deleted`:
				f = FlagDeleted
			case `\draft`:
				f = FlagDraft
			case `\recent`:
				continue
			}
		} else if strings.EqualFold(f, FlagForwarded) {
			f = FlagForwarded
		}
		out = append(out, f)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// MaildirInfo returns the ":2,..." letters for flags. Keywords have no
// standard letter and live in the catalog only.
func MaildirInfo(flags []string) string {
	var b []byte
	for _, f := range flags {
		if c, ok := flagLetter[f]; ok {
			b = append(b, c)
		}
	}
	slices.Sort(b)
	return string(slices.Compact(b))
}

// FlagsFromInfo maps Maildir info letters (the part after ":2,") back to
// IMAP flags; unknown letters (Dovecot keyword letters a-z) are ignored.
func FlagsFromInfo(info string) []string {
	var out []string
	for i := 0; i < len(info); i++ {
		if f, ok := letterFlag[info[i]]; ok {
			out = append(out, f)
		}
	}
	return NormalizeFlags(out)
}

// joinFlags stores a flag list in one catalog column.
func joinFlags(flags []string) string { return strings.Join(flags, " ") }
