// Package nts serves Network Time Security for NTPv4 (RFC 8915): the NTS Key
// Establishment protocol over TLS 1.3, cookies sealed under rotating master
// keys that survive a restart, and the extension-field processing that
// authenticates NTP requests and replies. The responder in package server
// calls it through server.Extensions, only for requests that carry
// extension fields, so plain NTP keeps its allocation-free path.
//
// NTS-KE (ke.go) answers one request per TLS connection: next protocol
// NTPv4, AEAD_AES_SIV_CMAC_256 (15), the NTPv4 server and port when they
// are not the KE host's port 123, eight cookies, End of Message; anything
// else gets an Error record. Each connection has SessionTimeout in all,
// handshake included, and at most 4 KiB of request; connections beyond
// MaxSessions are closed at once.
//
// A cookie (keys.go) is the master key's 32-bit ID, a 16-byte nonce and
// the client's two keys sealed with AES-SIV under that master key: 100
// bytes. A new master key is made every KeyRotation and KeepKeys are kept,
// in StateDir/nts-keys (mode 0600), so a restart opens the cookies clients
// hold. A cookie that does not open, or a request that does not
// authenticate, gets an NTS NAK (kiss code NTSN); a reply carries as many
// fresh cookies as the request had cookies and placeholders (at most 8)
// and is never longer than the request.
package nts
