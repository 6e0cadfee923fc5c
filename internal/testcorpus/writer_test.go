package testcorpus

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailark/mailark/internal/mutf7"
)

// TestMUTF7 cross-checks the encoder FolderDir uses (internal/mutf7) with
// vectors written out by hand, so a bug there cannot hide in both the
// corpus and the code reading it.
func TestMUTF7(t *testing.T) {
	for in, want := range map[string]string{
		"INBOX":                  "INBOX",
		"收件箱":                    "&ZTZO9nux-",
		"Entwürfe":               "Entw&APw-rfe",
		"Reçus & Factures":       "Re&AOc-us &- Factures",
		"~peter/mail/台北/日本語":     "~peter/mail/&U,BTFw-/&ZeVnLIqe-", // RFC 3501 5.1.3
		"&&":                     "&-&-",
		"😀 emoji":                "&2D3eAA- emoji",
		"Ünïcödé":                "&ANw-n&AO8-c&APY-d&AOk-",
		"golang-nuts":            "golang-nuts",
		"Projects/Go/Reviews":    "Projects/Go/Reviews",
		"Reçus & Factures/2020 ": "Re&AOc-us &- Factures/2020 ",
	} {
		if got := mutf7.Encode(in); got != want {
			t.Errorf("mutf7(%q) = %q, want %q", in, got, want)
		}
	}
}

var maildirName = regexp.MustCompile(`^(\d+)\.M(\d+)P(\d+)\.mx\.example\.org,S=(\d+),W=(\d+)(:2,([A-Za-z]*))?$`)

// stored is what a reader recovers for one file, comparable to a Message.
type stored struct {
	folder, id, flags string
	new               bool
}

func (s stored) String() string {
	return fmt.Sprintf("%s %s %s new=%v", s.folder, s.id[:8], s.flags, s.new)
}

func wantStored(ms []*Message) []stored {
	var out []stored
	for _, m := range ms {
		id := m.ID()
		out = append(out, stored{m.Folder, hex.EncodeToString(id[:]), strings.Join(m.Flags, " "), m.New})
	}
	slices.SortFunc(out, func(a, b stored) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// readMaildir reads a tree written by MaildirWriter back, like an importer
// would: folder from the directory, flags from the name and dovecot-keywords.
func readMaildir(t *testing.T, root string, dirs map[string]string) []stored {
	t.Helper()
	var out []stored
	for folder, dir := range dirs {
		d := filepath.Join(root, dir)
		for _, sub := range []string{"cur", "new", "tmp"} {
			if fi, err := os.Stat(filepath.Join(d, sub)); err != nil || !fi.IsDir() {
				t.Fatalf("%s: no %s/", d, sub)
			}
		}
		var keywords []string
		if b, err := os.ReadFile(filepath.Join(d, "dovecot-keywords")); err == nil {
			for k, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				n, kw, _ := strings.Cut(line, " ")
				if n != strconv.Itoa(k) {
					t.Fatalf("%s/dovecot-keywords line %q", d, line)
				}
				keywords = append(keywords, kw)
			}
		}
		for _, sub := range []string{"cur", "new"} {
			ents, err := os.ReadDir(filepath.Join(d, sub))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ents {
				p := filepath.Join(d, sub, e.Name())
				mm := maildirName.FindStringSubmatch(e.Name())
				if mm == nil {
					t.Fatalf("bad file name %s", p)
				}
				raw, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if mm[4] != strconv.Itoa(len(raw)) || mm[5] != strconv.Itoa(crlfSize(raw)) {
					t.Errorf("%s: size %d, crlf size %d", p, len(raw), crlfSize(raw))
				}
				if (sub == "new") != (mm[6] == "") {
					t.Errorf("%s: info %q in %s/", p, mm[6], sub)
				}
				fi, _ := os.Stat(p)
				if ts, _ := strconv.ParseInt(mm[1], 10, 64); fi.ModTime().Unix() != ts {
					t.Errorf("%s: mtime %v", p, fi.ModTime())
				}
				var flags []string
				for _, c := range mm[7] {
					switch {
					case c >= 'a' && c <= 'z':
						if int(c-'a') >= len(keywords) {
							t.Fatalf("%s: keyword letter %c not in dovecot-keywords", p, c)
						}
						flags = append(flags, keywords[c-'a'])
					default:
						flags = append(flags, map[rune]string{'D': `\Draft`, 'F': `\Flagged`, 'R': `\Answered`, 'S': `\Seen`, 'T': `\Deleted`}[c])
					}
				}
				m := &Message{Raw: raw}
				id := m.ID()
				out = append(out, stored{folder, hex.EncodeToString(id[:]), strings.Join(sortFlags(flags), " "), sub == "new"})
			}
		}
	}
	slices.SortFunc(out, func(a, b stored) int { return strings.Compare(a.String(), b.String()) })
	return out
}

func writerCorpus(t *testing.T) []*Message {
	ms := collect(t, Options{Seed: 9, Count: 400, Odd: true})
	// A message with the mtime check's worst case: far from "now".
	if ms[0].InternalDate.After(time.Now()) {
		t.Fatal("internal date in the future")
	}
	return ms
}

func TestWriteMaildir(t *testing.T) {
	ms := writerCorpus(t)
	for _, tc := range []struct {
		layout Layout
		dirs   map[string]string
	}{
		{MaildirPlusPlus, map[string]string{
			"INBOX": "", "Sent": ".Sent", "Drafts": ".Drafts", "Archive": ".Archive", "Archive/2019": ".Archive.2019",
			"Archive/2020": ".Archive.2020", "Lists/golang-nuts": ".Lists.golang-nuts", "Projects/Go/Reviews": ".Projects.Go.Reviews",
			"收件箱": ".&ZTZO9nux-", "Entwürfe": ".Entw&APw-rfe", "Reçus & Factures": ".Re&AOc-us &- Factures"}},
		{MaildirFS, map[string]string{
			"INBOX": "", "Sent": "Sent", "Drafts": "Drafts", "Archive": "Archive", "Archive/2019": "Archive/2019",
			"Archive/2020": "Archive/2020", "Lists/golang-nuts": "Lists/golang-nuts", "Projects/Go/Reviews": "Projects/Go/Reviews",
			"收件箱": "&ZTZO9nux-", "Entwürfe": "Entw&APw-rfe", "Reçus & Factures": "Re&AOc-us &- Factures"}},
	} {
		t.Run(tc.layout.String(), func(t *testing.T) {
			root := t.TempDir()
			if err := WriteMaildir(root, ms, tc.layout); err != nil {
				t.Fatal(err)
			}
			for folder, dir := range tc.dirs {
				if got, _ := FolderDir(folder, tc.layout); got != filepath.FromSlash(dir) {
					t.Errorf("FolderDir(%q) = %q, want %q", folder, got, dir)
				}
				_, err := os.Stat(filepath.Join(root, dir, "maildirfolder"))
				if want := tc.layout == MaildirPlusPlus && dir != ""; (err == nil) != want {
					t.Errorf("%s: maildirfolder present: %v", dir, err == nil)
				}
			}
			got, want := readMaildir(t, root, tc.dirs), wantStored(ms)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("read back %d messages, wrote %d", len(got), len(want))
				for i := range min(len(got), len(want)) {
					if got[i] != want[i] {
						t.Fatalf("first difference:\n got %v\nwant %v", got[i], want[i])
					}
				}
			}
			kw := 0
			for _, m := range ms {
				if slices.ContainsFunc(m.Flags, func(f string) bool { return !strings.HasPrefix(f, `\`) }) {
					kw++
				}
			}
			if kw == 0 {
				t.Error("no keywords in the corpus: dovecot-keywords untested")
			}
		})
	}
	if _, err := FolderDir("a.b", MaildirPlusPlus); err == nil {
		t.Error("Maildir++ accepted a '.' in a folder name")
	}
}

func TestMaildirFlags(t *testing.T) {
	var kw []string
	got, err := MaildirFlags([]string{`\Seen`, "$Label1", `\Answered`, `\Recent`, "NonJunk", `\Draft`, "$Label1"}, &kw)
	if err != nil || got != "DRSab" || !reflect.DeepEqual(kw, []string{"$Label1", "NonJunk"}) {
		t.Errorf("got %q %v %v", got, kw, err)
	}
	got, _ = MaildirFlags([]string{"NonJunk", `\Flagged`}, &kw)
	if got != "Fb" {
		t.Errorf("second message: %q", got)
	}
}

func TestWriteEML(t *testing.T) {
	ms := writerCorpus(t)
	dir := t.TempDir()
	if err := WriteEML(dir, ms); err != nil {
		t.Fatal(err)
	}
	var got []stored
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !strings.HasSuffix(p, ".eml") {
			t.Errorf("unexpected file %s", p)
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, filepath.Dir(p))
		id := (&Message{Raw: raw}).ID()
		got = append(got, stored{folder: filepath.ToSlash(rel), id: hex.EncodeToString(id[:])})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := wantStored(ms)
	for i := range want {
		want[i].flags, want[i].new = "", false
	}
	slices.SortFunc(want, func(a, b stored) int { return strings.Compare(a.String(), b.String()) })
	slices.SortFunc(got, func(a, b stored) int { return strings.Compare(a.String(), b.String()) })
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back %d files, wrote %d messages", len(got), len(want))
	}
}

func TestManifestRoundTrip(t *testing.T) {
	ms := shared(t)[:300]
	var b bytes.Buffer
	for _, m := range ms {
		if err := WriteManifest(&b, m); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Contains(b.Bytes(), []byte(`"message_id":"<`)) || !bytes.Contains(b.Bytes(), []byte(`"Reçus & Factures"`)) &&
		!bytes.Contains(b.Bytes(), []byte(`"收件箱"`)) {
		t.Errorf("manifest escapes <, & or non-ASCII:\n%.500s", b.Bytes())
	}
	if n := bytes.Count(b.Bytes(), []byte("\n")); n != len(ms) {
		t.Fatalf("%d lines for %d messages", n, len(ms))
	}
	es, err := ReadManifest(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != len(ms) {
		t.Fatalf("read %d entries", len(es))
	}
	for i, e := range es {
		w := NewManifestEntry(ms[i])
		if !e.InternalDate.Equal(w.InternalDate) || !e.Date.Equal(w.Date) {
			t.Fatalf("entry %d: dates %v %v, want %v %v", i, e.InternalDate, e.Date, w.InternalDate, w.Date)
		}
		if _, off := e.Date.Zone(); !e.Date.IsZero() && off != func() int { _, o := w.Date.Zone(); return o }() {
			t.Errorf("entry %d: Date lost its zone", i)
		}
		e.InternalDate, e.Date, w.InternalDate, w.Date = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if !reflect.DeepEqual(e, w) {
			t.Fatalf("entry %d:\n got %+v\nwant %+v", i, e, w)
		}
		id := ms[i].ID()
		if e.ID != hex.EncodeToString(id[:]) || e.Size != len(ms[i].Raw) {
			t.Errorf("entry %d: id/size", i)
		}
	}
}
