package imapserver

import (
	"fmt"
	"strings"
	"testing"
)

func TestFetch(t *testing.T) {
	f := sharedFixture(t)
	_, addr := startServer(t, testConfig(f))
	c := dial(t, addr)
	c.login("alice")
	c.transactf("OK", "EXAMINE Tests")
	plain, multi := crlf(msgPlainLF), msgMulti
	c.xuntagged(c.transactf("OK", "FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)"),
		`* 1 FETCH (UID 1 FLAGS ($Label1 \Seen) INTERNALDATE " 2-Jan-2020 03:04:05 +0000" RFC822.SIZE 169 ENVELOPE ("Mon, 02 Jan 2006 15:04:05 +0000" "plain LF" (("Ann" NIL "ann" "example.org")) (("Ann" NIL "ann" "example.org")) (("Ann" NIL "ann" "example.org")) (("Bob" NIL "bob" "example.org")) NIL NIL NIL "<plain@example.org>") BODYSTRUCTURE ("text" "plain" NIL NIL NIL "7bit" 20 2 NIL NIL NIL NIL))`,
		`* 2 FETCH (UID 2 FLAGS (\Flagged) INTERNALDATE " 7-Jun-2021 08:09:10 +0000" RFC822.SIZE 561 ENVELOPE ("Tue, 03 Jan 2006 10:00:00 +0100" "multi" (("Carl" NIL "carl" "example.org")) (("Carl" NIL "carl" "example.org")) (("Carl" NIL "carl" "example.org")) (("Dora" NIL "dora" "example.org")) NIL NIL NIL "<multi@example.org>") BODYSTRUCTURE (("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 12 0 NIL NIL NIL NIL)("application" "octet-stream" ("name" "a.bin") NIL NIL "base64" 16 NIL ("attachment" ("filename" "a.bin")) NIL NIL)("message" "rfc822" NIL NIL NIL "7bit" 49 (NIL "inner" ((NIL NIL "x" "example.org")) ((NIL NIL "x" "example.org")) ((NIL NIL "x" "example.org")) NIL NIL NIL NIL NIL) ("text" "plain" NIL NIL NIL "7bit" 10 0 NIL NIL NIL NIL) 3 NIL NIL NIL NIL) "mixed" ("boundary" "b1") NIL NIL NIL))`)
	if len(plain) != 169 || len(multi) != 561 {
		t.Fatalf("sizes %d %d", len(plain), len(multi))
	}
	// The LF message goes out CRLF, exactly as RFC822.SIZE says.
	c.xuntagged(c.transactf("OK", "FETCH 1 BODY[]"), fmt.Sprintf("* 1 FETCH (UID 1 BODY[] {%d}\r\n%s)", len(plain), plain))
	hdrEnd := strings.Index(plain, "\r\n\r\n") + 4
	c.xuntagged(c.transactf("OK", "FETCH 1 (RFC822.HEADER RFC822.TEXT)"),
		fmt.Sprintf("* 1 FETCH (UID 1 RFC822.HEADER {%d}\r\n%s RFC822.TEXT {%d}\r\n%s)", hdrEnd, plain[:hdrEnd], len(plain)-hdrEnd, plain[hdrEnd:]))
	c.xuntagged(c.transactf("OK", "FETCH 1 BODY.PEEK[TEXT]<5.6>"), "* 1 FETCH (UID 1 BODY[TEXT]<5> {6}\r\none\r\nl)")
	c.xuntagged(c.transactf("OK", "FETCH 1 BODY.PEEK[]<160.100>"), "* 1 FETCH (UID 1 BODY[]<160> {9}\r\n"+plain[160:]+")")
	c.xuntagged(c.transactf("OK", "FETCH 1 BODY.PEEK[]<500.10>"), "* 1 FETCH (UID 1 BODY[]<500> {0}\r\n)")
	c.xuntagged(c.transactf("OK", "FETCH 1 BODY.PEEK[1]"), "* 1 FETCH (UID 1 BODY[1] {20}\r\nline one\r\nline two\r\n)")
	c.xuntagged(c.transactf("OK", "FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT message-id)]"),
		"* 1 FETCH (UID 1 BODY[HEADER.FIELDS (\"SUBJECT\" \"message-id\")] {54}\r\nSubject: plain LF\r\nMessage-ID: <plain@example.org>\r\n\r\n)")
	c.xuntagged(c.transactf("OK", "FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (From To Date Message-ID)]"),
		"* 1 FETCH (UID 1 BODY[HEADER.FIELDS.NOT (\"From\" \"To\" \"Date\" \"Message-ID\")] {21}\r\nSubject: plain LF\r\n\r\n)")

	c.xuntagged(c.transactf("OK", "FETCH 2 (BODY[1] BODY[2.MIME] BODY[3.HEADER] BODY[3.TEXT] BODY[HEADER.FIELDS (Subject)] BODY[]<10.20> BINARY[2] BINARY.SIZE[2])"),
		"* 2 FETCH (UID 2 BINARY.SIZE[2] 11 BODY[1] {12}\r\nhello quokka BODY[2.MIME] {142}\r\nContent-Type: application/octet-stream; name=\"a.bin\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"a.bin\"\r\n\r\n BODY[3.HEADER] {39}\r\nSubject: inner\r\nFrom: x@example.org\r\n\r\n BODY[3.TEXT] {10}\r\ninner body BODY[HEADER.FIELDS (\"Subject\")] {18}\r\nSubject: multi\r\n\r\n BODY[]<10> {20}\r\n <carl@example.org>\r BINARY[2] ~{11}\r\nhello world)")
	c.xuntagged(c.transactf("OK", "FETCH 2 (BODY.PEEK[2] BODY.PEEK[3] BODY.PEEK[3.1] BODY.PEEK[9] BODY.PEEK[1.1] BINARY.PEEK[1])"),
		"* 2 FETCH (UID 2 BODY[2] {16}\r\naGVsbG8gd29ybGQ= BODY[3] {49}\r\nSubject: inner\r\nFrom: x@example.org\r\n\r\ninner body BODY[3.1] {10}\r\ninner body BODY[9] {0}\r\n BODY[1.1] {0}\r\n BINARY[1] ~{12}\r\nhello quokka)")
	c.xuntagged(c.transactf("OK", "FETCH 2 BODY"),
		`* 2 FETCH (UID 2 BODY (("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 12 0)("application" "octet-stream" ("name" "a.bin") NIL NIL "base64" 16)("message" "rfc822" NIL NIL NIL "7bit" 49 (NIL "inner" ((NIL NIL "x" "example.org")) ((NIL NIL "x" "example.org")) ((NIL NIL "x" "example.org")) NIL NIL NIL NIL NIL) ("text" "plain" NIL NIL NIL "7bit" 10 0) 3) "mixed"))`)
	// FETCH BODY[] sets no \Seen: nothing changes.
	c.xuntagged(c.transactf("OK", "FETCH 2 FLAGS"), `* 2 FETCH (UID 2 FLAGS (\Flagged))`)
	c.xuntagged(c.transactf("OK", "UID FETCH 2:* FLAGS"), `* 2 FETCH (UID 2 FLAGS (\Flagged))`)
	c.xuntagged(c.transactf("OK", "UID FETCH 3:* FLAGS"), `* 2 FETCH (UID 2 FLAGS (\Flagged))`) // * is the highest UID
	c.xuntagged(c.transactf("OK", "FETCH 2:1 UID"), `* 1 FETCH (UID 1)`, `* 2 FETCH (UID 2)`)
	c.xuntagged(c.transactf("OK", "FETCH 5 UID"))
	c.xuntagged(c.transactf("OK", "FETCH 2 FAST"), `* 2 FETCH (UID 2 FLAGS (\Flagged) INTERNALDATE " 7-Jun-2021 08:09:10 +0000" RFC822.SIZE 561)`)
}

// TestFetchEveryMessage: BODY[] of every message is its CRLF form.
func TestFetchEveryMessage(t *testing.T) {
	f := sharedFixture(t)
	_, addr := startServer(t, testConfig(f))
	c := dial(t, addr)
	c.login("alice")
	for _, folder := range []string{"INBOX", "Sent", "Archive/2019", "Big"} {
		c.transactf("OK", "EXAMINE %s", folder)
		want := f.msgs["work/"+folder]
		got := c.transactf("OK", "UID FETCH 1:* (RFC822.SIZE BODY.PEEK[])")
		if len(got) != len(want) || len(want) == 0 {
			t.Fatalf("%s: %d responses for %d messages", folder, len(got), len(want))
		}
		for _, l := range got {
			var seq, uid, size int
			if _, err := fmt.Sscanf(l, "* %d FETCH (UID %d RFC822.SIZE %d BODY[]", &seq, &uid, &size); err != nil {
				t.Fatalf("%s: %q: %v", folder, l[:min(len(l), 80)], err)
			}
			body := crlf(string(want[uint32(uid)]))
			if exp := fmt.Sprintf("* %d FETCH (UID %d RFC822.SIZE %d BODY[] {%d}\r\n%s)", seq, uid, len(body), len(body), body); l != exp {
				t.Errorf("%s uid %d differs", folder, uid)
			}
		}
	}
	// A partial range in the middle of the big LF message.
	c.transactf("OK", "EXAMINE Big")
	big := crlf(string(bigMessage()))
	c.xuntagged(c.transactf("OK", "UID FETCH 1 BODY.PEEK[]<1000000.5000>"), fmt.Sprintf("* 1 FETCH (UID 1 BODY[]<1000000> {5000}\r\n%s)", big[1000000:1005000]))
	c.xuntagged(c.transactf("OK", "UID FETCH 1 BINARY.SIZE[1]"), fmt.Sprintf("* 1 FETCH (UID 1 BINARY.SIZE[1] %d)", len(big)-strings.Index(big, "\r\n\r\n")-4))
}
