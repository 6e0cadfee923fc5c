package imap

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/importers"
)

// BenchmarkImport imports 2,000 messages of about 6 KB in four folders from
// an in-process imapmemserver into a fresh archive per iteration: the
// importer's own cost (client parsing, spooling, hashing, catalog, group
// commit), without a real server's. The real-server rate is measured with
// the binary against Dovecot (see the package's report in the commit).
func BenchmarkImport(b *testing.B) {
	for _, conns := range []int{1, 3} {
		b.Run(fmt.Sprintf("connections=%d", conns), func(b *testing.B) {
			ms := startMem(b, memOptions{})
			folders := map[string]int{"INBOX": 800, "Sent": 400, "Archive": 400, "Lists/golang": 400}
			for f := range folders {
				if f != "INBOX" {
					ms.create(f)
				}
			}
			fill(ms, folders, 6000)
			o := testOptions(b, ms.Addr)
			o.Connections = conns
			var msgs, bytes int64
			var took time.Duration
			for b.Loop() {
				b.StopTimer()
				a := archive.TestArchive(b)
				w, err := a.NewWriter(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				rep := &importers.Report{}
				b.StartTimer()
				start := time.Now()
				if _, err := Run(context.Background(), w, o, rep, nil); err != nil {
					b.Fatal(err)
				}
				if err := w.Commit(context.Background()); err != nil {
					b.Fatal(err)
				}
				took += time.Since(start)
				msgs += rep.New
				bytes += rep.Bytes
			}
			b.ReportMetric(float64(msgs)/took.Seconds(), "msg/s")
			b.ReportMetric(float64(bytes)/took.Seconds()/1e6, "MB/s")
		})
	}
}
