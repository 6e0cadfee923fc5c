package faultproxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// server accepts connections; on each it sends payload, then reads what
// the client sends until EOF and reports it on got.
type server struct {
	addr string
	got  chan []byte
}

func startServer(t *testing.T, payload []byte) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{addr: ln.Addr().String(), got: make(chan []byte, 16)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.Write(payload)
				b, _ := io.ReadAll(c)
				s.got <- b
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return s
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

// exchange connects through p, sends up, closes its write side and reads
// until EOF or an error.
func exchange(t *testing.T, p *Proxy, up []byte) ([]byte, error) {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	go func() {
		c.Write(up)
		c.(*net.TCPConn).CloseWrite()
	}()
	return io.ReadAll(c)
}

func TestForward(t *testing.T) {
	down, up := pattern(300<<10), pattern(100<<10)
	s := startServer(t, down)
	p := Start(t, s.addr, nil)
	got, err := exchange(t, p, up)
	if err != nil || !bytes.Equal(got, down) {
		t.Fatalf("client got %d bytes (%v), want %d unchanged", len(got), err, len(down))
	}
	if b := <-s.got; !bytes.Equal(b, up) {
		t.Fatalf("server got %d bytes, want %d unchanged", len(b), len(up))
	}
	st := p.Stats()
	if st.Conns != 1 || st.Up != int64(len(up)) || st.Down != int64(len(down)) || st.Faults != 0 ||
		!slices.Equal(st.PerConn, []ConnStats{{int64(len(up)), int64(len(down))}}) {
		t.Errorf("stats %+v", st)
	}
}

func TestCut(t *testing.T) {
	down, up := pattern(200<<10), pattern(200<<10)
	s := startServer(t, down)
	for _, dir := range []Direction{Down, Up} {
		for _, after := range []int64{0, 1, 5000, 100 << 10} {
			p := Start(t, s.addr, func(n int) Fault {
				if n == 0 {
					return Fault{Kind: Cut, Dir: dir, After: after, Chunk: 4096}
				}
				return Fault{}
			})
			got, _ := exchange(t, p, up)
			srv := <-s.got
			if dir == Down && (int64(len(got)) != after || !bytes.Equal(got, down[:after])) {
				t.Errorf("cut down after %d: the client got %d bytes", after, len(got))
			}
			if dir == Up && (int64(len(srv)) != after || !bytes.Equal(srv, up[:after])) {
				t.Errorf("cut up after %d: the server got %d bytes", after, len(srv))
			}
			if st := p.Stats(); st.Faults != 1 {
				t.Errorf("cut %s after %d: %d faults counted", dir, after, st.Faults)
			}
			// The next connection is not faulted.
			if got, _ := exchange(t, p, up); !bytes.Equal(got, down) {
				t.Errorf("second connection got %d bytes", len(got))
			}
			<-s.got
			p.Close()
		}
	}
}

// A cut beyond the end of the stream is never injected.
func TestCutBeyondEnd(t *testing.T) {
	down := pattern(1000)
	s := startServer(t, down)
	p := Start(t, s.addr, func(int) Fault { return Fault{Kind: Cut, After: 5000} })
	if got, err := exchange(t, p, nil); err != nil || !bytes.Equal(got, down) {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
	<-s.got
	if f := p.Stats().Faults; f != 0 {
		t.Errorf("%d faults counted", f)
	}
}

// A stall forwards nothing in either direction while the sockets stay
// open, then closes them.
func TestStall(t *testing.T) {
	down := pattern(64 << 10)
	s := startServer(t, down)
	const after = 10000
	stall := 600 * time.Millisecond
	p := Start(t, s.addr, func(int) Fault { return Fault{Kind: Stall, After: after, StallFor: stall} })
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	buf := make([]byte, len(down))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, buf[:after]); err != nil || !bytes.Equal(buf[:after], down[:after]) {
		t.Fatalf("before the stall: %v", err)
	}
	// During the stall: what the client sends does not reach the server,
	// and nothing arrives, but the connection is open (a timeout, not EOF).
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, err := c.Read(buf); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("during the stall: read %d bytes, %v; want a timeout", n, err)
	}
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	// Closed: EOF, or a reset when the proxy closed with our "hello"
	// unread (Linux answers unread data with RST).
	rest, err := io.ReadAll(c)
	if (err != nil && !errors.Is(err, syscall.ECONNRESET)) || len(rest) != 0 {
		t.Fatalf("after the stall: %d bytes, %v; want EOF or a reset", len(rest), err)
	}
	if d := time.Since(start); d < stall {
		t.Errorf("the connection closed after %v, before the stall of %v ended", d, stall)
	}
	if got := <-s.got; len(got) != 0 {
		t.Errorf("the server got %q through a stall", got)
	}
}

func TestDelay(t *testing.T) {
	down := pattern(40 << 10)
	s := startServer(t, down)
	const delay, chunk = 20 * time.Millisecond, 4096
	p := Start(t, s.addr, func(int) Fault { return Fault{Delay: delay, Chunk: chunk} })
	start := time.Now()
	got, err := exchange(t, p, []byte("x"))
	if err != nil || !bytes.Equal(got, down) {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
	// At least len/chunk chunks, each held for delay (a lower bound only).
	if d, least := time.Since(start), delay*time.Duration(len(down)/chunk); d < least {
		t.Errorf("took %v, less than %v: chunks were not delayed", d, least)
	}
	if b := <-s.got; string(b) != "x" {
		t.Errorf("server got %q", b)
	}
}

// Close ends connections and stalls that would otherwise last forever,
// and every goroutine of the proxy returns.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	s := startServer(t, pattern(100<<10))
	before := runtime.NumGoroutine()
	p, err := New(s.addr, func(n int) Fault {
		if n%2 == 0 {
			return Fault{Kind: Stall, After: 100} // until Close
		}
		return Fault{Delay: time.Hour}
	})
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	for i := 0; i < 4; i++ {
		c, err := net.Dial("tcp", p.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if i%2 == 0 {
			if _, err := io.ReadFull(c, make([]byte, 100)); err != nil {
				t.Fatal(err)
			}
		}
		conns = append(conns, c)
	}
	for p.Stats().Conns < 4 {
		time.Sleep(5 * time.Millisecond)
	}
	p.Close()
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadAll(c); err != nil {
			t.Errorf("after Close: %v, want EOF", err)
		}
	}
	// The server's goroutines end with their connections; give them time.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Close, %d before Start", n, before)
	}
}

func TestSpreadLocate(t *testing.T) {
	if got := Spread(100, 3); !slices.Equal(got, []int64{25, 50, 75}) {
		t.Errorf("Spread(100, 3) = %v", got)
	}
	per := []ConnStats{{Up: 10, Down: 50}, {Up: 5, Down: 100}}
	for _, tc := range []struct {
		dir        Direction
		off        int64
		conn       int
		after      int64
		wantErrors bool
	}{
		{Down, 0, 0, 0, false}, {Down, 49, 0, 49, false}, {Down, 50, 1, 0, false}, {Down, 149, 1, 99, false},
		{Down, 150, 0, 0, true}, {Up, 12, 1, 2, false},
	} {
		c, a, err := Locate(per, tc.dir, tc.off)
		if (err != nil) != tc.wantErrors || (err == nil && (c != tc.conn || a != tc.after)) {
			t.Errorf("Locate(%s, %d) = %d, %d, %v", tc.dir, tc.off, c, a, err)
		}
	}
}

// Matrix spreads the cuts over both directions of the measured run, each
// on the connection that carries its offset, and adds a stall and a slow
// run.
func TestMatrix(t *testing.T) {
	per := []ConnStats{{Up: 100, Down: 1000}, {Up: 900, Down: 3000}}
	cases, err := Matrix(per, MatrixOptions{Cuts: 3, StallFor: time.Minute, Delay: time.Millisecond, Chunk: 512})
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		conn int
		f    Fault
	}
	wants := []want{
		{1, Fault{Kind: Cut, Dir: Down, After: 333}},                // 4000/3 = 1333: conn 1 at 333
		{1, Fault{Kind: Cut, Dir: Down, After: 1666}},               // 2666
		{1, Fault{Kind: Cut, Dir: Up, After: 400}},                  // 1000/2 = 500: conn 1 at 400
		{1, Fault{Kind: Stall, After: 1000, StallFor: time.Minute}}, // 2000
	}
	if len(cases) != len(wants)+1 {
		t.Fatalf("%d cases, want %d", len(cases), len(wants)+1)
	}
	for i, w := range wants {
		c := cases[i]
		for n := 0; n < 3; n++ {
			got := c.Plan(n)
			exp := Fault{}
			if n == w.conn {
				exp = w.f
			}
			if got != exp {
				t.Errorf("case %s, connection %d: %+v, want %+v", c.Name, n, got, exp)
			}
		}
	}
	slow := cases[len(cases)-1]
	if slow.Kind != None || slow.Plan(0) != (Fault{Delay: time.Millisecond, Chunk: 512}) || slow.Plan(5) != slow.Plan(0) {
		t.Errorf("slow case %+v: %+v", slow, slow.Plan(0))
	}
}

func TestGuard(t *testing.T) {
	if o := Guard(time.Minute, func(context.Context) error { return io.EOF }); o.Err != io.EOF || o.Crashed || o.Hung {
		t.Errorf("plain error: %+v", o)
	}
	if o := Guard(time.Minute, func(context.Context) error { panic("boom") }); !o.Crashed || !strings.Contains(o.Err.Error(), "boom") {
		t.Errorf("panic: %+v", o)
	}
	// A run that outlives the limit is a hang, even if it then ends when
	// its context is cancelled.
	o := Guard(50*time.Millisecond, func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})
	if !o.Hung || !errors.Is(o.Err, context.Canceled) {
		t.Errorf("hang: %+v", o)
	}
}
