// Package dovecottest runs a private Dovecot IMAP/POP3 server for mailark's
// interop tests, and lets tests ask Dovecot how it reads a Maildir++ tree.
//
// # Server
//
// Start gives each test its own Dovecot on 127.0.0.1 with free ports for
// IMAP (STARTTLS offered), IMAPS, POP3 (STLS offered) and POP3S, a fresh
// self-signed certificate (TLSConfig trusts it), users from Options (default
// alice, bob, carol with password "secret") and Maildir++ homes, '/' as the
// hierarchy separator. Indexes and control files live outside the Maildirs,
// so Maildir(user) holds only what a Maildir reader expects. Everything is
// under Server.Dir and removed in t.Cleanup (set DOVECOTTEST_KEEP=1 to keep
// it); the system's Dovecot service and /etc/dovecot are not used.
//
// Test data goes in with Fill (one IMAP APPEND each, ~1,000/s) or FillBulk
// (files written into the Maildir, several thousand/s); folders change with
// CreateFolder, DeleteFolder and RecreateFolder (new UIDVALIDITY); Doveadm
// runs any other doveadm command against the server.
//
// # Counting a tree
//
// FolderCounts needs no server: it runs doveadm over a private mirror of
// any Maildir++ tree and returns the message count per IMAP folder name,
// leaving the tree itself untouched.
//
// # Requirements
//
// Debian packages dovecot-imapd and dovecot-pop3d (they pull in
// dovecot-core, which has doveadm and creates the users dovecot and
// dovenull). Without them tests skip, or fail when CI is set. Dovecot
// refuses to access mail as root, so when the tests run as root mail is
// owned by the system user "mailarktest" (MAILARK_TEST_MAIL_USER), created
// with useradd on first use; as any other user Dovecot runs unprivileged.
package dovecottest
