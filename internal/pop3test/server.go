// Package pop3test is a small in-process POP3 server (RFC 1939, with CAPA,
// RESP-CODES and PIPELINING of RFC 2449, STLS of RFC 2595, AUTH PLAIN of
// RFC 5034 and APOP) for mailark's tests and demo. No Go POP3 server
// module is available to the project (see LIBNOTES.md), and a server of
// our own makes faults easy to inject: a -ERR for one RETR, a connection
// cut after N bytes of a message, a stall, a server without UIDL.
//
// Messages are served exactly as given (line ends are not changed), with
// byte-stuffing (RFC 1939 §3) and a CRLF added before the terminating
// line when a message does not end in a line end. DELE marks a message;
// only QUIT removes marked messages (RFC 1939 §6), so a session that breaks
// off removes nothing. A user's maildrop is locked by the session that
// logged in; a second session gets -ERR [IN-USE] (RFC 2449 §8.1.1).
package pop3test

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
)

// Message is one message of a maildrop.
type Message struct {
	// UIDL is the unique-id the server lists; NewServer and Add give
	// "U<n>" (unique over the server's life) to messages without one.
	UIDL string
	Data []byte
}

// RetrAction says how the server answers one RETR; the zero value serves
// the message normally.
type RetrAction struct {
	// Err, when set, is the text of a -ERR answer instead of the message.
	Err string
	// CutAfter > 0 closes the connection after that many bytes of the
	// (byte-stuffed) message have been sent.
	CutAfter int
	// Stall, with CutAfter, stops sending there instead, keeping the
	// connection open until the client gives up or the server is closed.
	Stall bool
}

// Hooks inject faults; they may be changed while the server runs.
type Hooks struct {
	// Retr, when set, decides how RETR of message n (UIDL uidl) of user's
	// maildrop is answered. attempt counts the RETRs of this message
	// since the server started, from 1.
	Retr func(user string, n int, m Message, attempt int) RetrAction
}

// Server is a running test server.
type Server struct {
	// Settings: change them before Start (NewUnstartedServer).

	// TLSConfig, when set, makes the server offer STLS (RFC 2595).
	TLSConfig *tls.Config
	// ImplicitTLS makes the listener speak TLS from the first byte (POP3S);
	// it needs TLSConfig.
	ImplicitTLS bool
	// APOP puts a timestamp into the greeting and accepts APOP.
	APOP bool
	// SASL offers AUTH PLAIN (RFC 5034) and lists "SASL PLAIN" in CAPA.
	SASL bool
	// NoCAPA answers CAPA with -ERR, as an RFC 1939-only server does.
	NoCAPA bool
	// NoUIDL answers UIDL with -ERR and leaves it out of CAPA.
	NoUIDL bool
	// NoPipelining leaves PIPELINING out of CAPA.
	NoPipelining bool

	// Addr is where the server listens, 127.0.0.1:port, once started.
	Addr string

	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	users map[string]string
	boxes map[string][]*stored
	locks map[string]bool
	hooks Hooks
	conns map[net.Conn]struct{}
	log   []string
	retrs map[string]int // by UIDL: RETRs so far
	nuid  int
	nsess int
	done  bool
}

// stored is a message in a maildrop; sessions hold pointers to it, so that
// QUIT removes exactly the messages the session saw.
type stored struct {
	Message
}

// NewServer starts a plain server (no TLS) with these users (name →
// password) and maildrops (name → messages).
func NewServer(users map[string]string, messages map[string][]Message) *Server {
	s := NewUnstartedServer(users, messages)
	s.Start()
	return s
}

// NewUnstartedServer returns a server whose settings can still be changed;
// Start runs it.
func NewUnstartedServer(users map[string]string, messages map[string][]Message) *Server {
	s := &Server{
		users: map[string]string{},
		boxes: map[string][]*stored{},
		locks: map[string]bool{},
		conns: map[net.Conn]struct{}{},
		retrs: map[string]int{},
	}
	for u, p := range users {
		s.users[u] = p
	}
	for u, msgs := range messages {
		s.Add(u, msgs...)
	}
	return s
}

// Start listens on 127.0.0.1 on a free port. It panics on failure, as
// httptest does.
func (s *Server) Start() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("pop3test: listening: %v", err))
	}
	if s.ImplicitTLS {
		if s.TLSConfig == nil {
			panic("pop3test: ImplicitTLS needs TLSConfig")
		}
		ln = tls.NewListener(ln, s.TLSConfig)
	}
	s.ln, s.Addr = ln, ln.Addr().String()
	s.wg.Add(1)
	go s.serve()
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.mu.Lock()
		if s.done {
			s.mu.Unlock()
			conn.Close()
			return
		}
		s.conns[conn] = struct{}{}
		s.nsess++
		id := s.nsess
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			newSession(s, conn, id).run()
			s.mu.Lock()
			delete(s.conns, conn)
			s.mu.Unlock()
		}()
	}
}

// Close stops the server and ends every session (without UPDATE: marked
// messages stay).
func (s *Server) Close() {
	s.mu.Lock()
	s.done = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	if s.ln != nil {
		s.ln.Close()
	}
	s.wg.Wait()
}

// DropConnections closes every open session's connection, as a server
// crash would; the server goes on accepting new ones.
func (s *Server) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

// Add appends messages to user's maildrop (new mail arriving). Sessions
// already logged in do not see them (RFC 1939: the maildrop is fixed for
// a session).
func (s *Server) Add(user string, msgs ...Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range msgs {
		if m.UIDL == "" {
			s.nuid++
			m.UIDL = fmt.Sprintf("U%d", s.nuid)
		}
		s.boxes[user] = append(s.boxes[user], &stored{m})
	}
}

// Mailbox returns user's messages as they are now.
func (s *Server) Mailbox(user string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.boxes[user]))
	for _, m := range s.boxes[user] {
		out = append(out, m.Message)
	}
	return out
}

// SetHooks replaces the fault hooks.
func (s *Server) SetHooks(h Hooks) {
	s.mu.Lock()
	s.hooks = h
	s.mu.Unlock()
}

// Commands returns every command received so far, in order, as
// "<session> <command>" with passwords and SASL data replaced by "***".
func (s *Server) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// Sessions returns how many connections were accepted.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nsess
}

func (s *Server) record(id int, cmd string) {
	s.mu.Lock()
	s.log = append(s.log, fmt.Sprintf("%d %s", id, cmd))
	s.mu.Unlock()
}

// lock takes user's maildrop for a session and returns its messages.
func (s *Server) lock(user string) ([]*stored, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locks[user] {
		return nil, false
	}
	s.locks[user] = true
	return slices.Clone(s.boxes[user]), true
}

// unlock releases user's maildrop; with update (QUIT), the messages in
// deleted are removed first.
func (s *Server) unlock(user string, deleted map[*stored]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(deleted) > 0 {
		s.boxes[user] = slices.DeleteFunc(s.boxes[user], func(m *stored) bool { return deleted[m] })
	}
	delete(s.locks, user)
}

func (s *Server) retrAction(user string, n int, m *stored) RetrAction {
	s.mu.Lock()
	s.retrs[m.UIDL]++
	attempt := s.retrs[m.UIDL]
	h := s.hooks.Retr
	s.mu.Unlock()
	if h == nil {
		return RetrAction{}
	}
	return h(user, n, m.Message, attempt)
}

func (s *Server) password(user string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.users[user]
	return p, ok
}
