package archive

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"time"
)

// Run is one row of the audit log: who ran which command when, and what
// came of it. The counters are filled in by the caller.
type Run struct {
	ID       int64
	Command  string
	Args     string
	Started  time.Time
	Finished time.Time
	Status   string // ok, partial, failed, interrupted
	Counts   RunCounts
	Problems []RunProblem
}

// RunCounts are a run's totals.
type RunCounts struct {
	New      int64 `json:"new"`
	Linked   int64 `json:"linked"`
	Existing int64 `json:"existing"`
	NearDups int64 `json:"near_duplicates"`
	Failed   int64 `json:"failed"`
	Bytes    int64 `json:"bytes"`
}

// RunProblem is one message a run could not handle, or one warning.
type RunProblem struct {
	Where string `json:"where"` // source position: "mbox:/x.mbox@1234", "maildir:cur/123:2,S"
	Error string `json:"error"`
	Fatal bool   `json:"failed"` // true: the message was not archived
}

// Run statuses.
const (
	RunOK          = "ok"
	RunPartial     = "partial"
	RunFailed      = "failed"
	RunInterrupted = "interrupted"
)

// BeginRun records the start of a command in the audit log. A run whose
// process dies keeps the status "running" forever, which is itself a
// record that it never finished.
func (a *Archive) BeginRun(ctx context.Context, command, args string) (*Run, error) {
	r := &Run{Command: command, Args: args, Started: time.Now()}
	who := ""
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	host, _ := os.Hostname()
	err := a.db.QueryRowContext(ctx, `INSERT INTO runs (command, args, user, host, pid, started) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		command, args, who, host, os.Getpid(), r.Started.Unix()).Scan(&r.ID)
	if err != nil {
		return nil, fmt.Errorf("recording run: %w", err)
	}
	return r, nil
}

// FinishRun stores the run's outcome. It uses its own context so that an
// interrupted run (whose context is cancelled) is still recorded.
func (a *Archive) FinishRun(r *Run) error {
	r.Finished = time.Now()
	rep, err := json.Marshal(r.Problems)
	if err != nil {
		return err
	}
	c := r.Counts
	_, err = a.db.ExecContext(context.Background(), `UPDATE runs SET finished = ?, status = ?, new = ?, linked = ?, existing = ?, near_dups = ?, failed = ?, bytes = ?, report = ? WHERE id = ?`,
		r.Finished.Unix(), r.Status, c.New, c.Linked, c.Existing, c.NearDups, c.Failed, c.Bytes, string(rep), r.ID)
	if err != nil {
		return fmt.Errorf("recording run result: %w", err)
	}
	return nil
}
