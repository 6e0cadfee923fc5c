package archive

import (
	"context"
	"fmt"
)

// Overview is what the HTML statistics report draws: the archive over
// time, by sender, by size and by folder.
type Overview struct {
	Months  []Count `json:"months"`  // "2019-06": entries by internal date (UTC)
	Senders []Count `json:"senders"` // From header of unique messages, top 20
	Sizes   []Count `json:"sizes"`   // unique messages by size band
}

// Count is one bar of a chart.
type Count struct {
	Label    string `json:"label"`
	Messages int64  `json:"messages"`
	Bytes    int64  `json:"bytes"`
}

// Overview computes the report's series from the catalog.
func (a *Archive) Overview(ctx context.Context) (*Overview, error) {
	o := &Overview{}
	q := func(dst *[]Count, query string) error {
		rows, err := a.rdb.QueryContext(ctx, query)
		if err != nil {
			return fmt.Errorf("computing overview: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var c Count
			if err := rows.Scan(&c.Label, &c.Messages, &c.Bytes); err != nil {
				return fmt.Errorf("computing overview: %w", err)
			}
			*dst = append(*dst, c)
		}
		return rows.Err()
	}
	if err := q(&o.Months, `SELECT strftime('%Y-%m', e.internal_date, 'unixepoch') AS m, count(*), coalesce(sum(msg.size), 0)
		FROM entries e JOIN messages msg ON msg.id = e.message GROUP BY m ORDER BY m`); err != nil {
		return nil, err
	}
	if err := q(&o.Senders, `SELECT CASE WHEN from_addr = '' THEN '(none)' ELSE from_addr END AS f, count(*), coalesce(sum(size), 0)
		FROM messages GROUP BY f ORDER BY count(*) DESC, f LIMIT 20`); err != nil {
		return nil, err
	}
	if err := q(&o.Sizes, `SELECT CASE
			WHEN size < 4096 THEN '1 <4 KiB' WHEN size < 16384 THEN '2 4-16 KiB' WHEN size < 65536 THEN '3 16-64 KiB'
			WHEN size < 262144 THEN '4 64-256 KiB' WHEN size < 1048576 THEN '5 256 KiB-1 MiB' WHEN size < 10485760 THEN '6 1-10 MiB'
			ELSE '7 >10 MiB' END AS band, count(*), coalesce(sum(size), 0)
		FROM messages GROUP BY band ORDER BY band`); err != nil {
		return nil, err
	}
	for i := range o.Sizes {
		o.Sizes[i].Label = o.Sizes[i].Label[2:] // drop the sort prefix
	}
	return o, nil
}
