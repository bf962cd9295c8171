package status

import (
	"encoding/json"
	"io/fs"
	"math"
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
// state (position, upstream peers) is nobody else's business. The Host
// header must name this machine (see hostPolicy), or the answer is 421,
// and the receiver's position is rounded to about a kilometre unless
// [http] exact_position asks otherwise.
type Handler struct {
	provider atomic.Pointer[providerBox]
	settings atomic.Pointer[handlerSettings]
	history  *History
	mux      *http.ServeMux
}

// providerBox lets an interface value live behind an atomic.Pointer.
type providerBox struct{ p Provider }

// handlerSettings are the parts of [http] the handler applies.
type handlerSettings struct {
	hosts         *hostPolicy
	exactPosition bool
}

// NewHandler returns a handler reading snapshots from p and samples from h.
// Either may be nil: the API then answers 503 (no provider) or an empty
// history.
func NewHandler(p Provider, h *History) *Handler {
	hd := &Handler{history: h, mux: http.NewServeMux()}
	hd.SetProvider(p)
	hd.Configure(DefaultHTTPConfig())

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

// Configure applies c's host names and position precision (Listen and
// MaxConnections belong to the listener). Safe to call while requests are
// being served, as on a configuration reload.
func (h *Handler) Configure(c HTTPConfig) {
	h.settings.Store(&handlerSettings{hosts: systemHostPolicy(c.Hosts), exactPosition: c.ExactPosition})
}

// snapshot returns the current snapshot and false when there is no provider.
// The position is rounded unless exact_position is set.
func (h *Handler) snapshot() (Snapshot, bool) {
	b := h.provider.Load()
	if b == nil {
		return Snapshot{}, false
	}
	s := b.p.Snapshot()
	if !h.settings.Load().exactPosition {
		s.GPS.Latitude = roundPosition(s.GPS.Latitude)
		s.GPS.Longitude = roundPosition(s.GPS.Longitude)
	}
	return s, true
}

// roundPosition rounds a latitude or longitude to 0.01 degree: at most
// 1.1 km north-south, less east-west. Enough for a dashboard to show the
// region, not the house.
func roundPosition(deg float64) float64 { return math.Round(deg*100) / 100 }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !allowedRemote(r.RemoteAddr) {
		http.Error(w, "forbidden: the status server answers only local and private networks", http.StatusForbidden)
		return
	}
	if !h.settings.Load().hosts.allowed(r) {
		http.Error(w, "misdirected request: the Host header does not name this machine (add the name to [http] hosts)", http.StatusMisdirectedRequest)
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
