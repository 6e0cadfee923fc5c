package imapserver

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-sasl"
	"golang.org/x/crypto/bcrypt"
)

// Session is one client connection: go-imap calls its methods one
// command at a time (IDLE's updates come from another goroutine, which
// only reads the catalog and writes EXISTS).
type Session struct {
	srv        *Server
	conn       *guardConn
	log        *slog.Logger
	loginTimer *time.Timer

	user     string
	view     view       // the accounts the user sees
	selected *selection // nil unless a mailbox is selected
}

var (
	_ imapserver.Session          = (*Session)(nil)
	_ imapserver.SessionSASL      = (*Session)(nil)
	_ imapserver.SessionMove      = (*Session)(nil)
	_ imapserver.SessionNamespace = (*Session)(nil)
)

// ctx bounds catalog queries of one command.
func (s *Session) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Minute)
}

// Errors are mapped to the protocol here, once: *imap.Error values go to
// the client as they are; anything else is logged with the session's
// context and the client sees a generic NO.
func (s *Session) internal(op string, err error) error {
	var ie *imap.Error
	if errors.As(err, &ie) {
		return ie
	}
	s.log.Error("imap "+op, "user", s.user, "err", err)
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeServerBug,
		Text: "Internal error, logged on the server"}
}

// readOnly is the answer to every command that would change something.
func readOnly(what string) error {
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNoPerm,
		Text: "The archive is read-only: " + what}
}

func (s *Session) Close() error {
	if s.loginTimer != nil {
		s.loginTimer.Stop()
	}
	return nil
}

// Login checks a password; go-imap's AUTHENTICATE PLAIN comes here too.
func (s *Session) Login(username, password string) error {
	if !s.conn.authAllowed() {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodePrivacyRequired,
			Text: "TLS is required to log in: use STARTTLS or the TLS port"}
	}
	keys := []string{"ip:" + s.conn.remote.String(), "user:" + username}
	if w := s.srv.throttle.wait(keys...); w > 0 {
		time.Sleep(w)
	}
	u, found, err := s.srv.users.lookup(username)
	if err != nil {
		return s.internal("login", err)
	}
	hash := []byte(u.Hash)
	if !found {
		hash = dummyHash() // same work for unknown users
	}
	s.srv.bcrypt <- struct{}{}
	err = bcrypt.CompareHashAndPassword(hash, []byte(password))
	<-s.srv.bcrypt
	if err != nil || !found {
		d := s.srv.throttle.fail(keys...)
		s.log.Info("failed login", "user", username, "delay", d)
		time.Sleep(d)
		return imapserver.ErrAuthFailed
	}
	s.srv.throttle.succeed(keys...)
	ctx, cancel := s.ctx()
	defer cancel()
	v, err := s.srv.newView(ctx, u.Accounts)
	if err != nil {
		return s.internal("login", err)
	}
	s.user, s.view = username, v
	s.conn.authed.Store(true)
	s.loginTimer.Stop()
	s.log.Info("login", "user", username, "accounts", v.accounts)
	return nil
}

// dummyHash is checked for unknown users, so that a wrong name costs as
// long as a wrong password.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("mailark dummy password"), bcrypt.DefaultCost)
	return h
})

func (s *Session) AuthenticateMechanisms() []string { return []string{"PLAIN"} }

func (s *Session) Authenticate(mech string) (sasl.Server, error) {
	if mech != "PLAIN" {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot,
			Text: "Only AUTHENTICATE PLAIN is supported"}
	}
	if !s.conn.authAllowed() {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodePrivacyRequired,
			Text: "TLS is required to log in: use STARTTLS or the TLS port"}
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if identity != "" && identity != username {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthorizationFailed,
				Text: "Logging in as another user is not supported"}
		}
		return s.Login(username, password)
	}), nil
}

func (s *Session) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Prefix: "", Delim: '/'}}}, nil
}

// The commands that would change the archive: each is refused, and none
// touches a file, a flag or a catalog row.

func (s *Session) Create(string, *imap.CreateOptions) error {
	return readOnly("folders cannot be created")
}
func (s *Session) Delete(string) error { return readOnly("folders cannot be deleted") }
func (s *Session) Rename(string, string, *imap.RenameOptions) error {
	return readOnly("folders cannot be renamed")
}
func (s *Session) Subscribe(string) error {
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot,
		Text: "Every folder is always subscribed"}
}
func (s *Session) Unsubscribe(string) error {
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot,
		Text: "Every folder is always subscribed"}
}
func (s *Session) Append(string, imap.LiteralReader, *imap.AppendOptions) (*imap.AppendData, error) {
	return nil, readOnly("messages cannot be added")
}
func (s *Session) Store(*imapserver.FetchWriter, imap.NumSet, *imap.StoreFlags, *imap.StoreOptions) error {
	return readOnly("flags cannot be changed")
}
func (s *Session) Copy(imap.NumSet, string) (*imap.CopyData, error) {
	return nil, readOnly("messages cannot be copied")
}
func (s *Session) Move(*imapserver.MoveWriter, imap.NumSet, string) error {
	return readOnly("messages cannot be moved")
}

// Expunge refuses EXPUNGE and UID EXPUNGE. CLOSE calls it too, before
// Unselect, with a writer that writes nothing (go-imap issue #672); CLOSE
// on a read-only mailbox must succeed and remove nothing (RFC 3501
// 6.4.2), so that call is a no-op.
func (s *Session) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	if uids == nil && fromClose(w) {
		return nil
	}
	return readOnly("messages cannot be removed")
}

// fromClose tells CLOSE's ExpungeWriter (no connection) from EXPUNGE's.
func fromClose(w *imapserver.ExpungeWriter) bool {
	v := reflect.ValueOf(w).Elem()
	f := v.FieldByName("conn")
	return f.IsValid() && f.Kind() == reflect.Pointer && f.IsNil()
}

// AppendLimit makes go-imap refuse an APPEND literal over the limit
// before reading it; smaller ones are read, drained and refused by Append.
func (s *Session) AppendLimit() uint32 { return uint32(min(s.srv.cfg.MaxLiteral, 1<<32-1)) }

// flagsOf converts catalog flags, dropping any that would not encode.
func flagsOf(flags []string) []imap.Flag {
	out := make([]imap.Flag, 0, len(flags))
	for _, f := range flags {
		if validFlag(f) {
			out = append(out, imap.Flag(f))
		}
	}
	return out
}

func validFlag(s string) bool {
	if s == "" || s == `\` {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i == 0 {
			continue
		}
		if c <= ' ' || c >= 0x7f || slices.Contains([]byte(`(){%*"\]`), c) {
			return false
		}
	}
	return true
}
