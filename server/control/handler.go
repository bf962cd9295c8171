package control

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"sync/atomic"
	"time"

	"stratum1/status"
)

// Handler answers mode 6 requests from trusted networks with what a
// snapshot function reports. It satisfies server.Control. It is safe for
// concurrent use.
type Handler struct {
	snapshot func() status.Snapshot
	allowed  atomic.Pointer[[]netip.Prefix]
	limiter  atomic.Pointer[limiterBox]

	requests atomic.Uint64
	answered atomic.Uint64
	refused  atomic.Uint64
	errors   atomic.Uint64
	dropped  atomic.Uint64
	limited  atomic.Uint64
}

// Limiter charges a client's rate-limit budget for the answers it gets
// (access.Policy and access.Reloadable implement it). AdmitControl reports
// whether an answer of replyBytes, all fragments together, may go to src,
// and if so charges it.
type Limiter interface {
	AdmitControl(src netip.Addr, replyBytes int, now time.Time) bool
}

type limiterBox struct{ l Limiter }

// Counters count what the handler did with the requests it was given.
type Counters struct {
	Requests uint64 `json:"requests"`
	Answered uint64 `json:"answered"` // with data
	Refused  uint64 `json:"refused"`  // from outside the allowed networks: no reply
	Errors   uint64 `json:"errors"`   // answered with an error code (bad opcode, writes, mrulist...)
	Dropped  uint64 `json:"dropped"`  // too short or not a request: no reply
	Limited  uint64 `json:"limited"`  // over the client's rate limit: no reply
}

// New returns a handler that renders snapshot() and answers only sources in
// allowed (typically access.Policy.QueryNetworks; loopback by default
// there). With no networks it answers nobody.
func New(snapshot func() status.Snapshot, allowed ...netip.Prefix) *Handler {
	h := &Handler{snapshot: snapshot}
	h.SetAllowed(allowed...)
	return h
}

// SetAllowed replaces the networks allowed to query, for config reloads.
func (h *Handler) SetAllowed(allowed ...netip.Prefix) {
	nets := make([]netip.Prefix, len(allowed))
	for i, p := range allowed {
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		nets[i] = p.Masked()
	}
	h.allowed.Store(&nets)
}

// SetLimiter makes every answer pass l, which counts its size against the
// client's rate limit; nil answers without limit.
func (h *Handler) SetLimiter(l Limiter) {
	if l == nil {
		h.limiter.Store(nil)
		return
	}
	h.limiter.Store(&limiterBox{l})
}

// Allowed reports whether src may query.
func (h *Handler) Allowed(src netip.Addr) bool {
	src = src.Unmap().WithZone("")
	for _, p := range *h.allowed.Load() {
		if p.Contains(src) {
			return true
		}
	}
	return false
}

// Counters returns the handler's counters.
func (h *Handler) Counters() Counters {
	return Counters{
		Requests: h.requests.Load(),
		Answered: h.answered.Load(),
		Refused:  h.refused.Load(),
		Errors:   h.errors.Load(),
		Dropped:  h.dropped.Load(),
		Limited:  h.limited.Load(),
	}
}

// HandleControl returns the datagrams that answer req from src: none for a
// source outside the allowed networks (whatever the request), none for
// datagrams that are not mode 6 requests, an error response for requests
// it will not or cannot serve, and otherwise the data in fragments.
func (h *Handler) HandleControl(req []byte, src netip.AddrPort) [][]byte {
	h.requests.Add(1)
	if !h.Allowed(src.Addr()) {
		// The access policy already drops these; checking again here keeps
		// the handler safe on its own, since its answers are larger than
		// the requests and must never reach a spoofed victim.
		h.refused.Add(1)
		return nil
	}
	r, err := parseRequest(req)
	var fe *formatError
	switch {
	case errors.As(err, &fe):
		out := [][]byte{errorResponse(fe.req, 0, fe.code)}
		if !h.admit(src, out) {
			return nil
		}
		h.errors.Add(1)
		return out
	case err != nil:
		h.dropped.Add(1)
		return nil
	}
	out := h.answer(r)
	if !h.admit(src, out) {
		return nil
	}
	if len(out) == 1 && out[0][1]&flagError != 0 {
		h.errors.Add(1)
	} else {
		h.answered.Add(1)
	}
	return out
}

// admit asks the limiter whether out may go to src, counting a refusal.
func (h *Handler) admit(src netip.AddrPort, out [][]byte) bool {
	lb := h.limiter.Load()
	if lb == nil {
		return true
	}
	n := 0
	for _, b := range out {
		n += len(b)
	}
	if lb.l.AdmitControl(src.Addr(), n, time.Now()) {
		return true
	}
	h.limited.Add(1)
	return false
}

func (h *Handler) answer(r request) [][]byte {
	switch r.opcode {
	case opReadStat, opReadVar, opReadClock:
	case opWriteVar, opWriteClock, opSetTrap, opUnsetTrap, opConfigure, opSaveConfig,
		opReadMRU, opReadOrdlst, opReqNonce:
		// Nothing changes the daemon over the network, and the traffic
		// lists (mrulist, and the nonce that starts it) are not served.
		return [][]byte{errorResponse(r, 0, errPermission)}
	default:
		return [][]byte{errorResponse(r, 0, errBadOpcode)}
	}
	v := render(h.snapshot())
	if r.opcode == opReadStat && r.assoc == 0 {
		data := make([]byte, 0, 4*len(v.assocs))
		for _, a := range v.assocs {
			data = binary.BigEndian.AppendUint16(data, a.id)
			data = binary.BigEndian.AppendUint16(data, a.status)
		}
		return response(r, v.leap, v.status, data)
	}
	vars, st := v.vars, v.status
	if r.assoc != 0 {
		i := int(r.assoc) - 1
		if i < 0 || i >= len(v.assocs) {
			return [][]byte{errorResponse(r, v.leap, errBadAssoc)}
		}
		vars, st = v.assocs[i].vars, v.assocs[i].status
	}
	if r.opcode == opReadClock {
		a := h.clockAssoc(v, r.assoc)
		if a == nil {
			return [][]byte{errorResponse(r, v.leap, errBadAssoc)}
		}
		vars, st = a.clock, 0 // clock status: okay, no events
	}
	sel, ok := selectVars(vars, r.data)
	if !ok {
		return [][]byte{errorResponse(r, v.leap, errUnknownVar)}
	}
	data := encode(sel)
	if len(data) > maxResponse {
		data = data[:maxResponse]
	}
	return response(r, v.leap, st, data)
}

// clockAssoc is the refclock that opcode 4 reads: the association asked
// for, or for association 0 the system peer (as in ntpd).
func (h *Handler) clockAssoc(v view, id uint16) *association {
	for i := range v.assocs {
		a := &v.assocs[i]
		if !a.refclock {
			continue
		}
		if a.id == id || (id == 0 && (a.peer.Tally == "*" || a.peer.Tally == "o")) {
			return a
		}
	}
	return nil
}
