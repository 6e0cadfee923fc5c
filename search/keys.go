package search

import (
	"time"

	bq "github.com/blevesearch/bleve/v2/search/query"
	"github.com/mailark/mailark/archive"
)

// Dates and sizes are indexed as keyword terms of our own rather than
// Bleve's datetime and numeric fields. Those index 16 prefix terms per
// value (precision step 4 over 64 bits), which made the two fields 11 %
// of the index; the terms here are one exact term plus one per coarser
// level, each level 8 bits coarser than the one below:
//
//	date_key  the second, then 4 characters of the ID (sorts; level 0)
//	date      "1".."4" + the second >> 8, 16, 24, 32 (≈4 min, 18 h, 194 days, 136 years)
//	size      "0".."4" + the size >> 0, 8, 16, 24, 32 bytes
//
// A range query takes the ragged ends from the finest levels and the
// whole buckets in between from the coarser ones, so it expands to at
// most a few hundred terms, and only those present in the index.
const (
	levelShift = 8
	levels     = 5
)

// ordered is the base64url alphabet in ASCII order: fixed-width strings
// of it compare as the numbers they encode.
const ordered = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"

// valueWidth characters hold 54 bits: every size the query language
// accepts (2^53) and every second within 285 million years of 1970.
const valueWidth = 9

// appendOrdered appends the low 6*width bits of v in width characters.
func appendOrdered(dst []byte, v uint64, width int) []byte {
	for i := width - 1; i >= 0; i-- {
		dst = append(dst, ordered[(v>>(6*uint(i)))&63])
	}
	return dst
}

const maxValue = 1<<(6*valueWidth) - 1

// dateOffset shifts seconds since 1970 to non-negative values.
const dateOffset = 1 << (6*valueWidth - 1)

// dateValue maps t to a non-negative second count that orders as t does
// (clamped to the values valueWidth holds).
func dateValue(t time.Time) uint64 {
	return uint64(min(max(t.Unix(), -dateOffset), dateOffset-1) + dateOffset)
}

// DateKey is the sort key of a message (field date_key): its date to the
// second, then 24 bits of its ID, so that messages of the same second
// sort the same way in every search (a tie there only makes their order
// arbitrary).
func DateKey(t time.Time, id archive.ID) string {
	b := appendOrdered(make([]byte, 0, valueWidth+4), dateValue(t), valueWidth)
	return string(appendOrdered(b, uint64(id[0])<<16|uint64(id[1])<<8|uint64(id[2]), 4))
}

// DateTerms are the values of the date field for a message of date t.
func DateTerms(t time.Time) []string { return levelTerms(dateValue(t), 1) }

// SizeTerms are the values of the size field for a message of n bytes.
func SizeTerms(n int64) []string { return levelTerms(uint64(max(n, 0)), 0) }

func levelTerms(v uint64, from int) []string {
	out := make([]string, 0, levels-from)
	for l := from; l < levels; l++ {
		out = append(out, levelTerm(l, v>>(levelShift*uint(l))))
	}
	return out
}

func levelTerm(level int, bucket uint64) string {
	return string(appendOrdered([]byte{byte('0' + level)}, bucket, valueWidth))
}

// levelRange is an inclusive range of buckets of one level.
type levelRange struct {
	level  int
	lo, hi uint64
}

// splitRange covers the values [lo, hi] with ranges of buckets, each
// value exactly once: the finest level takes the ends that do not fill a
// bucket of the next, and so on up; the top level takes what remains.
func splitRange(lo, hi uint64) []levelRange {
	var out []levelRange
	const mask = 1<<levelShift - 1
	for l := 0; lo <= hi; l++ {
		if l == levels-1 {
			return append(out, levelRange{l, lo, hi})
		}
		nlo, nhi := lo>>levelShift, hi>>levelShift
		if lo&mask != 0 {
			end := min(hi, lo|mask)
			out = append(out, levelRange{l, lo, end})
			if end == hi {
				return out
			}
			nlo++
		}
		if hi&mask != mask {
			out = append(out, levelRange{l, hi &^ mask, hi})
			if nhi == 0 {
				return out
			}
			nhi--
		}
		lo, hi = nlo, nhi
	}
	return out
}

// DateRangeQuery matches the messages dated in [start, end); a zero time
// leaves that end open.
func DateRangeQuery(start, end time.Time) bq.Query {
	lo, hi := uint64(0), uint64(maxValue)
	if !start.IsZero() {
		lo = dateValue(start)
	}
	if !end.IsZero() && end.Unix() < dateOffset-1 {
		// end itself is excluded; past the clamp nothing is excluded
		if end.Unix() <= -dateOffset {
			return bq.NewMatchNoneQuery()
		}
		hi = dateValue(end) - 1
	}
	if lo > hi {
		return bq.NewMatchNoneQuery()
	}
	return rangeQuery(splitRange(lo, hi), func(r levelRange) bq.Query {
		if r.level > 0 {
			return termRange(FieldDate, levelTerm(r.level, r.lo), levelTerm(r.level, r.hi))
		}
		// Level 0 is the date_key: the keys of seconds lo..hi all sort
		// between the bare second lo and the bare second hi+1.
		from := string(appendOrdered(nil, r.lo, valueWidth))
		var to string
		if r.hi < maxValue {
			to = string(appendOrdered(nil, r.hi+1, valueWidth))
		}
		incl, excl := true, false
		q := bq.NewTermRangeInclusiveQuery(from, to, &incl, &excl)
		q.SetField(FieldDateKey)
		return q
	})
}

// SizeRangeQuery matches the messages of lo to hi bytes, inclusive.
func SizeRangeQuery(lo, hi uint64) bq.Query {
	hi = min(hi, maxValue)
	if lo > hi {
		return bq.NewMatchNoneQuery()
	}
	return rangeQuery(splitRange(lo, hi), func(r levelRange) bq.Query {
		return termRange(FieldSize, levelTerm(r.level, r.lo), levelTerm(r.level, r.hi))
	})
}

func rangeQuery(rs []levelRange, q func(levelRange) bq.Query) bq.Query {
	if len(rs) == 1 {
		return q(rs[0])
	}
	qs := make([]bq.Query, len(rs))
	for i, r := range rs {
		qs[i] = q(r)
	}
	return bq.NewDisjunctionQuery(qs)
}

func termRange(field, from, to string) bq.Query {
	incl := true
	q := bq.NewTermRangeInclusiveQuery(from, to, &incl, &incl)
	q.SetField(field)
	return q
}
