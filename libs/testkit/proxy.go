package testkit

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Proxy is a TCP proxy a test can cut and restore, to take a real server
// (ClickHouse, a service) away from its clients and give it back on the
// same address: a network outage, not a fake.
type Proxy struct {
	t      testing.TB
	addr   string
	target string

	mu      sync.Mutex
	lis     net.Listener
	conns   map[net.Conn]struct{}
	stalled bool
	flowing *sync.Cond // signalled when stalled ends
	wg      sync.WaitGroup
}

// NewProxy forwards a free loopback address (Addr) to target until the
// test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p := &Proxy{t: t, target: target, conns: map[net.Conn]struct{}{}}
	p.flowing = sync.NewCond(&p.mu)
	p.listen("127.0.0.1:0")
	p.addr = p.lis.Addr().String()
	t.Cleanup(func() {
		p.Cut()
		p.wg.Wait()
	})
	return p
}

// Addr is where clients connect.
func (p *Proxy) Addr() string { return p.addr }

// Stall stops forwarding bytes, both ways, but keeps every connection
// open: a server that hangs or a network that drops packets, which the
// clients cannot tell from a slow answer. Flow resumes their bytes.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = true
}

// Flow forwards again what Stall held back, and what follows.
func (p *Proxy) Flow() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = false
	p.flowing.Broadcast()
}

// Cut closes every connection and refuses new ones until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = false
	p.flowing.Broadcast()
	if p.lis != nil {
		_ = p.lis.Close()
		p.lis = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}

// Restore accepts connections on Addr again.
func (p *Proxy) Restore() {
	p.t.Helper()
	p.listen(p.addr)
}

func (p *Proxy) listen(addr string) {
	var lis net.Listener
	var err error
	// The port was just ours; another socket may hold it for a moment.
	require.Eventually(p.t, func() bool {
		lis, err = net.Listen("tcp", addr)
		return err == nil
	}, 5*time.Second, 10*time.Millisecond, "listen on %s: %v", addr, err)
	p.mu.Lock()
	p.lis = lis
	p.mu.Unlock()
	p.wg.Go(func() { p.accept(lis) })
}

func (p *Proxy) accept(lis net.Listener) {
	for {
		in, err := lis.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = in.Close()
			continue
		}
		if !p.track(in, out) {
			return
		}
		p.wg.Go(func() { p.pipe(in, out) })
		p.wg.Go(func() { p.pipe(out, in) })
	}
}

// track remembers a connection pair, unless the proxy was cut meanwhile.
func (p *Proxy) track(in, out net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lis == nil {
		_, _ = in.Close(), out.Close()
		return false
	}
	p.conns[in], p.conns[out] = struct{}{}, struct{}{}
	return true
}

func (p *Proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.stalled {
				p.flowing.Wait()
			}
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	_, _ = dst.Close(), src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}
