package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"stratum1/internal/proctest"
	"stratum1/ntp"
	"stratum1/nts"
)

// writeCert writes a fresh self-signed pair for host to certFile and
// keyFile (through renames, as config management would) and returns a pool
// trusting it.
func writeCert(t *testing.T, host, certFile, keyFile string) *x509.CertPool {
	t.Helper()
	certPEM, keyPEM, err := nts.SelfSigned(nil, []net.IP{net.ParseIP(host)}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		path string
		data []byte
	}{{keyFile, keyPEM}, {certFile, certPEM}} {
		if err := os.WriteFile(f.path+".new", f.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(f.path+".new", f.path); err != nil {
			t.Fatal(err)
		}
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	return roots
}

// ntsQuery sends one NTS-protected request on sess's next cookie to addr
// and checks the reply.
func ntsQuery(sess *nts.Session, addr string) error {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	uid := make([]byte, 32)
	_, _ = rand.Read(uid)
	req, ok := sess.Request(nil, ntp.TimeFrom(time.Now()), uid, 0)
	if !ok {
		return errors.New("no cookie left")
	}
	if _, err := c.Write(req); err != nil {
		return err
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	if err != nil {
		return err
	}
	if n > len(req) {
		return fmt.Errorf("reply of %d bytes to a request of %d", n, len(req))
	}
	_, err = sess.ParseReply(buf[:n], uid)
	return err
}

// TestE2ENTS: `stratum1 run` with an [nts] section serves NTS-KE and
// NTS-protected NTP; SIGHUP swaps the certificate without a restart, and a
// restart keeps the cookies clients hold, since the master keys persist in
// the state directory.
func TestE2ENTS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	host := proctest.Loopback()
	kePort := proctest.FreePort(t, host)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	roots := writeCert(t, host, certFile, keyFile)
	path := filepath.Join(dir, "stratum1.toml")
	conf := fmt.Sprintf("[discipline]\ndrift_file = \"\"\n\n[nts]\nlisten = %q\ncert = %q\nkey = %q\nstate_dir = %q\n",
		proctest.HostPort(host, kePort), certFile, keyFile, filepath.Join(dir, "state"))
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startRun(t, 3*time.Minute, "--no-gps", "--no-clock-adjust", "--config", path)
	d.WaitOutput(t, 10*time.Second, "serving NTS-KE")
	keAddr := proctest.HostPort(host, kePort)
	ke := func(roots *x509.CertPool) (*nts.Session, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return nts.KeyExchange(ctx, keAddr, &tls.Config{RootCAs: roots, ServerName: host})
	}
	sess, err := ke(roots)
	if err != nil {
		t.Fatal(err)
	}
	// (startRun picks its own loopback address for NTP; the port is
	// what NTS-KE tells clients.)
	if _, port, _ := net.SplitHostPort(d.ntpAddr); fmt.Sprint(sess.Port) != port {
		t.Fatalf("NTS-KE sends clients to port %d, want %s", sess.Port, port)
	}
	if err := ntsQuery(sess, d.ntpAddr); err != nil {
		t.Fatalf("NTS request: %v", err)
	}
	st := d.status(t)
	if st.Server.NTS["ke_sessions"] != 1 || st.Server.NTS["requests"] != 1 || st.Server.NTS["cookies_issued"] < 9 {
		t.Errorf("status NTS counters %v", st.Server.NTS)
	}
	if fi, err := os.Stat(filepath.Join(dir, "state", "nts-keys")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("master key file: %v, %v", fi, err)
	}

	// A new certificate and SIGHUP: new handshakes get it, at once.
	roots2 := writeCert(t, host, certFile, keyFile)
	before := strings.Count(d.Output(), "configuration reloaded")
	if err := d.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	proctest.Eventually(t, 10*time.Second, 100*time.Millisecond, "reload", func() bool {
		return strings.Count(d.Output(), "configuration reloaded") > before
	})
	if _, err := ke(roots2); err != nil {
		t.Fatalf("after SIGHUP, the new certificate: %v", err)
	}
	if _, err := ke(roots); err == nil {
		t.Error("after SIGHUP, the old certificate still served")
	}
	if err := ntsQuery(sess, d.ntpAddr); err != nil {
		t.Fatalf("NTS request after the reload: %v", err)
	}

	// A restart: the cookies from before still open.
	d.Stop()
	d2 := startRun(t, 3*time.Minute, "--no-gps", "--no-clock-adjust", "--config", path)
	d2.WaitOutput(t, 10*time.Second, "serving NTS-KE")
	if err := ntsQuery(sess, d2.ntpAddr); err != nil {
		t.Fatalf("a cookie from before the restart: %v", err)
	}
}
