// Package nts serves Network Time Security for NTPv4 (RFC 8915): the NTS Key
// Establishment protocol over TLS 1.3, cookies sealed under rotating master
// keys that survive a restart, and the extension-field processing that
// authenticates NTP requests and replies. The responder in package server
// calls it through server.Extensions, only for requests that carry
// extension fields, so plain NTP keeps its allocation-free path.
package nts
