package imapserver

import (
	"context"
	"errors"
	"io"
	"sort"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/mailark/mailark/archive"
)

// seqUID is one message of the selection.
type seqUID struct {
	seq uint32
	uid imap.UID
}

// resolve turns a sequence or UID set into the selection's messages it
// names, in order. "*" is the last message (the highest UID); numbers
// that name no message are left out.
func resolve(uids []imap.UID, set imap.NumSet) []seqUID {
	var out []seqUID
	n := uint32(len(uids))
	switch set := set.(type) {
	case imap.SeqSet:
		for _, r := range set {
			lo, hi := r.Start, r.Stop
			if lo == 0 {
				lo = n
			}
			if hi == 0 {
				hi = n
			}
			if lo > hi {
				lo, hi = hi, lo
			}
			for seq := max(lo, 1); seq <= min(hi, n); seq++ {
				out = append(out, seqUID{seq, uids[seq-1]})
			}
		}
	case imap.UIDSet:
		if n == 0 {
			return nil
		}
		maxUID := uids[n-1]
		for _, r := range set {
			lo, hi := r.Start, r.Stop
			if lo == 0 {
				lo = maxUID
			}
			if hi == 0 {
				hi = maxUID
			}
			if lo > hi {
				lo, hi = hi, lo
			}
			i := sort.Search(len(uids), func(i int) bool { return uids[i] >= lo })
			for ; i < len(uids) && uids[i] <= hi; i++ {
				out = append(out, seqUID{uint32(i + 1), uids[i]})
			}
		}
	}
	if len(out) < 2 {
		return out
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	k := 1
	for i := 1; i < len(out); i++ {
		if out[i].seq != out[k-1].seq {
			out[k] = out[i]
			k++
		}
	}
	return out[:k]
}

// batchSpan bounds the rows one catalog query reads.
const batchSpan = 512

// eachEntry calls fn with the catalog entries of msgs (resolved from the
// selection), reading the catalog batchSpan entries at a time from the
// first one wanted. The last batch is kept: clients such as mbsync fetch
// one message per command, in order.
func (s *Session) eachEntry(ctx context.Context, sel *selection, msgs []seqUID, fn func(seqUID, *archive.Entry) error) error {
	uids := sel.snapshot()
	for len(msgs) > 0 {
		ents := sel.cache
		if len(ents) == 0 || imap.UID(ents[0].UID) > msgs[0].uid || imap.UID(ents[len(ents)-1].UID) < msgs[0].uid {
			hi := uids[min(int(msgs[0].seq)+batchSpan-1, len(uids))-1]
			var err error
			ents, err = s.srv.cfg.Archive.Entries(ctx, sel.folder, uint32(msgs[0].uid), uint32(hi), batchSpan)
			if err != nil {
				return err
			}
			if len(ents) == 0 {
				return nil
			}
			sel.cache = ents
		}
		last := imap.UID(ents[len(ents)-1].UID)
		j := sort.Search(len(ents), func(i int) bool { return imap.UID(ents[i].UID) >= msgs[0].uid })
		for len(msgs) > 0 && msgs[0].uid <= last {
			m := msgs[0]
			msgs = msgs[1:]
			for j < len(ents) && imap.UID(ents[j].UID) < m.uid {
				j++
			}
			if j < len(ents) && imap.UID(ents[j].UID) == m.uid {
				if err := fn(m, &ents[j]); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// errBroken marks a failure in the middle of a response: the connection
// cannot go on and is closed.
var errBroken = errors.New("connection broken off in a response")

func (s *Session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, opts *imap.FetchOptions) error {
	sel := s.selected
	if sel == nil {
		return s.internal("fetch", errors.New("no mailbox selected"))
	}
	ctx, cancel := s.ctx()
	defer cancel()
	msgs := resolve(sel.snapshot(), numSet)
	need := needs{header: opts.Envelope, structure: opts.BodyStructure != nil}
	failed := 0
	err := s.eachEntry(ctx, sel, msgs, func(m seqUID, e *archive.Entry) error {
		err := s.fetchOne(w, m, e, opts, need)
		if errors.Is(err, errBroken) {
			return err
		}
		if err != nil {
			var ie *imap.Error
			if errors.As(err, &ie) {
				return err
			}
			failed++
			s.log.Error("imap fetch: reading a message", "user", s.user, "uid", m.uid, "path", e.Path, "err", err)
		}
		return nil
	})
	if errors.Is(err, errBroken) {
		s.conn.Close()
		return err
	}
	if err != nil {
		return s.internal("fetch", err)
	}
	if failed > 0 {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeServerBug,
			Text: "Some messages could not be read; the server log says why"}
	}
	return nil
}

// item is one prepared FETCH data item that sends bytes.
type item struct {
	body   *imap.FetchItemBodySection
	bin    *imap.FetchItemBinarySection
	data   sectionData
	binLen int64
}

// fetchOne writes one FETCH response. Everything that can fail on a bad
// file is worked out before the response starts; a failure after that
// breaks the connection (a literal's size has been promised).
func (s *Session) fetchOne(w *imapserver.FetchWriter, m seqUID, e *archive.Entry, opts *imap.FetchOptions, need needs) error {
	var mi msgInfo
	if need.header || need.structure {
		var err error
		if mi, err = s.srv.info(e, need); err != nil {
			return err
		}
	}
	var items []item
	for _, bs := range opts.BodySection {
		d, err := s.srv.section(e, bs)
		if err != nil {
			return err
		}
		items = append(items, item{body: bs, data: d})
	}
	for _, bs := range opts.BinarySection {
		n, err := s.srv.binarySize(e, bs.Part)
		if err != nil {
			return err
		}
		it := item{bin: bs, binLen: n}
		if p := bs.Partial; p != nil {
			it.data.start = min(p.Offset, n)
			n = min(n-it.data.start, p.Size)
		}
		it.data.end = it.data.start + n
		items = append(items, it)
	}
	binSizes := make([]int64, len(opts.BinarySectionSize))
	for i, bs := range opts.BinarySectionSize {
		n, err := s.srv.binarySize(e, bs.Part)
		if err != nil {
			return err
		}
		binSizes[i] = n
	}

	rw := w.CreateMessage(m.seq)
	rw.WriteUID(m.uid)
	if opts.Flags {
		rw.WriteFlags(flagsOf(e.Flags))
	}
	if opts.InternalDate {
		rw.WriteInternalDate(e.InternalDate)
	}
	if opts.RFC822Size {
		rw.WriteRFC822Size(e.CRLFSize)
	}
	if opts.Envelope {
		rw.WriteEnvelope(mi.env)
	}
	if opts.BodyStructure != nil {
		rw.WriteBodyStructure(mi.root.bodyStructure())
	}
	for i, bs := range opts.BinarySectionSize {
		rw.WriteBinarySectionSize(bs, uint32(min(binSizes[i], 1<<32-1)))
	}
	for _, it := range items {
		if err := s.writeItem(rw, e, it); err != nil {
			s.log.Error("imap fetch: sending a message", "user", s.user, "uid", m.uid, "path", e.Path, "err", err)
			s.conn.Close() // the client cannot tell a short literal from a broken one
			rw.Close()
			return errBroken
		}
	}
	if err := rw.Close(); err != nil {
		return errBroken
	}
	return nil
}

// writeItem streams one body or binary section.
func (s *Session) writeItem(rw *imapserver.FetchResponseWriter, e *archive.Entry, it item) error {
	if it.bin != nil {
		rc, err := s.srv.binaryReader(e, it.bin.Part)
		if err != nil {
			return err
		}
		defer rc.Close()
		if _, err := io.CopyN(io.Discard, rc, it.data.start); err != nil {
			return err
		}
		wc := rw.WriteBinarySection(it.bin, it.data.size())
		if _, err := io.CopyN(wc, rc, it.data.size()); err != nil {
			return err
		}
		return wc.Close()
	}
	wc := rw.WriteBodySection(it.body, it.data.size())
	if it.data.made {
		if _, err := wc.Write(it.data.data); err != nil {
			return err
		}
		return wc.Close()
	}
	rc, err := openRange(e.Path, e.Size, e.CRLFSize, it.data.start, it.data.end)
	if err != nil {
		return err
	}
	defer rc.Close()
	if _, err := io.CopyN(wc, rc, it.data.size()); err != nil {
		return err
	}
	return wc.Close()
}
