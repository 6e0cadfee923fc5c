package pop3

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Response codes of RFC 2449 §8 (RESP-CODES) and RFC 3206 (AUTH-RESP-CODE,
// SYS/TEMP, SYS/PERM), as they appear in brackets after -ERR.
const (
	CodeInUse      = "IN-USE"      // the maildrop is locked by another session; try later
	CodeLoginDelay = "LOGIN-DELAY" // logged in too recently; try later
	CodeSysTemp    = "SYS/TEMP"    // a temporary server problem
	CodeSysPerm    = "SYS/PERM"    // a permanent server problem
	CodeAuth       = "AUTH"        // the credentials are wrong (RFC 3206 §4)
)

// maxResponseLine bounds a status line or a line of a CAPA, LIST or UIDL
// listing. RFC 2449 §4 limits responses to 512 octets with CRLF; servers
// exceed that with long greetings and capability lists, so we accept up to
// 8 KiB and refuse more (garbage or a hostile server) instead of growing a
// buffer without end. Message bodies (RETR, TOP) have no line limit.
const maxResponseLine = 8 << 10

// Error is a -ERR answer. The session goes on: the server refused one
// command, nothing more.
type Error struct {
	Command string // the command, credentials removed: "RETR 5", "PASS", "AUTH PLAIN"
	Code    string // the RFC 2449 response code without brackets, "" if none
	Text    string // the human-readable rest of the line
}

func (e *Error) Error() string {
	s := e.Command + ": server said -ERR"
	if e.Code != "" {
		s += " [" + e.Code + "]"
	}
	if e.Text != "" {
		s += " " + e.Text
	}
	return s
}

// Temporary reports whether trying again later may succeed (RFC 2449 §8.1,
// RFC 3206 §5): the maildrop is in use, a login was too recent, or the
// server has a passing problem.
func (e *Error) Temporary() bool {
	switch e.Code {
	case CodeInUse, CodeLoginDelay, CodeSysTemp:
		return true
	}
	return false
}

// retrySoon reports whether another session after a short pause may
// succeed: [IN-USE] and [SYS/TEMP] pass, but [LOGIN-DELAY] lasts minutes
// or more (RFC 2449 §6.5), so retrying at once would only hammer the
// server.
func (e *Error) retrySoon() bool {
	return e.Temporary() && e.Code != CodeLoginDelay
}

// ErrAuth is matched by errors.Is for an *Error that refused credentials:
// one with the [AUTH] code, or any -ERR to PASS, APOP or AUTH that carries
// no code saying otherwise.
var ErrAuth = errors.New("pop3: authentication failed")

// Is makes errors.Is(err, ErrAuth) work.
func (e *Error) Is(target error) bool {
	if target != ErrAuth {
		return false
	}
	if e.Code == CodeAuth {
		return true
	}
	if e.Code != "" {
		return false
	}
	c := e.Command
	return c == "PASS" || c == "APOP" || strings.HasPrefix(c, "AUTH")
}

// ProtocolError is an answer that is not POP3: the session is out of step
// with the server and cannot go on.
type ProtocolError struct {
	Command string
	Line    string // the offending line, cut to 80 bytes
	Reason  string
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("%s: %s: %q", e.Command, e.Reason, e.Line)
}

func protocolError(cmd string, line []byte, reason string) *ProtocolError {
	if len(line) > 80 {
		line = line[:80]
	}
	return &ProtocolError{Command: cmd, Line: string(line), Reason: reason}
}

// errLineTooLong is the cause of a ProtocolError for a response line over
// maxResponseLine.
var errLineTooLong = errors.New("response line too long")

// readLine reads one response line of at most max bytes and returns it
// without its line end (CRLF, or a bare LF from a sloppy server). The
// slice is valid until the next read from br.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == nil {
		if len(line) > max {
			return nil, errLineTooLong
		}
		return trimEOL(line), nil
	}
	if err != bufio.ErrBufferFull {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	// Longer than the reader's buffer: collect it, up to max.
	buf := append([]byte(nil), line...)
	for {
		line, err = br.ReadSlice('\n')
		if len(buf)+len(line) > max {
			return nil, errLineTooLong
		}
		buf = append(buf, line...)
		switch err {
		case nil:
			return trimEOL(buf), nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}

func trimEOL(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r"))
}

// parseStatus splits a status line (RFC 1939 §3: "+OK" or "-ERR", then
// optionally a space and text) into its text, or returns an *Error for
// -ERR and a *ProtocolError for anything else. The indicators are matched
// case-insensitively, as some servers send "+ok".
func parseStatus(cmd string, line []byte) (string, error) {
	switch {
	case hasPrefixFold(line, "+OK") && (len(line) == 3 || line[3] == ' '):
		return strings.TrimSpace(string(line[3:])), nil
	case hasPrefixFold(line, "-ERR") && (len(line) == 4 || line[4] == ' '):
		e := &Error{Command: cmd}
		text := strings.TrimSpace(string(line[4:]))
		// RFC 2449 §8: a response code is the first thing after -ERR, in
		// brackets; codes are hierarchical with '/'.
		if strings.HasPrefix(text, "[") {
			if end := strings.IndexByte(text, ']'); end > 0 {
				e.Code = strings.ToUpper(text[1:end])
				text = strings.TrimSpace(text[end+1:])
			}
		}
		e.Text = text
		return "", e
	}
	return "", protocolError(cmd, line, "not a POP3 status line")
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && strings.EqualFold(string(b[:len(prefix)]), prefix)
}
