// Package access decides who gets time and who gets control: address rules,
// per-client rate limiting with kiss-o'-death, within a fixed memory budget.
package access
