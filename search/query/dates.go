package query

import (
	"fmt"
	"strings"
	"time"
)

const dateExample = "a date like 2019, 2019-06 or 2019-06-15"

// parseDateValue parses the value v (at byte offset pos) of date:, after:
// or before:. date: takes a period or a range P..Q, P.. or ..Q; after: and
// before: take one period.
func parseDateValue(field, name, v string, pos int) (Node, error) {
	lo, hi, isRange := strings.Cut(v, "..")
	if !isRange {
		p, err := parsePeriod(v, pos)
		if err != nil {
			return nil, err
		}
		switch field {
		case "after":
			return DateRange{Field: field, From: p}, nil
		case "before":
			return DateRange{Field: field, To: p}, nil
		}
		return DateRange{Field: field, From: p, To: p}, nil
	}
	if field != "date" {
		return nil, errorf(pos, "expected a single date after %q (ranges go after \"date:\"), found %q", name, v)
	}
	if lo == "" && hi == "" {
		return nil, errorf(pos, "expected %s before or after \"..\"", dateExample)
	}
	var d DateRange
	d.Field = field
	var err error
	if lo != "" {
		if d.From, err = parsePeriod(lo, pos); err != nil {
			return nil, err
		}
	}
	if hi != "" {
		if d.To, err = parsePeriod(hi, pos+len(lo)+2); err != nil {
			return nil, err
		}
	}
	if !d.From.IsZero() && !d.To.IsZero() && !d.From.Start(time.UTC).Before(d.To.End(time.UTC)) {
		return nil, errorf(pos, "expected the earlier date before \"..\", found %q", v)
	}
	return d, nil
}

// parsePeriod parses YYYY, YYYY-MM or YYYY-MM-DD at byte offset pos. Month
// and day may have one digit; "/" may separate instead of "-" (2019/6/15).
func parsePeriod(s string, pos int) (Period, error) {
	var nums [3]int
	i := 0
	for n := 0; ; n++ {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			nums[n] = nums[n]*10 + int(s[i]-'0')
			i++
		}
		part := s[start:i]
		if (n == 0 && len(part) != 4) || (n > 0 && (part == "" || len(part) > 2)) {
			return Period{}, errorf(pos, "expected %s, found %q", dateExample, s)
		}
		switch {
		case n == 0 && nums[0] == 0:
			return Period{}, errorf(pos+start, "expected a year from 0001 to 9999, found %q", part)
		case n == 1 && (nums[1] < 1 || nums[1] > 12):
			return Period{}, errorf(pos+start, "expected a month from 01 to 12, found %q", part)
		case n == 2 && (nums[2] < 1 || nums[2] > daysIn(nums[0], nums[1])):
			return Period{}, errorf(pos+start, "expected a day from 01 to %02d in %04d-%02d, found %q",
				daysIn(nums[0], nums[1]), nums[0], nums[1], part)
		}
		if i == len(s) {
			return Period{Year: nums[0], Month: nums[1], Day: nums[2]}, nil
		}
		if n == 2 || (s[i] != '-' && s[i] != '/') {
			return Period{}, errorf(pos, "expected %s, found %q", dateExample, s)
		}
		i++
	}
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// valid reports whether p is a zero Period or a real year, month or day.
func (p Period) valid() bool {
	if p.IsZero() {
		return true
	}
	switch {
	case p.Year < 1 || p.Year > 9999:
		return false
	case p.Month == 0:
		return p.Day == 0
	case p.Month < 1 || p.Month > 12:
		return false
	}
	return p.Day >= 0 && p.Day <= daysIn(p.Year, p.Month)
}

// Start is the first instant of p in loc.
func (p Period) Start(loc *time.Location) time.Time {
	m, d := p.Month, p.Day
	if m == 0 {
		m = 1
	}
	if d == 0 {
		d = 1
	}
	return time.Date(p.Year, time.Month(m), d, 0, 0, 0, 0, loc)
}

// End is the first instant after p in loc.
func (p Period) End(loc *time.Location) time.Time {
	switch {
	case p.Month == 0:
		return time.Date(p.Year+1, 1, 1, 0, 0, 0, 0, loc)
	case p.Day == 0:
		return time.Date(p.Year, time.Month(p.Month)+1, 1, 0, 0, 0, 0, loc)
	}
	return time.Date(p.Year, time.Month(p.Month), p.Day+1, 0, 0, 0, 0, loc)
}

// Bounds returns the interval [start, end) that d matches in loc; a zero
// time is unbounded.
func (d DateRange) Bounds(loc *time.Location) (start, end time.Time, err error) {
	if !d.From.valid() || !d.To.valid() {
		return start, end, fmt.Errorf("query: invalid date in %s", d)
	}
	switch d.Field {
	case "after":
		if d.From.IsZero() || !d.To.IsZero() {
			return start, end, fmt.Errorf("query: after: needs From only")
		}
		return d.From.Start(loc), end, nil
	case "before":
		if d.To.IsZero() || !d.From.IsZero() {
			return start, end, fmt.Errorf("query: before: needs To only")
		}
		return start, d.To.Start(loc), nil
	case "date":
		if d.From.IsZero() && d.To.IsZero() {
			return start, end, fmt.Errorf("query: date: needs From or To")
		}
		if !d.From.IsZero() {
			start = d.From.Start(loc)
		}
		if !d.To.IsZero() {
			end = d.To.End(loc)
		}
		return start, end, nil
	}
	return start, end, fmt.Errorf("query: unknown date field %q", d.Field)
}
