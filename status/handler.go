package status

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"stratum1/status/web"
)

// Handler serves the status views over HTTP:
//
//	/              the dashboard (embedded HTML, CSS and JS)
//	/api/status    the current Snapshot as JSON
//	/api/history   the History as columnar JSON (?since=unix-ms for newer samples only)
//	/metrics       Prometheus text format
//
// It is read-only: only GET and HEAD are accepted, and only from loopback,
// private (RFC 1918, ULA) and link-local addresses, because the daemon's
// state (position, upstream peers) is nobody else's business.
type Handler struct {
	provider atomic.Pointer[providerBox]
	history  *History
	mux      *http.ServeMux
}

// providerBox lets an interface value live behind an atomic.Pointer.
type providerBox struct{ p Provider }

// NewHandler returns a handler reading snapshots from p and samples from h.
// Either may be nil: the API then answers 503 (no provider) or an empty
// history.
func NewHandler(p Provider, h *History) *Handler {
	hd := &Handler{history: h, mux: http.NewServeMux()}
	hd.SetProvider(p)

	reg := prometheus.NewRegistry()
	reg.MustRegister(newCollector(hd.snapshot))
	hd.mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	hd.mux.HandleFunc("/api/status", hd.serveStatus)
	hd.mux.HandleFunc("/api/history", hd.serveHistory)
	assets, err := fs.Sub(web.FS, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	hd.mux.Handle("/", http.FileServerFS(assets))
	return hd
}

// SetProvider swaps the snapshot source, for example when the daemon
// rebuilds its appliance after a configuration reload. Safe to call while
// requests are being served.
func (h *Handler) SetProvider(p Provider) {
	if p == nil {
		h.provider.Store(nil)
		return
	}
	h.provider.Store(&providerBox{p})
}

// snapshot returns the current snapshot and false when there is no provider.
func (h *Handler) snapshot() (Snapshot, bool) {
	b := h.provider.Load()
	if b == nil {
		return Snapshot{}, false
	}
	return b.p.Snapshot(), true
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !allowedRemote(r.RemoteAddr) {
		http.Error(w, "forbidden: the status server answers only local and private networks", http.StatusForbidden)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed: the status server is read-only", http.StatusMethodNotAllowed)
		return
	}
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
	hdr.Set("Referrer-Policy", "no-referrer")
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) serveStatus(w http.ResponseWriter, r *http.Request) {
	s, ok := h.snapshot()
	if !ok {
		http.Error(w, "status not available yet", http.StatusServiceUnavailable)
		return
	}
	b, err := json.Marshal(s)
	if err != nil {
		http.Error(w, "encode status: "+err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, b)
}

func (h *Handler) serveHistory(w http.ResponseWriter, r *http.Request) {
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			http.Error(w, "since: want Unix milliseconds", http.StatusBadRequest)
			return
		}
		since = time.UnixMilli(ms)
	}
	var b []byte
	if h.history == nil {
		b = (&History{}).AppendJSON(nil, since)
	} else {
		b = h.history.AppendJSON(nil, since)
	}
	writeJSON(w, b)
}

func writeJSON(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.Write(b)
	w.Write([]byte{'\n'})
}

// allowedRemote reports whether a client at remote (host:port, as in
// http.Request.RemoteAddr) may see the status.
func allowedRemote(remote string) bool {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return false
	}
	return AllowedClient(ap.Addr())
}

// AllowedClient reports whether the status server answers a. It accepts
// loopback, RFC 1918 and ULA (fc00::/7) private addresses and link-local
// unicast addresses, IPv4-mapped or not.
func AllowedClient(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast()
}
