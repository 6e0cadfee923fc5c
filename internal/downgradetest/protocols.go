package downgradetest

import "regexp"

func imapCaps(offered bool) string {
	if offered {
		return "IMAP4rev1 AUTH=PLAIN STARTTLS"
	}
	return "IMAP4rev1 AUTH=PLAIN"
}

var syncLiteral = regexp.MustCompile(`\{\d+\}\r\n$`)

// IMAP offers AUTH=PLAIN (in the greeting too), says OK to any command and
// asks for any synchronising literal.
var IMAP = Protocol{
	StartTLS:   "STARTTLS",
	Tagged:     true,
	Greeting:   func(offered bool) string { return "* OK [CAPABILITY " + imapCaps(offered) + "] ready\r\n" },
	Capability: "CAPABILITY",
	Capabilities: func(tag string, offered bool) string {
		return "* CAPABILITY " + imapCaps(offered) + "\r\n" + tag + " OK done\r\n"
	},
	Refuse: "BAD unknown command",
	Accept: "OK begin TLS",
	Answer: func(tag, _, line string) (string, bool) {
		if syncLiteral.MatchString(line) {
			return "+ go on\r\n", false
		}
		return tag + " OK fine\r\n", false
	},
}

// POP3 offers USER, SASL PLAIN and, in its greeting, APOP (tempting a
// client to authenticate in the clear), and says +OK to anything.
var POP3 = Protocol{
	StartTLS:   "STLS",
	Greeting:   func(bool) string { return "+OK ready <1896.697170952@downgrade.test>\r\n" },
	Capability: "CAPA",
	Capabilities: func(_ string, offered bool) string {
		if offered {
			return "+OK\r\nUSER\r\nSASL PLAIN\r\nUIDL\r\nSTLS\r\n.\r\n"
		}
		return "+OK\r\nUSER\r\nSASL PLAIN\r\nUIDL\r\n.\r\n"
	},
	Refuse: "-ERR unknown command",
	Accept: "+OK begin TLS",
	Answer: func(_, cmd, _ string) (string, bool) {
		switch cmd {
		case "AUTH":
			return "+ \r\n", false
		case "QUIT":
			return "+OK bye\r\n", true
		}
		return "+OK\r\n", false
	},
}

// SMTP offers AUTH PLAIN and LOGIN and accepts everything.
var SMTP = Protocol{
	StartTLS:   "STARTTLS",
	Greeting:   func(bool) string { return "220 downgrade.test ESMTP\r\n" },
	Capability: "EHLO",
	Capabilities: func(_ string, offered bool) string {
		stls := ""
		if offered {
			stls = "250-STARTTLS\r\n"
		}
		return "250-downgrade.test\r\n250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n" + stls + "250 SIZE 10000000\r\n"
	},
	Refuse: "502 5.5.1 unknown command",
	Accept: "220 2.0.0 go ahead",
	Answer: func(_, cmd, _ string) (string, bool) {
		switch cmd {
		case "AUTH":
			return "235 2.7.0 ok\r\n", false
		case "DATA":
			return "354 go on\r\n", false
		case "QUIT":
			return "221 bye\r\n", true
		}
		return "250 ok\r\n", false
	},
}
