// Package testcorpus generates a deterministic corpus of realistic and
// deliberately nasty mail for mailark's tests and benchmarks, and writes it as
// a Maildir++ / fs Maildir tree or .eml files plus a JSON-lines manifest.
//
// Message i of a corpus depends only on (Options minus Count, i): a corpus of
// 100 messages is a prefix of one of 10,000. Earlier messages that a later
// one refers to (a thread parent, the original of a duplicate) are recomputed
// from their index, so Generate keeps nothing alive between messages.
//
// Tags (Message.Tags, sorted) describe what a message contains, so tests can
// pick messages with a property and check a known answer:
//
//	dup:other-folder   same bytes as an earlier message in another folder (~1/100)
//	dup:same-folder    same bytes as an earlier message in the same folder (~1/200)
//	near-dup           same Message-ID as an earlier message, different bytes: the
//	                   mailing-list copy (List-Id, [list] subject, footer) or the
//	                   direct copy of a list message (~1/150)
//	needle:quokka      "quokka" is in the body text (after CTE and charset decoding)
//	needle:axolotl     "axolotl" is in the decoded Subject
//	needle:pangolin    "pangolin" is in a decoded attachment file name
//	needle:袋鼠         "袋鼠" is in a Chinese body
//	lang:<code>        body language: en de fr ru zh-hans zh-hant ja ko; every body
//	                   contains that language's marker phrase (see Marker)
//	charset:<label>    charset label of the main text part (gb2312, ks_c_5601-1987 ...)
//	cjk:<label>        the same, for Chinese, Japanese and Korean bodies
//	cte:<cte>          transfer encoding of the main text part (7bit 8bit quoted-printable base64)
//	mime:<shape>       plain, alternative, html (html only), related (inline image), mixed
//	no-mime            plain RFC 822 text without MIME-Version or Content-Type
//	attach:<kind>      has an attachment (or inline image) of kind pdf zip csv png jpg bin
//	fname:<style>      attachment file name style: ascii, rfc2231, rfc2231-cont, rfc2047-quoted
//	fwd:rfc822         has a forwarded message/rfc822 part
//	subject:<cs>-<b|q> Subject has encoded-words in that charset and encoding
//	name:<cs>-<b|q>    From display name is encoded in that charset and encoding
//	name:quoted-2047   From display name is encoded-words inside quotes (non-standard)
//	reply              has In-Reply-To and References
//	list               has List-Id
//	large              100 KB - 1 MB
//	big                the Options.BigMessage message
//	odd:<kind>         one of OddKinds (see odd.go for what each one is)
package testcorpus

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Options select the corpus. The zero value of every field but Count is usable.
type Options struct {
	Seed  int64
	Count int // total stored messages, duplicates included
	// Folders are IMAP names with '/' separator; nil means DefaultFolders.
	// A name's role follows its name: INBOX; Sent; Drafts or Entwürfe (drafts,
	// \Draft); Lists/<name> (mailing list <name>); a last component that is a
	// year (Archive/2019) holds mail of that year only, and its parent mail
	// from before its first year subfolder.
	Folders []string
	// Odd includes one message of each of OddKinds() in INBOX, at indexes
	// 1, 4, 7, ...; Count must reach the last of them.
	Odd bool
	// OddKinds, if not empty, includes just these odd kinds (in this order,
	// at the same indexes) whether or not Odd is set.
	OddKinds []string
	// BigMessage > 0 makes message 0 a message of about this many bytes
	// (a base64 disk image) in Archive, or the first folder if there is none.
	BigMessage int64
}

// DefaultFolders are the folders used when Options.Folders is nil.
var DefaultFolders = []string{"INBOX", "Sent", "Drafts", "Archive", "Archive/2019", "Archive/2020",
	"Lists/golang-nuts", "Projects/Go/Reviews", "收件箱", "Entwürfe", "Reçus & Factures"}

// Message is one stored message.
type Message struct {
	Seq          int       // index in the stream, 0-based
	Folder       string    // IMAP name, '/' separator
	Flags        []string  // IMAP flags (\Seen \Answered \Flagged \Draft) and keywords ($Label1 ...)
	New          bool      // not yet seen by any client: Maildir new/ (implies no flags)
	InternalDate time.Time // UTC, second precision
	MessageID    string    // the first Message-ID header with its <>, "" when none
	From         string    // sender address (addr-spec)
	Subject      string    // decoded Subject; "" for odd messages
	Date         time.Time // the Date header; zero when missing or unparsable
	DupGroup     int       // Seq of the first message with identical bytes
	Tags         []string  // sorted; see the package documentation
	Raw          []byte    // the message: CRLF, unless an odd kind says otherwise
}

// ID is mailark's identity of a message: SHA-256 of Raw with every LF that
// is not preceded by CR turned into CRLF.
func (m *Message) ID() [32]byte {
	h := sha256.New()
	b := m.Raw
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			h.Write(b)
			break
		}
		if i > 0 && b[i-1] == '\r' {
			h.Write(b[:i+1])
		} else {
			h.Write(b[:i])
			h.Write([]byte("\r\n"))
		}
		b = b[i+1:]
	}
	var id [32]byte
	h.Sum(id[:0])
	return id
}

// HasTag reports whether m carries tag t.
func (m *Message) HasTag(t string) bool {
	_, ok := slices.BinarySearch(m.Tags, t)
	return ok
}

// Marker returns the phrase that every body of the language (the code in a
// lang:<code> tag) contains, "" for an unknown code.
func Marker(code string) string {
	for _, l := range langs {
		if l.code == code {
			return l.marker
		}
	}
	return ""
}

// Generate produces opts.Count messages in order and calls fn for each; it
// stops at the first error fn returns. Messages are not retained: fn may keep
// or drop them. Generation is spread over a few goroutines, but fn is called
// from the calling goroutine, in order.
func Generate(opts Options, fn func(*Message) error) error {
	g, err := newGen(opts)
	if err != nil {
		return err
	}
	return g.run(fn)
}

// All generates opts.Count messages, as Generate does, and returns them in
// order.
func All(opts Options) ([]*Message, error) {
	var out []*Message
	if err := Generate(opts, func(m *Message) error { out = append(out, m); return nil }); err != nil {
		return nil, err
	}
	return out, nil
}

type role uint8

const (
	roleOther role = iota
	roleInbox
	roleSent
	roleDrafts
	roleList
	roleBilling
	roleReviews
	roleChinese
)

type folderInfo struct {
	name           string
	role           role
	weight         float64
	yearLo, yearHi int // inclusive; 0 = unrestricted
	listName       string
}

type slotKind uint8

const (
	kindNormal slotKind = iota
	kindBig
	kindOdd
	kindDupOther
	kindDupSame
	kindNearDup
)

// Rates of the copy kinds, per slot.
const (
	rateDupOther = 1.0 / 100
	rateDupSame  = 1.0 / 200
	rateNearDup  = 1.0 / 150
)

// RNG streams: every (seed, index, stream) has its own generator, so adding
// a draw in one place never shifts the values drawn anywhere else.
const (
	streamPlan uint64 = iota + 1
	streamSpec
	streamBody
	streamEnv
	streamVariant
	streamCopy
	streamFlags
	streamOdd
	streamBytes
)

const (
	yearFirst = 2015
	yearLast  = 2024
)

type gen struct {
	opts    Options
	seed    uint64
	folders []folderInfo
	cumw    []float64
	inbox   int // index of INBOX (or 0)
	list    int // first list folder, -1 if none
	archive int // folder for the big message
	odd     []string
}

func newGen(opts Options) (*gen, error) {
	if opts.Count < 0 {
		return nil, fmt.Errorf("testcorpus: negative Count")
	}
	names := opts.Folders
	if names == nil {
		names = DefaultFolders
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("testcorpus: no folders")
	}
	g := &gen{opts: opts, seed: mix64(uint64(opts.Seed) ^ 0x6d61696c61726b), inbox: 0, list: -1, archive: -1}
	seen := map[string]bool{}
	for _, n := range names {
		if n == "" || strings.HasPrefix(n, "/") || strings.HasSuffix(n, "/") || strings.Contains(n, "//") {
			return nil, fmt.Errorf("testcorpus: bad folder name %q", n)
		}
		if seen[n] {
			return nil, fmt.Errorf("testcorpus: duplicate folder %q", n)
		}
		seen[n] = true
		g.folders = append(g.folders, classify(n))
	}
	// A parent of year folders holds the mail from before its first year.
	for i := range g.folders {
		f := &g.folders[i]
		first := 0
		for _, c := range g.folders {
			if c.yearLo != 0 && strings.HasPrefix(c.name, f.name+"/") && (first == 0 || c.yearLo < first) {
				first = c.yearLo
			}
		}
		if f.yearLo == 0 && first > yearFirst {
			f.yearLo, f.yearHi = yearFirst, first-1
		}
	}
	total := 0.0
	for i, f := range g.folders {
		switch {
		case f.role == roleInbox && f.name == "INBOX":
			g.inbox = i
		case f.role == roleList && g.list < 0:
			g.list = i
		}
		if g.archive < 0 && f.name == "Archive" {
			g.archive = i
		}
		total += f.weight
		g.cumw = append(g.cumw, total)
	}
	if g.archive < 0 {
		g.archive = 0
	}
	g.odd = opts.OddKinds
	if len(g.odd) == 0 && opts.Odd {
		g.odd = OddKinds()
	}
	for _, k := range g.odd {
		if !slices.Contains(oddKinds, k) {
			return nil, fmt.Errorf("testcorpus: unknown odd kind %q", k)
		}
	}
	if n := len(g.odd); n > 0 && opts.Count <= oddSlot(n-1) {
		return nil, fmt.Errorf("testcorpus: Count must be at least %d to hold %d odd messages", oddSlot(n-1)+1, n)
	}
	return g, nil
}

func classify(name string) folderInfo {
	f := folderInfo{name: name, role: roleOther, weight: 5}
	parts := strings.Split(name, "/")
	last := parts[len(parts)-1]
	lower := strings.ToLower(last)
	switch {
	case strings.EqualFold(name, "INBOX"):
		f.role, f.weight = roleInbox, 30
	case lower == "sent" || lower == "sent items" || lower == "gesendet":
		f.role, f.weight = roleSent, 12
	case lower == "drafts" || lower == "entwürfe" || lower == "brouillons":
		f.role, f.weight = roleDrafts, 2
	case len(parts) > 1 && strings.EqualFold(parts[0], "Lists"):
		f.role, f.weight = roleList, 12
		f.listName = listName(last)
	case strings.Contains(lower, "factures") || strings.Contains(lower, "receipts") || strings.Contains(lower, "rechnungen") || strings.Contains(lower, "invoices"):
		f.role, f.weight = roleBilling, 4
	case strings.Contains(lower, "review"):
		f.role, f.weight = roleReviews, 6
	case hasHan(last):
		f.role, f.weight = roleChinese, 6
	}
	if len(last) == 4 {
		if y := atoi(last); y >= 1990 && y <= 2099 {
			f.yearLo, f.yearHi, f.weight = y, y, 8
		}
	}
	return f
}

func listName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "list"
	}
	return b.String()
}

func hasHan(s string) bool {
	for _, r := range s {
		if r >= 0x3400 && r <= 0x9fff {
			return true
		}
	}
	return false
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func oddSlot(k int) int { return 3*k + 1 }

// oddAt returns the odd kind at index i, if any.
func (g *gen) oddAt(i int) (string, bool) {
	if i < 1 || (i-1)%3 != 0 || (i-1)/3 >= len(g.odd) {
		return "", false
	}
	return g.odd[(i-1)/3], true
}

func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (g *gen) rng(i int, stream uint64) *rand.Rand {
	a := mix64(g.seed ^ mix64(uint64(i)))
	b := mix64(a ^ mix64(stream<<32|0x5bd1e995))
	return rand.New(rand.NewPCG(a, b))
}

// rawKind is the kind drawn for slot i before a copy's original is looked
// up; only rawKind == kindNormal slots serve as originals and thread parents,
// which keeps the lookup free of recursion.
func (g *gen) rawKind(i int) slotKind {
	if g.opts.BigMessage > 0 && i == 0 {
		return kindBig
	}
	if _, ok := g.oddAt(i); ok {
		return kindOdd
	}
	if i == 0 {
		return kindNormal
	}
	u := g.rng(i, streamPlan).Float64()
	switch {
	case u < rateDupOther:
		return kindDupOther
	case u < rateDupOther+rateDupSame:
		return kindDupSame
	case u < rateDupOther+rateDupSame+rateNearDup:
		return kindNearDup
	}
	return kindNormal
}

// pickEarlier draws a normal slot in [i-window, i) or returns -1.
func (g *gen) pickEarlier(r *rand.Rand, i, window int) int {
	lo := max(0, i-window)
	if lo >= i {
		return -1
	}
	for range 12 {
		j := lo + r.IntN(i-lo)
		if g.rawKind(j) == kindNormal {
			return j
		}
	}
	return -1
}

func (g *gen) pickFolder(r *rand.Rand) int {
	x := r.Float64() * g.cumw[len(g.cumw)-1]
	i, _ := slices.BinarySearch(g.cumw, x)
	return min(i, len(g.folders)-1)
}

// fits reports whether folder fi may hold mail dated t.
func (g *gen) fits(fi int, t time.Time) bool {
	f := g.folders[fi]
	y := t.UTC().Year()
	return f.yearLo == 0 || y >= f.yearLo && y <= f.yearHi
}

// message builds message i.
func (g *gen) message(i int) (*Message, error) {
	switch g.rawKind(i) {
	case kindBig:
		return g.bigMessage(i)
	case kindOdd:
		k, _ := g.oddAt(i)
		return g.oddMessage(i, k)
	case kindDupOther, kindDupSame:
		if m, err := g.dupMessage(i); m != nil || err != nil {
			return m, err
		}
	case kindNearDup:
		if m, err := g.nearDupMessage(i); m != nil || err != nil {
			return m, err
		}
	}
	return g.normalMessage(i)
}

func (g *gen) normalMessage(i int) (*Message, error) {
	s := g.spec(i)
	m, err := g.render(s, false)
	if err != nil {
		return nil, err
	}
	m.Flags, m.New = g.flags(i, s.folder, s.fwd)
	return m, nil
}

// dupMessage stores the bytes of an earlier message again, in another folder
// (dup:other-folder) or the same one (dup:same-folder); nil if slot i cannot
// be one (no suitable original), in which case it is a normal message.
func (g *gen) dupMessage(i int) (*Message, error) {
	r := g.rng(i, streamCopy)
	j := g.pickEarlier(r, i, 2000)
	if j < 0 {
		return nil, nil
	}
	src := g.spec(j)
	target, tag := src.folder, "dup:same-folder"
	if g.rawKind(i) == kindDupOther {
		tag = "dup:other-folder"
		var cands []int
		for fi, f := range g.folders {
			// Copies go where users file mail: not into Drafts, Sent or a list's folder.
			if fi != src.folder && f.role != roleDrafts && f.role != roleSent && f.role != roleList && g.fits(fi, src.date) {
				cands = append(cands, fi)
			}
		}
		if len(cands) == 0 {
			return nil, nil
		}
		target = cands[r.IntN(len(cands))]
	}
	m, err := g.render(src, false)
	if err != nil {
		return nil, err
	}
	m.Seq = i
	m.Folder = g.folders[target].name
	m.Flags, m.New = g.flags(i, target, false)
	m.InternalDate = m.InternalDate.Add(time.Duration(60+r.IntN(30*86400)) * time.Second)
	m.Tags = addTags(m.Tags, tag)
	return m, nil
}

// nearDupMessage renders an earlier incoming message as its mailing-list copy
// (or a list message as its direct copy): same Message-ID, other bytes.
func (g *gen) nearDupMessage(i int) (*Message, error) {
	r := g.rng(i, streamCopy)
	j := -1
	var src *spec
	for range 4 {
		if j = g.pickEarlier(r, i, 2000); j < 0 {
			return nil, nil
		}
		if s := g.spec(j); !s.outgoing {
			src = s
			break
		}
	}
	if src == nil {
		return nil, nil
	}
	target := g.list
	if g.folders[src.folder].role == roleList || target < 0 {
		target = g.inbox
		if target == src.folder {
			return nil, nil
		}
	}
	m, err := g.render(src, true)
	if err != nil {
		return nil, err
	}
	m.Seq, m.DupGroup = i, i
	m.Folder = g.folders[target].name
	m.Flags, m.New = g.flags(i, target, false)
	m.InternalDate = m.InternalDate.Add(time.Duration(5+r.IntN(600)) * time.Second)
	m.Tags = addTags(m.Tags, "near-dup")
	return m, nil
}

// flags draws the IMAP flags of message i stored in folder fi.
func (g *gen) flags(i, fi int, forwarded bool) ([]string, bool) {
	r := g.rng(i, streamFlags)
	var fl []string
	add := func(p float64, f string) {
		if r.Float64() < p {
			fl = append(fl, f)
		}
	}
	switch g.folders[fi].role {
	case roleDrafts:
		fl = append(fl, `\Draft`)
		add(0.5, `\Seen`)
	case roleSent:
		fl = append(fl, `\Seen`)
		add(0.03, `\Flagged`)
	case roleInbox:
		if r.Float64() < 0.55 {
			fl = append(fl, `\Seen`)
			add(0.2, `\Answered`)
		} else if r.Float64() < 0.3 {
			return nil, true // delivered, never seen: new/
		}
		add(0.06, `\Flagged`)
	case roleList:
		add(0.4, `\Seen`)
		add(0.02, `\Flagged`)
	default:
		add(0.9, `\Seen`)
		add(0.1, `\Answered`)
		add(0.04, `\Flagged`)
	}
	if forwarded {
		fl = append(fl, "$Forwarded")
	}
	if r.Float64() < 0.05 {
		fl = append(fl, keywords[r.IntN(len(keywords))])
	}
	return sortFlags(fl), false
}

var keywords = []string{"$Label1", "$Label2", "$Label3", "$MDNSent", "$Label1", "NonJunk"}

// sortFlags orders system flags first, then keywords, each sorted, deduplicated.
func sortFlags(fl []string) []string {
	slices.SortFunc(fl, func(a, b string) int {
		as, bs := strings.HasPrefix(a, `\`), strings.HasPrefix(b, `\`)
		if as != bs {
			if as {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return slices.Compact(fl)
}

func addTags(tags []string, add ...string) []string {
	out := append(slices.Clone(tags), add...)
	slices.Sort(out)
	return slices.Compact(out)
}

// lognormal draws exp(N(ln median, sigma)), clamped.
func lognormal(r *rand.Rand, median, sigma, lo, hi float64) int {
	v := median * math.Exp(sigma*r.NormFloat64())
	return int(min(hi, max(lo, v)))
}

func weighted(r *rand.Rand, ws []csw) string {
	t := 0
	for _, w := range ws {
		t += w.w
	}
	x := r.IntN(t)
	for _, w := range ws {
		if x < w.w {
			return w.label
		}
		x -= w.w
	}
	return ws[0].label
}

// run generates in parallel with a bounded window and delivers in order, so
// 10,000 messages take a couple of seconds and memory stays bounded.
func (g *gen) run(fn func(*Message) error) error {
	n := g.opts.Count
	workers := min(4, max(1, runtimeCPUs()))
	if n < 64 || workers == 1 {
		for i := range n {
			m, err := g.message(i)
			if err != nil {
				return err
			}
			if err := fn(m); err != nil {
				return err
			}
		}
		return nil
	}
	type result struct {
		m   *Message
		err error
	}
	window := workers * 4
	slots := make([]chan result, window)
	for k := range slots {
		slots[k] = make(chan result, 1)
	}
	next := make(chan int)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(next)
		for i := range n {
			select {
			case next <- i:
			case <-stop:
				return
			}
		}
	}()
	// A worker may only start index i once index i-window was consumed, so
	// at most window messages are in flight.
	tickets := make(chan struct{}, window)
	for range window {
		tickets <- struct{}{}
	}
	for range workers {
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-tickets:
				}
				var i int
				var ok bool
				select {
				case <-stop:
					return
				case i, ok = <-next:
				}
				if !ok {
					return
				}
				m, err := g.message(i)
				select {
				case slots[i%window] <- result{m, err}:
				case <-stop:
					return
				}
			}
		}()
	}
	for i := range n {
		res := <-slots[i%window]
		tickets <- struct{}{}
		if res.err != nil {
			return res.err
		}
		if err := fn(res.m); err != nil {
			return err
		}
	}
	return nil
}
