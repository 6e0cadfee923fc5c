package extract

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// fuzzTimeout flags inputs that are pathologically slow; fuzz inputs are
// a few KB and take microseconds.
const fuzzTimeout = 3 * time.Second

// fuzzOpts are small limits, so short inputs reach every limit path.
var fuzzOpts = &Options{MaxBodyText: 4096, MaxParts: 64, MaxDepth: 8, MaxHeaderBytes: 4096}

// FuzzExtract checks that no input panics, that every output string is
// valid UTF-8 without NUL, that Body respects MaxBodyText, and that the
// result does not depend on how the input is split into reads.
func FuzzExtract(f *testing.F) {
	for _, raw := range append(append(allFixtures(), tableRaws()...), emlFixtures()...) {
		f.Add([]byte(raw))
	}
	// Small shapes that stress the structure code.
	f.Add([]byte(msg("Content-Type: multipart/mixed; boundary=a", "", "--a", "Content-Type: multipart/alternative; boundary=a", "", "--a", "", "x", "--a--")))
	f.Add([]byte(strings.Repeat("Content-Type: message/rfc822\r\n\r\n", 20) + "Subject: deep\r\n\r\nx"))
	f.Add([]byte(msg("Content-Type: text/html", "", "<script>"+strings.Repeat("<", 100))))
	f.Add([]byte("Subject: =?utf-7?Q?+AGEAYgBj-?=\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		type result struct {
			d   *Doc
			err error
		}
		ch := make(chan result, 1)
		go func() {
			d, err := Extract(bytes.NewReader(data), fuzzOpts)
			ch <- result{d, err}
		}()
		var d *Doc
		var err error
		select {
		case r := <-ch:
			d, err = r.d, r.err
		case <-time.After(fuzzTimeout):
			t.Fatalf("Extract took longer than %v on %d bytes", fuzzTimeout, len(data))
		}
		if err != nil {
			t.Fatalf("Extract failed on a reader that cannot fail: %v", err)
		}
		checkInvariants(t, d, fuzzOpts)
		d2, err := Extract(iotest.HalfReader(bytes.NewReader(data)), fuzzOpts)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(d, d2) {
			t.Errorf("result depends on read sizes:\n%+v\n%+v", d, d2)
		}
	})
}
