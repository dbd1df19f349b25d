package apprun

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/rheos/rheos/internal/analytics/engine"
)

// The common input — a flat JSON object per record, columns mapped by
// top-level name ("$.price") at row path "$" — is read by a scanner that
// converts each mapped member straight to its column's type, without
// building the document (the general path decodes it into maps: half the
// time of a stateless query went there). Anything else it does not handle
// (a string with escapes, a nested value a column maps into, a malformed
// document) sends the record to the general path, which decides.

// flat reports whether the schema's records can take the fast path, and
// the column index of each top-level name.
func (s *schema) flat() (map[string]int, bool) {
	if s.format != "JSON" || len(s.rowPath) != 0 {
		return nil, false
	}
	idx := make(map[string]int, len(s.cols))
	for i, c := range s.cols {
		if len(c.path) != 1 || c.path[0][0] == '[' {
			return nil, false
		}
		idx[c.path[0]] = i
	}
	return idx, true
}

// fastRow reads one flat object into vals (len(s.cols)); ok false means
// "use the general path".
func (s *schema) fastRow(data []byte, idx map[string]int, vals []any) bool {
	i := skipWS(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false
	}
	i = skipWS(data, i+1)
	if i < len(data) && data[i] == '}' {
		return skipWS(data, i+1) == len(data)
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return false
		}
		key, next, ok := plainString(data, i)
		if !ok {
			return false
		}
		i = skipWS(data, next)
		if i >= len(data) || data[i] != ':' {
			return false
		}
		i = skipWS(data, i+1)
		if i >= len(data) {
			return false
		}
		col, mapped := idx[string(key)]
		switch c := data[i]; {
		case c == '"':
			str, next, ok := plainString(data, i)
			if !ok {
				return false
			}
			if mapped {
				v, err := coerce(s.cols[col], string(str))
				if err != nil {
					return false
				}
				vals[col] = v
			}
			i = next
		case c == '{' || c == '[':
			if mapped {
				return false
			}
			next, ok := skipValue(data, i)
			if !ok || !json.Valid(data[i:next]) {
				return false
			}
			i = next
		default:
			end := i
			for end < len(data) && data[end] != ',' && data[end] != '}' && data[end] != ' ' && data[end] != '\n' && data[end] != '\t' && data[end] != '\r' {
				end++
			}
			lit := data[i:end]
			if !validLiteral(lit) {
				return false
			}
			if mapped {
				v, ok := s.literal(s.cols[col], lit)
				if !ok {
					return false
				}
				vals[col] = v
			}
			i = end
		}
		i = skipWS(data, i)
		if i >= len(data) {
			return false
		}
		if data[i] == '}' {
			return skipWS(data, i+1) == len(data)
		}
		if data[i] != ',' {
			return false
		}
		i = skipWS(data, i+1)
	}
}

// literal converts a JSON number, true, false or null.
func (s *schema) literal(c column, lit []byte) (any, bool) {
	switch string(lit) {
	case "null":
		return nil, true
	case "true", "false":
		if c.kind != kindBool && c.kind != kindString {
			return nil, false
		}
		if c.kind == kindString {
			return string(lit), true
		}
		return lit[0] == 't', true
	}
	switch c.kind {
	case kindInt:
		n, err := strconv.ParseInt(string(lit), 10, 64)
		return n, err == nil
	case kindFloat:
		f, err := strconv.ParseFloat(string(lit), 64)
		return f, err == nil
	case kindTimestamp:
		n, err := strconv.ParseInt(string(lit), 10, 64)
		return time.UnixMilli(n).UTC(), err == nil
	}
	v, err := coerce(c, json.Number(lit))
	return v, err == nil
}

// validLiteral reports whether lit is true, false, null or a JSON number.
func validLiteral(lit []byte) bool {
	switch string(lit) {
	case "true", "false", "null":
		return true
	}
	i := 0
	if i < len(lit) && lit[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(lit) && lit[i] >= '0' && lit[i] <= '9' {
			i++
			n++
		}
		return n
	}
	start := i
	if n := digits(); n == 0 || (n > 1 && lit[start] == '0') {
		return false
	}
	if i < len(lit) && lit[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(lit) && (lit[i] == 'e' || lit[i] == 'E') {
		i++
		if i < len(lit) && (lit[i] == '+' || lit[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(lit)
}

// plainString reads a string without escapes (or control characters)
// starting at data[i] == '"'.
func plainString(data []byte, i int) ([]byte, int, bool) {
	for j := i + 1; j < len(data); j++ {
		switch c := data[j]; {
		case c == '"':
			return data[i+1 : j], j + 1, utf8.Valid(data[i+1 : j])
		case c == '\\' || c < 0x20: // escapes, and control characters JSON forbids in strings
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// skipValue skips a nested object or array (strings inside respected).
func skipValue(data []byte, i int) (int, bool) {
	depth := 0
	for ; i < len(data); i++ {
		switch data[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1, true
			}
		case '"':
			for i++; i < len(data) && data[i] != '"'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
		}
	}
	return 0, false
}

func skipWS(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\n' || data[i] == '\t' || data[i] == '\r') {
		i++
	}
	return i
}

// appendJSON renders a row as one JSON object, column names as keys, in
// column order.
func appendJSON(dst []byte, cols []engine.Column, vals []any) []byte {
	dst = append(dst, '{')
	for i, c := range cols {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, c.Name)
		dst = append(dst, ':')
		var v any
		if i < len(vals) {
			v = vals[i]
		}
		switch x := v.(type) {
		case nil:
			dst = append(dst, "null"...)
		case bool:
			dst = strconv.AppendBool(dst, x)
		case int64:
			dst = strconv.AppendInt(dst, x, 10)
		case float64:
			dst = appendFloat(dst, x)
		case string:
			dst = appendJSONString(dst, x)
		case time.Time:
			dst = append(dst, '"')
			dst = x.UTC().AppendFormat(dst, "2006-01-02 15:04:05.000")
			dst = append(dst, '"')
		case []byte:
			dst = appendJSONString(dst, string(x))
		default:
			dst = appendJSONString(dst, fmt.Sprint(x))
		}
	}
	return append(dst, '}')
}

// appendFloat writes a float as encoding/json does (no NaN/Inf in JSON:
// null).
func appendFloat(dst []byte, f float64) []byte {
	if f != f || f > 1.7976931348623157e308 || f < -1.7976931348623157e308 {
		return append(dst, "null"...)
	}
	abs := f
	if abs < 0 {
		abs = -abs
	}
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(dst, f, format, -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as a JSON string (control characters, quotes
// and backslashes escaped; invalid UTF-8 replaced).
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, "\\ufffd"...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
