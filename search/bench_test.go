package search_test

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/mailark/mailark/search"
	"github.com/mailark/mailark/search/query"
)

// BenchmarkSearch times Index.Search on an existing index, the part of
// 'mailark search' that grows with the archive. It needs
// MAILARK_BENCH_INDEX=ARCHIVE/index (e.g. of a 100,000-message archive
// built by bench/search.sh --keep or gencorpus).
func BenchmarkSearch(b *testing.B) {
	dir := os.Getenv("MAILARK_BENCH_INDEX")
	if dir == "" {
		b.Skip("set MAILARK_BENCH_INDEX to an archive's index directory")
	}
	ix, err := search.OpenReadOnly(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	for _, tc := range []struct{ name, q, sort string }{
		{"word", "quokka", search.SortDateDesc},
		{"address", "from:dmitri@example.net", search.SortDateDesc},
		{"address-asc", "from:dmitri@example.net", search.SortDateAsc},
		{"common-address", "to:alice@example.org", search.SortDateDesc},
		{"year", "date:2019", search.SortDateDesc},
		{"phrase", `"the migration is complete"`, search.SortDateDesc},
		{"cjk-phrase", "数据迁移已经完成", search.SortDateDesc},
		{"folder-unread", "folder:INBOX is:unread", search.SortDateDesc},
		{"relevance", "quokka", search.SortRelevance},
	} {
		q, err := query.ParseAndCompile(tc.q, query.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				if _, _, err := ix.Search(context.Background(), q, 50, tc.sort); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}

// cpuTime is the CPU time of the process so far: on a shared machine it
// varies much less with the load than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
