package mbox_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/mailark/mailark/mbox"
)

// An importer records End after storing each message, and after a crash
// resumes there: seek, and pass the offset as BaseOffset so that the
// offsets it records stay absolute.
func Example_resume() {
	f, err := os.CreateTemp("", "example-*.mbox")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(f.Name())
	w := mbox.NewWriter(f)
	for _, body := range []string{"one\n", "From two\n", "three\r\n"} {
		if _, err := w.WriteMessage("a@example.org", time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC), strings.NewReader(body)); err != nil {
			log.Fatal(err)
		}
	}

	r := mbox.NewReader(io.NewSectionReader(f, 0, 1<<62), mbox.ReaderOptions{})
	m, err := r.Next()
	if err != nil {
		log.Fatal(err)
	}
	io.Copy(io.Discard, m.Body)
	checkpoint := m.End() // durably stored: record it

	// Later: resume.
	if _, err := f.Seek(checkpoint, io.SeekStart); err != nil {
		log.Fatal(err)
	}
	r = mbox.NewReader(f, mbox.ReaderOptions{BaseOffset: checkpoint})
	for {
		m, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		body, err := io.ReadAll(m.Body)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%d-%d %s %q\n", m.Offset, m.End(), m.Date.Format(time.DateTime), body)
	}
	f.Close()
	// Output:
	// 49-104 2006-01-02 15:04:05 "From two\n"
	// 104-155 2006-01-02 15:04:05 "three\n"
}
