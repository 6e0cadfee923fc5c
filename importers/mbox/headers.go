package mbox

import (
	"bytes"
	"mime"
	"strconv"
	"strings"

	"github.com/mailark/mailark/archive"
)

// header holds the few fields the mbox importer reads before delivery.
type header struct {
	mozStatus       int64 // -1 if absent
	status, xstatus string
	labels          []string // nil if no X-Gmail-Labels
	hasUnread       bool
}

// scanHeader reads the fields it needs from the start of a message; a
// header longer than head just yields fewer fields.
func scanHeader(head []byte) header {
	h := header{mozStatus: -1}
	var name, value string
	flush := func() {
		switch strings.ToLower(name) {
		case "x-mozilla-status":
			if v, err := strconv.ParseInt(strings.TrimSpace(value), 16, 64); err == nil {
				h.mozStatus = v
			}
		case "status":
			h.status = strings.TrimSpace(value)
		case "x-status":
			h.xstatus = strings.TrimSpace(value)
		case "x-gmail-labels":
			h.labels = splitLabels(decodeWords(value))
			h.hasUnread = containsFold(h.labels, "Unread")
		}
		name, value = "", ""
	}
	for len(head) > 0 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			value += " " + strings.TrimSpace(string(line))
			continue
		}
		flush()
		n, v, ok := bytes.Cut(line, []byte(":"))
		if ok {
			name, value = string(n), string(v)
		}
	}
	flush()
	return h
}

// Thunderbird's X-Mozilla-Status bits (nsMsgMessageFlags).
const (
	mozRead      = 0x0001
	mozReplied   = 0x0002
	mozMarked    = 0x0004
	mozExpunged  = 0x0008
	mozForwarded = 0x1000
)

func (h header) flags() []string {
	var f []string
	if h.mozStatus >= 0 {
		for bit, flag := range map[int64]string{mozRead: archive.FlagSeen, mozReplied: archive.FlagAnswered,
			mozMarked: archive.FlagFlagged, mozExpunged: archive.FlagDeleted, mozForwarded: archive.FlagForwarded} {
			if h.mozStatus&bit != 0 {
				f = append(f, flag)
			}
		}
	}
	// mutt/pine: Status: RO, X-Status: AFTD
	if strings.ContainsRune(h.status, 'R') {
		f = append(f, archive.FlagSeen)
	}
	for _, c := range h.xstatus {
		switch c {
		case 'A':
			f = append(f, archive.FlagAnswered)
		case 'F':
			f = append(f, archive.FlagFlagged)
		case 'D':
			f = append(f, archive.FlagDeleted)
		case 'T':
			f = append(f, archive.FlagDraft)
		}
	}
	return archive.NormalizeFlags(f)
}

// decodeWords decodes RFC 2047 encoded-words: Takeout encodes the whole
// X-Gmail-Labels value as one when a label is not ASCII
// ("=?UTF-8?Q?Inbox,=C3=85pnet?="). A value that does not decode is used
// as it is.
func decodeWords(v string) string {
	if d, err := new(mime.WordDecoder).DecodeHeader(v); err == nil {
		return d
	}
	return v
}

// splitLabels splits X-Gmail-Labels: comma separated, labels containing a
// comma are double-quoted.
func splitLabels(v string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range v {
		switch {
		case r == '"':
			quoted = !quoted
		case r == ',' && !quoted:
			if s := strings.TrimSpace(cur.String()); s != "" {
				out = append(out, s)
			}
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	if out == nil {
		out = []string{}
	}
	return out
}

// Gmail's system labels that are states, not places.
var stateLabels = map[string]bool{
	"important": true, "unread": true, "opened": true, "archived": true, "starred": true,
}

// labelsToFolders maps Gmail labels to folders and flags: "Inbox" is
// INBOX, "Starred" is \Flagged, category and state labels are dropped, a
// message with no place label goes to "Archive" (Gmail's archived mail).
func labelsToFolders(labels []string) (folders, flags []string) {
	seen := map[string]bool{}
	for _, l := range labels {
		low := strings.ToLower(l)
		switch {
		case low == "starred":
			flags = append(flags, archive.FlagFlagged)
			continue
		case stateLabels[low], strings.HasPrefix(low, "category "):
			continue
		case low == "inbox":
			l = archive.Inbox
		case low == "drafts":
			flags = append(flags, archive.FlagDraft)
		}
		if name, err := archive.CanonicalFolder(l); err == nil && !seen[name] {
			seen[name] = true
			folders = append(folders, name)
		}
	}
	if len(folders) == 0 {
		folders = []string{"Archive"}
	}
	return folders, flags
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
