package status

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Serve answers HTTP on ln with h until ctx is done, then shuts down,
// giving requests in flight a moment to finish. The timeouts keep a slow
// or idle client on the LAN from holding a Pi's connections, and a
// listener not already made by LimitListener is capped at
// DefaultMaxConnections.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	if _, ok := ln.(*limitListener); !ok {
		ln = LimitListener(ln, DefaultMaxConnections)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
			return
		}
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	err := srv.Serve(ln)
	close(done)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("status server on %s: %w", ln.Addr(), err)
}

// ListenAndServe listens on addr (host:port) and serves h until ctx is
// done. Use Listen and Serve instead to learn the bound address first.
func ListenAndServe(ctx context.Context, addr string, h http.Handler) error {
	ln, err := Listen(addr)
	if err != nil {
		return err
	}
	return Serve(ctx, ln, h)
}

// Listen opens the status server's TCP socket.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("status server: listen on %s: %w", addr, err)
	}
	return ln, nil
}

// URL returns the address a local browser should open for a server bound to
// addr: the unspecified address (every interface) becomes 127.0.0.1.
func URL(addr net.Addr) string {
	ta, ok := addr.(*net.TCPAddr)
	if !ok {
		return "http://" + addr.String() + "/"
	}
	ip := ta.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return "http://" + net.JoinHostPort(ip.String(), strconv.Itoa(ta.Port)) + "/"
}

// LocalURL returns the URL a tool on this machine uses to reach a status
// server configured to listen on listen (as in [http] listen): an empty or
// unspecified host becomes 127.0.0.1.
func LocalURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return DefaultServerURL
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
