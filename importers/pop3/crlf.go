package pop3

import "io"

// addedCRLF undoes the one change a POP3 server makes to a message: RFC
// 1939 §3 needs the terminating "." on a line of its own, so a server
// sends a message whose last line has no line end (a truncated message, an
// old Mac file of bare CRs) with a CRLF added. The size LIST gave (RFC
// 1939 §5: "the exact size of the message") tells: when exactly two bytes
// more than that arrive and they are a final CRLF, they are the server's,
// and are dropped, so the archive keeps the message byte for byte (as an
// IMAP import of the same message would). Dovecot behaves this way. A
// server whose sizes are only estimates (counting bare LFs, say) would have
// to be off by exactly two, with a message ending in CRLF, to lose a CRLF
// of the message's own here.
type addedCRLF struct {
	r    io.Reader
	size int64 // from LIST; <= 0: unknown, nothing is dropped
	n    int64 // bytes read from r
	hold []byte
	eof  bool // r is done; only hold is left
}

func (a *addedCRLF) Read(p []byte) (int, error) {
	if a.eof {
		n := copy(p, a.hold)
		a.hold = a.hold[n:]
		if len(a.hold) == 0 {
			return n, io.EOF
		}
		return n, nil
	}
	if len(p) < 3 {
		// Too small to hold back two bytes and still make progress.
		return a.readSmall(p)
	}
	k := copy(p, a.hold)
	a.hold = a.hold[:0]
	n, err := a.r.Read(p[k:])
	a.n += int64(n)
	total := k + n
	if err == io.EOF {
		a.eof = true
		if a.size > 0 && a.n == a.size+2 && total >= 2 && p[total-2] == '\r' && p[total-1] == '\n' {
			total -= 2
		}
		return total, io.EOF
	}
	if err != nil {
		return total, err
	}
	h := min(2, total)
	a.hold = append(a.hold, p[total-h:total]...)
	return total - h, nil
}

func (a *addedCRLF) readSmall(p []byte) (int, error) {
	var buf [64]byte
	n, err := a.Read(buf[:])
	if n > len(p) {
		// Keep what does not fit, ahead of anything held.
		a.hold = append(append([]byte(nil), buf[len(p):n]...), a.hold...)
		n, err = len(p), nil
	}
	copy(p, buf[:n])
	return n, err
}
