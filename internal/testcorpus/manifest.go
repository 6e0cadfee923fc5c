package testcorpus

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// ManifestEntry is one line of manifest.jsonl: what tests and bench scripts
// need to check an import without parsing the mail themselves.
type ManifestEntry struct {
	Seq          int       `json:"seq"`
	Folder       string    `json:"folder"`         // IMAP name, '/' separator
	Path         string    `json:"path,omitempty"` // stored file, relative to the manifest's directory
	Flags        []string  `json:"flags"`          // IMAP flags and keywords
	New          bool      `json:"new,omitempty"`  // in Maildir new/
	InternalDate time.Time `json:"internal_date"`  // UTC
	MessageID    string    `json:"message_id"`     // "" when none
	ID           string    `json:"id"`             // hex of Message.ID()
	Size         int       `json:"size"`           // len(Raw)
	DupGroup     int       `json:"dup_group"`      // equal for identical bytes
	From         string    `json:"from"`           // sender address
	Subject      string    `json:"subject"`        // decoded; "" for odd messages
	Date         time.Time `json:"date,omitzero"`  // Date header, with its zone
	Tags         []string  `json:"tags"`
}

// NewManifestEntry describes m (Path left empty).
func NewManifestEntry(m *Message) ManifestEntry {
	id := m.ID()
	e := ManifestEntry{
		Seq: m.Seq, Folder: m.Folder, Flags: m.Flags, New: m.New, InternalDate: m.InternalDate.UTC(),
		MessageID: m.MessageID, ID: hex.EncodeToString(id[:]), Size: len(m.Raw), DupGroup: m.DupGroup,
		From: m.From, Subject: m.Subject, Date: m.Date, Tags: m.Tags,
	}
	if e.Flags == nil {
		e.Flags = []string{}
	}
	if e.Tags == nil {
		e.Tags = []string{}
	}
	return e
}

// Encode writes e as one JSON line (UTF-8, no HTML escaping of <>&).
func (e ManifestEntry) Encode(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(e)
}

// WriteManifest writes the manifest line of m.
func WriteManifest(w io.Writer, m *Message) error {
	return NewManifestEntry(m).Encode(w)
}

// ReadManifest reads a manifest written by WriteManifest or Encode.
func ReadManifest(r io.Reader) ([]ManifestEntry, error) {
	var out []ManifestEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var e ManifestEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("testcorpus: manifest line %d: %w", line, err)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}
