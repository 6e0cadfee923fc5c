// Package faultproxy is a TCP proxy on 127.0.0.1 that breaks connections
// on purpose, for tests of network clients against real servers.
//
// # Faults
//
// Each accepted connection is dialled through to the target and gets the
// Fault its Plan returns (by the connection's index, from 0):
//
//   - Cut: once After bytes have been forwarded in Dir, both sockets are
//     closed, as if the network had dropped the connection.
//   - Stall: once After bytes have been forwarded in Dir, nothing more is
//     forwarded in either direction and nothing more is read, while both
//     sockets stay open, for StallFor; then both are closed. A stall
//     longer than a client's timeouts shows whether the client notices.
//   - Delay (with any kind): every chunk read, in both directions, waits
//     Delay before it is forwarded; Chunk bounds a chunk's size. The
//     connection is slow but never silent for longer than Delay.
//
// After counts from the start of the connection; a fault whose After the
// connection never reaches is not injected (Stats.Faults counts those
// that were).
//
// # Lifetime
//
// Start closes the proxy in t.Cleanup: the listener, every connection and
// every stall end, and Close returns only when all of the proxy's
// goroutines have.
package faultproxy

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Direction is which way bytes flow.
type Direction int

const (
	Down Direction = iota // server to client
	Up                    // client to server
)

func (d Direction) String() string {
	if d == Up {
		return "up"
	}
	return "down"
}

// Kind is what happens to a connection once After bytes have passed.
type Kind int

const (
	None  Kind = iota // forward everything
	Cut               // close both sockets
	Stall             // forward and read nothing for StallFor, then close
)

func (k Kind) String() string {
	switch k {
	case Cut:
		return "cut"
	case Stall:
		return "stall"
	}
	return "none"
}

// Fault is the plan for one connection. The zero value forwards
// everything unchanged.
type Fault struct {
	Kind     Kind
	Dir      Direction     // the direction whose bytes After counts
	After    int64         // bytes forwarded in Dir before the fault
	StallFor time.Duration // how long a Stall lasts; 0 means until Close
	Delay    time.Duration // wait before forwarding each chunk, both directions
	Chunk    int           // largest chunk read at once; 0 means 32 KiB
}

// Plan returns the fault of the n-th connection accepted (from 0) since
// Start or the last SetPlan. A nil Plan forwards everything.
type Plan func(n int) Fault

// Stats are the proxy's counters since Start or the last SetPlan.
type Stats struct {
	Conns  int   // connections accepted
	Up     int64 // bytes forwarded client to server, all connections
	Down   int64 // bytes forwarded server to client
	Faults int   // cuts and stalls injected
	// PerConn are the bytes forwarded on each connection, by index.
	PerConn []ConnStats
}

// ConnStats are one connection's bytes.
type ConnStats struct{ Up, Down int64 }

// Proxy forwards connections to Addr's target.
type Proxy struct {
	Addr   string // 127.0.0.1:port to connect to
	target string
	plan   Plan
	ln     net.Listener
	quit   chan struct{}
	ctx    context.Context // ends with quit: cancels dials
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	mu     sync.Mutex
	conns  map[*link]bool
	stats  *Stats // of the current period (since Start or SetPlan)
	closed bool
}

// Start listens on a free port of 127.0.0.1 and forwards every connection
// to target with the fault plan gives it. It is closed in t.Cleanup.
func Start(t testing.TB, target string, plan Plan) *Proxy {
	t.Helper()
	p, err := New(target, plan)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// New is Start without a test: the caller must Close the proxy.
func New(target string, plan Plan) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, plan: plan, ln: ln,
		quit: make(chan struct{}), conns: map[*link]bool{}, stats: &Stats{}}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// SetPlan starts a new period: plan (nil: no faults) decides the faults
// of the connections accepted from now on, numbered from 0 again, and
// Stats counts from zero. Connections already open keep their faults and
// count into the period they were accepted in.
func (p *Proxy) SetPlan(plan Plan) {
	p.mu.Lock()
	p.plan = plan
	p.stats = &Stats{}
	p.mu.Unlock()
}

// Stats returns a copy of the counters.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := *p.stats
	s.PerConn = append([]ConnStats(nil), p.stats.PerConn...)
	return s
}

// Close stops accepting, drops every connection, ends every stall and
// waits for the proxy's goroutines. It may be called more than once.
func (p *Proxy) Close() {
	p.once.Do(func() {
		close(p.quit)
		p.cancel()
		p.ln.Close()
		p.mu.Lock()
		p.closed = true
		for l := range p.conns {
			l.close()
		}
		p.mu.Unlock()
	})
	p.wg.Wait()
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			return
		}
		st := p.stats
		n := st.Conns
		st.Conns++
		st.PerConn = append(st.PerConn, ConnStats{})
		plan := p.plan
		p.mu.Unlock()
		var f Fault
		if plan != nil {
			f = plan(n)
		}
		if f.Chunk <= 0 {
			f.Chunk = 32 << 10
		}
		p.wg.Add(1)
		go p.handle(st, n, c, f)
	}
}

// link is one proxied connection.
type link struct {
	stats          *Stats // the period it counts into, under Proxy.mu
	n              int    // its index in the period
	client, server net.Conn
	once           sync.Once
	done           chan struct{} // closed when both sockets are
	stall          chan struct{} // closed when a stall starts
	stallOnce      sync.Once
}

func (l *link) close() {
	l.once.Do(func() {
		l.client.Close()
		if l.server != nil {
			l.server.Close()
		}
		close(l.done)
	})
}

func (p *Proxy) handle(st *Stats, n int, client net.Conn, f Fault) {
	defer p.wg.Done()
	l := &link{stats: st, n: n, client: client, done: make(chan struct{}), stall: make(chan struct{})}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		client.Close()
		return
	}
	p.conns[l] = true
	p.mu.Unlock()
	defer func() {
		l.close()
		p.mu.Lock()
		delete(p.conns, l)
		p.mu.Unlock()
	}()
	d := net.Dialer{Timeout: 10 * time.Second}
	server, err := d.DialContext(p.ctx, "tcp", p.target)
	if err != nil {
		return
	}
	p.mu.Lock()
	l.server = server
	p.mu.Unlock()
	select {
	case <-l.done: // Close ran while dialling
		server.Close()
		return
	default:
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pump(l, f, Up, server, client) }()
	go func() { defer wg.Done(); p.pump(l, f, Down, client, server) }()
	wg.Wait()
}

// pump forwards src to dst in one direction until either side fails, a
// cut, or the end of a stall; then it closes the link. An orderly end of
// src (EOF) is passed on as a half-close, and the other direction goes
// on.
func (p *Proxy) pump(l *link, f Fault, dir Direction, dst, src net.Conn) {
	halfClosed := false
	defer func() {
		if !halfClosed {
			l.close()
		}
	}()
	buf := make([]byte, f.Chunk)
	var sent int64
	faulted := f.Kind != None && f.Dir == dir
	for {
		want := int64(len(buf))
		if faulted {
			left := f.After - sent
			if left <= 0 {
				p.inject(l, f)
				return
			}
			want = min(want, left)
		}
		if stalled(l) {
			<-l.done // read nothing more: the peer's writes back up
			return
		}
		k, err := src.Read(buf[:want])
		if k > 0 {
			if f.Delay > 0 {
				t := time.NewTimer(f.Delay)
				select {
				case <-t.C:
				case <-l.done:
					t.Stop()
					return
				}
			}
			if stalled(l) {
				<-l.done // hold what was read: nothing passes a stall
				return
			}
			if _, werr := dst.Write(buf[:k]); werr != nil {
				return
			}
			sent += int64(k)
			p.count(l, dir, int64(k))
		}
		if err != nil {
			if cw, ok := dst.(interface{ CloseWrite() error }); ok && errors.Is(err, io.EOF) {
				halfClosed = cw.CloseWrite() == nil
			}
			return
		}
	}
}

func stalled(l *link) bool {
	select {
	case <-l.stall:
		return true
	default:
		return false
	}
}

// inject carries out f on l once its byte count is reached.
func (p *Proxy) inject(l *link, f Fault) {
	p.mu.Lock()
	l.stats.Faults++
	p.mu.Unlock()
	if f.Kind == Cut {
		l.close()
		return
	}
	l.stallOnce.Do(func() { close(l.stall) })
	var end <-chan time.Time
	if f.StallFor > 0 {
		t := time.NewTimer(f.StallFor)
		defer t.Stop()
		end = t.C
	}
	select {
	case <-end:
		l.close()
	case <-l.done:
	case <-p.quit:
		l.close()
	}
}

func (p *Proxy) count(l *link, dir Direction, k int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if dir == Up {
		l.stats.Up += k
		l.stats.PerConn[l.n].Up += k
	} else {
		l.stats.Down += k
		l.stats.PerConn[l.n].Down += k
	}
}

// Spread returns cuts offsets spread evenly over a stream of total bytes,
// strictly inside it: total*(i+1)/(cuts+1) for i in [0, cuts).
func Spread(total int64, cuts int) []int64 {
	out := make([]int64, 0, cuts)
	for i := 0; i < cuts; i++ {
		out = append(out, max(1, total*int64(i+1)/int64(cuts+1)))
	}
	return out
}

// Locate maps an offset in the concatenation of the connections' streams
// in direction dir (as one unfaulted run measured them) to the
// connection that carries it and the offset within that connection.
func Locate(per []ConnStats, dir Direction, offset int64) (conn int, after int64, err error) {
	for i, c := range per {
		k := c.Down
		if dir == Up {
			k = c.Up
		}
		if offset < k {
			return i, offset, nil
		}
		offset -= k
	}
	return 0, 0, errors.New("faultproxy: offset beyond the measured stream")
}
