package discipline

import (
	"os"
	"strings"
	"testing"
	"time"

	"stratum1/ntp"
)

const sampleLeapFile = `#	comment
#$	 3929093563
#@	3960835200
#
2272060800	10	# 1 Jan 1972
3692217600	37	# 1 Jan 2017
`

func TestParseLeapFile(t *testing.T) {
	tab, err := ParseLeapFile([]byte(sampleLeapFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Entries) != 2 || tab.Entries[1].TAIUTC != 37 {
		t.Fatalf("entries = %+v", tab.Entries)
	}
	if want := time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC); !tab.Entries[1].At.Equal(want) {
		t.Errorf("at = %v, want %v", tab.Entries[1].At, want)
	}
	if want := time.Date(2025, 7, 7, 0, 0, 0, 0, time.UTC); !tab.Expires.Equal(want) {
		t.Errorf("expires = %v, want %v", tab.Expires, want)
	}
	tests := []struct {
		now  time.Time
		want ntp.Leap
	}{
		{time.Date(2016, 12, 30, 23, 59, 59, 0, time.UTC), ntp.LeapNone},
		{time.Date(2016, 12, 31, 0, 0, 0, 0, time.UTC), ntp.LeapInsert},
		{time.Date(2016, 12, 31, 23, 59, 59, 0, time.UTC), ntp.LeapInsert},
		{time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC), ntp.LeapNone},
	}
	for _, tc := range tests {
		if got, _ := tab.Pending(tc.now); got != tc.want {
			t.Errorf("Pending(%v) = %v, want %v", tc.now, got, tc.want)
		}
	}
	if !tab.Expired(time.Date(2025, 7, 7, 0, 0, 0, 0, time.UTC)) || tab.Expired(time.Date(2025, 7, 6, 0, 0, 0, 0, time.UTC)) {
		t.Error("Expired wrong")
	}
}

func TestParseLeapFileBad(t *testing.T) {
	for name, text := range map[string]string{
		"empty":      "",
		"no expiry":  "2272060800 10\n",
		"garbage":    "#@ 3960835200\nabc def\n",
		"order":      "#@ 3960835200\n3692217600 37\n2272060800 10\n",
		"bad hash":   sampleLeapFile + "#h 00000000 00000000 00000000 00000000 00000000\n",
		"one field":  "#@ 3960835200\n2272060800\n",
		"bad expiry": "#@ soon\n2272060800 10\n",
	} {
		if _, err := ParseLeapFile([]byte(text)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// The system's file carries a hash; parsing it checks the hash.
func TestSystemLeapFile(t *testing.T) {
	const path = "/usr/share/zoneinfo/leap-seconds.list"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no %s here (Debian package tzdata; scripts/test.sh installs it): %v", path, err)
	}
	if !strings.Contains(string(b), "#h") {
		t.Fatalf("%s has no hash line", path)
	}
	tab, err := ReadLeapFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tab.Entries); n < 28 || tab.Entries[n-1].TAIUTC < 37 {
		t.Errorf("entries: %d, last %+v", n, tab.Entries[n-1])
	}
}

func TestLastDayOfMonth(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want bool
	}{
		{time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC), true},
		{time.Date(2023, 2, 28, 12, 0, 0, 0, time.UTC), true},
		{time.Date(2024, 2, 28, 12, 0, 0, 0, time.UTC), false},
		{time.Date(2024, 12, 31, 23, 59, 59, 0, time.UTC), true},
		{time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), false},
	} {
		if got := lastDayOfMonth(tc.t); got != tc.want {
			t.Errorf("lastDayOfMonth(%v) = %v", tc.t, got)
		}
	}
}
