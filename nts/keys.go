package nts

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"stratum1/nts/siv"
)

// Cookie layout: master key ID, nonce, then the SIV-sealed C2S and S2C keys.
const (
	keyLen       = 32 // AEAD_AES_SIV_CMAC_256
	cookieNonce  = 16
	cookieIDLen  = 4
	cookiePlain  = 2 * keyLen
	CookieLen    = cookieIDLen + cookieNonce + siv.Overhead + cookiePlain // 100 bytes
	keysFileName = "nts-keys"
)

// masterKey seals cookies.
type masterKey struct {
	id      uint32
	created time.Time
	secret  [keyLen]byte
	aead    *siv.SIV
}

func newMasterKey(id uint32, created time.Time, secret [keyLen]byte) (*masterKey, error) {
	a, err := siv.New(secret[:])
	if err != nil {
		return nil, err
	}
	return &masterKey{id: id, created: created, secret: secret, aead: a}, nil
}

// keyring holds the master keys, newest first. Readers take the current
// snapshot without locking; rotation replaces it whole.
type keyring struct {
	mu   sync.Mutex // serialises rotation and saving
	keys atomic.Pointer[[]*masterKey]
	path string // "" keeps the keys in memory only
	keep int
}

// openKeyring loads the keys saved in dir (none yet is fine) and makes sure
// there is one.
func openKeyring(dir string, keep int, now time.Time) (*keyring, error) {
	k := &keyring{keep: keep}
	if dir != "" {
		k.path = filepath.Join(dir, keysFileName)
	}
	var keys []*masterKey
	if k.path != "" {
		data, err := os.ReadFile(k.path)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("nts: read master keys: %w", err)
		default:
			if keys, err = parseKeys(data); err != nil {
				return nil, fmt.Errorf("nts: %s: %w", k.path, err)
			}
		}
	}
	k.keys.Store(&keys)
	if len(keys) == 0 {
		if err := k.rotate(now); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// current returns the newest key, which seals new cookies.
func (k *keyring) current() *masterKey { return (*k.keys.Load())[0] }

// lookup returns the key with id, or nil.
func (k *keyring) lookup(id uint32) *masterKey {
	for _, m := range *k.keys.Load() {
		if m.id == id {
			return m
		}
	}
	return nil
}

// rotate adds a fresh key, drops the oldest beyond keep, and saves.
func (k *keyring) rotate(now time.Time) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	var secret [keyLen]byte
	var idb [4]byte
	_, _ = rand.Read(secret[:]) // crypto/rand.Read never fails
	old := *k.keys.Load()
	var id uint32
	for {
		_, _ = rand.Read(idb[:])
		id = binary.BigEndian.Uint32(idb[:])
		if !containsID(old, id) {
			break
		}
	}
	m, err := newMasterKey(id, now, secret)
	if err != nil {
		return err
	}
	keys := append([]*masterKey{m}, old...)
	if len(keys) > k.keep {
		keys = keys[:k.keep]
	}
	if err := k.save(keys); err != nil {
		return err
	}
	k.keys.Store(&keys)
	return nil
}

func containsID(keys []*masterKey, id uint32) bool {
	for _, m := range keys {
		if m.id == id {
			return true
		}
	}
	return false
}

// save writes keys to the state file, mode 0600, replacing it atomically.
func (k *keyring) save(keys []*masterKey) error {
	if k.path == "" {
		return nil
	}
	var b bytes.Buffer
	b.WriteString("# NTS master keys: id created-unix secret. Secret: keep mode 0600.\n")
	for _, m := range keys {
		fmt.Fprintf(&b, "%08x %d %s\n", m.id, m.created.Unix(), hex.EncodeToString(m.secret[:]))
	}
	if err := writeFileAtomic(k.path, b.Bytes(), 0o600); err != nil {
		return fmt.Errorf("nts: save master keys: %w", err)
	}
	return nil
}

// writeFileAtomic replaces path with data, created with perm, through a
// temporary file in the same directory (made, mode 0700, when missing).
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // nothing left to remove after the rename
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// parseKeys reads what save wrote, newest first.
func parseKeys(data []byte) ([]*masterKey, error) {
	var keys []*masterKey
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		f := strings.Fields(s)
		if len(f) != 3 {
			return nil, fmt.Errorf("line %d: want id, created and secret", line)
		}
		id, err1 := strconv.ParseUint(f[0], 16, 32)
		created, err2 := strconv.ParseInt(f[1], 10, 64)
		secret, err3 := hex.DecodeString(f[2])
		if err := errors.Join(err1, err2, err3); err != nil || len(secret) != keyLen {
			return nil, fmt.Errorf("line %d: malformed key", line)
		}
		m, err := newMasterKey(uint32(id), time.Unix(created, 0), [keyLen]byte(secret))
		if err != nil {
			return nil, err
		}
		keys = append(keys, m)
	}
	return keys, sc.Err()
}

// sealCookie writes a cookie holding c2s and s2c into out (CookieLen bytes).
func (k *keyring) sealCookie(out []byte, c2s, s2c []byte) {
	_, _ = rand.Read(out[cookieIDLen : cookieIDLen+cookieNonce])
	k.sealCookieNonce(out, c2s, s2c)
}

// sealCookieNonce is sealCookie with the cookie's random nonce already in
// place in out, after the key ID, so that a reply carrying several cookies
// draws all its randomness at once.
func (k *keyring) sealCookieNonce(out []byte, c2s, s2c []byte) {
	m := k.current()
	binary.BigEndian.PutUint32(out, m.id)
	nonce := out[cookieIDLen : cookieIDLen+cookieNonce]
	var plain [cookiePlain]byte
	copy(plain[:], c2s)
	copy(plain[keyLen:], s2c)
	m.aead.Seal(out[cookieIDLen+cookieNonce:cookieIDLen+cookieNonce], nonce, plain[:], out[:cookieIDLen])
	clear(plain[:])
}

// openCookie recovers the keys from a cookie into c2s and s2c (keyLen bytes
// each), or reports false for a cookie that is not ours, has been tampered
// with, or was sealed under a key since retired.
func (k *keyring) openCookie(cookie []byte, c2s, s2c []byte) bool {
	if len(cookie) != CookieLen {
		return false
	}
	m := k.lookup(binary.BigEndian.Uint32(cookie))
	if m == nil {
		return false
	}
	var plain [cookiePlain]byte
	nonce := cookie[cookieIDLen : cookieIDLen+cookieNonce]
	if _, err := m.aead.Open(plain[:0], nonce, cookie[cookieIDLen+cookieNonce:], cookie[:cookieIDLen]); err != nil {
		return false
	}
	copy(c2s, plain[:keyLen])
	copy(s2c, plain[keyLen:])
	clear(plain[:])
	return true
}
