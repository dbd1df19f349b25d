package jsonrpc

import "bytes"

// Scanner reads the common, well-formed JSON of hot-path request bodies for
// services' Fast decoders (Operation.Fast): whitespace, single bytes and
// strings without escapes. Anything it cannot read simply fails, and the
// generic decoder answers with AWS's exact messages.
type Scanner struct {
	B []byte // the body
	I int    // the next byte to read
}

// WS skips white space.
func (s *Scanner) WS() {
	for s.I < len(s.B) {
		switch s.B[s.I] {
		case ' ', '\t', '\n', '\r':
			s.I++
		default:
			return
		}
	}
}

// Consume reads c (after white space) if it is next.
func (s *Scanner) Consume(c byte) bool {
	s.WS()
	if s.I < len(s.B) && s.B[s.I] == c {
		s.I++
		return true
	}
	return false
}

// Peek returns the next byte after white space (0 at the end).
func (s *Scanner) Peek() byte {
	s.WS()
	if s.I < len(s.B) {
		return s.B[s.I]
	}
	return 0
}

// AtEnd reports whether the whole body was read.
func (s *Scanner) AtEnd() bool { return s.I == len(s.B) }

// RawStr reads a string up to the next quote without checking its content:
// only for base64 members, whose decoder refuses every byte that could make
// the JSON invalid (controls, backslashes) — newlines are checked there.
func (s *Scanner) RawStr() ([]byte, bool) {
	if !s.Consume('"') {
		return nil, false
	}
	n := bytes.IndexByte(s.B[s.I:], '"')
	if n < 0 {
		return nil, false
	}
	v := s.B[s.I : s.I+n]
	s.I += n + 1
	return v, true
}

// Str reads a string without escapes or control characters and returns its
// raw bytes (aliasing the body).
func (s *Scanner) Str() ([]byte, bool) {
	if !s.Consume('"') {
		return nil, false
	}
	start := s.I
	for s.I < len(s.B) {
		c := s.B[s.I]
		if c == '"' {
			v := s.B[start:s.I]
			s.I++
			return v, true
		}
		if c == '\\' || c < 0x20 {
			return nil, false
		}
		s.I++
	}
	return nil, false
}

// Object reads a non-empty object whose members member reads (it is called
// with each key, after the colon, and reads the value); a repeated member
// fails, as does anything member refuses.
func (s *Scanner) Object(member func(key string) bool) bool {
	if !s.Consume('{') || s.Peek() == '}' {
		return false
	}
	seen := map[string]bool{}
	for {
		key, ok := s.Str()
		if !ok || !s.Consume(':') || seen[string(key)] {
			return false
		}
		seen[string(key)] = true
		if !member(string(key)) {
			return false
		}
		if s.Consume(',') {
			continue
		}
		return s.Consume('}')
	}
}
