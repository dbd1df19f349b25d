package icebergsink

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/iceberg-go"
	"github.com/google/uuid"
)

// A record's first-level keys are the table's columns (AWS: "Firehose takes
// only the first level of nodes"; nested objects fill struct and map
// columns, arrays list columns). Names match exactly. Values must have the
// column's type:
//
//	boolean                 true/false
//	int, long               integral numbers in range
//	float, double           numbers
//	decimal(p,s)            numbers or numeric strings that fit
//	string                  strings
//	uuid                    strings in UUID form
//	date                    "YYYY-MM-DD" or days since 1970-01-01
//	time                    "HH:MM:SS[.ffffff]" or microseconds of the day
//	timestamp, timestamptz  ISO 8601 / RFC 3339 strings (a zone-less string
//	                        is UTC) or microseconds since the epoch (AWS
//	                        documents microseconds)
//	binary, fixed(n)        base64 (standard or URL-safe) or hex strings
//	struct, map, list       objects (by field name), objects, arrays
//
// JSON null, or a missing key, is null; a required column that is null
// fails the record (Iceberg.MissingColumnWithinRecord), and so does a key
// naming a column in another case only, the case that code is reported for
// on AWS. Other keys are ignored.

// Error codes of records that cannot be written. NoSuchTable and
// InvalidTableName are AWS's documented codes; the others are reported by
// AWS users (MissingColumnWithinRecord, InvalidUniqueKeys) or Rheos's own.
const (
	CodeNoSuchTable       = "Iceberg.NoSuchTable"
	CodeInvalidTableName  = "Iceberg.InvalidTableName"
	CodeMissingColumn     = "Iceberg.MissingColumnWithinRecord"
	CodeInvalidUniqueKeys = "Iceberg.InvalidUniqueKeys"
	CodeInvalidRecord     = "Iceberg.InvalidRecord"
	CodeTypeMismatch      = "Iceberg.ColumnTypeMismatch"
	CodeNoUniqueKeys      = "Iceberg.UniqueKeysNotConfigured"
)

// rowError is why one record cannot be written.
type rowError struct{ code, msg string }

func (e *rowError) Error() string { return e.msg }

// decodeRecord parses one record as one JSON object.
func decodeRecord(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, &rowError{CodeInvalidRecord, "The record is not a JSON object."}
	}
	if dec.More() {
		return nil, &rowError{CodeInvalidRecord, "The record holds more than one JSON object."}
	}
	return obj, nil
}

// rowValues checks a record against the schema's fields and returns its
// values in field order, normalized for appendValue.
func rowValues(fields []iceberg.NestedField, obj map[string]any) ([]any, error) {
	out := make([]any, len(fields))
	for i, f := range fields {
		v, ok := obj[f.Name]
		if !ok {
			for k := range obj {
				if strings.EqualFold(k, f.Name) {
					return nil, &rowError{CodeMissingColumn, fmt.Sprintf("Column %s is missing within the record (the record has %s: names match exactly).", f.Name, k)}
				}
			}
		}
		nv, err := normalize(f, v)
		if err != nil {
			return nil, err
		}
		out[i] = nv
	}
	return out, nil
}

func normalize(f iceberg.NestedField, v any) (any, error) {
	if v == nil {
		if f.Required {
			return nil, &rowError{CodeMissingColumn, fmt.Sprintf("Required column %s is missing within the record.", f.Name)}
		}
		return nil, nil
	}
	bad := func(want string) error {
		return &rowError{CodeTypeMismatch, fmt.Sprintf("The value of column %s does not match its type %s (%s expected).", f.Name, f.Type, want)}
	}
	switch t := f.Type.(type) {
	case iceberg.BooleanType:
		b, ok := v.(bool)
		if !ok {
			return nil, bad("true or false")
		}
		return b, nil
	case iceberg.Int32Type, iceberg.Int64Type:
		n, ok := v.(json.Number)
		if !ok {
			return nil, bad("an integer")
		}
		i, err := n.Int64()
		if err != nil {
			return nil, bad("an integer")
		}
		if _, is32 := t.(iceberg.Int32Type); is32 {
			if i < math.MinInt32 || i > math.MaxInt32 {
				return nil, bad("an int in range")
			}
			return int32(i), nil
		}
		return i, nil
	case iceberg.Float32Type, iceberg.Float64Type:
		n, ok := v.(json.Number)
		if !ok {
			return nil, bad("a number")
		}
		x, err := n.Float64()
		if err != nil {
			return nil, bad("a number")
		}
		if _, is32 := t.(iceberg.Float32Type); is32 {
			return float32(x), nil
		}
		return x, nil
	case iceberg.DecimalType:
		var s string
		switch x := v.(type) {
		case json.Number:
			s = x.String()
		case string:
			s = x
		default:
			return nil, bad("a decimal number")
		}
		d, err := decimal128.FromString(s, int32(t.Precision()), int32(t.Scale()))
		if err != nil {
			return nil, bad("a decimal that fits")
		}
		return d, nil
	case iceberg.StringType:
		s, ok := v.(string)
		if !ok {
			return nil, bad("a string")
		}
		return s, nil
	case iceberg.UUIDType:
		s, ok := v.(string)
		if !ok {
			return nil, bad("a UUID string")
		}
		u, err := uuid.Parse(s)
		if err != nil {
			return nil, bad("a UUID string")
		}
		return u, nil
	case iceberg.DateType:
		switch x := v.(type) {
		case string:
			d, err := time.Parse("2006-01-02", x)
			if err != nil {
				return nil, bad("a date YYYY-MM-DD")
			}
			return arrow.Date32FromTime(d), nil
		case json.Number:
			i, err := x.Int64()
			if err != nil || i < math.MinInt32 || i > math.MaxInt32 {
				return nil, bad("a day number")
			}
			return arrow.Date32(i), nil
		}
		return nil, bad("a date")
	case iceberg.TimeType:
		switch x := v.(type) {
		case string:
			tm, err := time.Parse("15:04:05.999999", x)
			if err != nil {
				return nil, bad("a time HH:MM:SS[.ffffff]")
			}
			return arrow.Time64(tm.Sub(time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)).Microseconds()), nil
		case json.Number:
			i, err := x.Int64()
			if err != nil || i < 0 || i >= 86400e6 {
				return nil, bad("microseconds of the day")
			}
			return arrow.Time64(i), nil
		}
		return nil, bad("a time")
	case iceberg.TimestampType, iceberg.TimestampTzType:
		switch x := v.(type) {
		case string:
			ts, err := parseTimestamp(x)
			if err != nil {
				return nil, bad("an ISO 8601 timestamp")
			}
			return arrow.Timestamp(ts.UnixMicro()), nil
		case json.Number:
			i, err := x.Int64()
			if err != nil {
				return nil, bad("microseconds since the epoch")
			}
			return arrow.Timestamp(i), nil
		}
		return nil, bad("a timestamp")
	case iceberg.BinaryType, iceberg.FixedType:
		s, ok := v.(string)
		if !ok {
			return nil, bad("a base64 or hex string")
		}
		want := -1
		if ft, fixed := t.(iceberg.FixedType); fixed {
			want = ft.Len()
		}
		b, err := decodeBinary(s, want)
		if err != nil {
			return nil, bad("a base64 or hex string")
		}
		return b, nil
	case *iceberg.StructType:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, bad("an object")
		}
		return rowValues(t.FieldList, obj)
	case *iceberg.ListType:
		arr, ok := v.([]any)
		if !ok {
			return nil, bad("an array")
		}
		ef := t.ElementField()
		out := make([]any, len(arr))
		for i, e := range arr {
			n, err := normalize(ef, e)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case *iceberg.MapType:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, bad("an object")
		}
		kf, vf := t.KeyField(), t.ValueField()
		out := make([][2]any, 0, len(obj))
		for k, e := range obj {
			nk, err := normalize(kf, any(k))
			if err != nil {
				return nil, err
			}
			ne, err := normalize(vf, e)
			if err != nil {
				return nil, err
			}
			out = append(out, [2]any{nk, ne})
		}
		return out, nil
	}
	return nil, &rowError{CodeTypeMismatch, fmt.Sprintf("Column %s has type %s, which this endpoint does not write.", f.Name, f.Type)}
}

func parseTimestamp(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a timestamp: %q", s)
}

// decodeBinary takes what AWS takes for binary text: base64 (standard,
// URL-safe, padded or not) or hex, in that order; for a fixed(n) column
// (want ≥ 0) the first reading of n bytes ("6869" is both).
func decodeBinary(s string, want int) ([]byte, error) {
	decoders := []func(string) ([]byte, error){base64.StdEncoding.DecodeString, base64.URLEncoding.DecodeString,
		base64.RawStdEncoding.DecodeString, base64.RawURLEncoding.DecodeString, hex.DecodeString}
	for _, dec := range decoders {
		if b, err := dec(s); err == nil && (want < 0 || len(b) == want) {
			return b, nil
		}
	}
	return nil, fmt.Errorf("not base64 or hex of the column's size")
}

// appendValue appends a normalized value to the Arrow builder of its column.
func appendValue(b array.Builder, v any) {
	if v == nil {
		b.AppendNull()
		return
	}
	switch bb := b.(type) {
	case *array.BooleanBuilder:
		bb.Append(v.(bool))
	case *array.Int32Builder:
		bb.Append(v.(int32))
	case *array.Int64Builder:
		bb.Append(v.(int64))
	case *array.Float32Builder:
		bb.Append(v.(float32))
	case *array.Float64Builder:
		bb.Append(v.(float64))
	case *array.Decimal128Builder:
		bb.Append(v.(decimal128.Num))
	case *array.Date32Builder:
		bb.Append(v.(arrow.Date32))
	case *array.Time64Builder:
		bb.Append(v.(arrow.Time64))
	case *array.TimestampBuilder:
		bb.Append(v.(arrow.Timestamp))
	case *array.StringBuilder:
		bb.Append(v.(string))
	case *array.LargeStringBuilder:
		bb.Append(v.(string))
	case *array.BinaryBuilder:
		bb.Append(v.([]byte))
	case *array.FixedSizeBinaryBuilder:
		bb.Append(v.([]byte))
	case *array.StructBuilder:
		vals := v.([]any)
		bb.Append(true)
		for i := range bb.NumField() {
			appendValue(bb.FieldBuilder(i), vals[i])
		}
	case *array.ListBuilder:
		bb.Append(true)
		for _, e := range v.([]any) {
			appendValue(bb.ValueBuilder(), e)
		}
	case *array.MapBuilder:
		bb.Append(true)
		for _, kv := range v.([][2]any) {
			appendValue(bb.KeyBuilder(), kv[0])
			appendValue(bb.ItemBuilder(), kv[1])
		}
	case interface{ Append(uuid.UUID) }:
		bb.Append(v.(uuid.UUID))
	default:
		panic(fmt.Sprintf("icebergsink: no writer for builder %T", b))
	}
}
