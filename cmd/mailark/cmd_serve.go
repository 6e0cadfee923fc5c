package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/mailark/mailark/importers"
	"github.com/mailark/mailark/internal/config"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/imapserver"
	"github.com/mailark/mailark/search"
	"github.com/spf13/cobra"
)

func init() { register("server", newServeCommand) }

type serveOptions struct {
	listen, tlsListen string
	tlsCert, tlsKey   string
	users             string
	maxConns, maxIP   int
	shutdownWait      time.Duration
	syncEvery         time.Duration
}

func newServeCommand(g *globalOptions) *cobra.Command {
	o := &serveOptions{}
	c := &cobra.Command{
		Use:   "serve",
		Short: "Serve the archive read-only over IMAP",
		Long: `Serve the archive over IMAP, read-only, to the users in the users file
('mailark users add'). Mail clients (Thunderbird, mutt, mbsync, OfflineIMAP,
curl, Python's imaplib) can browse, search and copy everything; nothing they
send changes a message, a flag or a folder: SELECT answers [READ-ONLY], and
STORE, APPEND, COPY, MOVE, EXPUNGE, CREATE, DELETE and RENAME are refused.

A user mapped to one account sees its folders as they are (INBOX, Sent, ...);
one mapped to several sees a top-level folder per account (work/INBOX).
UIDVALIDITY and UIDs are the catalog's, so clients keep their caches across
restarts. SEARCH TEXT and BODY use the search index (whole words and
phrases); other criteria use the catalog and the message headers.

Passwords need TLS, except on a loopback address: --listen on another
address needs --tls-cert and --tls-key, which also enable STARTTLS there;
--tls-listen adds a port with TLS from the first byte (IMAPS).

The server owns the archive while it runs (imports and other writers fail
with exit status 4 and its pid). SIGINT or SIGTERM stop it gracefully:
no new connections, each client finishes its current command and is told
BYE; after 10 seconds the rest are closed.

Limits: --max-connections in all, --max-per-ip from one address; a client
must log in within a minute; failed logins are delayed (0.5 s doubling to
8 s, per address and per user); a client sending commands faster than
5000/s for 10 s is disconnected; literals are refused unread over 64 KiB
for APPEND (which is refused anyway) and 4 KiB otherwise.`,
		Example: `  mailark users add alice --accounts work
  mailark serve
  mailark serve --listen 0.0.0.0:143 --tls-cert cert.pem --tls-key key.pem --tls-listen 0.0.0.0:993`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runServe(cmd.Context(), g, o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:1143", "address for IMAP (plaintext, STARTTLS when a certificate is given)")
	f.StringVar(&o.tlsListen, "tls-listen", "", "address for IMAP over TLS (IMAPS), optional")
	f.StringVar(&o.tlsCert, "tls-cert", "", "PEM certificate (chain) for TLS")
	f.StringVar(&o.tlsKey, "tls-key", "", "PEM private key for TLS")
	f.StringVar(&o.users, "users", "", "users file (default ARCHIVE/users)")
	f.DurationVar(&o.syncEvery, "sync-every", 0, "also run 'mailark sync' for the accounts of mailark.toml this often (e.g. 15m); new mail shows up in connected clients")
	f.IntVar(&o.maxConns, "max-connections", 200, "most client connections at once")
	f.IntVar(&o.maxIP, "max-per-ip", 20, "most connections from one address")
	f.DurationVar(&o.shutdownWait, "shutdown-wait", 10*time.Second, "how long clients may finish their commands on SIGTERM")
	f.MarkHidden("shutdown-wait")
	return withExitStatus(c)
}

// isLoopback reports whether a listen address binds loopback only.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func runServe(ctx context.Context, g *globalOptions, o *serveOptions) error {
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return &usageError{errors.New("--tls-cert and --tls-key go together")}
	}
	if o.tlsListen != "" && o.tlsCert == "" {
		return &usageError{errors.New("--tls-listen needs --tls-cert and --tls-key")}
	}
	if o.listen != "" && !isLoopback(o.listen) && o.tlsCert == "" {
		return &usageError{fmt.Errorf("--listen %s is not a loopback address: clients would send passwords in clear, so it needs --tls-cert and --tls-key (STARTTLS)", o.listen)}
	}
	if o.syncEvery < 0 {
		return &usageError{errors.New("--sync-every must be positive")}
	}
	if o.syncEvery > 0 {
		// Fail now, not at the first tick, on a config that cannot work.
		cfg, err := config.Load(filepath.Join(g.archiveDir, config.FileName))
		if err != nil {
			return err
		}
		if _, err := selectAccounts(g, cfg, nil); err != nil {
			return err
		}
	}
	if o.maxConns < 1 || o.maxIP < 1 {
		return &usageError{errors.New("--max-connections and --max-per-ip must be at least 1")}
	}
	var tlsCfg *tls.Config
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return fmt.Errorf("loading the TLS certificate: %w", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	a, err := archive.Open(ctx, g.archiveDir, archive.Options{Logger: g.log})
	if err != nil {
		return err
	}
	defer a.Close()
	users := o.users
	if users == "" {
		users = filepath.Join(a.Dir(), "users")
	}
	if list, err := imapserver.ReadUsersFile(users); err != nil {
		return err
	} else if len(list) == 0 {
		fmt.Fprintf(g.stderr, "mailark: warning: %s has no users: nobody can log in (add one with 'mailark users add NAME')\n", users)
	}
	ix, err := openIndex(g, search.Dir(a.Dir()))
	if err != nil {
		return err
	}
	defer ix.Close()
	// Catch the index up in the background: SEARCH TEXT works meanwhile,
	// on what is indexed.
	syncDone := make(chan struct{})
	syncCtx, stopSync := context.WithCancel(ctx)
	defer func() { stopSync(); <-syncDone }()
	go func() {
		defer close(syncDone)
		n, err := search.Sync(syncCtx, a, ix, nil, nil)
		if err != nil && syncCtx.Err() == nil {
			g.log.Error("indexing", "err", err)
		} else if n > 0 {
			g.log.Info("indexed messages", "count", n)
		}
		if o.syncEvery > 0 {
			syncLoop(syncCtx, g, a, ix, o.syncEvery)
		}
	}()

	srv, err := imapserver.New(imapserver.Config{Archive: a, Index: ix, UsersFile: users, Logger: g.log,
		TLSConfig: tlsCfg, PlainLoopback: true, MaxConnections: o.maxConns, MaxPerIP: o.maxIP})
	if err != nil {
		return err
	}
	errc := make(chan error, 2)
	var addrs []string
	listen := func(addr string, implicit bool) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listening: %w", err)
		}
		addrs = append(addrs, map[bool]string{false: "imap://", true: "imaps://"}[implicit]+ln.Addr().String())
		go func() {
			if implicit {
				errc <- srv.ServeTLS(ln)
			} else {
				errc <- srv.Serve(ln)
			}
		}()
		return nil
	}
	if o.listen != "" {
		if err := listen(o.listen, false); err != nil {
			return err
		}
	}
	if o.tlsListen != "" {
		if err := listen(o.tlsListen, true); err != nil {
			srv.Shutdown(context.Background())
			return err
		}
	}
	if len(addrs) == 0 {
		return &usageError{errors.New("nothing to listen on: give --listen or --tls-listen")}
	}
	if !g.quiet {
		fmt.Fprintf(g.stderr, "mailark: serving %s read-only on %v (pid %d; users in %s)\n", a.Dir(), addrs, os.Getpid(), users)
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownWait)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		g.log.Warn("closing connections that did not finish in time", "err", err)
	}
	if serveErr != nil {
		return fmt.Errorf("serving: %w", serveErr)
	}
	if !g.quiet {
		fmt.Fprintln(g.stderr, "mailark: server stopped")
	}
	return nil
}

// syncLoop runs the configured accounts every interval inside the server,
// which owns the archive and its index; the server's IDLE and polling show
// what arrives. A failing round is logged and the next one tries again.
func syncLoop(ctx context.Context, g *globalOptions, a *archive.Archive, ix *search.Index, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cfg, err := config.Load(filepath.Join(a.Dir(), config.FileName))
		if err != nil {
			g.log.Error("sync: reading the config", "err", err)
			continue
		}
		accounts, err := selectAccounts(g, cfg, nil)
		if err != nil {
			g.log.Error("sync", "err", err)
			continue
		}
		parallel := cfg.Sync.Parallel
		if parallel < 1 {
			parallel = 2
		}
		sg := *g
		sg.quiet = true // no progress bar inside a server
		results, err := syncAccounts(ctx, &sg, a, accounts, parallel, func(ctx context.Context, rep *importers.Report) error {
			_, err := search.Sync(ctx, a, ix, nil, nil)
			return err
		})
		if err != nil {
			g.log.Error("sync", "err", err)
		}
		for _, r := range results {
			lvl := slog.LevelInfo
			if r.Status != archive.RunOK {
				lvl = slog.LevelWarn
			}
			g.log.Log(ctx, lvl, "sync", "account", r.Account, "status", r.Status, "new", r.Counts.New, "linked", r.Counts.Linked, "failed", r.Counts.Failed, "error", r.Error)
		}
	}
}
