package dovecottest

import "testing"

func TestEncodeMUTF7(t *testing.T) {
	cases := []struct{ utf8, mutf7 string }{
		{"INBOX", "INBOX"},
		{"收件箱", "&ZTZO9nux-"},
		{"R&D", "R&-D"},
		{"Ärger & Co", "&AMQ-rger &- Co"},
		{"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"}, // RFC 3501 example
		{"a😀b", "a&2D3eAA-b"}, // surrogate pair
		{"tab\there", "tab&AAk-here"},
	}
	for _, c := range cases {
		if got := encodeMUTF7(c.utf8); got != c.mutf7 {
			t.Errorf("encodeMUTF7(%q) = %q, want %q", c.utf8, got, c.mutf7)
		}
	}
}
