package discipline

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"stratum1/ntp"
)

// LeapTable is the content of a leap-seconds.list file: when each TAI-UTC
// offset took effect, and when the list expires.
type LeapTable struct {
	Entries []LeapEntry
	Expires time.Time
}

// LeapEntry says that from At (always 00:00 UTC on the first of a month)
// TAI-UTC is TAIUTC seconds.
type LeapEntry struct {
	At     time.Time
	TAIUTC int
}

// ntpEpochOffset converts NTP seconds (since 1900) to Unix seconds.
const ntpEpochOffset = 2208988800

// ReadLeapFile reads and verifies a leap-seconds.list file.
func ReadLeapFile(path string) (*LeapTable, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read leap second file: %w", err)
	}
	t, err := ParseLeapFile(b)
	if err != nil {
		return nil, fmt.Errorf("leap second file %s: %w", path, err)
	}
	return t, nil
}

// ParseLeapFile parses the IERS/IETF leap-seconds.list format and checks
// its SHA-1 hash line (#h) when it has one.
func ParseLeapFile(b []byte) (*LeapTable, error) {
	var t LeapTable
	h := sha1.New()
	var want string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#$"):
			h.Write([]byte(strings.Join(strings.Fields(line[2:]), "")))
		case strings.HasPrefix(line, "#@"):
			s := strings.TrimSpace(line[2:])
			h.Write([]byte(s))
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: bad expiry %q", n, s)
			}
			t.Expires = time.Unix(v-ntpEpochOffset, 0).UTC()
		case strings.HasPrefix(line, "#h"):
			want = strings.Join(strings.Fields(line[2:]), "")
		case strings.HasPrefix(line, "#"), strings.TrimSpace(line) == "":
		default:
			data, _, _ := strings.Cut(line, "#")
			f := strings.Fields(data)
			if len(f) != 2 {
				return nil, fmt.Errorf("line %d: want 2 fields", n)
			}
			sec, err1 := strconv.ParseInt(f[0], 10, 64)
			off, err2 := strconv.Atoi(f[1])
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("line %d: not numbers", n)
			}
			h.Write([]byte(f[0] + f[1]))
			at := time.Unix(sec-ntpEpochOffset, 0).UTC()
			if k := len(t.Entries); k > 0 && !at.After(t.Entries[k-1].At) {
				return nil, fmt.Errorf("line %d: entries out of order", n)
			}
			t.Entries = append(t.Entries, LeapEntry{At: at, TAIUTC: off})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(t.Entries) == 0 || t.Expires.IsZero() {
		return nil, fmt.Errorf("no entries or no expiry (#@)")
	}
	if want != "" {
		got := hex.EncodeToString(h.Sum(nil))
		if !strings.EqualFold(got, want) {
			return nil, fmt.Errorf("hash mismatch: file says %s, content is %s", want, got)
		}
	}
	return &t, nil
}

// Expired reports whether the table is past its expiry at now.
func (t *LeapTable) Expired(now time.Time) bool { return !now.Before(t.Expires) }

// Pending returns the leap second to announce at now: LeapInsert or
// LeapDelete during the last UTC day before a change of TAI-UTC, and the
// instant at which it takes effect; LeapNone otherwise.
func (t *LeapTable) Pending(now time.Time) (ntp.Leap, time.Time) {
	for i, e := range t.Entries {
		if i == 0 || !now.Before(e.At) {
			continue
		}
		if e.At.Sub(now) > 24*time.Hour {
			return ntp.LeapNone, time.Time{}
		}
		switch diff := e.TAIUTC - t.Entries[i-1].TAIUTC; {
		case diff > 0:
			return ntp.LeapInsert, e.At
		case diff < 0:
			return ntp.LeapDelete, e.At
		}
		return ntp.LeapNone, time.Time{}
	}
	return ntp.LeapNone, time.Time{}
}

// lastDayOfMonth reports whether now is in the last UTC day of its month,
// the only day on which a leap second may be armed.
func lastDayOfMonth(now time.Time) bool {
	u := now.UTC()
	return u.AddDate(0, 0, 1).Month() != u.Month()
}

// SetLeapHint passes on what the receiver or upstream peers announce:
// a pending insertion or deletion at the end of the current month. The
// leap second file, when valid, takes precedence.
func (d *Discipline) SetLeapHint(l ntp.Leap) {
	if l == ntp.LeapInsert || l == ntp.LeapDelete {
		d.leapHint = l
	} else {
		d.leapHint = ntp.LeapNone
	}
}

// leap arms or disarms the clock's leap second for now.
func (d *Discipline) leap(now time.Time) {
	want, at := ntp.LeapNone, time.Time{}
	switch {
	case d.leaps != nil && !d.leaps.Expired(now):
		want, at = d.leaps.Pending(now)
	case d.leapHint != ntp.LeapNone && lastDayOfMonth(now):
		u := now.UTC()
		want, at = d.leapHint, time.Date(u.Year(), u.Month(), u.Day()+1, 0, 0, 0, 0, time.UTC)
		if d.leaps != nil && d.leapWarns == 0 {
			d.leapWarns++
			d.log.Warn("leap second file expired; using the source's announcement", "expired", d.leaps.Expires)
		}
	}
	if want == d.armed {
		return
	}
	if err := d.clk.SetLeap(want); err != nil && err != ErrNoClockAdjust {
		d.log.Warn("cannot arm leap second", "leap", want, "err", err)
		return
	}
	if want != ntp.LeapNone {
		d.log.Info("leap second armed", "leap", want, "at", at)
	}
	d.armed, d.leapAt = want, at
}
