package apprun

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/rheos/rheos/internal/analytics"
)

// Records become rows as the input's schema says (developer guide,
// "Configuring Application Input" and "Mapping Streaming Source Elements to
// SQL Input Columns"): JSON records through RecordRowPath (one row per
// record at "$", one per element at "$.path[0:]") and each column's Mapping
// ("$.a.b", "$.arr[0]"); CSV records split by RecordRowDelimiter into rows
// and by RecordColumnDelimiter into columns, by position. Values are
// coerced to the columns' SQL types; a record that does not fit is an
// error_stream row, not a row.

// sqlKind is what a column's SQL type coerces to.
type sqlKind int

const (
	kindString sqlKind = iota
	kindInt
	kindFloat
	kindBool
	kindTimestamp
	kindDate
	kindTime
	kindBinary
)

// column is a source column: its name, type and where it comes from.
type column struct {
	name, typ string
	kind      sqlKind
	width     int      // VARCHAR(n)/CHAR(n) length, 0 if none
	path      []string // JSON mapping steps after "$" (names, or "[n]")
}

func kindOf(typ string) (sqlKind, int) {
	t := strings.ToUpper(strings.TrimSpace(typ))
	base, width := t, 0
	if i := strings.IndexByte(t, '('); i > 0 {
		base = strings.TrimSpace(t[:i])
		if j := strings.IndexAny(t[i+1:], ",)"); j > 0 {
			width, _ = strconv.Atoi(strings.TrimSpace(t[i+1 : i+1+j]))
		}
	}
	switch base {
	case "TINYINT", "SMALLINT", "INTEGER", "INT", "BIGINT":
		return kindInt, 0
	case "REAL", "DOUBLE", "DOUBLE PRECISION", "FLOAT", "DECIMAL", "DEC", "NUMERIC":
		return kindFloat, 0
	case "BOOLEAN":
		return kindBool, 0
	case "TIMESTAMP":
		return kindTimestamp, 0
	case "DATE":
		return kindDate, 0
	case "TIME":
		return kindTime, 0
	case "BINARY", "VARBINARY":
		return kindBinary, width
	}
	return kindString, width
}

// schema is a compiled SourceSchema.
type schema struct {
	format             string // JSON or CSV
	rowPath            []string
	rowDelim, colDelim string
	cols               []column
	flatIdx            map[string]int // top-level name → column, when the fast path applies
}

func compileSchema(s analytics.SourceSchema) (*schema, error) {
	out := &schema{format: strings.ToUpper(s.RecordFormat.RecordFormatType)}
	mp := s.RecordFormat.MappingParameters
	switch out.format {
	case "JSON":
		rp := "$"
		if mp != nil && mp.JSONMappingParameters != nil && mp.JSONMappingParameters.RecordRowPath != "" {
			rp = mp.JSONMappingParameters.RecordRowPath
		}
		steps, err := jsonPath(rp)
		if err != nil {
			return nil, err
		}
		out.rowPath = steps
	case "CSV":
		out.rowDelim, out.colDelim = "\n", ","
		if mp != nil && mp.CSVMappingParameters != nil {
			if d := mp.CSVMappingParameters.RecordRowDelimiter; d != "" {
				out.rowDelim = d
			}
			if d := mp.CSVMappingParameters.RecordColumnDelimiter; d != "" {
				out.colDelim = d
			}
		}
	default:
		return nil, fmt.Errorf("record format %q is not JSON or CSV", s.RecordFormat.RecordFormatType)
	}
	for _, c := range s.RecordColumns {
		k, w := kindOf(c.SqlType)
		col := column{name: c.Name, typ: c.SqlType, kind: k, width: w}
		if out.format == "JSON" {
			m := c.Mapping
			if m == "" {
				m = "$." + c.Name
			}
			steps, err := jsonPath(m)
			if err != nil {
				return nil, err
			}
			col.path = steps
		}
		out.cols = append(out.cols, col)
	}
	out.flatIdx, _ = out.flat()
	return out, nil
}

// jsonPath splits "$.a.b[0]" into steps "a", "b", "[0]"; "[0:]" means every
// element (row paths only).
func jsonPath(p string) ([]string, error) {
	if !strings.HasPrefix(p, "$") {
		return nil, fmt.Errorf("JSON path %q does not start with $", p)
	}
	var steps []string
	rest := p[1:]
	for rest != "" {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			if end == 0 {
				return nil, fmt.Errorf("JSON path %q has an empty name", p)
			}
			steps = append(steps, rest[:end])
			rest = rest[end:]
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("JSON path %q has an unclosed [", p)
			}
			steps = append(steps, rest[:end+1])
			rest = rest[end+1:]
		default:
			return nil, fmt.Errorf("JSON path %q is not of the form $.a.b[0]", p)
		}
	}
	return steps, nil
}

func walk(v any, steps []string) (any, bool) {
	for _, s := range steps {
		if strings.HasPrefix(s, "[") {
			arr, ok := v.([]any)
			if !ok {
				return nil, false
			}
			i, err := strconv.Atoi(strings.Trim(s, "[]"))
			if err != nil || i < 0 || i >= len(arr) {
				return nil, false
			}
			v = arr[i]
			continue
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = obj[s]; !ok {
			return nil, false
		}
	}
	return v, true
}

// rows maps one record to rows.
func (s *schema) rows(data []byte) ([][]any, error) {
	if s.format == "CSV" {
		var out [][]any
		for _, line := range strings.Split(strings.TrimSuffix(string(data), s.rowDelim), s.rowDelim) {
			fields := strings.Split(line, s.colDelim)
			if len(fields) != len(s.cols) {
				return nil, fmt.Errorf("the record has %d columns, the schema %d", len(fields), len(s.cols))
			}
			vals := make([]any, len(s.cols))
			for i, c := range s.cols {
				v, err := coerce(c, fields[i])
				if err != nil {
					return nil, err
				}
				vals[i] = v
			}
			out = append(out, vals)
		}
		return out, nil
	}
	if s.flatIdx != nil {
		vals := make([]any, len(s.cols))
		if s.fastRow(data, s.flatIdx, vals) {
			return [][]any{vals}, nil
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("the record is not JSON: %v", err)
	}
	var elems []any
	steps := s.rowPath
	if n := len(steps); n > 0 && strings.HasPrefix(steps[n-1], "[") && strings.Contains(steps[n-1], ":") {
		v, ok := walk(doc, steps[:n-1])
		arr, isArr := v.([]any)
		if !ok || !isArr {
			return nil, fmt.Errorf("the record has no array at the row path")
		}
		elems = arr
	} else {
		v, ok := walk(doc, steps)
		if !ok {
			return nil, fmt.Errorf("the record has nothing at the row path")
		}
		elems = []any{v}
	}
	out := make([][]any, 0, len(elems))
	for _, e := range elems {
		if _, ok := e.(map[string]any); !ok {
			return nil, fmt.Errorf("the record has no JSON object at the row path")
		}
		vals := make([]any, len(s.cols))
		for i, c := range s.cols {
			v, ok := walk(e, c.path)
			if !ok || v == nil {
				continue // NULL
			}
			cv, err := coerce(c, v)
			if err != nil {
				return nil, err
			}
			vals[i] = cv
		}
		out = append(out, vals)
	}
	return out, nil
}

// coerce converts a JSON or CSV value to a column's type.
func coerce(c column, v any) (any, error) {
	bad := func() error { return fmt.Errorf("the value %v of column %s is not a %s", v, c.name, c.typ) }
	text := ""
	switch x := v.(type) {
	case string:
		text = x
	case json.Number:
		text = x.String()
	case bool:
		text = strconv.FormatBool(x)
	default:
		if c.kind != kindString {
			return nil, bad()
		}
		b, _ := json.Marshal(x)
		text = string(b)
	}
	switch c.kind {
	case kindInt:
		if i, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil || f != math.Trunc(f) {
			return nil, bad()
		}
		return int64(f), nil
	case kindFloat:
		f, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil {
			return nil, bad()
		}
		return f, nil
	case kindBool:
		b, err := strconv.ParseBool(strings.TrimSpace(text))
		if err != nil {
			return nil, bad()
		}
		return b, nil
	case kindTimestamp, kindDate, kindTime:
		if n, err := strconv.ParseInt(text, 10, 64); err == nil && c.kind == kindTimestamp {
			return time.UnixMilli(n).UTC(), nil
		}
		for _, layout := range []string{"2006-01-02 15:04:05.999999999", time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02", "15:04:05.999"} {
			if t, err := time.Parse(layout, text); err == nil {
				return t.UTC(), nil
			}
		}
		return nil, bad()
	case kindBinary:
		return []byte(text), nil
	}
	if c.width > 0 && len([]rune(text)) > c.width {
		return nil, fmt.Errorf("the value of column %s is longer than %s", c.name, c.typ)
	}
	return text, nil
}

// formatValue renders a value for JSON and CSV output.
func formatValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format("2006-01-02 15:04:05.000")
	case []byte:
		return string(x)
	}
	return v
}
