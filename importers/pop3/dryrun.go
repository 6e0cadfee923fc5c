package pop3

import (
	"context"
	"fmt"
)

// Preview is what an import would do, as DryRun finds it.
type Preview struct {
	OnServer   int   `json:"on_server"`   // messages in the maildrop
	Bytes      int64 `json:"bytes"`       // their size as LIST gives it
	Known      int   `json:"known"`       // already archived (UIDL known)
	ToFetch    int   `json:"to_fetch"`    // would be fetched
	FetchBytes int64 `json:"fetch_bytes"` // their size
	NoUIDL     bool  `json:"no_uidl"`     // the server has no UIDL: all would be fetched
}

// DryRun connects, logs in and lists the maildrop as Import would, and
// reports what Import would fetch. It changes nothing: no message is
// retrieved (so none is marked seen by servers that do so on RETR) and the
// session ends with QUIT with nothing marked.
func DryRun(ctx context.Context, cfg Config) (*Preview, error) {
	c, err := Dial(ctx, cfg.Addr, cfg.Dial)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.Login(ctx, cfg.User, cfg.Password, cfg.Mechanism); err != nil {
		return nil, err
	}
	msgs, hasUIDL, err := c.Messages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing messages: %w", err)
	}
	p := &Preview{OnServer: len(msgs), NoUIDL: !hasUIDL}
	for _, m := range msgs {
		p.Bytes += m.Size
		if _, ok := cfg.Known[m.UID]; ok && m.UID != "" {
			p.Known++
			continue
		}
		p.ToFetch++
		p.FetchBytes += m.Size
	}
	c.Quit(ctx)
	return p, nil
}
