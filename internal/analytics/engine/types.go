package engine

import (
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// kind is the runtime class of a SQL type. Values carry their class in
// their Go type (see Row), so evaluation dispatches on values; kinds are used
// at compile time for typing checks (pump INSERT compatibility) and to
// convert results to a target column's type.
type kind uint8

const (
	kNull kind = iota // the NULL literal: type unknown, compatible with all
	kBool
	kInt
	kFloat
	kString
	kBytes
	kTimestamp
	kDate
	kTime
	kInterval // day-time interval (time.Duration); expressions only (§4 data types)
	kMonths   // year-month interval (months); expressions only
	kRow      // ROW of the log-parsing functions ([]any); read by field: T.REC.COLUMN1
)

// sqlType is a column or expression type: its kind, length or precision n,
// scale, and the text as written.
type sqlType struct {
	k     kind
	n     int  // CHAR/VARCHAR length, DECIMAL precision; 0 when absent
	scale int  // DECIMAL scale
	dec   bool // DECIMAL/NUMERIC: rounded to scale on assignment
	char  bool // CHAR(n): fixed length
	text  string
	// kRow: the fields' names and types.
	fields []string
	fieldT []sqlType
}

var (
	tNull      = sqlType{k: kNull, text: "NULL"}
	tBool      = sqlType{k: kBool, text: "BOOLEAN"}
	tBigint    = sqlType{k: kInt, text: "BIGINT"}
	tInteger   = sqlType{k: kInt, text: "INTEGER"}
	tDouble    = sqlType{k: kFloat, text: "DOUBLE"}
	tVarchar   = sqlType{k: kString, text: "VARCHAR"}
	tTimestamp = sqlType{k: kTimestamp, text: "TIMESTAMP"}
	tInterval  = sqlType{k: kInterval, text: "INTERVAL"}
)

// parseType reads a type as written in a Column ("VARCHAR(16)",
// "DECIMAL(8,2)", "DOUBLE PRECISION", "INT").
func parseType(s string) (sqlType, error) {
	t := sqlType{text: s}
	name := strings.ToUpper(strings.TrimSpace(s))
	var args []int
	if i := strings.IndexByte(name, '('); i >= 0 {
		j := strings.IndexByte(name, ')')
		if j < i {
			return t, fmt.Errorf("bad type %q", s)
		}
		for _, a := range strings.Split(name[i+1:j], ",") {
			n, err := strconv.Atoi(strings.TrimSpace(a))
			if err != nil {
				return t, fmt.Errorf("bad type %q", s)
			}
			args = append(args, n)
		}
		name = strings.TrimSpace(name[:i])
	}
	name = strings.Join(strings.Fields(name), " ")
	switch name {
	case "BOOLEAN":
		t.k = kBool
	case "TINYINT", "SMALLINT", "INTEGER", "INT", "BIGINT":
		t.k = kInt
	case "DECIMAL", "DEC", "NUMERIC":
		t.k, t.dec = kFloat, true
		t.n, t.scale = 19, 0
		if len(args) > 0 {
			t.n = args[0]
		}
		if len(args) > 1 {
			t.scale = args[1]
		}
	case "REAL", "FLOAT", "DOUBLE", "DOUBLE PRECISION":
		t.k = kFloat
	case "CHAR", "CHARACTER":
		t.k, t.char, t.n = kString, true, 1
		if len(args) > 0 {
			t.n = args[0]
		}
	case "VARCHAR", "CHARACTER VARYING", "CHAR VARYING":
		t.k = kString
		if len(args) > 0 {
			t.n = args[0]
		}
	case "BINARY", "VARBINARY":
		t.k = kBytes
		if len(args) > 0 {
			t.n = args[0]
		}
	case "DATE":
		t.k = kDate
	case "TIME":
		t.k = kTime
	case "TIMESTAMP":
		t.k = kTimestamp
	default:
		return t, fmt.Errorf("unknown type %s", s)
	}
	return t, nil
}

// class groups kinds for the "types must match" rule of pump INSERT (§4):
// numbers with numbers, strings with strings, datetimes with datetimes.
func (k kind) class() int {
	switch k {
	case kInt, kFloat:
		return 1
	case kString:
		return 2
	case kTimestamp, kDate, kTime:
		return 3
	case kBool:
		return 4
	case kBytes:
		return 5
	case kInterval, kMonths:
		return 6
	}
	return 0
}

func compatible(a, b kind) bool {
	return a == kNull || b == kNull || a.class() == b.class()
}

// months is a year-month interval value.
type months int64

// castTo converts v to t, as CAST does. Choices: numbers to integers
// truncate toward zero (Java's narrowing, which SQLstream uses); DECIMAL(p,s)
// rounds half away from zero to s digits; VARCHAR(n) truncates to n
// characters and CHAR(n) pads with spaces (SQL:2008 §6.12 with the
// truncation SQLstream applies on CAST, which we also apply on INSERT).
func castTo(v any, t sqlType) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch t.k {
	case kNull:
		return v, nil
	case kBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			switch strings.ToUpper(strings.TrimSpace(x)) {
			case "TRUE":
				return true, nil
			case "FALSE":
				return false, nil
			}
		}
	case kInt:
		switch x := v.(type) {
		case int64:
			return x, nil
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) || x >= 9.3e18 || x <= -9.3e18 {
				return nil, fmt.Errorf("value %v out of range for %s", x, t.text)
			}
			return int64(x), nil
		case string:
			s := strings.TrimSpace(x)
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return n, nil
			}
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				return int64(f), nil
			}
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		}
	case kFloat:
		var f float64
		switch x := v.(type) {
		case int64:
			f = float64(x)
		case float64:
			f = x
		case string:
			g, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil {
				return nil, fmt.Errorf("cannot convert %q to %s", x, t.text)
			}
			f = g
		default:
			return nil, fmt.Errorf("cannot convert %s to %s", kindOf(v), t.text)
		}
		if t.dec {
			p := math.Pow10(t.scale)
			f = math.Round(f*p) / p
		}
		return f, nil
	case kString:
		s := toString(v)
		if t.n > 0 {
			if r := []rune(s); len(r) > t.n {
				s = string(r[:t.n])
			} else if t.char && len(r) < t.n {
				s += strings.Repeat(" ", t.n-len(r))
			}
		}
		return s, nil
	case kBytes:
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			return []byte(x), nil
		}
	case kTimestamp, kDate, kTime:
		var tm time.Time
		switch x := v.(type) {
		case time.Time:
			tm = x.UTC()
		case string:
			p, err := parseTimestamp(x)
			if err != nil {
				return nil, err
			}
			tm = p
		case int64:
			tm = time.UnixMilli(x).UTC()
		default:
			return nil, fmt.Errorf("cannot convert %s to %s", kindOf(v), t.text)
		}
		switch t.k {
		case kDate:
			tm = time.Date(tm.Year(), tm.Month(), tm.Day(), 0, 0, 0, 0, time.UTC)
		case kTime:
			tm = time.Date(1970, 1, 1, tm.Hour(), tm.Minute(), tm.Second(), tm.Nanosecond(), time.UTC)
		}
		return tm.Truncate(time.Millisecond), nil
	}
	return nil, fmt.Errorf("cannot convert %s to %s", kindOf(v), t.text)
}

// parseTimestamp reads the SQL literal forms 'yyyy-MM-dd HH:mm:ss[.fff]',
// 'yyyy-MM-dd', 'HH:mm:ss' and RFC 3339.
func parseTimestamp(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05", "2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02", "15:04:05.999999999", "15:04:05"} {
		if t, err := time.Parse(l, s); err == nil {
			if strings.HasPrefix(l, "15") {
				t = t.AddDate(1970, 0, 0)
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot convert %q to TIMESTAMP", s)
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "NULL"
	case bool:
		return "BOOLEAN"
	case int64:
		return "BIGINT"
	case float64:
		return "DOUBLE"
	case string:
		return "VARCHAR"
	case []byte:
		return "VARBINARY"
	case time.Time:
		return "TIMESTAMP"
	case time.Duration, months:
		return "INTERVAL"
	}
	return fmt.Sprintf("%T", v)
}

// toString is the VARCHAR form of a value: integers in decimal, doubles in
// the shortest form that reads back, timestamps as 'yyyy-MM-dd HH:mm:ss.SSS'.
func toString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		if x {
			return "TRUE"
		}
		return "FALSE"
	case []byte:
		return strings.ToUpper(hex.EncodeToString(x))
	case time.Time:
		return x.UTC().Format("2006-01-02 15:04:05.000")
	case time.Duration:
		return x.String()
	case months:
		return strconv.FormatInt(int64(x), 10) + " months"
	}
	return fmt.Sprint(v)
}

// normalize converts a caller-supplied Go value (Row.Values, table rows) to
// the engine's value set: ints to int64, floats to float64.
func normalize(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case int16:
		return int64(x)
	case int8:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		return int64(x)
	case float32:
		return float64(x)
	}
	return v
}
