package main

import (
	"context"
	"fmt"
	"io"

	"stratum1/status"
)

func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("status", stderr)
	server := fs.String("server", status.DefaultServerURL, "base URL of the daemon's status server")
	asJSON := fs.Bool("json", false, "print the whole status as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "stratum1 status: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	s, err := status.Fetch(ctx, *server)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, s)
	}
	status.WriteTracking(stdout, s)
	return nil
}
