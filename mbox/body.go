package mbox

import "io"

// body is a Message's Body.
type body struct {
	r *Reader
	m *Message
}

// Read returns the message bytes. It keeps filling p while the reader has
// buffered input, so a short line does not cost a call.
func (b *body) Read(p []byte) (int, error) {
	r := b.r
	if b.m.end >= 0 || r.cur != b.m {
		return 0, io.EOF
	}
	if r.err != nil {
		return 0, r.err
	}
	n := 0
	for n < len(p) {
		switch {
		case r.quote > 0:
			k := int(min(r.quote, int64(len(p)-n)))
			for i := range k {
				p[n+i] = '>'
			}
			n += k
			r.quote -= int64(k)
		case len(r.pend) > 0:
			k := copy(p[n:], r.pend)
			n += k
			r.pend = r.pend[k:]
		default:
			if n > 0 && r.br.Buffered() == 0 {
				return n, nil // do not block for more with data in hand
			}
			done, err := r.step()
			if err != nil {
				return n, err
			}
			if done {
				if n > 0 {
					return n, nil
				}
				return 0, io.EOF
			}
		}
	}
	return n, nil
}
