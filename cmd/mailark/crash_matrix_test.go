package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
)

// The crash matrix (issue #9): every resumable command is run with the
// real binary, killed with SIGKILL at a random moment, rerun to completion,
// and its end state compared with an uninterrupted run of the same command.
//
// MAILARK_CRASH_KILLS sets the kill moments per command (default 3; the long
// form, bench/crash_matrix.sh, uses 20), MAILARK_CRASH_SEED the seed of
// their delays (default: the clock; logged so a run can be repeated), and
// MAILARK_MATRIX_OUT a file to append one TSV line per command to:
//
//	crash <command> <runs> <faults injected> <lost> <duplicated> <crashes> <hangs> <uncertain>
//
// runs counts the kill moments tried; a kill that lands after the process
// exited on its own is a run without a fault. A crash is a run that exits
// with another status than the uninterrupted run, panics or dies of a
// signal we did not send; a hang is a run that outlives its timeout;
// uncertain counts messages the rerun reported as of uncertain delivery
// and left out by design (export smtp), which are not counted as lost.

// crashRun is one fresh instance of a command: its archive, arguments and
// the views of its state the matrix needs.
type crashRun struct {
	archive string   // --archive
	args    []string // the command and its flags
	env     []string // added to the environment (passwords, batch size)
	// committed reports whether the run has committed work yet (catalog
	// entries, receipts): the first kill moment waits for it.
	// It runs beside the process, so it must not fail the test.
	committed func() bool
	// state returns the end state as a multiset of keys naming a message
	// and where it is ("INBOX\x00<id>"); it is compared with the
	// reference's key by key.
	state func(t *testing.T) map[string]int
	// check, if set, tests what else must hold after the run (a POP3
	// maildrop emptied by --delete); it returns a problem or "".
	check func(t *testing.T) string
	// uncertain, if set, returns the keys the command may leave out by
	// design after a kill, given the rerun's stderr: export smtp marks a
	// message as being sent right before the final dot, and a kill after
	// the mark and before the dot leaves a message that was never sent
	// but that the rerun, unable to tell, reports as uncertain instead of
	// risking a duplicate. It fails the test when the rerun did not say so.
	uncertain func(t *testing.T, rerunStderr string) map[string]bool
}

// crashCommand is one row of the matrix. setup starts the servers and
// makes the source once, and returns the maker of fresh runs: run(-1) is
// the uninterrupted reference, run(i) the i-th kill moment.
type crashCommand struct {
	name  string
	setup func(t *testing.T, kills int) (run func(t *testing.T, i int) crashRun)
}

// crashRow is what the matrix reports for one command.
type crashRow struct {
	runs, faults, lost, duplicated, crashes, hangs int
	uncertain                                      int // left out by design and reported (crashRun.uncertain)
}

func TestCrashMatrix(t *testing.T) {
	kills := 3
	if v := os.Getenv("MAILARK_CRASH_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("MAILARK_CRASH_KILLS=%q: want a positive number", v)
		}
		kills = n
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("MAILARK_CRASH_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("MAILARK_CRASH_SEED=%q: want a number", v)
		}
		seed = n
	}
	t.Logf("%d kill moments per command, MAILARK_CRASH_SEED=%d", kills, seed)
	cmds := crashCommands()
	rows := make([]*crashRow, len(cmds))
	// The commands run side by side (as many as -parallel allows, by
	// default one per core): most of a run's time is fsync and process
	// start-up, so this shortens the matrix without changing what it tests.
	t.Run("commands", func(t *testing.T) {
		// Last first: export smtp is the longest (Postfix's start and
		// queue), so it should not be the one left running alone.
		for i := len(cmds) - 1; i >= 0; i-- {
			c := cmds[i]
			t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
				t.Parallel()
				rng := rand.New(rand.NewPCG(seed, uint64(i)))
				row := &crashRow{}
				rows[i] = row
				defer func() {
					if t.Skipped() { // no server here: no line in the matrix
						rows[i] = nil
					}
				}()
				crashMatrixRow(t, c, kills, rng, row)
				t.Logf("%s: %d runs, %d faults injected, %d lost, %d duplicated, %d crashes, %d hangs, %d reported uncertain",
					c.name, row.runs, row.faults, row.lost, row.duplicated, row.crashes, row.hangs, row.uncertain)
				if row.lost+row.duplicated+row.crashes+row.hangs > 0 {
					t.Errorf("%s: %d lost, %d duplicated, %d crashes, %d hangs after %d faults",
						c.name, row.lost, row.duplicated, row.crashes, row.hangs, row.faults)
				}
				// A matrix row without a single fault proves nothing.
				if row.faults == 0 {
					t.Errorf("%s: none of the %d kills landed while the command ran", c.name, row.runs)
				}
			})
		}
	})
	// In the order of the matrix, whatever order the commands ended in,
	// with what a command that stopped early had counted.
	if out := os.Getenv("MAILARK_MATRIX_OUT"); out != "" {
		var b strings.Builder
		for i, row := range rows {
			if row != nil {
				fmt.Fprintf(&b, "crash\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n",
					cmds[i].name, row.runs, row.faults, row.lost, row.duplicated, row.crashes, row.hangs, row.uncertain)
			}
		}
		appendTSV(t, out, b.String())
	}
}

// crashMatrixRow runs the reference and then each kill moment of c,
// counting into row as it goes.
func crashMatrixRow(t *testing.T, c crashCommand, kills int, rng *rand.Rand, row *crashRow) {
	newRun := c.setup(t, kills)
	ref := newRun(t, -1)
	refOut := crashExec(t, ref, 5*time.Minute, nil)
	if refOut.hung || refOut.killed || refOut.panicked || (refOut.code != 0 && refOut.code != exitPartial) {
		t.Fatalf("the uninterrupted run failed: exit %d (hung %v)\n%s", refOut.code, refOut.hung, refOut.stderr)
	}
	want := ref.state(t)
	if len(want) == 0 {
		t.Fatal("the uninterrupted run left nothing to compare with")
	}
	crashConsistent(t, "the uninterrupted run", ref)
	d := refOut.elapsed
	// Generous: the machine is shared; a run that takes this long is stuck.
	timeout := 60*time.Second + 10*d
	t.Logf("uninterrupted run: exit %d in %v, %d keys in its end state", refOut.code, d.Round(time.Millisecond), len(want))

	for i := range kills {
		r := newRun(t, i)
		row.runs++
		// The first moment is just after the run's first commit, the others
		// anywhere in the reference's duration.
		var kill crashKill
		var what string
		if i == 0 {
			extra := time.Duration(rng.Int64N(int64(d/10) + 1))
			kill = killAfterCommit(r, timeout, extra)
			what = fmt.Sprintf("after the first commit + %v", extra.Round(time.Millisecond))
		} else {
			delay := time.Duration(rng.Int64N(int64(d) + 1))
			kill = killAfter(delay)
			what = fmt.Sprintf("after %v", delay.Round(time.Millisecond))
		}
		out := crashExec(t, r, timeout, kill)
		var rerunStderr string
		switch {
		case out.hung:
			row.hangs++
			t.Errorf("run %d: no exit within %v (kill %s)\n%s", i, timeout, what, out.stderr)
			continue
		case out.killed:
			row.faults++
			out2 := crashExec(t, r, timeout, nil)
			rerunStderr = out2.stderr
			t.Logf("run %d: SIGKILL %s; the rerun exited %d in %v", i, what, out2.code, out2.elapsed.Round(time.Millisecond))
			if out2.hung {
				row.hangs++
				t.Errorf("run %d: the rerun after the kill did not exit within %v\n%s", i, timeout, out2.stderr)
				continue
			}
			if bad := out2.crashed(refOut.code); bad != "" {
				row.crashes++
				t.Errorf("run %d: the rerun after the kill %s\n%s", i, bad, out2.stderr)
				continue
			}
		default:
			if bad := out.crashed(refOut.code); bad != "" {
				row.crashes++
				t.Errorf("run %d (before the SIGKILL planned %s) %s\n%s", i, what, bad, out.stderr)
				continue
			}
			t.Logf("run %d: completed before the SIGKILL planned %s: no fault injected", i, what)
		}
		var maybe map[string]bool
		if r.uncertain != nil && out.killed {
			maybe = r.uncertain(t, rerunStderr)
		}
		lost, dup, unc := crashDiff(t.Errorf, t.Logf, i, want, r.state(t), maybe)
		row.uncertain += unc
		row.lost += lost
		row.duplicated += dup
		crashConsistent(t, fmt.Sprintf("run %d", i), r)
	}
}

// crashDiff compares an end state with the reference's, key by key: a key
// with fewer copies is lost (uncertain instead when maybe has it), one
// with more (or one the reference does not have) duplicated. It reports
// what it counts through errorf and logf.
func crashDiff(errorf, logf func(format string, args ...any), run int, want, got map[string]int, maybe map[string]bool) (lost, dup, uncertain int) {
	shown := 0
	report := func(format string, args ...any) {
		if shown++; shown <= 10 { // the counts say the rest
			errorf(format, args...)
		}
	}
	for k, n := range want {
		if g := got[k]; g < n && maybe[k] {
			uncertain += n - g
			logf("run %d: %q not delivered: the killed run had marked it as being sent, and the rerun reported it as uncertain", run, crashKey(k))
		} else if g < n {
			lost += n - g
			report("run %d: lost %q (%d of %d copies)", run, crashKey(k), g, n)
		}
	}
	for k, g := range got {
		if n := want[k]; g > n {
			dup += g - n
			report("run %d: duplicated %q (%d copies, the uninterrupted run has %d)", run, crashKey(k), g, n)
		}
	}
	return lost, dup, uncertain
}

func crashKey(k string) string { return strings.ReplaceAll(k, "\x00", " ") }

// crashConsistent checks the archive after a completed run: verify is
// clean (files, catalog and index coverage), stats counts every message as
// indexed, and the command's own check holds.
func crashConsistent(t *testing.T, what string, r crashRun) {
	t.Helper()
	if v := runCLI(t, r.archive, "verify"); v.code != 0 {
		t.Errorf("%s: verify exit %d\n%s%s", what, v.code, v.stdout, v.stderr)
	}
	var s archive.Stats
	st := runCLI(t, r.archive, "stats", "--json")
	if err := json.Unmarshal([]byte(st.stdout), &s); err != nil {
		t.Errorf("%s: stats --json: exit %d, %v\n%s", what, st.code, err, st.stderr)
	} else if s.Indexed != s.Unique || s.Unique == 0 {
		// Indexed counts unique messages, so that is what it must equal.
		t.Errorf("%s: index coverage %d of %d unique messages", what, s.Indexed, s.Unique)
	}
	if r.check != nil {
		if p := r.check(t); p != "" {
			t.Errorf("%s: %s", what, p)
		}
	}
}

// crashKill delivers SIGKILL to a started process at its moment; exited
// is closed when the process has ended on its own.
type crashKill func(p *os.Process, exited <-chan struct{})

// killAfter kills after a fixed delay.
func killAfter(d time.Duration) crashKill {
	return func(p *os.Process, exited <-chan struct{}) {
		select {
		case <-exited:
		case <-time.After(d):
			p.Signal(syscall.SIGKILL)
		}
	}
}

// killAfterCommit kills extra after the run's first commit. Polling the
// catalog rather than the clock makes the kill land after a commit however
// loaded the machine is.
func killAfterCommit(r crashRun, limit, extra time.Duration) crashKill {
	return func(p *os.Process, exited <-chan struct{}) {
		deadline := time.After(limit)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-exited:
				return
			case <-deadline:
				return // crashExec reports the hang
			case <-tick.C:
			}
			if r.committed() {
				break
			}
		}
		select {
		case <-exited:
		case <-time.After(extra):
			p.Signal(syscall.SIGKILL)
		}
	}
}

// crashOutcome is how one process ended.
type crashOutcome struct {
	code     int  // exit status; -1 when a signal ended it
	killed   bool // by our SIGKILL
	signal   syscall.Signal
	hung     bool // outlived its timeout (then killed)
	panicked bool
	stderr   string
	elapsed  time.Duration
}

// crashed says what is wrong with a run that was not killed, or "".
func (o crashOutcome) crashed(want int) string {
	switch {
	case o.panicked:
		return "panicked"
	case o.code < 0:
		return fmt.Sprintf("died of %v", o.signal)
	case o.code != want:
		return fmt.Sprintf("exited %d (the uninterrupted run: %d)", o.code, want)
	}
	return ""
}

// crashExec runs r once with kill (nil: none) and a timeout.
func crashExec(t *testing.T, r crashRun, timeout time.Duration, kill crashKill) crashOutcome {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"--archive", r.archive}, r.args...)...)
	cmd.Env = append(os.Environ(), r.env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting mailark %v: %v", r.args, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	var o crashOutcome
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	if kill != nil {
		go kill(cmd.Process, exited)
	}
	select {
	case <-exited:
	case <-timer.C:
		o.hung = true
		cmd.Process.Kill()
		<-exited
	}
	o.elapsed = time.Since(start)
	o.stderr = stderr.String()
	o.code = cmd.ProcessState.ExitCode()
	// The wait status, not the signal's delivery, says whether the kill
	// landed: a process that already exited keeps its own status.
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		o.signal = ws.Signal()
		o.killed = o.signal == syscall.SIGKILL && !o.hung
	}
	o.panicked = strings.Contains(o.stderr, "panic: ") || strings.Contains(o.stderr, "fatal error: ")
	return o
}

func appendTSV(t *testing.T, path, line string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatalf("opening MAILARK_MATRIX_OUT: %v", err)
	}
	if _, err := f.WriteString(line); err != nil {
		t.Fatalf("writing MAILARK_MATRIX_OUT: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("writing MAILARK_MATRIX_OUT: %v", err)
	}
}

// TestCrashDiff: the matrix's own accounting. A key missing from the end
// state is lost unless the command reported it as uncertain; an extra
// copy is a duplicate either way.
func TestCrashDiff(t *testing.T) {
	want := map[string]int{"a": 1, "b": 1, "c": 2}
	got := map[string]int{"c": 3, "d": 1}
	var errs []string
	errorf := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	lost, dup, unc := crashDiff(errorf, func(string, ...any) {}, 0, want, got, map[string]bool{"b": true, "d": true})
	if lost != 1 || dup != 2 || unc != 1 || len(errs) != 3 {
		t.Errorf("lost %d, duplicated %d, uncertain %d, %d errors %q; want 1, 2, 1, 3 errors", lost, dup, unc, len(errs), errs)
	}
}
