package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"stratum1/nts"
)

// cmdNTSCert writes a self-signed certificate and key for [nts] cert and
// key: enough for a LAN whose clients trust it explicitly (chrony:
// ntstrustedcerts).
func cmdNTSCert(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("nts-cert", stderr)
	var names, ips stringList
	fs.Var(&names, "dns", "DNS name clients use for this server (repeatable)")
	fs.Var(&ips, "ip", "IP address clients use for this server (repeatable)")
	out := fs.String("out", ".", "directory to write cert.pem and key.pem (mode 0600) into")
	days := fs.Int("days", 3650, "validity in days")
	force := fs.Bool("force", false, "overwrite existing files")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(names)+len(ips) == 0 {
		fmt.Fprintln(stderr, "stratum1 nts-cert: give at least one --dns or --ip that clients will use")
		return errUsage
	}
	if *days < 1 {
		return fmt.Errorf("nts-cert: --days %d: want at least 1", *days)
	}
	var addrs []net.IP
	for _, s := range ips {
		ip := net.ParseIP(s)
		if ip == nil {
			return fmt.Errorf("nts-cert: --ip %q is not an IP address", s)
		}
		addrs = append(addrs, ip)
	}
	certPEM, keyPEM, err := nts.SelfSigned(names, addrs, time.Duration(*days)*24*time.Hour, time.Now())
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("nts-cert: %w", err)
	}
	certFile, keyFile := filepath.Join(*out, "cert.pem"), filepath.Join(*out, "key.pem")
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if *force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	for _, f := range []struct {
		path string
		data []byte
		perm os.FileMode
	}{{keyFile, keyPEM, 0o600}, {certFile, certPEM, 0o644}} {
		if err := writeNew(f.path, f.data, f.perm, flags); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "wrote %s and %s\n[nts]\ncert = %q\nkey = %q\n", certFile, keyFile, certFile, keyFile)
	return nil
}

func writeNew(path string, data []byte, perm os.FileMode, flags int) error {
	f, err := os.OpenFile(path, flags, perm)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("nts-cert: %s exists (--force overwrites)", path)
	}
	if err != nil {
		return fmt.Errorf("nts-cert: %w", err)
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("nts-cert: %w", err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("nts-cert: write %s: %w", path, err)
	}
	return nil
}
