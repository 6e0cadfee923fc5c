package extract

import (
	"strings"
	"testing"
)

// benchSet is a mix of small real-shaped messages and a few large ones:
// a 1 MB base64 attachment, a 300 KB HTML newsletter and 200 KB of plain
// text.
func benchSet() []string {
	set := append(append(allFixtures(), tableRaws()...), emlFixtures()...)
	att := strings.Repeat(b64(strings.Repeat("binary\x00\xff", 19)[:57])+"\r\n", 1<<20/57)
	set = append(set, msg("Subject: report", "Content-Type: multipart/mixed; boundary=b", "",
		"--b", "Content-Type: text/plain; charset=utf-8", "", "See the attached report.",
		"--b", "Content-Type: application/pdf; name=report.pdf", "Content-Transfer-Encoding: base64", "", att,
		"--b--"))
	html := strings.Repeat("<tr><td class=\"x\">Caf&eacute; &amp; men&uuml;</td><td><a href=\"https://example.org/\">link</a></td></tr>\r\n", 3000)
	set = append(set, msg("Subject: news", "Content-Type: text/html; charset=utf-8", "", "<html><body><table>"+html+"</table></body></html>"))
	text := strings.Repeat("Grüße aus München, 会议 协议 — the quick brown fox jumps.\r\n", 3500)
	set = append(set, msg("Subject: log", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit", "", text))
	return set
}

func BenchmarkExtract(b *testing.B) {
	set := benchSet()
	total := 0
	for _, m := range set {
		total += len(m)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, m := range set {
			if _, err := Extract(strings.NewReader(m), nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(set))/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkExtractSmall measures the per-message overhead on typical mail.
func BenchmarkExtractSmall(b *testing.B) {
	set := append(allFixtures(), tableRaws()...)
	total := 0
	for _, m := range set {
		total += len(m)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	for b.Loop() {
		for _, m := range set {
			if _, err := Extract(strings.NewReader(m), nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(set))/b.Elapsed().Seconds(), "msgs/s")
}
