package smtp

import (
	"net"
	"time"
)

// timeoutConn gives every read and every write at most timeout: SMTP is
// lock-step, so a read is always an answer awaited, and a server that
// takes nothing or says nothing for that long is given up on. go-smtp's
// own deadlines (5 min per command, 12 min for the final answer) leave the
// message body without any, so a server that stopped reading it was waited
// for forever; they are overridden here op by op.
type timeoutConn struct {
	net.Conn
	timeout time.Duration
}

func (c *timeoutConn) Read(p []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	return c.Conn.Read(p)
}

func (c *timeoutConn) Write(p []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.timeout))
	return c.Conn.Write(p)
}
