package search

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	bq "github.com/blevesearch/bleve/v2/search/query"
	"github.com/mailark/mailark/archive"
)

// TestSplitRange: the ranges cover [lo, hi] exactly, each value once,
// with at most two ranges per level.
func TestSplitRange(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	check := func(lo, hi uint64) {
		t.Helper()
		rs := splitRange(lo, hi)
		if len(rs) > 2*levels-1 {
			t.Errorf("[%d, %d]: %d ranges", lo, hi, len(rs))
		}
		type span struct{ a, b uint64 }
		var spans []span
		for _, x := range rs {
			if x.lo > x.hi {
				t.Fatalf("[%d, %d]: empty range %+v", lo, hi, x)
			}
			sh := uint(levelShift * x.level)
			spans = append(spans, span{x.lo << sh, (x.hi+1)<<sh - 1})
		}
		slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.a, b.a) })
		next := lo
		for _, s := range spans {
			if s.a != next {
				t.Fatalf("[%d, %d]: %+v leaves a gap or overlap at %d", lo, hi, rs, next)
			}
			next = s.b + 1
		}
		if next != hi+1 {
			t.Fatalf("[%d, %d]: %+v ends at %d", lo, hi, rs, next-1)
		}
	}
	for _, c := range [][2]uint64{{0, 0}, {0, maxValue}, {5, 5}, {0, 255}, {1, 255}, {0, 256}, {255, 256}, {256, 511}, {maxValue, maxValue}, {1 << 40, 1<<40 - 1 + 1<<32}} {
		if c[0] <= c[1] {
			check(c[0], c[1])
		}
	}
	for i := 0; i < 20000; i++ {
		bits := 1 + r.IntN(54)
		a, b := r.Uint64N(1<<bits), r.Uint64N(1<<bits)
		if i%2 == 0 {
			b = a + r.Uint64N(3000)
		}
		check(min(a, b), min(max(a, b), maxValue))
	}
}

// TestDateKeyOrder: keys compare as (second, first ID bytes) do.
func TestDateKeyOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	type item struct {
		t  time.Time
		id archive.ID
	}
	var items []item
	for i := 0; i < 2000; i++ {
		var id archive.ID
		for j := range id {
			id[j] = byte(r.IntN(4)) // many ties in the first bytes
		}
		sec := r.Int64N(1<<40) - 1<<39
		if i%3 == 0 {
			sec = r.Int64N(5) // many ties in the second
		}
		items = append(items, item{time.Unix(sec, r.Int64N(1e9)), id})
	}
	for i := 0; i < len(items); i++ {
		a, b := items[i], items[(i*7+1)%len(items)]
		want := cmp.Compare(a.t.Unix(), b.t.Unix())
		if want == 0 {
			want = strings.Compare(string(a.id[:3]), string(b.id[:3]))
		}
		if got := strings.Compare(DateKey(a.t, a.id), DateKey(b.t, b.id)); got != want {
			t.Fatalf("%v %x vs %v %x: keys compare %d, want %d", a.t, a.id[:3], b.t, b.id[:3], got, want)
		}
	}
}

// TestRangeQueries: date and size ranges over an index of random
// messages find exactly the messages a scan of the same values finds.
func TestRangeQueries(t *testing.T) {
	m, err := NewMapping()
	if err != nil {
		t.Fatal(err)
	}
	idx, err := bleve.NewMemOnly(m)
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	r := rand.New(rand.NewPCG(5, 6))
	base := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	type msg struct {
		date time.Time
		size int64
	}
	msgs := map[string]msg{}
	var all []msg
	b := idx.NewBatch()
	for i := 0; i < 3000; i++ {
		var d time.Time
		switch i % 4 {
		case 0: // clustered around one day, to test the fine levels
			d = time.Unix(base+r.Int64N(86400*2), 0)
		case 1: // over ten years
			d = time.Unix(base+r.Int64N(86400*3650), 0)
		case 2: // before 1970 and far off
			d = time.Unix(-r.Int64N(1<<40), 0)
		default:
			d = time.Unix(base+r.Int64N(86400*30), int64(r.IntN(1e9)))
		}
		size := r.Int64N(1 << uint(1+r.IntN(34)))
		var id archive.ID
		id[0], id[1] = byte(i), byte(i>>8)
		msgs[id.String()] = msg{d, size}
		all = append(all, msg{d, size}) // in a fixed order: the bounds below come from it
		if err := b.Index(id.String(), map[string]any{"_type": docType, FieldDate: DateTerms(d), FieldDateKey: DateKey(d, id), FieldSize: SizeTerms(size)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := idx.Batch(b); err != nil {
		t.Fatal(err)
	}
	hits := func(desc string, q bq.Query, want func(msg) bool) {
		req := bleve.NewSearchRequestOptions(q, len(msgs), 0, false)
		res, err := idx.Search(req)
		if err != nil {
			t.Fatalf("%s: %v", desc, err)
		}
		var got, exp []string
		for _, h := range res.Hits {
			got = append(got, h.ID)
		}
		for id, m := range msgs {
			if want(m) {
				exp = append(exp, id)
			}
		}
		slices.Sort(got)
		slices.Sort(exp)
		if !slices.Equal(got, exp) {
			t.Fatalf("%s: %d hits, want %d", desc, len(got), len(exp))
		}
	}
	for i := 0; i < 300; i++ {
		// Bounds at message dates, a second off them, and anywhere.
		pick := func() time.Time {
			m := all[r.IntN(len(all))]
			switch r.IntN(3) {
			case 0:
				return m.date
			case 1:
				return m.date.Add(time.Duration(r.IntN(3)-1) * time.Second)
			}
			return time.Unix(base+r.Int64N(86400*3650)-r.Int64N(1<<36), 0)
		}
		start, end := pick(), pick()
		if end.Before(start) {
			start, end = end, start
		}
		switch i % 5 {
		case 0:
			start = time.Time{}
		case 1:
			end = time.Time{}
		}
		in := func(m msg) bool {
			s := m.date.Unix()
			return (start.IsZero() || s >= start.Unix()) && (end.IsZero() || s < end.Unix())
		}
		hits("dates ["+start.String()+", "+end.String()+")", DateRangeQuery(start, end), in)

		lo := max(all[r.IntN(len(all))].size+int64(r.IntN(3))-1, 0)
		hi := lo + r.Int64N(1<<uint(1+r.IntN(34)))
		hits("sizes", SizeRangeQuery(uint64(lo), uint64(hi)), func(m msg) bool { return m.size >= lo && m.size <= hi })
	}
}
