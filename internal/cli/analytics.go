package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rheos/rheos/internal/analytics/engine"
)

const analyticsUsage = `Usage:
  rheos analytics run --input rows.json [--schema schema.json] [--tables tables.json] app.sql

Runs Kinesis Data Analytics SQL application code locally, without a server,
through the engine the service uses, with the times the input gives.

--input: JSON lines, one input row each,
    {"stream":"SOURCE_SQL_STREAM_001","rowtime":"2026-01-01T00:00:01Z","row":{"TICKER":"AMZN","PRICE":10.5}}
  or a clock advance, {"advance":"2026-01-01T00:01:00Z"}. ROWTIMEs must not go
  backwards per stream. "-" reads stdin.
--schema: the input streams' columns, {"SOURCE_SQL_STREAM_001":[{"Name":"TICKER","Type":"VARCHAR(4)"}, ...]}.
  Without it, each input stream's columns are inferred from its first row, in
  key order: integers BIGINT, other numbers DOUBLE, booleans BOOLEAN, strings
  that read as RFC 3339 times TIMESTAMP, other strings VARCHAR(65535).
--tables: reference tables, [{"Name":"CompanyName","Columns":[{"Name":"Ticker","Type":"VARCHAR(4)"}],"Rows":[["AMZN"]]}].

After the last input line the clock advances a year past the last time, so
every window closes. Output rows (every in-app stream the code writes, and
error_stream) are printed as JSON lines
    {"stream":"DESTINATION_SQL_STREAM","rowtime":"2026-01-01T00:01:00Z","row":{"TICKER":"AMZN","N":3}}
with TIMESTAMP values as "yyyy-MM-dd HH:mm:ss.SSS" (KDA's JSON output form).
`

// analyticsCmd runs `rheos analytics run`.
func analyticsCmd(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprint(stdout, analyticsUsage)
		if len(args) == 0 {
			return errors.New("analytics: want run (rheos analytics -h)")
		}
		return nil
	}
	if args[0] != "run" {
		return fmt.Errorf("analytics: unknown subcommand %q (rheos analytics -h)", args[0])
	}
	fs := flag.NewFlagSet("analytics run", flag.ContinueOnError)
	fs.SetOutput(stdout)
	input := fs.String("input", "", "input rows, JSON lines (- for stdin)")
	schemaFile := fs.String("schema", "", "input stream columns, JSON")
	tablesFile := fs.String("tables", "", "reference tables, JSON")
	fs.Usage = func() { fmt.Fprint(stdout, analyticsUsage) }
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 || *input == "" {
		return errors.New("analytics run: want --input rows.json and one application code file")
	}
	code, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	var in io.Reader = stdin
	if *input != "-" {
		f, err := os.Open(*input)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	var schema map[string][]engine.Column
	if *schemaFile != "" {
		if err := readJSONFile(*schemaFile, &schema); err != nil {
			return fmt.Errorf("--schema: %w", err)
		}
	}
	var tables []engine.Table
	if *tablesFile != "" {
		if err := readJSONFile(*tablesFile, &tables); err != nil {
			return fmt.Errorf("--tables: %w", err)
		}
	}
	return runAnalytics(string(code), pos[0], in, schema, tables, stdout)
}

func readJSONFile(name string, v any) error {
	b, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// inputLine is one line of --input.
type inputLine struct {
	Stream  string          `json:"stream"`
	Rowtime string          `json:"rowtime"`
	Row     json.RawMessage `json:"row"`
	Advance string          `json:"advance"`
}

// field is one key of a JSON object, in order.
type field struct {
	name string
	val  any
}

// orderedObject decodes a JSON object keeping its key order; numbers stay
// json.Number.
func orderedObject(raw json.RawMessage) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	t, err := dec.Token()
	if err != nil || t != json.Delim('{') {
		return nil, errors.New("row is not a JSON object")
	}
	var out []field
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, field{name: k.(string), val: v})
	}
	return out, nil
}

func inferType(v any) string {
	switch x := v.(type) {
	case json.Number:
		if _, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return "BIGINT"
		}
		return "DOUBLE"
	case bool:
		return "BOOLEAN"
	case string:
		if _, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return "TIMESTAMP"
		}
	}
	return "VARCHAR(65535)"
}

func jsonValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return string(b)
	}
	return v
}

type pendingLine struct {
	line int
	l    inputLine
	obj  []field
	t    time.Time
}

func runAnalytics(code, codeName string, in io.Reader, schema map[string][]engine.Column, tables []engine.Table, stdout io.Writer) error {
	// Read all input first: without --schema the columns come from each
	// stream's first row, and Compile needs them all.
	var lines []pendingLine
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	n := 0
	streams := map[string][]engine.Column{}
	var order []string
	for sc.Scan() {
		n++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var l inputLine
		if err := json.Unmarshal([]byte(text), &l); err != nil {
			return fmt.Errorf("input line %d: %w", n, err)
		}
		p := pendingLine{line: n, l: l}
		ts := l.Rowtime
		if l.Advance != "" {
			ts = l.Advance
		}
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return fmt.Errorf("input line %d: time %q: %w", n, ts, err)
		}
		p.t = t
		if l.Advance == "" {
			if l.Stream == "" {
				return fmt.Errorf("input line %d: want \"stream\" and \"row\", or \"advance\"", n)
			}
			if p.obj, err = orderedObject(l.Row); err != nil {
				return fmt.Errorf("input line %d: %w", n, err)
			}
			if _, ok := streams[l.Stream]; !ok {
				cols, ok := schema[l.Stream]
				if !ok && schema != nil {
					return fmt.Errorf("input line %d: stream %s is not in --schema", n, l.Stream)
				}
				if !ok {
					for _, f := range p.obj {
						cols = append(cols, engine.Column{Name: f.name, Type: inferType(f.val)})
					}
				}
				streams[l.Stream] = cols
				order = append(order, l.Stream)
			}
		}
		lines = append(lines, p)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	for name := range schema {
		if _, ok := streams[name]; !ok {
			streams[name] = schema[name]
			order = append(order, name)
		}
	}
	sort.Strings(order)
	var inputs []engine.Stream
	for _, name := range order {
		inputs = append(inputs, engine.Stream{Name: name, Columns: streams[name]})
	}
	prog, err := engine.Compile(code, inputs, tables)
	if err != nil {
		return fmt.Errorf("%s: %w", codeName, err)
	}
	cols := map[string][]engine.Column{}
	for _, s := range prog.Streams() {
		cols[s.Name] = s.Columns
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	var werr error
	var start time.Time
	if len(lines) > 0 {
		start = lines[0].t
	}
	inst := prog.Start(start, func(stream string, r engine.Row) {
		if werr == nil {
			werr = writeRow(w, stream, cols[stream], r)
		}
	})
	last := start
	for _, p := range lines {
		if p.t.After(last) {
			last = p.t
		}
		if p.l.Advance != "" {
			inst.Advance(p.t)
			continue
		}
		c := streams[p.l.Stream]
		vals := make([]any, len(c))
		for _, f := range p.obj {
			for i, col := range c {
				if col.Name == f.name {
					vals[i] = jsonValue(f.val)
				}
			}
		}
		inst.Insert(p.l.Stream, engine.Row{Rowtime: p.t, Values: vals})
	}
	inst.Advance(last.AddDate(1, 0, 0))
	return werr
}

// writeRow prints one output row as a JSON line, columns in order.
func writeRow(w io.Writer, stream string, cols []engine.Column, r engine.Row) error {
	var b bytes.Buffer
	b.WriteString(`{"stream":`)
	s, _ := json.Marshal(stream)
	b.Write(s)
	b.WriteString(`,"rowtime":"`)
	b.WriteString(r.Rowtime.UTC().Format(time.RFC3339Nano))
	b.WriteString(`","row":{`)
	for i, v := range r.Values {
		if i > 0 {
			b.WriteByte(',')
		}
		name := fmt.Sprintf("COL%d", i+1)
		if i < len(cols) {
			name = cols[i].Name
		}
		k, _ := json.Marshal(name)
		b.Write(k)
		b.WriteByte(':')
		if t, ok := v.(time.Time); ok {
			v = t.UTC().Format("2006-01-02 15:04:05.000")
		}
		if f, ok := v.(float64); ok && (f != f || f > 1.7e308 || f < -1.7e308) {
			v = strconv.FormatFloat(f, 'g', -1, 64) // NaN and infinities as strings
		}
		j, err := json.Marshal(v)
		if err != nil {
			return err
		}
		b.Write(j)
	}
	b.WriteString("}}\n")
	_, err := w.Write(b.Bytes())
	return err
}
