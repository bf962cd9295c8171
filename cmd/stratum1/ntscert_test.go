package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNTSCert(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := runMain(t.Context(), []string{"nts-cert", "--ip", "192.0.2.10", "--dns", "ntp.lan", "--out", dir}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.VerifyHostname("192.0.2.10"); err != nil {
		t.Error(err)
	}
	if err := cert.VerifyHostname("ntp.lan"); err != nil {
		t.Error(err)
	}
	if fi, _ := os.Stat(keyFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v", fi.Mode().Perm())
	}
	if !strings.Contains(out.String(), "[nts]") {
		t.Errorf("output %q", out.String())
	}
	// A second run refuses to overwrite; --force does.
	if code := runMain(t.Context(), []string{"nts-cert", "--ip", "192.0.2.10", "--out", dir}, &out, &errb); code == 0 {
		t.Error("overwrote an existing key")
	}
	if code := runMain(t.Context(), []string{"nts-cert", "--ip", "192.0.2.10", "--out", dir, "--force"}, &out, &errb); code != 0 {
		t.Errorf("--force: exit %d: %s", code, errb.String())
	}
	if code := runMain(t.Context(), []string{"nts-cert", "--out", dir}, &out, &errb); code == 0 {
		t.Error("no name or address accepted")
	}
}
