// Package server answers NTP client requests with the published state of
// the disciplined clock.
package server
