package imapserver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	bq "github.com/blevesearch/bleve/v2/search/query"
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/charset"
	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/search"
	"github.com/mailark/mailark/search/query"
)

// SEARCH: flags, dates, sizes and sequence/UID sets come from the catalog;
// header criteria read the message's header; TEXT and BODY ask the search
// index (word and phrase matches, as with Dovecot's FTS, not substrings),
// limited to the selected folder. Without an index they scan the files.

func (s *Session) Search(kind imapserver.NumKind, c *imap.SearchCriteria, _ *imap.SearchOptions) (*imap.SearchData, error) {
	sel := s.selected
	if sel == nil {
		return nil, s.internal("search", errors.New("no mailbox selected"))
	}
	ctx, cancel := s.ctx()
	defer cancel()
	uids := sel.snapshot()
	ev := &evaluator{s: s, uids: uids, text: map[string]map[archive.ID]bool{}}
	if err := ev.prepareText(ctx, sel.folder, c); err != nil {
		return nil, s.internal("search", err)
	}
	var seqs imap.SeqSet
	var uidSet imap.UIDSet
	data := &imap.SearchData{}
	visit := func(m seqUID, e *archive.Entry) error {
		ev.hdr, ev.hdrErr = nil, nil
		ok, err := ev.match(m, e, c)
		if err != nil || !ok {
			return err
		}
		n := m.seq
		if kind == imapserver.NumKindUID {
			n = uint32(m.uid)
			uidSet.AddNum(m.uid)
		} else {
			seqs.AddNum(m.seq)
		}
		if data.Min == 0 {
			data.Min = n
		}
		data.Max = n
		data.Count++
		return nil
	}
	var err error
	if ev.idsOnly(c) {
		err = s.eachID(ctx, sel.folder, uids, visit)
	} else {
		err = s.eachEntry(ctx, sel, resolve(uids, imap.SeqSet{{Start: 1, Stop: 0}}), visit)
	}
	if err != nil {
		return nil, s.internal("search", err)
	}
	if kind == imapserver.NumKindUID {
		data.All = uidSet
	} else {
		data.All = seqs
	}
	return data, nil
}

// eachID calls fn for each message of uids (the selection's snapshot)
// with an Entry that has only the UID and the ID, enough for idsOnly
// criteria.
func (s *Session) eachID(ctx context.Context, f archive.Folder, uids []imap.UID, fn func(seqUID, *archive.Entry) error) error {
	if len(uids) == 0 {
		return nil
	}
	i := 0
	var e archive.Entry
	return s.srv.cfg.Archive.FolderIDs(ctx, f.ID, uint32(uids[0]), uint32(uids[len(uids)-1]), func(uid uint32, id archive.ID) error {
		for i < len(uids) && uids[i] < imap.UID(uid) {
			i++
		}
		if i == len(uids) || uids[i] != imap.UID(uid) {
			return nil // not in the snapshot
		}
		e = archive.Entry{UID: uid, ID: id}
		return fn(seqUID{seq: uint32(i + 1), uid: uids[i]}, &e)
	})
}

type evaluator struct {
	s      *Session
	uids   []imap.UID
	text   map[string]map[archive.ID]bool // "T:words" / "B:words" → hits in the folder
	hdr    []byte                         // the current message's header, read on demand
	hdrErr error
}

// prepareText runs one index query per TEXT/BODY string in c.
func (ev *evaluator) prepareText(ctx context.Context, f archive.Folder, c *imap.SearchCriteria) error {
	ix := ev.s.srv.cfg.Index
	if ix == nil {
		return nil
	}
	var walk func(c *imap.SearchCriteria) error
	walk = func(c *imap.SearchCriteria) error {
		for _, t := range c.Text {
			if err := ev.query(ctx, ix, f, "T:"+t, query.Term{Value: t, Phrase: true}); err != nil {
				return err
			}
		}
		for _, b := range c.Body {
			if err := ev.query(ctx, ix, f, "B:"+b, query.Term{Field: "body", Value: b, Phrase: true}); err != nil {
				return err
			}
		}
		for i := range c.Not {
			if err := walk(&c.Not[i]); err != nil {
				return err
			}
		}
		for i := range c.Or {
			if err := walk(&c.Or[i][0]); err != nil {
				return err
			}
			if err := walk(&c.Or[i][1]); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(c)
}

// query finds the messages of folder f whose text matches t: its words
// next to each other in this order, compiled as the search language
// compiles a quoted phrase (so one word is a plain term, which is much
// cheaper than a phrase of one word).
func (ev *evaluator) query(ctx context.Context, ix *search.Index, f archive.Folder, key string, t query.Term) error {
	if _, done := ev.text[key]; done {
		return nil
	}
	var text bq.Query = bq.NewMatchNoneQuery() // TEXT "": nothing, as before
	if t.Value != "" {
		var err error
		if text, err = query.Compile(t, query.Options{}); err != nil {
			return err
		}
	}
	// Only the selected folder's messages, and only their IDs: no
	// scores, no order.
	folder := bleve.NewTermQuery(f.Account + "/" + f.Name)
	folder.SetField(search.FieldAccountFolder)
	set, err := ix.IDs(ctx, bleve.NewConjunctionQuery(folder, text))
	if err != nil {
		return err
	}
	ev.text[key] = set
	return nil
}

// idsOnly reports whether c needs of each message only its number and
// ID: sequence and UID sets, and TEXT/BODY answered by the index. The
// catalog's flags, dates, sizes and file names are then not read, which
// is most of the time such a search takes on a large folder.
func (ev *evaluator) idsOnly(c *imap.SearchCriteria) bool {
	if ev.s.srv.cfg.Index == nil && (len(c.Text) > 0 || len(c.Body) > 0) {
		return false
	}
	for i := range c.Not {
		if !ev.idsOnly(&c.Not[i]) {
			return false
		}
	}
	for i := range c.Or {
		if !ev.idsOnly(&c.Or[i][0]) || !ev.idsOnly(&c.Or[i][1]) {
			return false
		}
	}
	// Whatever else is set (also fields added to go-imap later) needs
	// the whole entry.
	rest := *c
	rest.SeqNum, rest.UID, rest.Text, rest.Body, rest.Not, rest.Or = nil, nil, nil, nil, nil, nil
	return reflect.ValueOf(rest).IsZero()
}

// match evaluates c for one message; criteria are ANDed, cheap first.
func (ev *evaluator) match(m seqUID, e *archive.Entry, c *imap.SearchCriteria) (bool, error) {
	for _, set := range c.SeqNum {
		if !inSet(ev.uids, set, m) {
			return false, nil
		}
	}
	for _, set := range c.UID {
		if !inSet(ev.uids, set, m) {
			return false, nil
		}
	}
	day := func(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }
	idate := day(e.InternalDate)
	if !c.Since.IsZero() && idate.Before(day(c.Since)) || !c.Before.IsZero() && !idate.Before(day(c.Before)) {
		return false, nil
	}
	sent := e.Date
	if sent.IsZero() {
		sent = e.InternalDate
	}
	sent = day(sent)
	if !c.SentSince.IsZero() && sent.Before(day(c.SentSince)) || !c.SentBefore.IsZero() && !sent.Before(day(c.SentBefore)) {
		return false, nil
	}
	if c.Larger > 0 && e.CRLFSize <= c.Larger || c.Smaller > 0 && e.CRLFSize >= c.Smaller {
		return false, nil
	}
	has := func(f imap.Flag) bool {
		return slices.ContainsFunc(e.Flags, func(x string) bool { return strings.EqualFold(x, string(f)) })
	}
	for _, f := range c.Flag {
		if !has(f) { // \Recent is never set
			return false, nil
		}
	}
	for _, f := range c.NotFlag {
		if has(f) {
			return false, nil
		}
	}
	for _, h := range c.Header {
		ok, err := ev.header(e, h.Key, h.Value)
		if err != nil || !ok {
			return false, err
		}
	}
	for _, t := range c.Text {
		ok, err := ev.textMatch(e, "T:", t)
		if err != nil || !ok {
			return false, err
		}
	}
	for _, b := range c.Body {
		ok, err := ev.textMatch(e, "B:", b)
		if err != nil || !ok {
			return false, err
		}
	}
	for i := range c.Not {
		ok, err := ev.match(m, e, &c.Not[i])
		if err != nil || ok {
			return false, err
		}
	}
	for _, or := range c.Or {
		a, err := ev.match(m, e, &or[0])
		if err != nil {
			return false, err
		}
		if !a {
			b, err := ev.match(m, e, &or[1])
			if err != nil || !b {
				return false, err
			}
		}
	}
	return true, nil
}

// inSet tells whether set names message m ("*" as in resolve).
func inSet(uids []imap.UID, set imap.NumSet, m seqUID) bool {
	if len(uids) == 0 {
		return false
	}
	in := func(lo, hi, star, x uint32) bool {
		if lo == 0 {
			lo = star
		}
		if hi == 0 {
			hi = star
		}
		return min(lo, hi) <= x && x <= max(lo, hi)
	}
	switch set := set.(type) {
	case imap.SeqSet:
		for _, r := range set {
			if in(r.Start, r.Stop, uint32(len(uids)), m.seq) {
				return true
			}
		}
	case imap.UIDSet:
		for _, r := range set {
			if in(uint32(r.Start), uint32(r.Stop), uint32(uids[len(uids)-1]), uint32(m.uid)) {
				return true
			}
		}
	}
	return false
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// header matches HEADER key value: a case-insensitive substring of a
// decoded field; an empty value matches any message with the field.
func (ev *evaluator) header(e *archive.Entry, key, value string) (bool, error) {
	if ev.hdr == nil && ev.hdrErr == nil {
		ev.hdr, _, ev.hdrErr = readHeader(e)
	}
	if ev.hdrErr != nil {
		return false, ev.hdrErr
	}
	fields := filterHeader(ev.hdr, []string{key}, nil)
	if len(fields) <= 2 {
		return false, nil
	}
	want := strings.ToLower(value)
	for _, line := range strings.Split(strings.TrimSpace(string(fields)), "\r\n") {
		_, v, _ := strings.Cut(line, ":")
		if dec, err := wordDecoder.DecodeHeader(v); err == nil {
			v = dec
		}
		if strings.Contains(strings.ToLower(v), want) {
			return true, nil
		}
	}
	return strings.Contains(strings.ToLower(string(fields)), want), nil
}

// textMatch answers TEXT/BODY from the index, or by scanning the file.
func (ev *evaluator) textMatch(e *archive.Entry, kind, text string) (bool, error) {
	if set, ok := ev.text[kind+text]; ok {
		return set[e.ID], nil
	}
	var start int64
	if kind == "B:" {
		mi, err := ev.s.srv.info(e, needs{header: true})
		if err != nil {
			return false, err
		}
		start = mi.hdrLen
	}
	rc, err := openRange(e.Path, e.Size, e.CRLFSize, start, e.CRLFSize)
	if err != nil {
		return false, err
	}
	defer rc.Close()
	return containsFold(rc, text)
}

// containsFold reports whether r holds needle, ignoring ASCII case.
func containsFold(r io.Reader, needle string) (bool, error) {
	n := bytes.ToLower([]byte(needle))
	if len(n) == 0 {
		return true, nil
	}
	buf := make([]byte, 0, 64<<10+len(n))
	chunk := make([]byte, 64<<10)
	for {
		k, err := r.Read(chunk)
		buf = append(buf, bytes.ToLower(chunk[:k])...)
		if bytes.Contains(buf, n) {
			return true, nil
		}
		if keep := len(n) - 1; len(buf) > keep {
			buf = append(buf[:0], buf[len(buf)-keep:]...)
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
}
