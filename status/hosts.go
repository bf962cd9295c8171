package status

import (
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"
)

// hostPolicy decides which Host headers the status server answers. A web
// page on the LAN could otherwise point a DNS name it controls at the box
// (DNS rebinding) and read /api/status as same-origin: the browser still
// sends the attacker's name in Host, so answering only the box's own names
// and addresses defeats it.
//
// Allowed are: no Host at all (HTTP/1.0; browsers always send one),
// localhost, the machine's host name, its first label and that label with
// .local (mDNS), the configured names, loopback addresses, the address the
// request arrived on, and the addresses of the machine's interfaces.
type hostPolicy struct {
	any   bool                // "*" configured: every name is allowed
	names map[string]struct{} // lower case, without a trailing dot

	// lookupAddrs lists the interface addresses (net.InterfaceAddrs in
	// production). They change with DHCP, so they are looked up again
	// when an unknown address is asked for, at most once per
	// addrRefresh.
	lookupAddrs func() ([]netip.Addr, error)
	mu          sync.Mutex
	addrs       map[netip.Addr]struct{}
	lookedUp    time.Time
}

// addrRefresh bounds how often a Host naming an unknown address makes the
// policy list the interfaces again.
const addrRefresh = 5 * time.Second

// newHostPolicy builds the policy from the configured names and the host
// name (os.Hostname in production; "" when unknown).
func newHostPolicy(configured []string, hostname string, lookupAddrs func() ([]netip.Addr, error)) *hostPolicy {
	p := &hostPolicy{names: map[string]struct{}{"localhost": {}}, lookupAddrs: lookupAddrs}
	add := func(n string) {
		if n = canonicalHost(n); n != "" {
			p.names[n] = struct{}{}
		}
	}
	if hostname != "" {
		add(hostname)
		first, _, _ := strings.Cut(hostname, ".")
		add(first)
		add(first + ".local")
	}
	for _, n := range configured {
		if n == "*" {
			p.any = true
		}
		if a, err := netip.ParseAddr(n); err == nil {
			n = a.Unmap().WithZone("").String()
		}
		add(n)
	}
	return p
}

// systemHostPolicy is newHostPolicy for this machine.
func systemHostPolicy(configured []string) *hostPolicy {
	hostname, _ := os.Hostname()
	return newHostPolicy(configured, hostname, interfaceAddrs)
}

// interfaceAddrs lists the addresses of this machine's interfaces.
func interfaceAddrs() ([]netip.Addr, error) {
	ifas, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, 0, len(ifas))
	for _, ifa := range ifas {
		if ipn, ok := ifa.(*net.IPNet); ok {
			if a, ok := netip.AddrFromSlice(ipn.IP); ok {
				out = append(out, a.Unmap())
			}
		}
	}
	return out, nil
}

// canonicalHost lower-cases a name and drops a trailing dot.
func canonicalHost(h string) string {
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

// allowed reports whether r's Host header names this machine.
func (p *hostPolicy) allowed(r *http.Request) bool {
	if p.any || r.Host == "" {
		return true
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		_, ok := p.names[canonicalHost(host)]
		return ok
	}
	a = a.Unmap().WithZone("")
	if a.IsLoopback() {
		return true
	}
	if local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ap, err := netip.ParseAddrPort(local.String()); err == nil && ap.Addr().Unmap().WithZone("") == a {
			return true
		}
	}
	if _, ok := p.names[a.String()]; ok {
		return true
	}
	return p.isInterfaceAddr(a)
}

// isInterfaceAddr reports whether a belongs to one of the interfaces,
// listing them again when a is unknown and the last list is old enough.
func (p *hostPolicy) isInterfaceAddr(a netip.Addr) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.addrs[a]; ok {
		return true
	}
	if p.lookupAddrs == nil || (p.addrs != nil && time.Since(p.lookedUp) < addrRefresh) {
		return false
	}
	p.lookedUp = time.Now()
	list, err := p.lookupAddrs()
	if err != nil {
		if p.addrs == nil {
			p.addrs = map[netip.Addr]struct{}{}
		}
		return false
	}
	p.addrs = make(map[netip.Addr]struct{}, len(list))
	for _, x := range list {
		p.addrs[x.Unmap().WithZone("")] = struct{}{}
	}
	_, ok := p.addrs[a]
	return ok
}
