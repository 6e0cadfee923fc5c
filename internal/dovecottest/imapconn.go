package dovecottest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// imapConn is the harness's own tiny IMAP client: LOGIN, APPEND, CREATE,
// SUBSCRIBE. It lets Fill store messages exactly as a client's APPEND
// would (Dovecot assigns the UID, keywords and INTERNALDATE) without the
// package depending on the IMAP library that mailark's code under test uses.
type imapConn struct {
	conn net.Conn
	r    *bufio.Reader
	tag  int
}

const imapTimeout = 30 * time.Second

func dialIMAP(addr, user, pass string) (*imapConn, error) {
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("dovecottest: dial IMAP %s: %w", addr, err)
	}
	c := &imapConn{conn: nc, r: bufio.NewReader(nc)}
	_ = nc.SetDeadline(time.Now().Add(imapTimeout))
	greeting, err := c.readLine()
	if err != nil || !strings.HasPrefix(greeting, "* OK") {
		nc.Close()
		return nil, fmt.Errorf("dovecottest: IMAP greeting from %s: %q: %v", addr, greeting, err)
	}
	if st, text, err := c.command("LOGIN "+imapQuote(user)+" "+imapQuote(pass), nil); err != nil || st != "OK" {
		nc.Close()
		return nil, fmt.Errorf("dovecottest: IMAP LOGIN %s: %s %s %v", user, st, text, err)
	}
	return c, nil
}

// command sends one command, with literal (if non-nil) as a non-synchronizing
// literal (LITERAL+, which Dovecot always offers) at its end, and returns
// the tagged status (OK, NO, BAD) and the rest of that line.
func (c *imapConn) command(line string, literal []byte) (status, text string, err error) {
	c.tag++
	tag := "t" + strconv.Itoa(c.tag)
	_ = c.conn.SetDeadline(time.Now().Add(imapTimeout))
	var b bytes.Buffer
	b.WriteString(tag + " " + line)
	if literal != nil {
		fmt.Fprintf(&b, " {%d+}\r\n", len(literal))
		b.Write(literal)
	}
	b.WriteString("\r\n")
	if _, err := c.conn.Write(b.Bytes()); err != nil {
		return "", "", fmt.Errorf("dovecottest: IMAP write: %w", err)
	}
	for {
		l, err := c.readLine()
		if err != nil {
			return "", "", err
		}
		if rest, ok := strings.CutPrefix(l, tag+" "); ok {
			status, text, _ = strings.Cut(rest, " ")
			return status, text, nil
		}
	}
}

// readLine reads one response line, skipping the contents of any literal
// it announces (untagged data we do not need).
func (c *imapConn) readLine() (string, error) {
	var full strings.Builder
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			return "", fmt.Errorf("dovecottest: IMAP read: %w", err)
		}
		l = strings.TrimRight(l, "\r\n")
		full.WriteString(l)
		if !strings.HasSuffix(l, "}") {
			return full.String(), nil
		}
		i := strings.LastIndexByte(l, '{')
		n, err := strconv.Atoi(l[i+1 : len(l)-1])
		if i < 0 || err != nil {
			return full.String(), nil
		}
		if _, err := io.CopyN(io.Discard, c.r, int64(n)); err != nil {
			return "", fmt.Errorf("dovecottest: IMAP read literal: %w", err)
		}
	}
}

func (c *imapConn) close() {
	_ = c.conn.SetDeadline(time.Now().Add(2 * time.Second))
	_, _, _ = c.command("LOGOUT", nil)
	c.conn.Close()
}

// imapQuote makes an IMAP quoted string. Callers pass ASCII only (mailbox
// names are modified UTF-7 by then).
func imapQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
