package testcorpus

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding/htmlindex"
)

func collect(t testing.TB, opts Options) []*Message {
	t.Helper()
	out, err := All(opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != opts.Count {
		t.Fatalf("got %d messages, want %d", len(out), opts.Count)
	}
	return out
}

// corpus1500 is shared by the content tests (generated once, ~0.2 s).
var corpus1500 = sync.OnceValues(func() ([]*Message, error) {
	return All(Options{Seed: 42, Count: 1500, Odd: true})
})

func shared(t *testing.T) []*Message {
	t.Helper()
	ms, err := corpus1500()
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// same compares two messages field by field (times with Equal: zones are
// distinct *Location values).
func same(a, b *Message) error {
	ea, eb := NewManifestEntry(a), NewManifestEntry(b)
	var ba, bb bytes.Buffer
	ea.Encode(&ba)
	eb.Encode(&bb)
	if !bytes.Equal(ba.Bytes(), bb.Bytes()) {
		return fmt.Errorf("manifest differs:\n%s%s", ba.Bytes(), bb.Bytes())
	}
	if a.New != b.New || !bytes.Equal(a.Raw, b.Raw) {
		return fmt.Errorf("message %d differs", a.Seq)
	}
	return nil
}

func TestDeterministic(t *testing.T) {
	opts := Options{Seed: 7, Count: 300, Odd: true}
	a, b := collect(t, opts), collect(t, opts)
	for i := range a {
		if err := same(a[i], b[i]); err != nil {
			t.Fatal(err)
		}
	}
	c := collect(t, Options{Seed: 8, Count: 300, Odd: true})
	if bytes.Equal(a[10].Raw, c[10].Raw) {
		t.Error("seeds 7 and 8 give the same message 10")
	}
}

// Message i must not depend on Count, nor on whether Generate runs its
// sequential (small Count) or parallel path.
func TestPrefixStable(t *testing.T) {
	small := collect(t, Options{Seed: 3, Count: 62, Odd: true})
	large := collect(t, Options{Seed: 3, Count: 700, Odd: true})
	for i := range small {
		if err := same(small[i], large[i]); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOptionsErrors(t *testing.T) {
	for _, o := range []Options{
		{Count: 10, Odd: true}, // too few for 20 odd kinds
		{Count: 10, OddKinds: []string{"no-such-kind"}},
		{Count: 10, Folders: []string{"INBOX", "INBOX"}},
		{Count: 10, Folders: []string{}},
		{Count: -1},
	} {
		if err := Generate(o, func(*Message) error { return nil }); err == nil {
			t.Errorf("Generate(%+v) succeeded", o)
		}
	}
	if err := Generate(Options{Count: 5, OddKinds: []string{"bare-lf"}}, func(*Message) error { return nil }); err != nil {
		t.Error(err)
	}
}

func TestID(t *testing.T) {
	for _, tc := range []struct{ raw, norm string }{
		{"a\r\nb\r\n", "a\r\nb\r\n"},
		{"a\nb\n", "a\r\nb\r\n"},
		{"\na\r\n\n", "\r\na\r\n\r\n"},
		{"a\rb\r\r\nc", "a\rb\r\r\nc"},
		{"", ""},
	} {
		m := &Message{Raw: []byte(tc.raw)}
		if m.ID() != sha256.Sum256([]byte(tc.norm)) {
			t.Errorf("ID(%q) is not SHA-256 of %q", tc.raw, tc.norm)
		}
	}
}

func TestDuplicateTags(t *testing.T) {
	ms := collect(t, Options{Seed: 11, Count: 4000})
	firstByID := map[[32]byte]*Message{}
	foldersByID := map[[32]byte]map[string]bool{}
	byMID := map[string][]*Message{}
	ids := map[*Message][32]byte{}
	count := map[string]int{}
	for _, m := range ms {
		id := m.ID()
		ids[m] = id
		first, seen := firstByID[id]
		switch {
		case m.HasTag("dup:other-folder"), m.HasTag("dup:same-folder"):
			if !seen {
				t.Fatalf("%d: %v but no earlier message has its bytes", m.Seq, m.Tags)
			}
			if m.DupGroup != first.Seq || first.DupGroup != first.Seq {
				t.Errorf("%d: dup_group %d, first copy %d has %d", m.Seq, m.DupGroup, first.Seq, first.DupGroup)
			}
			sameFolder := foldersByID[id][m.Folder]
			if want := m.HasTag("dup:same-folder"); sameFolder != want {
				t.Errorf("%d: tags %v, but an earlier copy in the same folder: %v", m.Seq, m.Tags, sameFolder)
			}
			if m.MessageID != first.MessageID || m.Subject != first.Subject {
				t.Errorf("%d: copy differs from %d in Message-ID or Subject", m.Seq, first.Seq)
			}
		default:
			if seen {
				t.Fatalf("%d has the bytes of %d but no dup tag", m.Seq, first.Seq)
			}
			if m.DupGroup != m.Seq {
				t.Errorf("%d: dup_group %d", m.Seq, m.DupGroup)
			}
			firstByID[id] = m
		}
		if m.HasTag("near-dup") {
			var orig *Message
			for _, o := range byMID[m.MessageID] {
				if ids[o] != id {
					orig = o
				}
			}
			if orig == nil || m.MessageID == "" {
				t.Errorf("%d: near-dup without an earlier message with Message-ID %s and other bytes", m.Seq, m.MessageID)
			} else if orig.HasTag("list") == m.HasTag("list") {
				t.Errorf("%d: near-dup and original %d are both list copies or both not", m.Seq, orig.Seq)
			}
		} else if !m.HasTag("dup:other-folder") && !m.HasTag("dup:same-folder") && len(byMID[m.MessageID]) > 0 && m.MessageID != "" {
			t.Errorf("%d reuses Message-ID %s without a dup tag", m.Seq, m.MessageID)
		}
		byMID[m.MessageID] = append(byMID[m.MessageID], m)
		if foldersByID[id] == nil {
			foldersByID[id] = map[string]bool{}
		}
		foldersByID[id][m.Folder] = true
		for _, tag := range m.Tags {
			count[tag]++
		}
	}
	// Rates, loosely: 1/100, 1/200, 1/150.
	for tag, want := range map[string]int{"dup:other-folder": 40, "dup:same-folder": 20, "near-dup": 27} {
		if c := count[tag]; c < want/2 || c > want*2 {
			t.Errorf("%s: %d messages, want about %d", tag, c, want)
		}
	}
}

func TestFlagsAndSizes(t *testing.T) {
	ms := shared(t)
	seen, drafts, big := 0, 0, 0
	var sizes []int
	for _, m := range ms {
		if slices.Contains(m.Flags, `\Seen`) {
			seen++
		}
		if m.New && len(m.Flags) > 0 {
			t.Errorf("%d: new/ message with flags %v", m.Seq, m.Flags)
		}
		isDraft := slices.Contains(m.Flags, `\Draft`)
		if isDraft != (m.Folder == "Drafts" || m.Folder == "Entwürfe") {
			t.Errorf("%d in %s has flags %v", m.Seq, m.Folder, m.Flags)
		}
		if isDraft {
			drafts++
		}
		if !m.InternalDate.Equal(m.InternalDate.Truncate(1e9)) || m.InternalDate.Location().String() != "UTC" {
			t.Errorf("%d: internal date %v not UTC seconds", m.Seq, m.InternalDate)
		}
		if y := m.InternalDate.Year(); y < 2015 || y > 2025 {
			t.Errorf("%d: internal date %v", m.Seq, m.InternalDate)
		}
		if len(m.Raw) >= 100<<10 {
			big++
		}
		sizes = append(sizes, len(m.Raw))
	}
	slices.Sort(sizes)
	if r := float64(seen) / float64(len(ms)); r < 0.6 || r > 0.8 {
		t.Errorf("%.2f seen, want about 0.7", r)
	}
	if med := sizes[len(sizes)/2]; med < 3000 || med > 6000 {
		t.Errorf("median size %d, want about 4 KB", med)
	}
	if big == 0 || drafts == 0 {
		t.Errorf("%d messages over 100 KB, %d drafts", big, drafts)
	}
}

func TestOddKinds(t *testing.T) {
	ms := collect(t, Options{Seed: 5, Count: oddSlot(len(oddKinds)-1) + 1, Odd: true})
	found := map[string]bool{}
	for _, m := range ms {
		var kind string
		for _, tag := range m.Tags {
			if k, ok := strings.CutPrefix(tag, "odd:"); ok {
				kind = k
			}
		}
		if kind == "" {
			continue
		}
		found[kind] = true
		raw := m.Raw
		hdr, body, hasBody := bytes.Cut(raw, []byte("\r\n\r\n"))
		hdrLines := strings.Split(string(hdr), "\r\n")
		count := func(name string) int {
			n := 0
			for _, l := range hdrLines {
				if strings.HasPrefix(strings.ToLower(l), strings.ToLower(name)+":") {
					n++
				}
			}
			return n
		}
		value := func(name string) string {
			for _, l := range hdrLines {
				if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, name) {
					return strings.TrimSpace(v)
				}
			}
			return ""
		}
		longest := func(b []byte) int {
			n := 0
			for _, l := range bytes.Split(b, []byte("\n")) {
				n = max(n, len(l))
			}
			return n
		}
		ok := true
		switch kind {
		case "no-message-id":
			ok = count("Message-ID") == 0 && m.MessageID == ""
		case "no-date":
			ok = count("Date") == 0 && m.Date.IsZero()
		case "unparsable-date":
			_, err := mail.ParseDate(value("Date"))
			ok = count("Date") == 1 && err != nil && m.Date.IsZero()
		case "8bit-headers-utf8":
			ok = !isASCII(string(hdr)) && utf8.Valid(hdr)
		case "8bit-headers-latin1":
			ok = !isASCII(string(hdr)) && !utf8.Valid(hdr)
		case "long-header":
			ok = longest(hdr) > 20<<10
		case "duplicate-headers":
			ok = count("Subject") == 2 && count("Message-ID") == 2
		case "mbox-from-line":
			ok = bytes.Contains(body, []byte("\r\n\r\nFrom someone")) && bytes.Contains(body, []byte("\r\n>From "))
		case "unknown-charset":
			ok = strings.Contains(value("Content-Type"), "x-unknown")
		case "bad-encoded-words":
			s, err := wordDecoder.DecodeHeader(value("Subject"))
			ok = err != nil || strings.Contains(s, "=?")
		case "broken-boundary":
			ok = !bytes.Contains(body, []byte("--declared-boundary\r\n"))
		case "missing-final-boundary":
			ok = bytes.Contains(body, []byte("--xyz\r\n")) && !bytes.Contains(body, []byte("--xyz--"))
		case "8bit-body-no-cte":
			ok = count("Content-Transfer-Encoding") == 0 && !isASCII(string(body))
		case "bare-lf":
			ok = !bytes.Contains(raw, []byte("\r")) && bytes.Contains(raw, []byte("\n\n")) &&
				m.ID() == sha256.Sum256(bytes.ReplaceAll(raw, []byte("\n"), []byte("\r\n")))
		case "mixed-eol":
			ok = bytes.Contains(raw, []byte("\r\n")) && crlfSize(raw) > len(raw)
		case "nul-byte":
			ok = bytes.IndexByte(raw, 0) >= 0
		case "headers-only":
			ok = !hasBody && !bytes.Contains(raw, []byte("\n\n")) && bytes.HasSuffix(raw, []byte("\r\n"))
		case "long-body-line":
			ok = longest(body) > 200<<10
		case "no-final-newline":
			ok = !bytes.HasSuffix(raw, []byte("\n"))
		case "cr-only":
			ok = !bytes.Contains(raw, []byte("\n")) && bytes.Count(raw, []byte("\r")) > 10
		default:
			t.Errorf("untested odd kind %q", kind)
		}
		if !ok {
			t.Errorf("odd:%s does not have its property:\n%.600q", kind, raw)
		}
		if m.Folder != "INBOX" {
			t.Errorf("odd:%s in %s", kind, m.Folder)
		}
	}
	for _, k := range oddKinds {
		if !found[k] {
			t.Errorf("odd:%s missing", k)
		}
	}
}

var wordDecoder = &mime.WordDecoder{CharsetReader: func(cs string, r io.Reader) (io.Reader, error) {
	e, err := htmlindex.Get(cs)
	if err != nil {
		return nil, err
	}
	return e.NewDecoder().Reader(r), nil
}}

func decodeCharset(cs string, b []byte) (string, error) {
	if cs == "" || strings.EqualFold(cs, "us-ascii") || strings.EqualFold(cs, "utf-8") {
		return string(b), nil
	}
	e, err := htmlindex.Get(cs)
	if err != nil {
		return "", err
	}
	out, err := e.NewDecoder().Bytes(b)
	return string(out), err
}

// walked is what the MIME walk found in a message.
type walked struct {
	texts  []string // decoded text/* parts, in order
	files  []string // decoded attachment file names
	inner  int      // message/rfc822 parts
	leaves int
}

// walk decodes a message's MIME tree with the standard library and
// golang.org/x/text only, independently of the generator's encoders.
func walk(h mail.Header, body []byte, w *walked, depth int) error {
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain; charset=us-ascii"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("content-type %q: %v", ct, err)
	}
	for _, p := range []string{"name"} {
		if v := params[p]; v != "" {
			w.files = append(w.files, v)
		}
	}
	if d := h.Get("Content-Disposition"); d != "" {
		_, dp, err := mime.ParseMediaType(d)
		if err != nil {
			return fmt.Errorf("content-disposition %q: %v", d, err)
		}
		if v := dp["filename"]; v != "" {
			w.files = append(w.files, v)
		}
	}
	for k, f := range w.files {
		if strings.Contains(f, "=?") {
			d, err := wordDecoder.DecodeHeader(f)
			if err != nil {
				return fmt.Errorf("file name %q: %v", f, err)
			}
			w.files[k] = d
		}
	}
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		n := 0
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("%s part %d: %v", mt, n, err)
			}
			b, err := io.ReadAll(p)
			if err != nil {
				return err
			}
			if err := walk(mail.Header(p.Header), b, w, depth+1); err != nil {
				return err
			}
			n++
		}
		if n == 0 {
			return fmt.Errorf("%s without parts", mt)
		}
		return nil
	case mt == "message/rfc822":
		w.inner++
		m, err := mail.ReadMessage(bytes.NewReader(body))
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(m.Body)
		var in walked
		return walk(m.Header, b, &in, depth+1)
	}
	w.leaves++
	var data []byte
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "base64":
		data, err = base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(body)))
	case "quoted-printable":
		data, err = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
	default:
		data = body
	}
	if err != nil {
		return fmt.Errorf("%s: %v", mt, err)
	}
	if strings.HasPrefix(mt, "text/") && mt != "text/csv" {
		s, err := decodeCharset(params["charset"], data)
		if err != nil {
			return fmt.Errorf("charset %s: %v", params["charset"], err)
		}
		if strings.Contains(s, "\uFFFD") {
			return fmt.Errorf("charset %s: replacement characters in %.200q", params["charset"], s)
		}
		w.texts = append(w.texts, s)
	}
	return nil
}

// TestNormalMessages parses every normal message with net/mail, mime and
// x/text and checks it against its Message fields and tags: the CJK and
// other bodies decode to their language's marker, needles are where the tags
// say and nowhere else, and the Subject decodes to Message.Subject.
func TestNormalMessages(t *testing.T) {
	ms := shared(t)
	labels := map[string]bool{}
	checked, files := 0, 0
	for _, m := range ms {
		if m.HasTag("big") || slices.ContainsFunc(m.Tags, func(s string) bool { return strings.HasPrefix(s, "odd:") }) {
			continue
		}
		fail := func(format string, args ...any) {
			t.Helper()
			t.Errorf("message %d (%v): %s", m.Seq, m.Tags, fmt.Sprintf(format, args...))
		}
		if crlfSize(m.Raw) != len(m.Raw) || bytes.Count(m.Raw, []byte("\r")) != bytes.Count(m.Raw, []byte("\n")) {
			fail("not strictly CRLF")
			continue
		}
		hdr, _, _ := bytes.Cut(m.Raw, []byte("\r\n\r\n"))
		if !isASCII(string(hdr)) {
			fail("8-bit header")
		}
		for _, l := range bytes.Split(m.Raw, []byte("\r\n")) {
			if len(l) > 998 {
				fail("line of %d bytes", len(l))
				break
			}
		}
		msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
		if err != nil {
			fail("%v", err)
			continue
		}
		if d, err := mail.ParseDate(msg.Header.Get("Date")); err != nil || !d.Equal(m.Date) {
			fail("Date %q: %v, want %v", msg.Header.Get("Date"), err, m.Date)
		}
		if got := msg.Header.Get("Message-ID"); got != m.MessageID {
			fail("Message-ID %q, want %q", got, m.MessageID)
		}
		if s, err := wordDecoder.DecodeHeader(msg.Header.Get("Subject")); err != nil || s != m.Subject {
			fail("Subject %q decodes to %q (%v), want %q", msg.Header.Get("Subject"), s, err, m.Subject)
		}
		ap := mail.AddressParser{WordDecoder: wordDecoder}
		if a, err := ap.Parse(msg.Header.Get("From")); err != nil || a.Address != m.From {
			fail("From %q: %v %v", msg.Header.Get("From"), a, err)
		} else if strings.Contains(a.Name, "=?") != m.HasTag("name:quoted-2047") {
			fail("From name %q", a.Name)
		}
		if m.HasTag("reply") != (msg.Header.Get("In-Reply-To") != "") {
			fail("reply tag and In-Reply-To disagree")
		}
		if m.HasTag("list") != (msg.Header.Get("List-Id") != "") {
			fail("list tag and List-Id disagree")
		}
		body, _ := io.ReadAll(msg.Body)
		var w walked
		if err := walk(msg.Header, body, &w, 0); err != nil {
			fail("MIME: %v", err)
			continue
		}
		if len(w.texts) == 0 {
			fail("no text part")
			continue
		}
		checked++
		files += len(w.files)
		text := strings.Join(w.texts, "\n")
		var lang string
		for _, tag := range m.Tags {
			if c, ok := strings.CutPrefix(tag, "lang:"); ok {
				lang = c
			}
			if c, ok := strings.CutPrefix(tag, "cjk:"); ok {
				labels[c] = true
			}
		}
		if mk := Marker(lang); mk == "" || !strings.Contains(w.texts[0], mk) {
			fail("first text part lacks the %s marker %q:\n%.300s", lang, mk, w.texts[0])
		}
		files := strings.Join(w.files, "\n")
		for tag, has := range map[string]bool{
			"needle:" + needleBody:    strings.Contains(text, needleBody),
			"needle:" + needleCJK:     strings.Contains(text, needleCJK),
			"needle:" + needleFile:    strings.Contains(files, needleFile),
			"needle:" + needleSubject: strings.Contains(m.Subject, needleSubject),
			"fwd:rfc822":              w.inner > 0,
		} {
			if has != m.HasTag(tag) {
				fail("%s is %v in the content", tag, has)
			}
		}
		if slices.ContainsFunc(m.Tags, func(s string) bool { return strings.HasPrefix(s, "attach:") }) && len(w.files) == 0 {
			fail("attachment without a file name")
		}
	}
	if checked < len(ms)*9/10 || files < len(ms)/10 {
		t.Errorf("checked only %d of %d messages, %d file names", checked, len(ms), files)
	}
	for _, l := range []string{"gbk", "gb2312", "big5", "iso-2022-jp", "euc-kr", "utf-8"} {
		if !labels[l] {
			t.Errorf("no CJK body in %s", l)
		}
	}
}

// Every word the generator can put in a charset must be encodable in it;
// otherwise Generate fails for some seed only.
func TestVocabularyEncodable(t *testing.T) {
	for _, l := range langs {
		for _, cs := range l.charsets {
			// Subjects are not listed: one that does not fit its charset falls back to UTF-8.
			all := append([]string{l.marker, l.greeting}, l.words...)
			for _, w := range all {
				if _, err := encodeCharset(cs.label, w); err != nil {
					t.Errorf("%s: %v", l.code, err)
				}
			}
		}
	}
	for _, p := range append(append(append([]person{}, people...), billingPeople...), reviewPeople...) {
		if p.cs != "" {
			if _, err := encodeCharset(p.cs, p.name); err != nil {
				t.Error(err)
			}
		}
		if !isASCII(p.ascii) {
			t.Errorf("%s: ascii name %q", p.name, p.ascii)
		}
	}
}

func TestEncodedWords(t *testing.T) {
	long := strings.Repeat("会議のご案内とデータ移行完了のお知らせ", 4)
	for _, cs := range []string{"utf-8", "iso-2022-jp", "gbk", "euc-kr", "big5"} {
		for _, enc := range []byte{'B', 'Q'} {
			s := long
			if cs == "euc-kr" {
				s = strings.Repeat("데이터 이전 완료 안내 ", 6)
			}
			if cs == "big5" || cs == "gbk" {
				s = strings.Repeat("資料遷移已經完成 ", 6)
			}
			w, err := encodedWords(s, cs, enc)
			if err != nil {
				t.Fatal(err)
			}
			for _, word := range strings.Fields(w) {
				if len(word) > 75 {
					t.Errorf("%s %c: word of %d chars", cs, enc, len(word))
				}
			}
			if got, err := wordDecoder.DecodeHeader(w); err != nil || got != s {
				t.Errorf("%s %c: %q decodes to %q (%v)", cs, enc, w, got, err)
			}
		}
	}
}

func TestBigMessage(t *testing.T) {
	const size = 3 << 20
	ms := collect(t, Options{Seed: 1, Count: 3, BigMessage: size})
	m := ms[0]
	if !m.HasTag("big") || m.Folder != "Archive" || m.Seq != 0 {
		t.Fatalf("message 0: %s %v", m.Folder, m.Tags)
	}
	if d := len(m.Raw) - size; d < -size/20 || d > size/20 {
		t.Errorf("size %d, want about %d", len(m.Raw), size)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(msg.Body)
	var w walked
	if err := walk(msg.Header, body, &w, 0); err != nil || !slices.Contains(w.files, "disk.img") {
		t.Errorf("walk: %v, files %v", err, w.files)
	}
	if ms[1].HasTag("big") {
		t.Error("two big messages")
	}
}

func TestCustomFolders(t *testing.T) {
	ms := collect(t, Options{Seed: 2, Count: 400, Folders: []string{"INBOX", "Work", "Work/2021", "Lists/rust-users"}})
	n := map[string]int{}
	for _, m := range ms {
		n[m.Folder]++
		switch y := m.Date.UTC().Year(); m.Folder {
		case "Work/2021":
			if y != 2021 {
				t.Errorf("%d: %v in Work/2021", m.Seq, m.Date)
			}
		case "Work":
			if y >= 2021 {
				t.Errorf("%d: %v in Work (before its first year folder)", m.Seq, m.Date)
			}
		case "Lists/rust-users":
			if !m.HasTag("list") || !strings.HasPrefix(strings.TrimPrefix(m.Subject, "Re: "), "[rust-users] ") {
				t.Errorf("%d: list message %q %v", m.Seq, m.Subject, m.Tags)
			}
		}
	}
	if len(n) != 4 {
		t.Errorf("folders used: %v", n)
	}
}
