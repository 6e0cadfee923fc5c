package pop3

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-sasl"
)

// Mechanism selects how Login authenticates.
type Mechanism string

const (
	// Auto picks the best the server offers: APOP on a connection without
	// TLS (the password never crosses the wire), else AUTH PLAIN where CAPA
	// lists "SASL PLAIN", else APOP, else USER/PASS.
	Auto Mechanism = ""
	// MechPlain is SASL PLAIN through AUTH (RFC 5034).
	MechPlain Mechanism = "PLAIN"
	// MechAPOP is APOP (RFC 1939 §7): an MD5 digest of the greeting's
	// timestamp and the password.
	MechAPOP Mechanism = "APOP"
	// MechUser is USER and PASS (RFC 1939 §7).
	MechUser Mechanism = "USER"
)

// Login authenticates with mech (Auto: see there). A wrong password gives
// an error matching ErrAuth; -ERR [IN-USE] (another session holds the
// maildrop) and [SYS/TEMP] are *Errors whose Temporary is true.
func (c *Client) Login(ctx context.Context, user, password string, mech Mechanism) error {
	if mech == Auto {
		mech = c.pickMechanism()
	}
	var err error
	switch mech {
	case MechPlain:
		err = c.Auth(ctx, sasl.NewPlainClient("", user, password))
	case MechAPOP:
		err = c.apop(ctx, user, password)
	case MechUser:
		err = c.userPass(ctx, user, password)
	default:
		return fmt.Errorf("pop3: unknown mechanism %q", mech)
	}
	if err != nil {
		return fmt.Errorf("logging in as %s (%s): %w", user, mech, err)
	}
	// RFC 2449 §6.0: capabilities may change after login (Dovecot adds
	// PIPELINING details, some servers add UIDL only now).
	if _, err := c.Capa(ctx); err != nil {
		return err
	}
	return nil
}

func (c *Client) pickMechanism() Mechanism {
	switch {
	case !c.isTLS && c.timestamp != "":
		return MechAPOP
	case c.caps.SASL("PLAIN"):
		return MechPlain
	case c.timestamp != "":
		return MechAPOP
	}
	return MechUser
}

func (c *Client) userPass(ctx context.Context, user, password string) error {
	defer c.watch(ctx)()
	if err := checkArg(user); err != nil {
		return err
	}
	if _, err := c.cmd("USER "+user, "USER "+user); err != nil {
		return err
	}
	if strings.ContainsAny(password, "\r\n") {
		return errors.New("password contains a line break")
	}
	_, err := c.cmd("PASS "+password, "PASS")
	return err
}

// apopTimestamp finds the msg-id style timestamp ("<1896.697170952@host>")
// in a greeting: its presence is how a server offers APOP (RFC 1939 §7).
func apopTimestamp(greeting string) string {
	i := strings.IndexByte(greeting, '<')
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(greeting[i:], '>')
	if j < 0 {
		return ""
	}
	ts := greeting[i : i+j+1]
	if !strings.Contains(ts, "@") {
		return ""
	}
	return ts
}

func (c *Client) apop(ctx context.Context, user, password string) error {
	if c.timestamp == "" {
		return errors.New("server does not offer APOP (no timestamp in its greeting)")
	}
	if err := checkArg(user); err != nil {
		return err
	}
	defer c.watch(ctx)()
	sum := md5.Sum([]byte(c.timestamp + password))
	_, err := c.cmd("APOP "+user+" "+hex.EncodeToString(sum[:]), "APOP")
	return err
}

// Auth runs a SASL exchange with AUTH (RFC 5034), sending the initial
// response with the command ("=" for an empty one, §4) as RFC 5034 allows.
func (c *Client) Auth(ctx context.Context, client sasl.Client) error {
	mech, ir, err := client.Start()
	if err != nil {
		return fmt.Errorf("starting SASL: %w", err)
	}
	if err := c.ready(); err != nil {
		return err
	}
	defer c.watch(ctx)()
	cmd := "AUTH " + mech
	line := cmd
	if ir != nil {
		line += " " + encodeSASL(ir)
	}
	c.send(line, cmd+redactTail(line, cmd))
	if err := c.flush(); err != nil {
		return err
	}
	for {
		l, err := c.readLine(cmd)
		if err != nil {
			return err
		}
		if len(l) == 0 || l[0] != '+' || hasPrefixFold(l, "+OK") && (len(l) == 3 || l[3] == ' ') {
			_, err := parseStatus(cmd, l)
			var pe *ProtocolError
			if errors.As(err, &pe) {
				return c.fatal(err)
			}
			return err
		}
		// "+ base64" is a server challenge (RFC 5034 §4).
		chal, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(string(l[1:])))
		var resp []byte
		if derr == nil {
			resp, derr = client.Next(chal)
		}
		if derr != nil {
			// RFC 5034 §4: "*" cancels the exchange; the server answers -ERR.
			c.send("*", "*")
			if err := c.flush(); err != nil {
				return err
			}
			c.status(cmd)
			return fmt.Errorf("%s: %w", cmd, derr)
		}
		c.send(encodeSASL(resp), "***")
		if err := c.flush(); err != nil {
			return err
		}
	}
}

func encodeSASL(b []byte) string {
	if len(b) == 0 {
		return "="
	}
	return base64.StdEncoding.EncodeToString(b)
}

func redactTail(line, prefix string) string {
	if len(line) > len(prefix) {
		return " ***"
	}
	return ""
}

// checkArg refuses an argument that would break the command line.
func checkArg(s string) error {
	if s == "" || strings.ContainsAny(s, " \r\n") {
		return fmt.Errorf("pop3: argument %q is empty or holds a space or line break", s)
	}
	return nil
}
