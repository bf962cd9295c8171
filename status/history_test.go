package status_test

import (
	"context"
	"encoding/json"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"

	"stratum1/status"
	"stratum1/status/statustest"
)

func snapAt(t time.Time, received uint64) status.Snapshot {
	s := statustest.Snapshot(t)
	s.Server.Received, s.Server.Answered = received, received
	return s
}

func TestHistoryRingIsBounded(t *testing.T) {
	h := status.NewHistory(time.Minute, 10*time.Second) // 6 samples
	t0 := testNow
	for i := range 20 {
		h.Record(snapAt(t0.Add(time.Duration(i)*10*time.Second), uint64(i)*100))
	}
	ss := h.Samples(time.Time{})
	if len(ss) != 6 || h.Len() != 6 {
		t.Fatalf("kept %d samples (Len %d), want 6", len(ss), h.Len())
	}
	for i, s := range ss {
		want := t0.Add(time.Duration(14+i) * 10 * time.Second)
		if !s.Time.Equal(want) {
			t.Errorf("sample %d at %v, want %v", i, s.Time, want)
		}
		if s.RequestsPerSecond != 10 {
			t.Errorf("sample %d: %v requests/s, want 10", i, s.RequestsPerSecond)
		}
	}
}

func TestHistoryRates(t *testing.T) {
	h := status.NewHistory(time.Hour, 10*time.Second)
	h.Record(snapAt(testNow, 1000))
	h.Record(snapAt(testNow.Add(2*time.Second), 5000))  // too soon: coalesced
	h.Record(snapAt(testNow.Add(10*time.Second), 1500)) // 500 in 10 s
	h.Record(snapAt(testNow.Add(30*time.Second), 2500)) // 1000 in 20 s (a gap)
	h.Record(snapAt(testNow.Add(40*time.Second), 10))   // counter reset
	h.Record(snapAt(testNow.Add(50*time.Second), 110))
	ss := h.Samples(time.Time{})
	want := []float64{math.NaN(), 50, 50, math.NaN(), 10}
	if len(ss) != len(want) {
		t.Fatalf("%d samples, want %d", len(ss), len(want))
	}
	for i, w := range want {
		got := ss[i].RequestsPerSecond
		if math.IsNaN(w) != math.IsNaN(got) || (!math.IsNaN(w) && got != w) {
			t.Errorf("sample %d: %v requests/s, want %v", i, got, w)
		}
	}
}

func TestHistoryUnknownValues(t *testing.T) {
	h := status.NewHistory(time.Hour, 10*time.Second)
	s := statustest.Snapshot(testNow)
	s.Source, s.PPS.Pulses = "", 0
	h.Record(s)
	got := h.Samples(time.Time{})[0]
	if got.OffsetKnown || got.PPSJitterKnown {
		t.Errorf("offset or jitter known without a source or pulses: %+v", got)
	}
	var doc map[string][]*float64
	b := h.AppendJSON(nil, time.Time{})
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	delete(raw, "interval_ms")
	rb, _ := json.Marshal(raw)
	if err := json.Unmarshal(rb, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["offset_ns"][0] != nil || doc["pps_jitter_ns"][0] != nil || doc["requests_per_s"][0] != nil {
		t.Errorf("unknown values not null: %s", b)
	}
	if doc["frequency_ppm"][0] == nil || *doc["frequency_ppm"][0] != -12.482 {
		t.Errorf("frequency: %s", b)
	}
}

func TestHistoryClockStepBackClears(t *testing.T) {
	h := status.NewHistory(time.Hour, 10*time.Second)
	for i := range 5 {
		h.Record(snapAt(testNow.Add(time.Duration(i)*10*time.Second), 0))
	}
	h.Record(snapAt(testNow.Add(-time.Hour), 0))
	if ss := h.Samples(time.Time{}); len(ss) != 1 || !ss[0].Time.Equal(testNow.Add(-time.Hour)) {
		t.Errorf("after a step back: %v", ss)
	}
}

type historyDoc struct {
	IntervalMS int64      `json:"interval_ms"`
	T          []int64    `json:"t"`
	Offset     []*float64 `json:"offset_ns"`
	Jitter     []*float64 `json:"pps_jitter_ns"`
	Freq       []*float64 `json:"frequency_ppm"`
	Requests   []*float64 `json:"requests_per_s"`
	Replies    []*float64 `json:"replies_per_s"`
}

func TestAPIHistory(t *testing.T) {
	hist := statustest.History(testNow, 24*time.Hour, 10*time.Second)
	h := status.NewHandler(statustest.NewProvider(statustest.Snapshot(testNow)), hist)

	rec := get(t, h, "GET", "/api/history", "127.0.0.1:1")
	var doc historyDoc
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("%v: %.200s", err, rec.Body)
	}
	if doc.IntervalMS != 10000 || len(doc.T) != 8640 {
		t.Fatalf("interval %d ms, %d samples; want 10000, 8640", doc.IntervalMS, len(doc.T))
	}
	for _, col := range [][]*float64{doc.Offset, doc.Jitter, doc.Freq, doc.Requests, doc.Replies} {
		if len(col) != len(doc.T) {
			t.Fatalf("column of %d, want %d", len(col), len(doc.T))
		}
	}
	if doc.T[len(doc.T)-1] != testNow.UnixMilli() {
		t.Errorf("last sample at %d, want %d", doc.T[len(doc.T)-1], testNow.UnixMilli())
	}
	if doc.Requests[0] != nil || doc.Requests[1] == nil || *doc.Requests[1] < 10 || *doc.Requests[1] > 80 {
		t.Errorf("requests/s: first %v, second %v", doc.Requests[0], doc.Requests[1])
	}
	if rec.Body.Len() > 600<<10 {
		t.Errorf("a day of history is %d bytes; too heavy to poll from a Pi", rec.Body.Len())
	}

	since := doc.T[len(doc.T)-4]
	rec = get(t, h, "GET", "/api/history?since="+strconv.FormatInt(since, 10), "127.0.0.1:1")
	var tail historyDoc
	if err := json.Unmarshal(rec.Body.Bytes(), &tail); err != nil {
		t.Fatal(err)
	}
	if len(tail.T) != 3 || tail.T[0] != doc.T[len(doc.T)-3] {
		t.Errorf("since=%d: %v", since, tail.T)
	}
	if rec := get(t, h, "GET", "/api/history?since=yesterday", "127.0.0.1:1"); rec.Code != 400 {
		t.Errorf("bad since: %d", rec.Code)
	}
	empty := status.NewHandler(nil, nil)
	if rec := get(t, empty, "GET", "/api/history", "127.0.0.1:1"); rec.Code != 200 || !json.Valid(rec.Body.Bytes()) {
		t.Errorf("no history: %d %s", rec.Code, rec.Body)
	}
}

// tickingProvider hands out snapshots a second apart in time.
type tickingProvider struct {
	mu sync.Mutex
	t  time.Time
	n  int
}

func (p *tickingProvider) Snapshot() status.Snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	return snapAt(p.t.Add(time.Duration(p.n)*time.Second), uint64(p.n)*7)
}

func TestHistoryRun(t *testing.T) {
	h := status.NewHistory(time.Hour, 5*time.Millisecond)
	p := &tickingProvider{t: testNow}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx, p); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for h.Len() < 4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	ss := h.Samples(time.Time{})
	if len(ss) < 4 {
		t.Fatalf("%d samples after Run", len(ss))
	}
	if ss[1].RequestsPerSecond != 7 {
		t.Errorf("rate %v, want 7", ss[1].RequestsPerSecond)
	}
}

func TestLocalURL(t *testing.T) {
	for listen, want := range map[string]string{
		":8123":          "http://127.0.0.1:8123",
		"0.0.0.0:8123":   "http://127.0.0.1:8123",
		"[::]:9000":      "http://127.0.0.1:9000",
		"10.0.0.5:8123":  "http://10.0.0.5:8123",
		"[fd00::1]:8123": "http://[fd00::1]:8123",
		"nonsense":       status.DefaultServerURL,
	} {
		if got := status.LocalURL(listen); got != want {
			t.Errorf("LocalURL(%q) = %q, want %q", listen, got, want)
		}
	}
}
