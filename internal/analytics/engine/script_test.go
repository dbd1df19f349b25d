package engine

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata scripts")

// Script tests: testdata/*.txt. Sections start with a line "-- name --":
//
//	-- code --                  application code
//	-- input NAME --            an input stream: one line of columns, "NAME TYPE, ..."
//	-- table NAME --            a reference table: columns line, then rows
//	-- events --                "HH:MM:SS[.fff] STREAM v, v, ..." inserts a row with
//	                            that ROWTIME (date 2026-01-01; or a full
//	                            2026-01-02T10:00:00), "advance TIME" moves the
//	                            clock, "table NAME" followed by rows replaces a
//	                            table until a line "end"
//	-- output --                expected rows "STREAM ROWTIME v, v, ..." in emit
//	                            order; error_stream rows as
//	                            "error_stream ROWTIME ERROR_NAME PUMP"
//	-- error --                 expected Compile error "LINE:COL substring"
//
// Values: 'text', integers, decimals (a float always prints with a '.'),
// NULL, TRUE/FALSE, and times as T10:00:00 (T2026-01-02 10:00:00 off the
// base date). The clock advances to the last event's time plus a day at the
// end. go test -run TestScripts -rewrite rewrites the output sections.
func TestScripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txt")
	if len(files) < 15 {
		t.Fatalf("want at least 15 scripts, have %d", len(files))
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) { runScript(t, f) })
	}
}

var base = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type section struct {
	name, arg string
	body      []string
}

func parseSections(src string) (head string, secs []section) {
	var cur *section
	var h []string
	for _, line := range strings.Split(src, "\n") {
		if strings.HasPrefix(line, "-- ") && strings.HasSuffix(line, " --") {
			f := strings.Fields(strings.TrimSuffix(strings.TrimPrefix(line, "-- "), " --"))
			secs = append(secs, section{name: f[0], arg: strings.Join(f[1:], " ")})
			cur = &secs[len(secs)-1]
			continue
		}
		if cur == nil {
			h = append(h, line)
		} else {
			cur.body = append(cur.body, line)
		}
	}
	return strings.Join(h, "\n"), secs
}

func parseCols(line string) []Column {
	var cols []Column
	depth, startI := 0, 0
	line = strings.TrimSpace(line)
	for i := 0; i <= len(line); i++ {
		if i < len(line) {
			switch line[i] {
			case '(':
				depth++
			case ')':
				depth--
			}
			if line[i] != ',' || depth > 0 {
				continue
			}
		}
		part := strings.TrimSpace(line[startI:i])
		startI = i + 1
		sp := strings.IndexByte(part, ' ')
		cols = append(cols, Column{Name: part[:sp], Type: strings.TrimSpace(part[sp+1:])})
	}
	return cols
}

func parseTime(s string) (time.Time, error) {
	s = strings.TrimPrefix(s, "T")
	if strings.Contains(s, "-") {
		return time.Parse("2006-01-02T15:04:05.999", strings.Replace(s, " ", "T", 1))
	}
	t, err := time.Parse("15:04:05.999", s)
	if err != nil {
		return t, err
	}
	return base.Add(time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second + time.Duration(t.Nanosecond())), nil
}

// splitValues splits "a, 'b,c', 3" at commas outside quotes.
func splitValues(s string) []string {
	var out []string
	inQ := false
	startI := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) {
			if s[i] == '\'' {
				inQ = !inQ
			}
			if s[i] != ',' || inQ {
				continue
			}
		}
		if p := strings.TrimSpace(s[startI:i]); p != "" || i < len(s) {
			out = append(out, p)
		}
		startI = i + 1
	}
	return out
}

func parseValue(s string) (any, error) {
	switch {
	case s == "NULL":
		return nil, nil
	case s == "TRUE":
		return true, nil
	case s == "FALSE":
		return false, nil
	case strings.HasPrefix(s, "'"):
		return strings.ReplaceAll(s[1:len(s)-1], "''", "'"), nil
	case strings.HasPrefix(s, "T"):
		return parseTime(s)
	case strings.ContainsAny(s, ".eE"):
		return strconv.ParseFloat(s, 64)
	}
	return strconv.ParseInt(s, 10, 64)
}

func fmtTime(t time.Time) string {
	t = t.UTC()
	var s string
	if y, m, d := t.Date(); y == 2026 && m == 1 && d == 1 {
		s = t.Format("15:04:05.999")
	} else {
		s = t.Format("2006-01-02 15:04:05.999")
	}
	return s
}

func fmtValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case bool:
		if x {
			return "TRUE"
		}
		return "FALSE"
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'"
	case float64:
		s := strconv.FormatFloat(x, 'g', 10, 64)
		if !strings.ContainsAny(s, ".eEN") {
			s += ".0"
		}
		return s
	case time.Time:
		return "T" + fmtTime(x)
	}
	return toString(v)
}

func fmtRow(stream string, r Row) string {
	if stream == ErrorStream {
		return strings.TrimSpace(fmt.Sprintf("%s %s %v %v", stream, fmtTime(r.Rowtime), r.Values[2], r.Values[6]))
	}
	vals := make([]string, len(r.Values))
	for i, v := range r.Values {
		vals[i] = fmtValue(v)
	}
	return fmt.Sprintf("%s %s %s", stream, fmtTime(r.Rowtime), strings.Join(vals, ", "))
}

func runScript(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	head, secs := parseSections(string(data))
	var code string
	var inputs []Stream
	var tables []Table
	var events, want []string
	var wantErr *string
	outIdx := -1
	for i, s := range secs {
		body := strings.Join(s.body, "\n")
		switch s.name {
		case "code":
			code = body
		case "input":
			inputs = append(inputs, Stream{Name: s.arg, Columns: parseCols(firstLine(s.body))})
		case "table":
			tb := Table{Name: s.arg}
			lines := nonEmpty(s.body)
			tb.Columns = parseCols(lines[0])
			for _, l := range lines[1:] {
				row, err := parseRow(l)
				if err != nil {
					t.Fatal(err)
				}
				tb.Rows = append(tb.Rows, row)
			}
			tables = append(tables, tb)
		case "events":
			events = nonEmpty(s.body)
		case "output":
			want = nonEmpty(s.body)
			outIdx = i
		case "error":
			e := strings.TrimSpace(body)
			wantErr = &e
		}
	}
	prog, err := Compile(code, inputs, tables)
	if wantErr != nil {
		if err == nil {
			t.Fatalf("Compile succeeded, want error %q", *wantErr)
		}
		line, col := errPos(err)
		got := fmt.Sprintf("%d:%d", line, col)
		pos, sub, _ := strings.Cut(*wantErr, " ")
		if got != pos || !strings.Contains(err.Error(), sub) {
			t.Fatalf("Compile error %s %q, want %s %q", got, err, pos, sub)
		}
		return
	}
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	var got []string
	in := prog.Start(base, func(stream string, r Row) { got = append(got, fmtRow(stream, r)) })
	last := base
	for k := 0; k < len(events); k++ {
		ev := events[k]
		if strings.HasPrefix(ev, "#") {
			continue
		}
		f := strings.Fields(ev)
		switch f[0] {
		case "advance":
			tm, err := parseTime(f[1])
			if err != nil {
				t.Fatal(err)
			}
			in.Advance(tm)
			last = tm
		case "table":
			var rows [][]any
			for k++; k < len(events) && events[k] != "end"; k++ {
				row, err := parseRow(events[k])
				if err != nil {
					t.Fatal(err)
				}
				rows = append(rows, row)
			}
			in.SetTable(f[1], rows)
		default:
			tm, err := parseTime(f[0])
			if err != nil {
				t.Fatalf("event %q: %v", ev, err)
			}
			rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(ev, f[0]), " "))
			stream, vals, _ := strings.Cut(rest, " ")
			row, err := parseRow(vals)
			if err != nil {
				t.Fatalf("event %q: %v", ev, err)
			}
			in.Insert(stream, Row{Rowtime: tm, Values: row})
			last = tm
		}
	}
	in.Advance(last.Add(24 * time.Hour))
	if *rewrite {
		var b strings.Builder
		b.WriteString(head)
		for i, s := range secs {
			fmt.Fprintf(&b, "\n-- %s --\n", strings.TrimSpace(s.name+" "+s.arg))
			if i == outIdx {
				for _, g := range got {
					b.WriteString(g + "\n")
				}
				continue
			}
			b.WriteString(strings.TrimRight(strings.Join(s.body, "\n"), "\n") + "\n")
		}
		if err := os.WriteFile(file, []byte(strings.TrimLeft(b.String(), "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("output mismatch\n got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func errPos(err error) (int, int) {
	switch e := err.(type) {
	case *Error:
		return e.Line, e.Column
	default:
		var line, col int
		if ke, ok := err.(interface{ Error() string }); ok {
			_ = ke
		}
		if se, ok := asSyntax(err); ok {
			return se.Line, se.Column
		}
		return line, col
	}
}

func parseRow(s string) ([]any, error) {
	var row []any
	for _, p := range splitValues(s) {
		v, err := parseValue(p)
		if err != nil {
			return nil, fmt.Errorf("value %q: %v", p, err)
		}
		row = append(row, v)
	}
	return row, nil
}

func firstLine(lines []string) string { return nonEmpty(lines)[0] }

func nonEmpty(lines []string) []string {
	var out []string
	for _, l := range lines {
		if strings.TrimFunc(l, unicode.IsSpace) != "" {
			out = append(out, strings.TrimRightFunc(l, unicode.IsSpace))
		}
	}
	return out
}
