package status

import (
	"bytes"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// busyResponse is what a connection over the cap gets before it is closed.
const busyResponse = "HTTP/1.1 503 Service Unavailable\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Connection: close\r\n" +
	"Retry-After: 5\r\n" +
	"Content-Length: 53\r\n\r\n" +
	"too many connections to the status server; try again\n"

// LimitListener returns a listener that serves at most max connections at
// once. A connection beyond that is accepted, answered 503 once its request
// head has arrived, and closed, so a client hears why rather than waiting
// in the kernel's backlog; the accept loop keeps turning. At most max such
// refusals are under way at once; beyond them a connection is closed
// without a word.
func LimitListener(ln net.Listener, max int) net.Listener {
	if max < 1 {
		max = DefaultMaxConnections
	}
	l := &limitListener{Listener: ln}
	l.max.Store(int64(max))
	return l
}

type limitListener struct {
	net.Listener
	max      atomic.Int64
	open     atomic.Int64 // connections handed to the server
	refusing atomic.Int64 // connections being answered 503
}

// setMax changes the cap; connections already served stay.
func (l *limitListener) setMax(max int) {
	if max < 1 {
		max = DefaultMaxConnections
	}
	l.max.Store(int64(max))
}

// refuseTimeout bounds how long a refused connection may take to send its
// request head.
const refuseTimeout = time.Second

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		limit := l.max.Load()
		if l.open.Add(1) <= limit {
			return &limitConn{Conn: c, release: func() { l.open.Add(-1) }}, nil
		}
		l.open.Add(-1)
		if l.refusing.Add(1) > limit {
			l.refusing.Add(-1)
			c.Close()
			continue
		}
		go func() {
			defer l.refusing.Add(-1)
			refuse(c)
		}()
	}
}

// refuse reads the request head (a client that has not finished sending
// ignores an answer, and closing on unread data resets the connection),
// answers 503 and closes.
func refuse(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(refuseTimeout))
	buf := make([]byte, 0, 4<<10)
	for len(buf) < cap(buf) && !bytes.Contains(buf, []byte("\r\n\r\n")) {
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			break
		}
	}
	_, _ = io.WriteString(c, busyResponse)
}

// limitConn gives its slot back on the first Close.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
