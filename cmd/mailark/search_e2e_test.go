package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mailark/mailark"
	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/internal/testcorpus"
	"github.com/mailark/mailark/search"
)

// manifestIDs returns the IDs of sample messages with tag, read from the
// sample's manifest: the answers are the generator's, not the indexer's.
func manifestIDs(t *testing.T, tag string) []string {
	t.Helper()
	ids, err := mailark.SampleTagged(tag)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

type searchHit struct {
	ID      string   `json:"id"`
	Folders []string `json:"folders"`
	Subject string   `json:"subject"`
}

func searchIDs(t *testing.T, dir string, q ...string) []string {
	t.Helper()
	var hits []searchHit
	r := mustRun(t, dir, append([]string{"--json", "search", "--limit", "1000"}, q...)...)
	if err := json.Unmarshal([]byte(r.stdout), &hits); err != nil {
		t.Fatalf("search --json: %v\n%s", err, r.stdout)
	}
	var out []string
	for _, h := range hits {
		out = append(out, h.ID)
	}
	sort.Strings(out)
	return out
}

func sampleImported(t *testing.T) string {
	t.Helper()
	src, err := mailark.ExtractSample(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "archive")
	mustRun(t, dir, "import", "maildir", src, "--account", "demo")
	return dir
}

func TestSearchShowReindex(t *testing.T) {
	dir := sampleImported(t)
	for _, q := range []string{"quokka", "body:quokka", "QUOKKA", "quok*"} {
		want := manifestIDs(t, "needle:quokka")
		if got := searchIDs(t, dir, q); strings.Join(got, " ") != strings.Join(want, " ") || len(want) == 0 {
			t.Errorf("search %q\n got %v\nwant %v", q, got, want)
		}
	}
	if got := searchIDs(t, dir, "quokka", "-quokka"); len(got) != 0 {
		t.Errorf("x AND NOT x found %v", got)
	}
	// A syntax error is a usage error naming the position.
	if r := runCLI(t, dir, "search", "(from:alice"); r.code != exitUsage || !strings.Contains(r.stderr, "position") {
		t.Errorf("bad query: exit %d, stderr %q", r.code, r.stderr)
	}

	// show: by prefix, raw bytes exactly as archived.
	id := manifestIDs(t, "needle:quokka")[0]
	a, err := archive.Open(context.Background(), dir, archive.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := archive.ParseID(id)
	info, err := a.Message(context.Background(), pid)
	a.Close()
	if err != nil {
		t.Fatal(err)
	}
	file, _ := os.ReadFile(info.Path)
	if r := mustRun(t, dir, "show", "--raw", id[:10]); r.stdout != string(file) {
		t.Error("show --raw differs from the archived file")
	}
	if r := mustRun(t, dir, "show", id[:10]); !strings.Contains(r.stdout, "quokka") || !strings.Contains(r.stdout, "Folder:  demo/") {
		t.Errorf("show: %s", r.stdout)
	}
	if r := runCLI(t, dir, "show", "ffff0000"); r.code != exitFailure {
		t.Errorf("show of an unknown id: exit %d", r.code)
	}

	// Coverage: stats counts documents; a lost index is rebuilt by reindex.
	var st struct {
		Unique, Indexed int64
		IndexDocuments  *int64 `json:"index_documents"`
	}
	json.Unmarshal([]byte(mustRun(t, dir, "stats", "--json").stdout), &st)
	if st.IndexDocuments == nil || *st.IndexDocuments != st.Unique || st.Indexed != st.Unique {
		t.Errorf("coverage: %+v", st)
	}
	mustRun(t, dir, "verify")
	os.RemoveAll(search.Dir(dir))
	if r := runCLI(t, dir, "verify"); r.code != exitFailure || !strings.Contains(r.stdout, "index") {
		t.Errorf("verify without an index: exit %d\n%s", r.code, r.stdout)
	}
	mustRun(t, dir, "reindex")
	mustRun(t, dir, "verify")
	if got, want := searchIDs(t, dir, "quokka"), manifestIDs(t, "needle:quokka"); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("after reindex: %v, want %v", got, want)
	}
}

// TestSearchWhileWriting: a search meets an index held by a writer and
// exits 4 at once instead of hanging.
func TestSearchWhileWriting(t *testing.T) {
	dir := sampleImported(t)
	a, err := archive.Open(context.Background(), dir, archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ix, err := search.Open(search.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	start := time.Now()
	r := runCLI(t, dir, "search", "quokka")
	if r.code != exitLocked || time.Since(start) > 5*time.Second {
		t.Errorf("search during a write: exit %d after %v, stderr %q", r.code, time.Since(start), r.stderr)
	}
}

// TestSearchNotesUnindexed: messages imported with --no-index are named
// in a note after the hits (the count is read while the index opens), and
// --quiet drops the note.
func TestSearchNotesUnindexed(t *testing.T) {
	dir := sampleImported(t)
	eml := filepath.Join(t.TempDir(), "late.eml")
	msg := "From: a@example.org\r\nSubject: late\r\nMessage-ID: <late@example.org>\r\n\r\nquokka arrives late\r\n"
	if err := os.WriteFile(eml, []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := mustRun(t, dir, "search", "quokka"); strings.Contains(r.stderr, "not indexed") {
		t.Errorf("note before any unindexed message: %q", r.stderr)
	}
	mustRun(t, dir, "import", "--no-index", "eml", eml)
	r := mustRun(t, dir, "search", "quokka")
	if !strings.Contains(r.stderr, "note: 1 messages are not indexed yet") {
		t.Errorf("no note of the unindexed message: %q", r.stderr)
	}
	if strings.Contains(r.stdout, "late") {
		t.Errorf("an unindexed message was found:\n%s", r.stdout)
	}
	if r := mustRun(t, dir, "--quiet", "search", "quokka"); r.stderr != "" {
		t.Errorf("--quiet search wrote %q", r.stderr)
	}
}

// TestSearchCorpusNeedles searches a generated corpus for words the
// generator planted (in bodies, subjects, attachment names, Chinese text in
// several charsets) and expects exactly the messages it tagged.
func TestSearchCorpusNeedles(t *testing.T) {
	msgs := corpus(t, 800, 5)
	src := filepath.Join(t.TempDir(), "src")
	if err := testcorpus.WriteMaildir(src, msgs, testcorpus.MaildirPlusPlus); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "archive")
	mustRun(t, dir, "import", "maildir", src)
	for _, tc := range []struct{ query, tag string }{
		{"quokka", "needle:quokka"},
		{"subject:axolotl", "needle:axolotl"},
		{"axolotl", "needle:axolotl"},
		{"filename:pangolin", "needle:pangolin"},
		{"袋鼠", "needle:袋鼠"},
	} {
		set := map[string]bool{}
		for _, m := range msgs {
			if m.HasTag(tc.tag) {
				id := m.ID()
				set[hex.EncodeToString(id[:])] = true
			}
		}
		var want []string
		for id := range set {
			want = append(want, id)
		}
		sort.Strings(want)
		if len(want) == 0 {
			t.Fatalf("the corpus has no %s", tc.tag)
		}
		if got := searchIDs(t, dir, tc.query); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("search %q: %d hits, want %d\n got %v\nwant %v", tc.query, len(got), len(want), got, want)
		}
	}

	// A first page of a phrase found in many messages: the newest hits of
	// the whole result, with a count that says it is only a bound.
	phrase := `"the migration is complete"`
	var all, page []searchHit
	json.Unmarshal([]byte(mustRun(t, dir, "--json", "search", "--limit", "100000", "--", phrase).stdout), &all)
	json.Unmarshal([]byte(mustRun(t, dir, "--json", "search", "--limit", "5", "--", phrase).stdout), &page)
	if len(all) < 150 || len(page) != 5 {
		t.Fatalf("%s: %d hits in all, %d on a page of 5", phrase, len(all), len(page))
	}
	for i := range page {
		if page[i].ID != all[i].ID {
			t.Errorf("%s, page of 5: hit %d is %s, want %s", phrase, i, page[i].ID, all[i].ID)
		}
	}
	if r := mustRun(t, dir, "search", "--limit", "5", "--", phrase); !strings.Contains(r.stderr, "5 of at most ") {
		t.Errorf("%s, page of 5: stderr %q", phrase, r.stderr)
	}
	if r := mustRun(t, dir, "search", "--limit", "100000", "--", phrase); !strings.Contains(r.stderr, fmt.Sprintf("%d of %d matches", len(all), len(all))) {
		t.Errorf("%s, all hits: stderr %q", phrase, r.stderr)
	}
}

// TestStatsHTML checks the report is self-contained and every chart has
// bars (bench/report.sh renders it in Chromium).
func TestStatsHTML(t *testing.T) {
	dir := sampleImported(t)
	out := filepath.Join(t.TempDir(), "r.html")
	mustRun(t, dir, "stats", "--html", out)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	charts := strings.Split(html, `<svg class="chart"`)[1:]
	if len(charts) != 4 {
		t.Fatalf("%d charts, want 4", len(charts))
	}
	for i, c := range charts {
		c = c[:strings.Index(c, "</svg>")]
		if strings.Count(c, `<rect class="bar"`) == 0 {
			t.Errorf("chart %d has no bars", i)
		}
	}
	for _, ext := range []string{"http://", "https://", "<script", "<link"} {
		if strings.Contains(html, ext) {
			t.Errorf("report is not self-contained: has %q", ext)
		}
	}
	if !strings.Contains(html, "demo/INBOX") {
		t.Error("folders chart lacks demo/INBOX")
	}
}

// TestImportNoIndex: --no-index leaves indexing to the next run, and
// verify says so until then.
func TestImportNoIndex(t *testing.T) {
	src, err := mailark.ExtractSample(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "archive")
	r := mustRun(t, dir, "import", "--no-index", "maildir", src)
	if !strings.Contains(r.stdout, "--no-index") {
		t.Errorf("summary: %s", r.stdout)
	}
	if r := runCLI(t, dir, "verify"); r.code != exitFailure {
		t.Errorf("verify with nothing indexed: exit %d", r.code)
	}
	mustRun(t, dir, "import", "maildir", src) // nothing new; indexes what the first run left
	mustRun(t, dir, "verify")
	if got, want := searchIDs(t, dir, "quokka"), manifestIDs(t, "needle:quokka"); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("search after catching up: %v, want %v", got, want)
	}
}
