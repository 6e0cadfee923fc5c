package imapserver

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime/quotedprintable"
	"os"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/mailark/mailark/archive"
)

// needs says what of a message a command uses beyond the catalog.
type needs struct {
	header    bool // envelope, header length
	structure bool // MIME structure
}

// info returns the cached facts about e's message, computing what is
// missing of need from the file.
func (srv *Server) info(e *archive.Entry, need needs) (msgInfo, error) {
	mi := srv.cache.get(e.ID)
	if need.header && (mi.env == nil || mi.hdrLen == 0) {
		raw, n, err := readHeader(e)
		if err != nil {
			return mi, err
		}
		mi.hdrLen = n
		mi.env = imapserver.ExtractEnvelope(parseHeader(raw))
		srv.cache.put(msgInfo{id: e.ID, env: mi.env, hdrLen: n})
	}
	if need.structure && mi.root == nil {
		rc, err := openRange(e.Path, e.Size, e.CRLFSize, 0, e.CRLFSize)
		if err != nil {
			return mi, err
		}
		mi.root = scanStructure(rc)
		rc.Close()
		srv.cache.put(msgInfo{id: e.ID, root: mi.root})
	}
	return mi, nil
}

// readHeader reads the message header (normalised, with its blank line);
// it returns at most maxHeaderBytes of it and its full length.
func readHeader(e *archive.Entry) ([]byte, int64, error) {
	f, err := os.Open(e.Path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	lr := &lineReader{br: bufio.NewReaderSize(newCRLFReader(f), 8<<10)}
	var raw []byte
	for {
		line, _, ok := lr.next(maxHeaderBytes)
		if !ok {
			break
		}
		if len(raw) < maxHeaderBytes {
			raw = append(raw, line[:min(len(line), maxHeaderBytes-len(raw))]...)
		}
		if bytes.Equal(line, []byte("\r\n")) {
			break
		}
	}
	return raw, lr.off, nil
}

// resolvePart finds the entity a section's part numbers name (RFC 3501
// 6.4.5): the parts of a multipart are numbered from 1; a message/rfc822
// part's numbers continue inside the message it holds; a message that is
// not multipart has one part, 1, its body.
func resolvePart(root *entity, path []int) *entity {
	cur := root
	for i, n := range path {
		c := cur
		if i > 0 && c.msg != nil {
			c = c.msg
		}
		switch {
		case c.multipart() && len(c.children) > 0:
			if n < 1 || n > len(c.children) {
				return nil
			}
			cur = c.children[n-1]
		case n == 1 && (i == 0 || c != cur):
			cur = c
		default:
			return nil
		}
	}
	return cur
}

// sectionData is what a BODY[...] item sends: a byte range of the
// normalised file, or bytes made here (filtered header fields).
type sectionData struct {
	start, end int64
	data       []byte
	made       bool
}

func (d sectionData) size() int64 {
	if d.made {
		return int64(len(d.data))
	}
	return d.end - d.start
}

// section works out a BODY[...] item of e.
func (srv *Server) section(e *archive.Entry, bs *imap.FetchItemBodySection) (sectionData, error) {
	var d sectionData
	wantHeader := bs.Specifier == imap.PartSpecifierHeader
	fields := len(bs.HeaderFields) > 0 || len(bs.HeaderFieldsNot) > 0
	if len(bs.Part) == 0 {
		switch bs.Specifier {
		case imap.PartSpecifierNone:
			d.end = e.CRLFSize
		case imap.PartSpecifierHeader, imap.PartSpecifierText:
			mi, err := srv.info(e, needs{header: true})
			if err != nil {
				return d, err
			}
			if wantHeader {
				d.end = mi.hdrLen
			} else {
				d.start, d.end = mi.hdrLen, e.CRLFSize
			}
		default: // MIME of the message itself: not a thing
			d.made = true
		}
	} else {
		mi, err := srv.info(e, needs{structure: true})
		if err != nil {
			return d, err
		}
		ent := resolvePart(mi.root, bs.Part)
		switch {
		case ent == nil:
			d.made = true
		case bs.Specifier == imap.PartSpecifierNone:
			d.start, d.end = ent.bodyStart, ent.end
		case bs.Specifier == imap.PartSpecifierMIME:
			d.start, d.end = ent.hdrStart, ent.bodyStart
		default: // HEADER, TEXT of an embedded message (leniently: of the part)
			t := ent
			if ent.msg != nil {
				t = ent.msg
			}
			if wantHeader {
				d.start, d.end = t.hdrStart, t.bodyStart
			} else {
				d.start, d.end = t.bodyStart, t.end
			}
		}
	}
	if wantHeader && fields && !d.made {
		raw, err := readRange(e, d.start, min(d.end, d.start+maxHeaderBytes))
		if err != nil {
			return d, err
		}
		d.data, d.made = filterHeader(raw, bs.HeaderFields, bs.HeaderFieldsNot), true
	}
	if p := bs.Partial; p != nil {
		if d.made {
			off := min(p.Offset, int64(len(d.data)))
			d.data = d.data[off:min(int64(len(d.data)), off+p.Size)]
		} else {
			d.start = min(d.start+p.Offset, d.end)
			d.end = min(d.end, d.start+p.Size)
		}
	}
	return d, nil
}

func readRange(e *archive.Entry, start, end int64) ([]byte, error) {
	rc, err := openRange(e.Path, e.Size, e.CRLFSize, start, end)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// filterHeader keeps (or drops) the named fields of a raw header, each
// field with its continuation lines, and ends with the blank line.
func filterHeader(raw []byte, keep, drop []string) []byte {
	raw = bytes.TrimSuffix(raw, []byte("\r\n\r\n"))
	if len(raw) > 0 {
		raw = append(raw[:len(raw):len(raw)], "\r\n"...)
	}
	in := func(list []string, name string) bool {
		for _, k := range list {
			if strings.EqualFold(strings.TrimSpace(k), name) {
				return true
			}
		}
		return false
	}
	var out []byte
	for len(raw) > 0 {
		// one field: a line and the lines that start with white space
		end := 0
		for {
			i := bytes.IndexByte(raw[end:], '\n')
			if i < 0 {
				end = len(raw)
				break
			}
			end += i + 1
			if end >= len(raw) || (raw[end] != ' ' && raw[end] != '\t') {
				break
			}
		}
		field := raw[:end]
		raw = raw[end:]
		name := string(bytes.TrimSpace(field[:max(0, bytes.IndexByte(field, ':'))]))
		if name == "" {
			continue
		}
		if (len(keep) > 0 && in(keep, name)) || (len(keep) == 0 && !in(drop, name)) {
			out = append(out, field...)
		}
	}
	return append(out, "\r\n"...)
}

// errUnknownCTE answers BINARY for a part in an unknown transfer encoding.
var errUnknownCTE = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnknownCTE,
	Text: "Unknown Content-Transfer-Encoding"}

// binaryReader opens a BINARY[part] item: the part's content with its
// transfer encoding undone (RFC 3516). BINARY[] is the whole message.
func (srv *Server) binaryReader(e *archive.Entry, part []int) (io.ReadCloser, error) {
	if len(part) == 0 {
		return openRange(e.Path, e.Size, e.CRLFSize, 0, e.CRLFSize)
	}
	mi, err := srv.info(e, needs{structure: true})
	if err != nil {
		return nil, err
	}
	ent := resolvePart(mi.root, part)
	if ent == nil {
		return io.NopCloser(strings.NewReader("")), nil
	}
	rc, err := openRange(e.Path, e.Size, e.CRLFSize, ent.bodyStart, ent.end)
	if err != nil {
		return nil, err
	}
	if ent.multipart() || ent.msg != nil {
		return rc, nil
	}
	switch ent.enc {
	case "", "7bit", "8bit", "binary":
		return rc, nil
	case "base64":
		return readCloser{base64.NewDecoder(base64.StdEncoding, &b64Filter{r: rc}), rc}, nil
	case "quoted-printable":
		return readCloser{quotedprintable.NewReader(rc), rc}, nil
	}
	rc.Close()
	return nil, errUnknownCTE
}

// binarySize counts the bytes of a BINARY item by decoding it once.
func (srv *Server) binarySize(e *archive.Entry, part []int) (int64, error) {
	rc, err := srv.binaryReader(e, part)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	n, err := io.Copy(io.Discard, rc)
	if err != nil {
		var ce base64.CorruptInputError
		if errors.As(err, &ce) {
			return n, nil // decode what is decodable, as the second pass will
		}
		return 0, fmt.Errorf("decoding part %v: %w", part, err)
	}
	return n, nil
}

// b64Filter drops what is not base64 alphabet (line breaks, spaces).
type b64Filter struct{ r io.Reader }

func (f *b64Filter) Read(p []byte) (int, error) {
	for {
		n, err := f.r.Read(p)
		k := 0
		for _, c := range p[:n] {
			if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' {
				p[k] = c
				k++
			}
		}
		if k > 0 || err != nil {
			return k, err
		}
	}
}
