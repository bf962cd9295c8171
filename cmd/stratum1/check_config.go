package main

import (
	"fmt"
	"io"

	"stratum1/config"
)

// checkConfigFile is `stratum1 check --config FILE`: it validates the file
// as the daemon would at start or reload, and touches nothing else. The
// error names the key and its line; the caller exits non-zero on it.
func checkConfigFile(path string, w io.Writer) error {
	if _, err := config.Load(path); err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: OK\n", path)
	return nil
}
