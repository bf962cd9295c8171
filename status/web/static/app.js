// stratum1 dashboard: polls api/status and api/history and draws them with
// plain SVG. No libraries, no network beyond this server. The rendered
// element counts are written to data-* attributes so that a headless browser
// test can check what was drawn.
"use strict";

const STATUS_MS = 2000;
const HISTORY_MS = 10000;
const DAY_MS = 24 * 3600 * 1000;
const SVGNS = "http://www.w3.org/2000/svg";

const hist = { t: [], offset_ns: [], pps_jitter_ns: [], frequency_ppm: [], replies_per_s: [] };
let statusTimer = 0, historyTimer = 0, updates = 0;

const $ = (id) => document.getElementById(id);

function svg(tag, attrs, parent) {
  const e = document.createElementNS(SVGNS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}

function text(parent, x, y, s, anchor) {
  const e = svg("text", { x: x, y: y, "text-anchor": anchor || "start" }, parent);
  e.textContent = s;
  return e;
}

// fmtNs renders nanoseconds with a unit that keeps three or four digits.
function fmtNs(ns, signed) {
  if (ns === null || ns === undefined || !isFinite(ns)) return "–";
  const a = Math.abs(ns);
  const sign = signed && ns > 0 ? "+" : "";
  if (a < 1e3) return sign + ns.toFixed(0) + " ns";
  if (a < 1e6) return sign + (ns / 1e3).toFixed(a < 1e4 ? 2 : 1) + " µs";
  if (a < 1e9) return sign + (ns / 1e6).toFixed(a < 1e7 ? 3 : 2) + " ms";
  return sign + (ns / 1e9).toFixed(3) + " s";
}

function fmtPPM(v) { return isFinite(v) ? (v > 0 ? "+" : "") + v.toFixed(3) + " ppm" : "–"; }
function fmtRate(v) { return !isFinite(v) ? "–" : v < 10 ? v.toFixed(2) + "/s" : v.toFixed(0) + "/s"; }

function fmtAge(ms) {
  if (!isFinite(ms) || ms < 0) return "–";
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  if (d) return d + "d " + h + "h";
  if (h) return h + "h " + m + "m";
  if (m) return m + "m " + s + "s";
  return s + "s";
}

function fmtCount(n) {
  if (n >= 1e9) return (n / 1e9).toFixed(2) + " G";
  if (n >= 1e6) return (n / 1e6).toFixed(2) + " M";
  if (n >= 1e4) return (n / 1e3).toFixed(1) + " k";
  return String(n);
}

function showError(msg) {
  const e = $("error");
  e.hidden = !msg;
  e.textContent = msg || "";
}

async function fetchJSON(url) {
  const r = await fetch(url, { cache: "no-store" });
  if (!r.ok) throw new Error(url + ": HTTP " + r.status);
  return r.json();
}

async function pollStatus() {
  clearTimeout(statusTimer);
  try {
    const s = await fetchJSON("api/status");
    renderStatus(s);
    showError("");
  } catch (err) {
    document.body.dataset.state = "DOWN";
    $("state").textContent = "NO DAEMON";
    $("state").className = "state s-DOWN";
    showError("The stratum1 daemon is not answering (" + err.message + "). Retrying…");
  }
  statusTimer = setTimeout(pollStatus, STATUS_MS);
}

function renderStatus(s) {
  const state = s.state || "UNKNOWN";
  document.body.dataset.state = state;
  document.body.dataset.updates = String(++updates);
  $("state").textContent = state.replace(/_/g, " ");
  $("state").className = "state s-" + state;
  const now = Date.parse(s.time);
  $("since").textContent = s.state_since ? "for " + fmtAge(now - Date.parse(s.state_since)) : "";
  $("version").textContent = s.version || "";
  $("updated").textContent = "updated " + new Date(now).toLocaleTimeString();

  const sys = s.system || {};
  $("f-source").textContent = s.source || "none";
  $("f-stratum").textContent = sys.stratum === 16 ? "16 (unsynchronised)" : String(sys.stratum);
  $("f-refid").textContent = sys.refid || "–";
  $("f-offset").textContent = s.source ? fmtNs(sys.offset_ns, true) : "–";
  $("f-residual").textContent = s.source ? fmtNs(sys.residual_ns) : "–";
  $("f-freq").textContent = fmtPPM(sys.frequency_ppm);
  $("f-rootdisp").textContent = fmtNs(sys.root_dispersion_ns);
  $("f-leap").textContent = (sys.leap || "–") + (sys.leap_pending ? " (" + sys.leap_pending + ")" : "");
  const pps = s.pps || {};
  $("f-pps").textContent = (pps.state || "–") + (pps.pulses ? ", jitter " + fmtNs(pps.jitter_ns) : "");
  const gps = s.gps || {};
  $("f-gps").textContent = (gps.state || "–") + ", " + (gps.sats_used || 0) + "/" + (gps.sats_in_view || 0) + " sats";
  const srv = s.server || {};
  $("f-requests").textContent = fmtCount(srv.received || 0) + " (" + fmtCount(srv.answered || 0) + " answered)";
  // NTS's counters, only when NTS is on (the daemon sends them then).
  const nts = srv.nts;
  $("nts-fact").hidden = !nts;
  $("f-nts").textContent = nts
    ? fmtCount(nts.ke_sessions || 0) + " KE sessions, " + fmtCount(nts.cookies_issued || 0) + " cookies, " +
      fmtCount(nts.requests || 0) + " requests, " + fmtCount(nts.naks || 0) + " NAKs"
    : "–";
  $("f-uptime").textContent = fmtAge((s.uptime_ns || 0) / 1e6);

  renderSky(gps.satellites || []);
  renderPeers(s.peers || []);
}

// snrColour maps dB-Hz to red (weak) through green (strong).
function snrColour(snr) {
  if (!snr) return "#9ca3af";
  const h = Math.max(0, Math.min(120, (snr - 15) * 4));
  return "hsl(" + h + ",75%,45%)";
}

function renderSky(sats) {
  const sky = $("sky");
  sky.replaceChildren();
  for (const el of [0, 30, 60]) svg("circle", { class: "ring", cx: 0, cy: 0, r: (90 - el) / 90 * 100 }, sky);
  svg("line", { class: "ring", x1: -100, y1: 0, x2: 100, y2: 0 }, sky);
  svg("line", { class: "ring", x1: 0, y1: -100, x2: 0, y2: 100 }, sky);
  text(sky, 0, -103, "N", "middle");
  text(sky, 106, 4, "E", "middle");
  text(sky, 0, 113, "S", "middle");
  text(sky, -106, 4, "W", "middle");
  let drawn = 0, used = 0;
  for (const s of sats) {
    if (s.el < 0 || s.el > 90) continue;
    const r = (90 - s.el) / 90 * 100, a = s.az * Math.PI / 180;
    const x = r * Math.sin(a), y = -r * Math.cos(a);
    const g = svg("g", { class: "satg" }, sky);
    const c = svg("circle", { class: "sat " + (s.used ? "used" : "unused"), cx: x.toFixed(1), cy: y.toFixed(1), r: 6.5, fill: snrColour(s.snr) }, g);
    svg("title", {}, c).textContent = s.system + " " + s.prn + ": el " + s.el + "° az " + s.az + "° " + s.snr + " dB-Hz" + (s.used ? ", used" : "");
    text(g, x, y + 2.8, String(s.prn), "middle").setAttribute("class", "prn");
    drawn++;
    if (s.used) used++;
  }
  sky.dataset.sats = String(drawn);
  sky.dataset.used = String(used);
}

function renderPeers(peers) {
  const tb = $("peers").tBodies[0];
  tb.replaceChildren();
  for (const p of peers) {
    const tr = document.createElement("tr");
    for (const v of [p.tally, p.name, p.refid, p.stratum, (p.reach || 0).toString(8),
      fmtNs(p.offset_ns, true), fmtNs(p.delay_ns), fmtNs(p.jitter_ns), p.note || ""]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.appendChild(td);
    }
    tb.appendChild(tr);
  }
}

async function pollHistory() {
  clearTimeout(historyTimer);
  try {
    const last = hist.t.length ? hist.t[hist.t.length - 1] : 0;
    const h = await fetchJSON("api/history" + (last ? "?since=" + last : ""));
    appendHistory(h);
    renderCharts();
  } catch (err) {
    // pollStatus reports a dead daemon; charts keep their last data.
  }
  historyTimer = setTimeout(pollHistory, HISTORY_MS);
}

function appendHistory(h) {
  for (const k in hist) hist[k].push(...(h[k] || []));
  if (!hist.t.length) return;
  const cut = hist.t[hist.t.length - 1] - DAY_MS;
  let i = 0;
  while (i < hist.t.length && hist.t[i] <= cut) i++;
  if (i) for (const k in hist) hist[k].splice(0, i);
}

function renderCharts() {
  const t = hist.t;
  const end = t.length ? t[t.length - 1] : Date.now();
  drawChart($("chart-offset"), t, hist.offset_ns, end, (v) => fmtNs(v, true), true);
  drawChart($("chart-jitter"), t, hist.pps_jitter_ns, end, (v) => fmtNs(v), false);
  drawChart($("chart-freq"), t, hist.frequency_ppm, end, (v, step) => v.toFixed(Math.max(0, -Math.floor(Math.log10(step)))), false);
  drawChart($("chart-rps"), t, hist.replies_per_s, end, fmtRate, false);
}

// niceStep returns a round tick spacing for a span split into about n parts.
function niceStep(span, n) {
  const raw = span / n, p = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / p;
  return p * (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10);
}

// drawChart plots ys against times ts over the 24 h ending at end. Points
// are reduced to a min/max pair per pixel column so a day of 10 s samples
// costs the same to draw as a few hundred.
function drawChart(el, ts, ys, end, fmt, zeroLine) {
  const W = 640, H = 170, L = 64, R = 8, T = 8, B = 22;
  const pw = W - L - R, ph = H - T - B;
  const start = end - DAY_MS;
  el.replaceChildren();

  const cols = new Map();
  let lo = Infinity, hi = -Infinity, n = 0;
  for (let i = 0; i < ts.length; i++) {
    const y = ys[i];
    if (y === null || y === undefined || !isFinite(y) || ts[i] < start) continue;
    const c = Math.round((ts[i] - start) / DAY_MS * pw);
    const m = cols.get(c);
    if (m) { m[0] = Math.min(m[0], y); m[1] = Math.max(m[1], y); } else cols.set(c, [y, y]);
    lo = Math.min(lo, y); hi = Math.max(hi, y);
    n++;
  }
  el.dataset.points = String(n);
  if (!n) {
    text(el, L + pw / 2, T + ph / 2, "no data yet", "middle").setAttribute("class", "empty");
    el.dataset.segments = "0";
    return;
  }
  if (zeroLine) { lo = Math.min(lo, 0); hi = Math.max(hi, 0); }
  if (hi - lo < 1e-9 * Math.max(1, Math.abs(hi))) { const d = Math.abs(hi) * 0.1 || 1; lo -= d; hi += d; }
  const step = niceStep(hi - lo, 4);
  lo = Math.floor(lo / step) * step; hi = Math.ceil(hi / step) * step;
  const X = (c) => L + c, Y = (v) => T + ph - (v - lo) / (hi - lo) * ph;

  for (let v = lo; v <= hi + step / 2; v += step) {
    svg("line", { class: "grid", x1: L, x2: W - R, y1: Y(v).toFixed(1), y2: Y(v).toFixed(1) }, el);
    text(el, L - 6, Y(v) + 4, fmt(Math.abs(v) < step / 1e6 ? 0 : v, step), "end");
  }
  if (zeroLine && lo < 0 && hi > 0) svg("line", { class: "zero", x1: L, x2: W - R, y1: Y(0), y2: Y(0) }, el);
  const hour = 3600 * 1000;
  for (let tk = Math.ceil(start / (6 * hour)) * 6 * hour; tk <= end; tk += 6 * hour) {
    const x = X((tk - start) / DAY_MS * pw);
    svg("line", { class: "grid", x1: x.toFixed(1), x2: x.toFixed(1), y1: T, y2: T + ph }, el);
    const d = new Date(tk);
    text(el, x, H - 6, String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0"), "middle");
  }

  // One path; a gap of more than a few columns (no data) lifts the pen.
  let d = "", prev = -10, segments = 0;
  for (const c of [...cols.keys()].sort((a, b) => a - b)) {
    const [mn, mx] = cols.get(c);
    const cmd = c - prev > 3 ? "M" : "L";
    if (cmd === "M") segments++;
    d += cmd + X(c).toFixed(1) + " " + Y(mn).toFixed(1);
    if (mx !== mn) d += "L" + X(c).toFixed(1) + " " + Y(mx).toFixed(1);
    prev = c;
  }
  svg("path", { class: "series", d: d }, el);
  el.dataset.segments = String(segments);
}

pollStatus();
pollHistory();
