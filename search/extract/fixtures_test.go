package extract

import (
	"encoding/base64"
	"strings"
)

// msg joins lines with CRLF, as mail is stored.
func msg(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n" }

// lf joins lines with bare LF, as some exports store mail.
func lf(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// word makes an RFC 2047 B-encoded word from raw charset bytes.
func word(cs, raw string) string { return "=?" + cs + "?B?" + b64(raw) + "?=" }

// Raw bytes of test strings in their charsets, spelled out rather than
// produced with x/text encoders so the decoders are checked against
// independent data.
const (
	gbkXieyi      = "\xd0\xad\xd2\xe9"         // 协议
	gbkHuiyi      = "\xbb\xe1\xd2\xe9"         // 会议
	gbkFujian     = "\xb8\xbd\xbc\xfe"         // 附件
	gbkTongzhi    = "\xcd\xa8\xd6\xaa"         // 通知
	gbkZhangsan   = "\xd5\xc5\xc8\xfd"         // 张三
	gb18030Ext    = "\x95\x32\x82\x36"         // 𠀀 (U+20000), four bytes
	big5Huiyi     = "\xb7\x7c\xc4\xb3"         // 會議
	iso2022jpKaig = "\x1b$B2q5D\x1b(B"         // 会議
	sjisKaigi     = "\x89\xef\x8b\x63"         // 会議
	eucjpKaigi    = "\xb2\xf1\xb5\xc4"         // 会議
	euckrHoeui    = "\xc8\xb8\xc0\xc7"         // 회의
	koi8rPrivet   = "\xf0\xd2\xc9\xd7\xc5\xd4" // Привет
	cp1251Privet  = "\xcf\xf0\xe8\xe2\xe5\xf2" // Привет
	cp1252Cafe    = "caf\xe9 \x93q\x94"        // café “q”
	latin1Gruesse = "Gr\xfc\xdfe"              // Grüße
	latin2Zazolc  = "Za\xbf\xf3\xb3\xe6"       // Zażółć
	latin9Euro    = "\xa4uro"                  // €uro
	cp1253Alpha   = "\xe1\xe2\xe3"             // αβγ
	cp1255Shalom  = "\xf9\xec\xe5\xed"         // שלום
	cp1256Salam   = "\xd3\xe1\xc7\xe3"         // سلام
	cp1250Zluty   = "\x9elu\x9d"               // žluť
	utf7Smile     = "Hi Mom -+Jjo--!"          // Hi Mom -☺-!
	utf7Nihongo   = "+ZeVnLIqe-"               // 日本語
	latin5Turkish = "\xdeeker \xfd\xf0\xfd"    // Şeker ığı (ISO-8859-9)
	cp1257Baltic  = "\xf0\xe0\xe8"             // šąč
	koi8uUkr      = "\xa4\xa6"                 // єі
	utf8Mixed     = "Grüße 会議 회의"
)

// charsetCases: label, raw bytes, expected UTF-8.
var charsetCases = []struct{ label, raw, want string }{
	{"utf-8", utf8Mixed, utf8Mixed},
	{"GBK", gbkXieyi, "协议"},
	{"gb2312", gbkHuiyi, "会议"},
	{"GB18030", gbkXieyi + gb18030Ext, "协议𠀀"},
	{"euc-cn", gbkXieyi, "协议"},
	{"x-gbk", gbkXieyi, "协议"},
	{"Big5", big5Huiyi, "會議"},
	{"x-big5", big5Huiyi, "會議"},
	{"ISO-2022-JP", iso2022jpKaig, "会議"},
	{"Shift_JIS", sjisKaigi, "会議"},
	{"cp932", sjisKaigi, "会議"},
	{"EUC-JP", eucjpKaigi, "会議"},
	{"EUC-KR", euckrHoeui, "회의"},
	{"ks_c_5601-1987", euckrHoeui, "회의"},
	{"KOI8-R", koi8rPrivet, "Привет"},
	{"KOI8-U", koi8uUkr, "єі"},
	{"windows-1250", cp1250Zluty, "žluť"},
	{"windows-1251", cp1251Privet, "Привет"},
	{"windows-1252", cp1252Cafe, "café “q”"},
	{"windows-1253", cp1253Alpha, "αβγ"},
	{"windows-1255", cp1255Shalom, "שלום"},
	{"windows-1256", cp1256Salam, "سلام"},
	{"windows-1257", cp1257Baltic, "šąč"},
	{"ISO-8859-1", latin1Gruesse, "Grüße"},
	{"ISO-8859-2", latin2Zazolc, "Zażółć"},
	{"ISO-8859-9", latin5Turkish, "Şeker ığı"},
	{"ISO-8859-15", latin9Euro, "€uro"},
	{"UTF-7", utf7Smile, "Hi Mom -☺-!"},
	{"utf-7", utf7Nihongo, "日本語"},
	{"unknown-8bit", latin1Gruesse, "Grüße"},
	{"us-ascii", "plain", "plain"},
}

// A typical message from a Chinese webmail: GBK everywhere, raw 8-bit
// attachment name, HTML alternative.
var chineseWebmail = msg(
	"From: "+word("GBK", gbkZhangsan)+" <zhang@example.cn>",
	"To: li@example.cn",
	"Subject: "+word("GBK", gbkHuiyi)+" "+word("GBK", gbkTongzhi),
	"Date: Tue, 3 Mar 2020 10:00:00 +0800",
	"Message-ID: <20200303.1@example.cn>",
	"Content-Type: multipart/mixed; boundary=\"----=_Part_1\"",
	"",
	"------=_Part_1",
	"Content-Type: multipart/alternative; boundary=\"----=_Part_2\"",
	"",
	"------=_Part_2",
	"Content-Type: text/plain; charset=GBK",
	"Content-Transfer-Encoding: base64",
	"",
	b64(gbkXieyi+"\r\n"),
	"------=_Part_2",
	"Content-Type: text/html; charset=GBK",
	"Content-Transfer-Encoding: base64",
	"",
	b64("<p>"+gbkXieyi+"</p>"),
	"------=_Part_2--",
	"------=_Part_1",
	"Content-Type: application/msword; name=\""+gbkFujian+".doc\"",
	"Content-Disposition: attachment; filename=\""+gbkFujian+".doc\"",
	"Content-Transfer-Encoding: base64",
	"",
	b64("0123456789"),
	"------=_Part_1--",
)

// A multilingual newsletter-style message used by the benchmark.
var newsletter = msg(
	"From: \"News\" <news@example.org>",
	"To: a@example.org, b@example.org",
	"Subject: =?UTF-8?Q?Weekly_=E2=80=94_update?=",
	"Date: Mon, 7 Sep 2020 08:00:00 +0000",
	"Content-Type: multipart/alternative; boundary=b1",
	"",
	"--b1",
	"Content-Type: text/html; charset=utf-8",
	"Content-Transfer-Encoding: quoted-printable",
	"",
	"<html><head><title>x</title><style>.a{color:red}</style></head><body>",
	"<table><tr><td>Caf=C3=A9</td><td>Men=C3=BC &amp; more</td></tr></table>",
	"<script>var secret=3D1;</script><p>Read =E2=80=9Cthis=E2=80=9D</p>",
	"</body></html>",
	"--b1--",
)
