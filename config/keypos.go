package config

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// position is where a key is written in the file, 1-based; the column
// counts bytes.
type position struct{ line, col int }

// positions maps keys to where they are written.
type positions map[string]position

// keyPositions maps every key and table header of a document that the
// TOML decoder has already accepted to where it is written. Keys are
// dotted paths with the index of each array element:
// "access.rate_limit.interval", "peers.server[1].minpoll". Each key is also
// entered without indices ("peers.server.minpoll", first occurrence), the
// form the TOML decoder's metadata uses.
//
// The scanner knows just enough TOML to skip values (strings of all four
// kinds, arrays, inline tables); it never fails, and on input it does not
// understand it stops, so that an error merely goes without a line.
func keyPositions(src []byte) positions {
	s := &keyScanner{src: src, line: 1, pos: positions{}, arrays: map[string]int{}}
	s.document()
	return s.pos
}

type keyScanner struct {
	src       []byte
	i         int
	line      int
	lineStart int // offset of the first byte of the current line
	pos       positions
	arrays    map[string]int // array-of-tables path → elements so far
}

func (s *keyScanner) document() {
	prefix := ""
	for s.i < len(s.src) {
		start := s.i
		s.skipBlank()
		switch s.peek() {
		case 0:
			return
		case '\n':
			s.advance()
		case '#':
			s.skipComment()
		case '[':
			p, ok := s.header()
			if !ok {
				return
			}
			prefix = p
		default:
			if !s.keyValue(prefix) {
				return
			}
		}
		if s.i == start { // no progress: give up rather than loop
			return
		}
	}
}

// header reads [table] or [[array.of.tables]] and returns its path.
func (s *keyScanner) header() (string, bool) {
	at := s.here()
	s.advance()
	double := s.peek() == '['
	if double {
		s.advance()
	}
	parts := s.key()
	if len(parts) == 0 {
		return "", false
	}
	path := ""
	for j, part := range parts {
		path = join(path, part)
		switch n, isArray := s.arrays[path]; {
		case double && j == len(parts)-1:
			s.arrays[path] = n + 1
			path = fmt.Sprintf("%s[%d]", path, n)
		case isArray:
			path = fmt.Sprintf("%s[%d]", path, n-1)
		}
	}
	s.record(path, at)
	s.skipLine()
	return path, true
}

// keyValue reads key = value under prefix.
func (s *keyScanner) keyValue(prefix string) bool {
	at := s.here()
	parts := s.key()
	s.skipBlank()
	if len(parts) == 0 || s.peek() != '=' {
		return false
	}
	s.advance()
	s.skipBlank()
	key := join(prefix, strings.Join(parts, "."))
	s.record(key, at)
	s.value(key)
	return true
}

// key reads a dotted key: bare, "basic" or 'literal' parts.
func (s *keyScanner) key() []string {
	var parts []string
	for {
		s.skipBlank()
		var part string
		switch c := s.peek(); {
		case c == '"' || c == '\'':
			start := s.i
			s.shortString(c)
			part = s.unquote(start)
		default:
			start := s.i
			for isBare(s.peek()) {
				s.advance()
			}
			if s.i == start {
				return parts
			}
			part = string(s.src[start:s.i])
		}
		parts = append(parts, part)
		s.skipBlank()
		if s.peek() != '.' {
			return parts
		}
		s.advance()
	}
}

// value skips one value, recording the keys inside inline tables.
func (s *keyScanner) value(key string) {
	switch c := s.peek(); c {
	case '"', '\'':
		if bytes.HasPrefix(s.src[s.i:], []byte{c, c, c}) {
			s.longString(c)
		} else {
			s.shortString(c)
		}
	case '[':
		s.advance()
		for n := 0; ; {
			s.skipSpace()
			start := s.i
			switch s.peek() {
			case 0:
				return
			case ']':
				s.advance()
				return
			case ',':
				s.advance()
			default:
				elem := fmt.Sprintf("%s[%d]", key, n)
				if s.peek() == '{' {
					s.record(elem, s.here())
				}
				s.value(elem)
				n++
			}
			if s.i == start {
				return
			}
		}
	case '{':
		s.advance()
		for {
			s.skipSpace()
			start := s.i
			switch s.peek() {
			case 0:
				return
			case '}':
				s.advance()
				return
			case ',':
				s.advance()
			default:
				if !s.keyValue(key) {
					return
				}
			}
			if s.i == start {
				return
			}
		}
	default: // number, boolean, date: up to the next delimiter
		for c := s.peek(); c != 0 && !strings.ContainsRune(",]}\n#", rune(c)); c = s.peek() {
			s.advance()
		}
	}
}

// shortString skips "basic" (with escapes) or 'literal'.
func (s *keyScanner) shortString(quote byte) {
	s.advance()
	for c := s.peek(); c != 0 && c != '\n'; c = s.peek() {
		s.advance()
		switch {
		case c == quote:
			return
		case c == '\\' && quote == '"':
			s.advance()
		}
	}
}

// longString skips a multi-line string, basic or literal (three quotes).
func (s *keyScanner) longString(quote byte) {
	delim := []byte{quote, quote, quote}
	s.i += 3
	for s.i < len(s.src) {
		if bytes.HasPrefix(s.src[s.i:], delim) {
			s.i += 3
			for k := 0; k < 2 && s.peek() == quote; k++ { // quotes just before the delimiter
				s.advance()
			}
			return
		}
		c := s.peek()
		s.advance()
		if c == '\\' && quote == '"' {
			s.advance()
		}
	}
}

// unquote returns a quoted key's text.
func (s *keyScanner) unquote(start int) string {
	raw := string(s.src[start:s.i])
	if len(raw) < 2 {
		return raw
	}
	if raw[0] == '\'' {
		return raw[1 : len(raw)-1]
	}
	if u, err := strconv.Unquote(raw); err == nil {
		return u
	}
	return raw[1 : len(raw)-1]
}

func (s *keyScanner) record(key string, at position) {
	if _, ok := s.pos[key]; !ok {
		s.pos[key] = at
	}
	if plain := stripIndices(key); plain != key {
		if _, ok := s.pos[plain]; !ok {
			s.pos[plain] = at
		}
	}
}

func (s *keyScanner) here() position { return position{s.line, s.i - s.lineStart + 1} }

func (s *keyScanner) peek() byte {
	if s.i >= len(s.src) {
		return 0
	}
	return s.src[s.i]
}

func (s *keyScanner) advance() {
	if s.i >= len(s.src) {
		return
	}
	if s.src[s.i] == '\n' {
		s.line++
		s.lineStart = s.i + 1
	}
	s.i++
}

// skipBlank skips spaces and tabs (and the CR of a CRLF).
func (s *keyScanner) skipBlank() {
	for c := s.peek(); c == ' ' || c == '\t' || c == '\r'; c = s.peek() {
		s.advance()
	}
}

// skipSpace skips blanks, newlines and comments, as inside an array.
func (s *keyScanner) skipSpace() {
	for {
		s.skipBlank()
		switch s.peek() {
		case '\n':
			s.advance()
		case '#':
			s.skipComment()
		default:
			return
		}
	}
}

func (s *keyScanner) skipComment() {
	for c := s.peek(); c != 0 && c != '\n'; c = s.peek() {
		s.advance()
	}
}

// skipLine skips the rest of a header line.
func (s *keyScanner) skipLine() { s.skipComment() }

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// stripIndices turns "peers.server[1].minpoll" into "peers.server.minpoll".
func stripIndices(key string) string {
	if !strings.Contains(key, "[") {
		return key
	}
	var b strings.Builder
	depth := 0
	for _, r := range key {
		switch {
		case r == '[':
			depth++
		case r == ']':
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// lookup returns where key, or else the nearest enclosing table or array
// element that the file writes, is set.
func (p positions) lookup(key string) (position, bool) {
	for key != "" {
		if at, ok := p[key]; ok {
			return at, true
		}
		cut := strings.LastIndexAny(key, ".[")
		if cut < 0 {
			break
		}
		key = key[:cut]
	}
	return position{}, false
}
