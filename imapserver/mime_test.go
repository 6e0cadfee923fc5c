package imapserver

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/mailark/mailark/internal/testcorpus"
)

// bsString renders a body structure for comparison.
func bsString(bs imap.BodyStructure) string {
	switch bs := bs.(type) {
	case *imap.BodyStructureMultiPart:
		var b strings.Builder
		b.WriteString("(")
		for _, c := range bs.Children {
			b.WriteString(bsString(c))
		}
		fmt.Fprintf(&b, " %s %v)", bs.Subtype, bs.Extended.Params)
		return b.String()
	case *imap.BodyStructureSinglePart:
		s := fmt.Sprintf("(%s/%s %v %s %d", bs.Type, bs.Subtype, bs.Params, bs.Encoding, bs.Size)
		if bs.Text != nil {
			s += fmt.Sprintf(" lines %d", bs.Text.NumLines)
		}
		if bs.MessageRFC822 != nil {
			s += fmt.Sprintf(" msg %s lines %d", bsString(bs.MessageRFC822.BodyStructure), bs.MessageRFC822.NumLines)
		}
		return s + ")"
	}
	return "?"
}

// TestStructureMatchesGoIMAP: on well-formed corpus mail the streaming
// scanner agrees with go-imap's ExtractBodyStructure (which buffers).
func TestStructureMatchesGoIMAP(t *testing.T) {
	same, differ := 0, 0
	err := testcorpus.Generate(testcorpus.Options{Seed: 3, Count: 300, Odd: true}, func(m *testcorpus.Message) error {
		raw := []byte(crlf(string(m.Raw)))
		odd := slices.ContainsFunc(m.Tags, func(s string) bool { return strings.HasPrefix(s, "odd:") })
		if !bytes.Equal(raw, m.Raw) || odd {
			return nil // go-imap's reader needs CRLF and sane MIME (on broken MIME ours differs, on purpose)
		}
		got := bsString(scanStructure(bytes.NewReader(raw)).bodyStructure())
		want := bsString(imapserver.ExtractBodyStructure(bytes.NewReader(raw)))
		if got != want {
			differ++
			if differ <= 3 {
				t.Errorf("message %d (%v):\n got %s\nwant %s", m.Seq, m.Tags, got, want)
			}
		} else {
			same++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d same, %d differ", same, differ)
}

// FuzzStructure: any bytes give a structure whose offsets lie within
// the message, and every section resolves without panic.
func FuzzStructure(f *testing.F) {
	f.Add([]byte(msgMulti))
	f.Add([]byte(msgPlainLF))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--a--\r\n"))
	f.Add([]byte("Content-Type: message/rfc822\n\nContent-Type: multipart/digest; boundary=z\n\n--z\n\nSubject: d\n\nd\n--z--\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		norm := []byte(crlf(string(data)))
		root := scanStructure(bytes.NewReader(norm))
		size := int64(len(norm))
		var check func(e *entity, depth int)
		check = func(e *entity, depth int) {
			if e.hdrStart < 0 || e.hdrStart > e.bodyStart || e.bodyStart > e.end || e.end > size {
				t.Fatalf("entity %d..%d..%d outside 0..%d", e.hdrStart, e.bodyStart, e.end, size)
			}
			for _, c := range e.children {
				check(c, depth+1)
			}
			if e.msg != nil {
				check(e.msg, depth+1)
			}
		}
		check(root, 0)
		_ = root.bodyStructure()
		for _, p := range [][]int{{1}, {2}, {1, 1}, {1, 2, 1}, {3, 1}} {
			resolvePart(root, p)
		}
		if root.end != size {
			t.Fatalf("root ends at %d of %d", root.end, size)
		}
	})
}

// TestStructureTooDeepMessage: a message/rfc822 nested deeper than
// maxDepth is not parsed, so it must not be reported as MESSAGE/RFC822,
// whose BODYSTRUCTURE form requires an envelope and a body structure
// (go-imap's client failed with "expected '('" on the bare form).
func TestStructureTooDeepMessage(t *testing.T) {
	var b strings.Builder
	b.WriteString("Subject: top\r\n")
	for range maxDepth + 5 {
		b.WriteString("Content-Type: message/rfc822\r\n\r\nSubject: level\r\n")
	}
	b.WriteString("Content-Type: text/plain\r\n\r\nbottom\r\n")
	var check func(bs imap.BodyStructure, depth int)
	check = func(bs imap.BodyStructure, depth int) {
		sp, ok := bs.(*imap.BodyStructureSinglePart)
		if !ok {
			t.Fatalf("depth %d: %T", depth, bs)
		}
		isMsg := strings.EqualFold(sp.Type, "message") && strings.EqualFold(sp.Subtype, "rfc822")
		if isMsg != (sp.MessageRFC822 != nil) {
			t.Fatalf("depth %d: %s/%s with message fields %v", depth, sp.Type, sp.Subtype, sp.MessageRFC822 != nil)
		}
		if sp.MessageRFC822 != nil {
			check(sp.MessageRFC822.BodyStructure, depth+1)
		} else if depth < maxDepth-1 {
			t.Fatalf("structure ends at depth %d, want about %d", depth, maxDepth)
		}
	}
	check(scanStructure(strings.NewReader(b.String())).bodyStructure(), 0)
}
