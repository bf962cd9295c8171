// Command mkdeb builds stratum1's Debian packages: it cross-compiles
// ./cmd/stratum1 for each architecture and packs it with the unit, udev
// rules, default configuration and maintainer scripts.
//
//	go run ./deploy/cmd/mkdeb -version 0.1.0 -out dist
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"stratum1/deploy/debpkg"
)

func main() {
	arches := flag.String("arch", "arm64,armhf,amd64", "comma-separated Debian architectures")
	version := flag.String("version", "0.1.0", "package version")
	out := flag.String("out", "dist", "output directory")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, strings.Split(*arches, ","), *version, *out); err != nil {
		fmt.Fprintln(os.Stderr, "mkdeb:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, arches []string, version, out string) error {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(gomod)) == "" || strings.TrimSpace(string(gomod)) == os.DevNull {
		return fmt.Errorf("run inside the stratum1 module (go env GOMOD: %v)", err)
	}
	moduleDir := filepath.Dir(strings.TrimSpace(string(gomod)))
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	// SOURCE_DATE_EPOCH makes the packages reproducible.
	var mtime time.Time
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH: %w", err)
		}
		mtime = time.Unix(sec, 0).UTC()
	}
	for _, name := range arches {
		arch, err := debpkg.LookupArch(strings.TrimSpace(name))
		if err != nil {
			return err
		}
		bin := filepath.Join(out, "stratum1-linux-"+arch.Deb)
		if err := debpkg.BuildBinary(ctx, moduleDir, arch, version, bin); err != nil {
			return err
		}
		o := debpkg.Options{Arch: arch.Deb, Version: version, Binary: bin, MTime: mtime}
		path := filepath.Join(out, debpkg.FileName(o))
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		err = debpkg.Build(f, o)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			return err
		}
		fmt.Println(path)
	}
	return nil
}
