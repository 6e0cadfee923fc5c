package faultproxy

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"testing"
	"time"
)

// The network-fault matrix tests of the importers and exporters share the
// shape of their cases (Matrix), their guard against crashes and hangs
// (Guard) and their report line (Report).

// Cuts is how many cut points a matrix test spreads over its byte stream:
// MAILARK_NETFAULT_CUTS, or 3 (the short form run by go test).
func Cuts(t testing.TB) int {
	t.Helper()
	v := os.Getenv("MAILARK_NETFAULT_CUTS")
	if v == "" {
		return 3
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("MAILARK_NETFAULT_CUTS=%q: want a positive number", v)
	}
	return n
}

// Case is one faulted run of a matrix.
type Case struct {
	Name string
	Kind Kind // Cut, Stall, or None for the slow run
	Plan Plan
}

// MatrixOptions shape the cases of Matrix.
type MatrixOptions struct {
	Cuts int
	// StallFor is how long the stall lasts; 0 means until the proxy is
	// closed, far longer than any client timeout: a client without one
	// then hangs until Guard's limit.
	StallFor time.Duration
	Delay    time.Duration // per chunk in the slow run: shorter than them
	Chunk    int           // chunk size in the slow run; 0 means 32 KiB
}

// Matrix returns the cases for a job whose unfaulted run moved per (by
// connection, see Stats.PerConn): o.Cuts cuts spread evenly over the
// run's bytes, the even-numbered ones over the server-to-client stream and
// the odd ones over the client-to-server stream (each cut hits the one
// connection that carries its offset, by index); a stall in the middle of
// the server-to-client stream; and a run with every chunk of every
// connection delayed.
func Matrix(per []ConnStats, o MatrixOptions) ([]Case, error) {
	var total [2]int64
	for _, c := range per {
		total[Down] += c.Down
		total[Up] += c.Up
	}
	var cases []Case
	n := [2]int{(o.Cuts + 1) / 2, o.Cuts / 2}
	for _, dir := range []Direction{Down, Up} {
		for _, off := range Spread(total[dir], n[dir]) {
			conn, after, err := Locate(per, dir, off)
			if err != nil {
				return nil, err
			}
			after = inside(per[conn], dir, after)
			f := Fault{Kind: Cut, Dir: dir, After: after}
			cases = append(cases, Case{Name: fmt.Sprintf("cut-%s-%d", dir, off), Kind: Cut, Plan: only(conn, f)})
		}
	}
	off := total[Down] / 2
	conn, after, err := Locate(per, Down, off)
	if err != nil {
		return nil, err
	}
	cases = append(cases, Case{Name: fmt.Sprintf("stall-down-%d", off), Kind: Stall,
		Plan: only(conn, Fault{Kind: Stall, Dir: Down, After: after, StallFor: o.StallFor})})
	slow := Fault{Delay: o.Delay, Chunk: o.Chunk}
	cases = append(cases, Case{Name: "slow", Kind: None, Plan: func(int) Fault { return slow }})
	return cases, nil
}

// inside keeps a cut off the last bytes of its connection: a server's
// answers vary in length from run to run (Dovecot's "(0.001 + 0.000
// secs)" timings), so a cut measured near the end of a stream may lie
// beyond it in the faulted run and never be injected.
func inside(c ConnStats, dir Direction, after int64) int64 {
	k := c.Down
	if dir == Up {
		k = c.Up
	}
	margin := min(1024, k/4)
	return max(1, min(after, k-margin))
}

// only faults connection conn alone.
func only(conn int, f Fault) Plan {
	return func(n int) Fault {
		if n == conn {
			return f
		}
		return Fault{}
	}
}

// RunLimit is how long a faulted run may take before a matrix test
// counts it as hung: generous, for a loaded machine, and far beyond the
// short timeouts the tests give the clients.
const RunLimit = 30 * time.Second

// Outcome is how a guarded run ended.
type Outcome struct {
	Err     error // fn's error; for a crash, the panic and its stack
	Crashed bool  // fn panicked
	Hung    bool  // fn did not return within the limit
}

// Guard runs fn with a context that ends after limit and reports a panic
// or a hang instead of dying of it. A hung fn is given another 30 s to
// notice its context before Guard gives up waiting for it.
func Guard(limit time.Duration, fn func(ctx context.Context) error) Outcome {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan Outcome, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- Outcome{Err: fmt.Errorf("panic: %v\n%s", v, debug.Stack()), Crashed: true}
			}
		}()
		done <- Outcome{Err: fn(ctx)}
	}()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case o := <-done:
		return o
	case <-t.C:
	}
	cancel()
	select {
	case o := <-done:
		o.Hung = true
		o.Err = fmt.Errorf("still running after %v: %w", limit, o.Err)
		return o
	case <-time.After(30 * time.Second):
		return Outcome{Hung: true, Err: fmt.Errorf("still running after %v, and 30 s after its context was cancelled", limit)}
	}
}

// Row is one package's line of the matrix report.
type Row struct {
	Name       string // the package, e.g. "importers/imap"
	Runs       int    // faulted runs
	Faults     int    // faults injected (cuts and stalls that happened, slow runs)
	Lost       int    // messages missing after the rerun without faults
	Duplicated int    // copies beyond one after it
	Crashes    int    // panics
	Hangs      int    // runs that did not end within their limit
}

// Run runs one faulted job: fn under c's plan on p, guarded by
// RunLimit, then p without faults again. It counts the run in r and
// ends the test on a crash or a hang of what (the job's name in the
// messages); a cut or stall that never happened fails the test, since
// the case then proved nothing. A slow case (Kind None) counts as
// injected.
func (r *Row) Run(t testing.TB, p *Proxy, c Case, what string, fn func(ctx context.Context) error) Outcome {
	t.Helper()
	p.SetPlan(c.Plan)
	out := Guard(RunLimit, fn)
	st := p.Stats()
	injected := st.Faults
	p.SetPlan(nil)
	r.Runs++
	if c.Kind == None {
		injected = 1
	}
	r.Faults += injected
	if out.Crashed {
		r.Crashes++
		t.Fatalf("the %s panicked: %v", what, out.Err)
	}
	if out.Hung {
		r.Hangs++
		t.Fatalf("the %s hung: %v", what, out.Err)
	}
	if injected == 0 {
		t.Errorf("the fault was not injected; per connection %+v", st.PerConn)
	}
	return out
}

// Report appends r to the file named by MAILARK_MATRIX_OUT, if set, as
// "netfault\tname\truns\tfaults\tlost\tduplicated\tcrashes\thangs".
func Report(t testing.TB, r Row) {
	t.Helper()
	path := os.Getenv("MAILARK_MATRIX_OUT")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Errorf("writing the matrix report: %v", err)
		return
	}
	_, err = fmt.Fprintf(f, "netfault\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", r.Name, r.Runs, r.Faults, r.Lost, r.Duplicated, r.Crashes, r.Hangs)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Errorf("writing the matrix report %s: %v", path, err)
	}
}
