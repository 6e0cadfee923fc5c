package pop3test

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// session is one connection, from greeting to QUIT (RFC 1939 §3-6).
type session struct {
	s         *Server
	id        int
	conn      net.Conn
	br        *bufio.Reader
	bw        *bufio.Writer
	tls       bool
	timestamp string
	user      string // after USER, before PASS; then the logged-in user
	authed    bool
	msgs      []*stored
	deleted   map[*stored]bool
}

func newSession(s *Server, conn net.Conn, id int) *session {
	ss := &session{s: s, id: id, conn: conn, deleted: map[*stored]bool{}}
	_, ss.tls = conn.(*tls.Conn)
	ss.br = bufio.NewReader(conn)
	ss.bw = bufio.NewWriterSize(conn, 64<<10)
	return ss
}

var errCut = errors.New("connection cut by hook")

func (ss *session) run() {
	defer ss.conn.Close()
	defer func() {
		if ss.authed {
			ss.s.unlock(ss.user, nil) // no QUIT: nothing is removed
		}
	}()
	greeting := "+OK pop3test ready"
	if ss.s.APOP {
		ss.timestamp = fmt.Sprintf("<%d.%d@pop3test>", ss.id, time.Now().UnixNano())
		greeting += " " + ss.timestamp
	}
	ss.reply("%s", greeting)
	for {
		if ss.bw.Flush() != nil {
			return
		}
		line, err := ss.br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		ss.s.record(ss.id, redact(verb, line))
		if quit, err := ss.handle(verb, arg); quit || err != nil {
			ss.bw.Flush()
			return
		}
	}
}

func redact(verb, line string) string {
	switch verb {
	case "PASS", "APOP":
		return verb + " ***"
	case "AUTH":
		f := strings.Fields(line)
		if len(f) > 2 {
			return strings.Join(f[:2], " ") + " ***"
		}
	}
	return line
}

func (ss *session) reply(format string, args ...any) {
	fmt.Fprintf(ss.bw, format, args...)
	ss.bw.WriteString("\r\n")
}

func (ss *session) handle(verb, arg string) (quit bool, err error) {
	if !ss.authed {
		switch verb {
		case "CAPA":
			ss.capa()
		case "STLS":
			return false, ss.stls()
		case "USER":
			ss.user = arg
			ss.reply("+OK")
		case "PASS":
			ss.login(ss.user, ss.checkPass(ss.user, arg))
		case "APOP":
			ss.apop(arg)
		case "AUTH":
			return false, ss.auth(arg)
		case "QUIT":
			ss.reply("+OK bye")
			return true, nil
		default:
			ss.reply("-ERR unknown command in AUTHORIZATION state")
		}
		return false, nil
	}
	switch verb {
	case "CAPA":
		ss.capa()
	case "STAT":
		var n int
		var size int64
		for _, m := range ss.msgs {
			if !ss.deleted[m] {
				n++
				size += int64(len(m.Data))
			}
		}
		ss.reply("+OK %d %d", n, size)
	case "LIST":
		ss.listing(arg, func(n int, m *stored) string { return fmt.Sprintf("%d %d", n, len(m.Data)) })
	case "UIDL":
		if ss.s.NoUIDL {
			ss.reply("-ERR unknown command")
			return false, nil
		}
		ss.listing(arg, func(n int, m *stored) string { return fmt.Sprintf("%d %s", n, m.UIDL) })
	case "RETR":
		return false, ss.retr(arg)
	case "TOP":
		f := strings.Fields(arg)
		if len(f) != 2 {
			ss.reply("-ERR usage: TOP msg n")
			return false, nil
		}
		m, _ := ss.message(f[0])
		lines, err := strconv.Atoi(f[1])
		if m == nil || err != nil || lines < 0 {
			ss.reply("-ERR no such message")
			return false, nil
		}
		ss.reply("+OK top of message follows")
		return false, writeStuffed(ss.bw, top(m.Data, lines), -1)
	case "DELE":
		m, _ := ss.message(arg)
		if m == nil {
			ss.reply("-ERR no such message")
			return false, nil
		}
		ss.deleted[m] = true
		ss.reply("+OK marked")
	case "RSET":
		clear(ss.deleted)
		ss.reply("+OK")
	case "NOOP":
		ss.reply("+OK")
	case "QUIT":
		// RFC 1939 §6: the UPDATE state removes what was marked.
		ss.s.unlock(ss.user, ss.deleted)
		ss.authed = false
		ss.reply("+OK bye")
		return true, nil
	default:
		ss.reply("-ERR unknown command")
	}
	return false, nil
}

func (ss *session) capa() {
	if ss.s.NoCAPA {
		ss.reply("-ERR unknown command")
		return
	}
	ss.reply("+OK capability list follows")
	caps := []string{"TOP", "USER", "RESP-CODES", "AUTH-RESP-CODE", "EXPIRE NEVER", "IMPLEMENTATION pop3test"}
	if !ss.s.NoUIDL {
		caps = append(caps, "UIDL")
	}
	if !ss.s.NoPipelining {
		caps = append(caps, "PIPELINING")
	}
	if ss.s.TLSConfig != nil && !ss.tls && !ss.authed {
		caps = append(caps, "STLS")
	}
	if ss.s.SASL && !ss.authed {
		caps = append(caps, "SASL PLAIN")
	}
	for _, c := range caps {
		ss.reply("%s", c)
	}
	ss.reply(".")
}

func (ss *session) stls() error {
	if ss.s.TLSConfig == nil || ss.tls {
		ss.reply("-ERR STLS not available")
		return nil
	}
	ss.reply("+OK begin TLS negotiation")
	if err := ss.bw.Flush(); err != nil {
		return err
	}
	tc := tls.Server(ss.conn, ss.s.TLSConfig)
	if err := tc.Handshake(); err != nil {
		return err
	}
	ss.conn, ss.tls, ss.user = tc, true, ""
	ss.br.Reset(tc)
	ss.bw.Reset(tc)
	return nil
}

func (ss *session) checkPass(user, pass string) bool {
	p, ok := ss.s.password(user)
	return ok && user != "" && p == pass
}

func (ss *session) login(user string, ok bool) {
	if !ok {
		ss.reply("-ERR [AUTH] invalid user name or password")
		return
	}
	msgs, ok := ss.s.lock(user)
	if !ok {
		ss.reply("-ERR [IN-USE] maildrop is locked by another session")
		return
	}
	ss.user, ss.authed, ss.msgs = user, true, msgs
	ss.reply("+OK logged in, %d messages", len(msgs))
}

func (ss *session) apop(arg string) {
	user, digest, _ := strings.Cut(arg, " ")
	if !ss.s.APOP {
		ss.reply("-ERR APOP not available")
		return
	}
	p, ok := ss.s.password(user)
	sum := md5.Sum([]byte(ss.timestamp + p))
	ss.login(user, ok && strings.EqualFold(digest, hex.EncodeToString(sum[:])))
}

// auth is AUTH PLAIN (RFC 5034 with RFC 4616), initial response or not.
func (ss *session) auth(arg string) error {
	mech, ir, hasIR := strings.Cut(arg, " ")
	if !ss.s.SASL || !strings.EqualFold(mech, "PLAIN") {
		ss.reply("-ERR unsupported mechanism")
		return nil
	}
	if !hasIR {
		ss.reply("+ ")
		if err := ss.bw.Flush(); err != nil {
			return err
		}
		line, err := ss.br.ReadString('\n')
		if err != nil {
			return err
		}
		ir = strings.TrimRight(line, "\r\n")
	}
	if ir == "*" {
		ss.reply("-ERR authentication cancelled")
		return nil
	}
	raw, err := base64.StdEncoding.DecodeString(ir)
	if ir == "=" {
		raw, err = nil, nil
	}
	parts := bytes.Split(raw, []byte{0})
	if err != nil || len(parts) != 3 {
		ss.reply("-ERR malformed PLAIN response")
		return nil
	}
	user, pass := string(parts[1]), string(parts[2])
	ss.login(user, ss.checkPass(user, pass))
	return nil
}

// message resolves a message-number argument to a message not deleted.
func (ss *session) message(arg string) (*stored, int) {
	n, err := strconv.Atoi(strings.TrimSpace(arg))
	if err != nil || n < 1 || n > len(ss.msgs) || ss.deleted[ss.msgs[n-1]] {
		return nil, 0
	}
	return ss.msgs[n-1], n
}

func (ss *session) listing(arg string, line func(n int, m *stored) string) {
	if arg != "" {
		m, n := ss.message(arg)
		if m == nil {
			ss.reply("-ERR no such message")
			return
		}
		ss.reply("+OK %s", line(n, m))
		return
	}
	ss.reply("+OK listing follows")
	for i, m := range ss.msgs {
		if !ss.deleted[m] {
			ss.reply("%s", line(i+1, m))
		}
	}
	ss.reply(".")
}

func (ss *session) retr(arg string) error {
	m, n := ss.message(arg)
	if m == nil {
		ss.reply("-ERR no such message")
		return nil
	}
	act := ss.s.retrAction(ss.user, n, m)
	if act.Err != "" {
		ss.reply("-ERR %s", act.Err)
		return nil
	}
	ss.reply("+OK %d octets", len(m.Data))
	limit := -1
	if act.CutAfter > 0 {
		limit = act.CutAfter
	}
	err := writeStuffed(ss.bw, m.Data, limit)
	if errors.Is(err, errCut) {
		ss.bw.Flush()
		if act.Stall {
			// Hold the connection open, silent, until the client leaves.
			io.Copy(io.Discard, ss.conn)
		}
	}
	return err
}

// top returns the header and the first n body lines of msg.
func top(msg []byte, n int) []byte {
	end := bytes.Index(msg, []byte("\r\n\r\n"))
	sep := 4
	if lf := bytes.Index(msg, []byte("\n\n")); lf >= 0 && (end < 0 || lf < end) {
		end, sep = lf, 2
	}
	if end < 0 {
		return msg
	}
	i := end + sep
	for ; n > 0 && i < len(msg); n-- {
		j := bytes.IndexByte(msg[i:], '\n')
		if j < 0 {
			i = len(msg)
			break
		}
		i += j + 1
	}
	return msg[:i]
}

// writeStuffed sends msg as the body of a multi-line response: a "." is
// put before every line that starts with one, a CRLF is added when msg
// does not end in a line end, and ".\r\n" ends it (RFC 1939 §3). With
// limit >= 0, only that many bytes go out and errCut is returned.
func writeStuffed(w *bufio.Writer, msg []byte, limit int) error {
	sent := 0
	write := func(b []byte) error {
		if limit >= 0 && sent+len(b) > limit {
			w.Write(b[:limit-sent])
			return errCut
		}
		sent += len(b)
		_, err := w.Write(b)
		return err
	}
	lineStart := true
	for len(msg) > 0 {
		if lineStart && msg[0] == '.' {
			if err := write([]byte{'.'}); err != nil {
				return err
			}
		}
		chunk := msg
		if i := bytes.Index(msg, []byte("\n.")); i >= 0 {
			chunk = msg[:i+1]
		}
		if err := write(chunk); err != nil {
			return err
		}
		lineStart = chunk[len(chunk)-1] == '\n'
		msg = msg[len(chunk):]
	}
	if !lineStart {
		if err := write([]byte("\r\n")); err != nil {
			return err
		}
	}
	return write([]byte(".\r\n"))
}
