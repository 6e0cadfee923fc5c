package imap

import "time"

// FolderReport is what a run did in one folder. In a dry run only the
// fields up to ToFetchBytes are set.
type FolderReport struct {
	Folder       string `json:"folder"`  // canonical name, as archived
	Mailbox      string `json:"mailbox"` // the server's name
	SpecialUse   string `json:"special_use,omitempty"`
	UIDValidity  uint32 `json:"uidvalidity"`
	Messages     uint32 `json:"messages"`       // on the server at EXAMINE
	ToFetch      int    `json:"to_fetch"`       // above the checkpoint, plus earlier failures retried
	ToFetchBytes int64  `json:"to_fetch_bytes"` // their RFC822.SIZE

	New      int64 `json:"new"`      // stored for the first time
	Linked   int64 `json:"linked"`   // already archived elsewhere: hard-linked here
	Existing int64 `json:"existing"` // already archived in this folder
	NearDups int64 `json:"near_duplicates"`
	Failed   int64 `json:"failed"`
	// Gone were listed but expunged on the server before their FETCH:
	// not archived, and not failures (nothing is left to fetch).
	Gone  int64 `json:"gone,omitempty"`
	Bytes int64 `json:"bytes"` // received

	Seconds float64 `json:"seconds"`
	// UIDValidityReset: the server's UIDVALIDITY differed from the saved
	// one, so the folder was read again from UID 1.
	UIDValidityReset bool      `json:"uidvalidity_reset,omitempty"`
	Note             string    `json:"note,omitempty"`
	Failures         []Failure `json:"failures,omitempty"`

	started, finished time.Time
}

// Failure is one message that was not archived.
type Failure struct {
	UID   uint32 `json:"uid"`
	Error string `json:"error"`
}

// Summary is the per-folder outcome of a run.
type Summary struct {
	Folders    []*FolderReport `json:"folders"`
	Reconnects int             `json:"reconnects"`
}

// maxFailuresListed bounds a folder's Failures; the counts stay exact.
const maxFailuresListed = 1000

func (r *FolderReport) addNote(s string) {
	if r.Note != "" {
		r.Note += "; "
	}
	r.Note += s
}

func (r *FolderReport) touch(t time.Time) {
	if r.started.IsZero() {
		r.started = t
	}
	if t.After(r.finished) {
		r.finished = t
	}
}
