package engine

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The log parsers beyond REGEX_LOG_PARSE and VARIABLE_COLUMN_LOG_PARSE
// (sqlref sql-reference-w3c-log-parse, -sys-log-parse,
// -fixed-column-log-parse). Each returns a ROW read by field name
// (T.REC.COLUMN1), NULL when the line does not have the format.

// w3cFormats are W3C_LOG_PARSE's predefined formats (sqlref table "W3C
// Predefined Formats"); COMBINED is our alias of NCSA EXTENDED, which the
// reference calls the "NCSA extended/combined log format". IIS is listed
// without its specifiers, so it is refused.
var w3cFormats = map[string]string{
	"COMMON":            `%h %l %u %t "%r" %>s %b`,
	"COMMON WITH VHOST": `%v %h %l %u %t "%r" %>s %b`,
	"NCSA EXTENDED":     `%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"`,
	"COMBINED":          `%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"`,
	"REFERER":           `%{Referer}i -> %U`,
	"AGENT":             `%{User-agent}i`,
}

var w3cSpec = regexp.MustCompile(`^%([!0-9,<>]*)(?:\{([^}]*)\}|\[([^\]]*)\])?([a-zA-Z%])`)

// w3cLogParse is W3C_LOG_PARSE(line, format): format is a predefined name
// or Apache mod_log_config specifiers; one column per specifier,
// COLUMN1..n. Types (the reference: "chosen based on the possible outputs
// of the specifier"): %b, %D, %T, %I, %O BIGINT ('-' is NULL), %s INTEGER,
// the others VARCHAR (%B too, as the reference says). %t keeps its
// brackets ("[24/May/2004:22:01:02 -0700]"), unless the format writes
// [%t]; a specifier inside quotes takes the quoted text, backslash escapes
// kept; others take a run of non-blanks.
func w3cLogParse(a []expr) (expr, error) {
	if !a[1].konst {
		return expr{}, errorf("the format of W3C_LOG_PARSE must be a constant")
	}
	f, _ := a[1].f(nil).(string)
	if p, ok := w3cFormats[strings.Join(strings.Fields(strings.ToUpper(f)), " ")]; ok {
		f = p
	} else if strings.EqualFold(strings.TrimSpace(f), "IIS") {
		return expr{}, errorf("W3C_LOG_PARSE format IIS is not supported (the reference lists no specifiers for it)")
	}
	var re strings.Builder
	var types []sqlType
	re.WriteString("^")
	prev := byte(0)
	for i := 0; i < len(f); {
		if f[i] != '%' {
			if f[i] == ' ' {
				re.WriteString(" +")
			} else {
				re.WriteString(regexp.QuoteMeta(f[i : i+1]))
			}
			prev = f[i]
			i++
			continue
		}
		m := w3cSpec.FindStringSubmatch(f[i:])
		if m == nil {
			return expr{}, errorf("W3C_LOG_PARSE format %q: bad specifier at %q", f, f[i:])
		}
		i += len(m[0])
		letter := m[4]
		if letter == "%" {
			re.WriteString("%")
			prev = '%'
			continue
		}
		t := tVarchar
		switch letter {
		case "b", "D", "T", "I", "O":
			t = tBigint
		case "s":
			t = tInteger
		}
		types = append(types, t)
		switch {
		case prev == '"':
			re.WriteString(`((?:[^"\\]|\\.)*)`)
		case letter == "t" && m[2] == "" && m[3] == "" && prev != '[':
			re.WriteString(`(\[[^\]]*\])`)
		case prev == '[':
			re.WriteString(`([^\]]*)`)
		default:
			re.WriteString(`(\S*)`)
		}
		prev = 0
	}
	re.WriteString("$")
	rx, err := regexp.Compile(re.String())
	if err != nil {
		return expr{}, errorf("W3C_LOG_PARSE format %q: %v", f, err)
	}
	names := make([]string, len(types))
	for i := range names {
		names[i] = "COLUMN" + itoa(i+1)
	}
	x := a[0].f
	return expr{f: func(v *env) any {
		s, ok := x(v).(string)
		if !ok {
			return nil
		}
		m := rx.FindStringSubmatch(s)
		if m == nil {
			return nil
		}
		out := make([]any, len(types))
		for i, t := range types {
			f := m[i+1]
			if t.k != kInt {
				out[i] = f
				continue
			}
			if f == "-" || f == "" {
				continue
			}
			n, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				return v.fail(errConversion, "W3C_LOG_PARSE column %s: %q is not a number", names[i], f)
			}
			out[i] = n
		}
		return out
	}, t: rowType(names, types)}, nil
}

var sysLogLine = regexp.MustCompile(`^([A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}) (.*)$`)

// sysLogParse is SYS_LOG_PARSE(line) (sqlref): "Mon DD HH:MM:SS server
// message" gives COLUMN1 TIMESTAMP and COLUMN2 VARCHAR, the text after the
// timestamp. The syslog timestamp has no year; like Java's
// SimpleDateFormat without one, the year is 1970 (our reading).
func sysLogParse(a []expr) (expr, error) {
	x := a[0].f
	return expr{f: func(v *env) any {
		s, ok := x(v).(string)
		if !ok {
			return nil
		}
		m := sysLogLine.FindStringSubmatch(s)
		if m == nil {
			return nil
		}
		tm, err := time.Parse("Jan _2 15:04:05", strings.Join(strings.Fields(m[1])[:2], " ")+" "+strings.Fields(m[1])[2])
		if err != nil {
			return nil
		}
		return []any{time.Date(1970, tm.Month(), tm.Day(), tm.Hour(), tm.Minute(), tm.Second(), 0, time.UTC), m[2]}
	}, t: rowType([]string{"COLUMN1", "COLUMN2"}, []sqlType{tTimestamp, tVarchar})}, nil
}

var fixedColumn = regexp.MustCompile(`(?i)^\s*("[^"]+"|\S+)\s+TYPE\s+(.+?)(?:\s+'([^']*)')?(\s+NOT\s+NULL)?\s+START\s+(\d+)(?:\s+FOR\s+(\d+))?\s*$`)

// fixedColumnLogParse is FIXED_COLUMN_LOG_PARSE(line, 'name TYPE t
// ['format'] [NOT NULL] START n [FOR m], ...') (sqlref): positions count
// from 0; without FOR a field runs to the end of the line; DATE, TIME and
// TIMESTAMP take a SimpleDateFormat pattern. Our choices: a field is
// trimmed of blanks, an empty or missing field is NULL (a conversion error
// for NOT NULL), a value that does not convert is a conversion error.
func fixedColumnLogParse(a []expr) (expr, error) {
	if !a[1].konst {
		return expr{}, errorf("the column description of FIXED_COLUMN_LOG_PARSE must be a constant")
	}
	desc, _ := a[1].f(nil).(string)
	type field struct {
		start, n int // n < 0: to the end
		layout   string
		notNull  bool
	}
	var names []string
	var types []sqlType
	var fields []field
	for _, part := range splitTopLevel(desc) {
		m := fixedColumn.FindStringSubmatch(part)
		if m == nil {
			return expr{}, errorf("FIXED_COLUMN_LOG_PARSE: bad column description %q (want name TYPE type START n [FOR m])", strings.TrimSpace(part))
		}
		t, err := parseType(m[2])
		if err != nil {
			return expr{}, err
		}
		name := m[1]
		if strings.HasPrefix(name, `"`) {
			name = name[1 : len(name)-1]
		} else {
			name = strings.ToUpper(name)
		}
		f := field{n: -1, notNull: m[4] != ""}
		f.start, _ = strconv.Atoi(m[5])
		if m[6] != "" {
			f.n, _ = strconv.Atoi(m[6])
		}
		if m[3] != "" {
			f.layout = javaLayout(m[3])
		}
		names, types, fields = append(names, name), append(types, t), append(fields, f)
	}
	x := a[0].f
	return expr{f: func(v *env) any {
		s, ok := x(v).(string)
		if !ok {
			return nil
		}
		out := make([]any, len(fields))
		for i, f := range fields {
			txt := ""
			if f.start < len(s) {
				end := len(s)
				if f.n >= 0 && f.start+f.n < end {
					end = f.start + f.n
				}
				txt = strings.TrimSpace(s[f.start:end])
			}
			if txt == "" {
				if f.notNull {
					return v.fail(errConversion, "FIXED_COLUMN_LOG_PARSE column %s is empty but NOT NULL", names[i])
				}
				continue
			}
			var val any = txt
			if f.layout != "" {
				tm, err := time.Parse(f.layout, txt)
				if err != nil {
					return v.fail(errConversion, "FIXED_COLUMN_LOG_PARSE column %s: %v", names[i], err)
				}
				val = tm.UTC()
			}
			c, err := castTo(val, types[i])
			if err != nil {
				return v.fail(errConversion, "FIXED_COLUMN_LOG_PARSE column %s: %v", names[i], err)
			}
			out[i] = c
		}
		return out
	}, t: rowType(names, types)}, nil
}
