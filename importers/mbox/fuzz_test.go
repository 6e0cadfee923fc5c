package mbox

import (
	"slices"
	"testing"

	"github.com/mailark/mailark/archive"
)

// FuzzHeader: any header gives flags in normal form and, with labels, at
// least one folder, each a valid and distinct folder name.
func FuzzHeader(f *testing.F) {
	for _, s := range []string{
		"X-Gmail-Labels: Inbox,Important,\"Work, Q1\",Starred,Opened\r\n\r\nbody",
		"X-Gmail-Labels: =?UTF-8?Q?Inbox,=C3=85pnet?=\n\n",
		"X-Gmail-Labels: Category Promotions\n",
		"X-Gmail-Labels: \"unterminated, quote\n continued\n",
		"X-Mozilla-Status: 1005\nStatus: RO\nX-Status: AFDT\n\n",
		"x-gmail-labels:,,\"\",a//b,/,INBOX/x\n",
		"Subject: no colon line\nbroken\n\tcontinued\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		h := scanHeader(head)
		flags := h.flags()
		if !slices.Equal(flags, archive.NormalizeFlags(flags)) {
			t.Errorf("flags %q are not normalised", flags)
		}
		if h.labels == nil {
			return
		}
		folders, _ := labelsToFolders(h.labels)
		if len(folders) == 0 {
			t.Fatalf("labels %q: no folder", h.labels)
		}
		seen := map[string]bool{}
		for _, name := range folders {
			if c, err := archive.CanonicalFolder(name); err != nil || c != name {
				t.Errorf("labels %q: folder %q is not canonical (%v)", h.labels, name, err)
			}
			if seen[name] {
				t.Errorf("labels %q: folder %q twice", h.labels, name)
			}
			seen[name] = true
		}
	})
}
