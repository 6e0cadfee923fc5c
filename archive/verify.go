package archive

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Problem kinds reported by Verify.
const (
	ProblemCorrupt  = "corrupt"  // the file's bytes do not hash to the ID in its name
	ProblemMissing  = "missing"  // the catalog lists a file that is not there
	ProblemOrphaned = "orphaned" // a message file the catalog does not know
	ProblemForeign  = "foreign"  // a file in cur/ or new/ whose name is not mailark's
	ProblemCatalog  = "catalog"  // the catalog disagrees with itself or with a file
)

// Problem is one thing Verify found wrong.
type Problem struct {
	Kind   string `json:"kind"`
	Path   string `json:"path"` // relative to ARCHIVE/maildir
	Detail string `json:"detail"`
}

// VerifyReport is the result of Verify.
type VerifyReport struct {
	Files    int       `json:"files"`   // message file names checked
	Hashed   int       `json:"hashed"`  // distinct inodes re-hashed
	Bytes    int64     `json:"bytes"`   // bytes re-hashed
	Entries  int       `json:"entries"` // catalog entries checked
	Problems []Problem `json:"problems"`
}

// OK reports whether nothing is wrong.
func (r *VerifyReport) OK() bool { return len(r.Problems) == 0 }

// ParseFileName splits mailark's "<unix>.<sha256hex>:2,<flags>" name.
func ParseFileName(name string) (date int64, id ID, info string, err error) {
	base, info, _ := strings.Cut(name, ":2,")
	ds, hs, ok := strings.Cut(base, ".")
	if !ok {
		return 0, id, "", fmt.Errorf("file name %q is not <date>.<sha256>", name)
	}
	if date, err = strconv.ParseInt(ds, 10, 64); err != nil {
		return 0, id, "", fmt.Errorf("file name %q: bad date: %w", name, err)
	}
	if id, err = ParseID(hs); err != nil {
		return 0, id, "", fmt.Errorf("file name %q: %w", name, err)
	}
	return date, id, info, nil
}

type fileToCheck struct {
	rel  string
	id   ID
	ino  uint64
	dev  uint64
	size int64
}

// Verify re-hashes every message file and checks it against its name and
// the catalog, and every catalog entry against the files. progress, if not
// nil, is called with bytes as they are hashed.
func (a *Archive) Verify(ctx context.Context, progress func(files int, bytes int64)) (*VerifyReport, error) {
	rep := &VerifyReport{Problems: []Problem{}}
	want, err := a.catalogFiles(ctx)
	if err != nil {
		return nil, err
	}
	rep.Entries = len(want)

	var files []fileToCheck
	root := a.MaildirRoot()
	err = a.walkMessageFiles(func(rel string, fi os.FileInfo) {
		name := filepath.Base(rel)
		_, id, _, perr := ParseFileName(name)
		if perr != nil {
			rep.Problems = append(rep.Problems, Problem{ProblemForeign, rel, perr.Error()})
			return
		}
		wantID, ok := want[rel]
		if !ok {
			rep.Problems = append(rep.Problems, Problem{ProblemOrphaned, rel, "file is not in the catalog (left by an interrupted run? 'mailark reindex' adopts it)"})
		} else {
			delete(want, rel)
			if wantID != id {
				rep.Problems = append(rep.Problems, Problem{ProblemCatalog, rel, "catalog has id " + wantID.String()})
			}
		}
		f := fileToCheck{rel: rel, id: id, size: fi.Size()}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			f.ino, f.dev = st.Ino, uint64(st.Dev)
		}
		files = append(files, f)
	})
	if err != nil {
		return nil, err
	}
	rep.Files = len(files)
	for rel := range want {
		rep.Problems = append(rep.Problems, Problem{ProblemMissing, rel, "catalog entry has no file"})
	}

	// Hash each inode once: links share their bytes.
	type inode struct{ dev, ino uint64 }
	seen := map[inode]int{}
	var jobs []int
	for i, f := range files {
		if f.ino != 0 {
			k := inode{f.dev, f.ino}
			if _, dup := seen[k]; dup {
				continue
			}
			seen[k] = i
		}
		jobs = append(jobs, i)
	}
	results := make([]ID, len(files))
	errs := make([]error, len(files))
	var mu sync.Mutex
	var done int
	var doneBytes int64
	ch := make(chan int)
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 256<<10)
			for i := range ch {
				results[i], errs[i] = hashFile(filepath.Join(root, files[i].rel), buf)
				mu.Lock()
				done++
				doneBytes += files[i].size
				if progress != nil {
					progress(done, doneBytes)
				}
				mu.Unlock()
			}
		}()
	}
	for _, i := range jobs {
		if ctx.Err() != nil {
			break
		}
		ch <- i
	}
	close(ch)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rep.Hashed, rep.Bytes = len(jobs), doneBytes
	for i, f := range files {
		j := i
		if f.ino != 0 {
			j = seen[inode{f.dev, f.ino}]
		}
		switch {
		case errs[j] != nil:
			rep.Problems = append(rep.Problems, Problem{ProblemCorrupt, f.rel, errs[j].Error()})
		case results[j] != f.id:
			rep.Problems = append(rep.Problems, Problem{ProblemCorrupt, f.rel, "content hashes to " + results[j].String()})
		}
	}
	sort.Slice(rep.Problems, func(i, j int) bool {
		if rep.Problems[i].Path != rep.Problems[j].Path {
			return rep.Problems[i].Path < rep.Problems[j].Path
		}
		return rep.Problems[i].Kind < rep.Problems[j].Kind
	})
	return rep, nil
}

func hashFile(path string, buf []byte) (ID, error) {
	f, err := os.Open(path)
	if err != nil {
		return ID{}, err
	}
	defer f.Close()
	h := NewHasher()
	if _, err := io.CopyBuffer(h, f, buf); err != nil {
		return ID{}, fmt.Errorf("reading: %w", err)
	}
	return h.Sum(), nil
}

// catalogFiles maps each entry's relative path to its message ID.
func (a *Archive) catalogFiles(ctx context.Context) (map[string]ID, error) {
	rows, err := a.rdb.QueryContext(ctx, `SELECT f.account, f.name, e.filename, m.hash
		FROM entries e JOIN folders f ON f.id = e.folder_id JOIN messages m ON m.id = e.message`)
	if err != nil {
		return nil, fmt.Errorf("reading catalog: %w", err)
	}
	defer rows.Close()
	out := map[string]ID{}
	dirs := map[string]string{}
	for rows.Next() {
		var acct, folder, name string
		var hash []byte
		if err := rows.Scan(&acct, &folder, &name, &hash); err != nil {
			return nil, fmt.Errorf("reading catalog: %w", err)
		}
		dir, ok := dirs[folder]
		if !ok {
			if dir, err = FolderDir(folder); err != nil {
				return nil, err
			}
			dirs[folder] = dir
		}
		var id ID
		copy(id[:], hash)
		out[filepath.Join(acct, dir, "cur", name)] = id
	}
	return out, rows.Err()
}

// walkMessageFiles calls fn for every file in cur/ and new/ of every
// folder of every account, with its path relative to ARCHIVE/maildir.
func (a *Archive) walkMessageFiles(fn func(rel string, fi os.FileInfo)) error {
	root := a.MaildirRoot()
	accounts, err := os.ReadDir(root)
	if err != nil {
		return fmt.Errorf("reading %s: %w", root, err)
	}
	for _, acct := range accounts {
		if !acct.IsDir() {
			continue
		}
		adir := filepath.Join(root, acct.Name())
		folders := []string{""}
		subs, err := os.ReadDir(adir)
		if err != nil {
			return fmt.Errorf("reading %s: %w", adir, err)
		}
		for _, s := range subs {
			if s.IsDir() && strings.HasPrefix(s.Name(), ".") && s.Name() != "." && s.Name() != ".." {
				folders = append(folders, s.Name())
			}
		}
		for _, f := range folders {
			for _, sub := range []string{"cur", "new"} {
				d := filepath.Join(adir, f, sub)
				ents, err := os.ReadDir(d)
				if err != nil {
					if os.IsNotExist(err) {
						continue
					}
					return fmt.Errorf("reading %s: %w", d, err)
				}
				for _, e := range ents {
					if !e.Type().IsRegular() {
						continue
					}
					fi, err := e.Info()
					if err != nil {
						continue // removed meanwhile
					}
					fn(filepath.Join(acct.Name(), f, sub, e.Name()), fi)
				}
			}
		}
	}
	return nil
}
