// Package web holds the dashboard's files, embedded in the binary so that the
// appliance needs no internet and no files on disk to show it.
package web

import "embed"

// FS holds static/: index.html and the CSS and JavaScript it loads.
//
//go:embed static
var FS embed.FS
