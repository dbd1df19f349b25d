package engine

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	kdasql "github.com/rheos/rheos/internal/analytics/sql"
)

// Column is a column of an in-app stream; Type is its SQL type text as
// written (VARCHAR(16), INTEGER, TIMESTAMP, DECIMAL(8,2)...).
type Column struct{ Name, Type string }

// Stream is an in-app stream: Name exactly as it is referred to (input
// streams are created quoted, e.g. SOURCE_SQL_STREAM_001).
type Stream struct {
	Name    string
	Columns []Column
}

// Row is a row of a stream: its ROWTIME and its values in column order. Go
// values: nil (NULL), bool, int64 (TINYINT..BIGINT), float64 (REAL, DOUBLE,
// DECIMAL), string (CHAR/VARCHAR), []byte (BINARY/VARBINARY), time.Time
// (DATE, TIME, TIMESTAMP; UTC). Insert copies the values it is given; rows
// handed to emit are shared with the operators reading that stream (window
// and join state), so the receiver may keep them but must not modify them.
type Row struct {
	Rowtime time.Time
	Values  []any
}

// Table is a reference table (§3 Reference data): rows replaced with
// (*Instance).SetTable.
type Table struct {
	Name    string
	Columns []Column
	Rows    [][]any
}

// ErrorStream is the name of the system stream that receives runtime errors
// (§4 Error stream).
const ErrorStream = "error_stream"

// errorColumns are error_stream's columns (§4 Error stream).
var errorColumns = []Column{
	{"ERROR_TIME", "TIMESTAMP"}, {"ERROR_LEVEL", "VARCHAR(10)"}, {"ERROR_NAME", "VARCHAR(32)"},
	{"MESSAGE", "VARCHAR(4096)"}, {"DATA_ROWTIME", "TIMESTAMP"}, {"DATA_ROW", "VARCHAR(49152)"},
	{"PUMP_NAME", "VARCHAR(128)"},
}

// Program is compiled application code: immutable, safe to Start many
// times (each Instance owns its state).
type Program struct {
	streams []*streamDef
	byName  map[string]int
	tables  []*tableDef
	ops     []*opPlan // in topological order (a writer before its readers)
}

type streamDef struct {
	name    string
	cols    []Column
	types   []sqlType
	input   bool
	hidden  bool // a FROM subquery's stream
	readers []reader
	depth   int
}

// reader is one operator input subscribed to a stream.
type reader struct {
	op   int
	side int
}

type tableDef struct {
	name  string
	cols  []Column
	types []sqlType
	rows  [][]any
}

// opPlan is one compiled query operator (a pump's SELECT, one side of a
// UNION ALL, or a FROM subquery).
type opPlan struct {
	pump   string
	inputs []int // stream indices, one per side
	target int   // stream index written, -1 to discard
	// build makes the operator's running state for an instance.
	build func(in *Instance, out func(Row, *env)) runner
	depth int
}

// runner is a running operator.
type runner interface {
	push(side int, r Row)
	advance(now time.Time)
}

// Streams lists every in-app stream (inputs and those the code creates)
// with their columns, and error_stream last.
func (p *Program) Streams() []Stream {
	var out []Stream
	for _, s := range p.streams {
		if s.hidden {
			continue
		}
		out = append(out, Stream{Name: s.name, Columns: append([]Column(nil), s.cols...)})
	}
	return append(out, Stream{Name: ErrorStream, Columns: append([]Column(nil), errorColumns...)})
}

// Instance is a running program: per-operator state, the processing clock,
// the reference tables' current rows. Not safe for concurrent use: the
// caller serialises Insert, Advance and SetTable.
type Instance struct {
	p       *Program
	emit    func(string, Row)
	now     time.Time
	last    []time.Time // per stream: ROWTIME of the last row inserted
	runners []runner
	tables  map[string]*tableState
}

type tableState struct {
	def  *tableDef
	rows [][]any
	gen  int // bumped by SetTable: join indexes rebuild lazily
}

// Start makes a running instance; emit receives every row inserted into an
// in-app stream that is not an input (pump outputs), and error_stream rows.
func (p *Program) Start(now time.Time, emit func(stream string, row Row)) *Instance {
	if emit == nil {
		emit = func(string, Row) {}
	}
	in := &Instance{p: p, emit: emit, now: now.UTC(), last: make([]time.Time, len(p.streams)), tables: map[string]*tableState{}}
	for _, t := range p.tables {
		ts := &tableState{def: t}
		ts.rows = t.rows
		in.tables[t.name] = ts
	}
	in.runners = make([]runner, len(p.ops))
	for i, op := range p.ops {
		op := op
		target := op.target
		pump := op.pump
		in.runners[i] = op.build(in, func(r Row, e *env) {
			if target >= 0 {
				in.insert(target, r, pump, e)
			}
		})
	}
	return in
}

// Insert adds an input row. Its ROWTIME must not go backwards per stream
// (else an error_stream row, and the row is dropped). Values are converted
// to the columns' types; a value that does not convert is an error_stream
// row (§3 Ingestion: coercion failures go to error_stream).
func (i *Instance) Insert(stream string, row Row) {
	idx, ok := i.p.byName[stream]
	row.Rowtime = row.Rowtime.UTC()
	if row.Rowtime.After(i.now) {
		// ROWTIME is the time a row enters the application (§3 Ingestion),
		// so the processing clock is at least this row's ROWTIME: windows
		// that end by then close before the row is processed.
		i.Advance(row.Rowtime)
	}
	if !ok || !i.p.streams[idx].input {
		i.errorRow(errEvaluation, fmt.Sprintf("%q is not an input stream", stream), row, "")
		return
	}
	s := i.p.streams[idx]
	if len(row.Values) != len(s.cols) {
		i.errorRow(errConversion, fmt.Sprintf("row has %d values, stream %s has %d columns", len(row.Values), s.name, len(s.cols)), row, "")
		return
	}
	vals := make([]any, len(row.Values))
	for j, v := range row.Values {
		c, err := castTo(normalize(v), s.types[j])
		if err != nil {
			i.errorRow(errConversion, fmt.Sprintf("column %s: %v", s.cols[j].Name, err), row, "")
			return
		}
		vals[j] = c
	}
	i.insert(idx, Row{Rowtime: row.Rowtime, Values: vals}, "", nil)
}

// insert appends a row to stream idx: the monotonic ROWTIME check (§3
// Pumps: "a row older than the stream's current time is dropped (error)"),
// emit for non-input streams, then every reader.
func (i *Instance) insert(idx int, r Row, pump string, e *env) {
	s := i.p.streams[idx]
	if r.Rowtime.Before(i.last[idx]) {
		i.errorRow(errOutOfOrder, fmt.Sprintf("ROWTIME %s is before the current time %s of stream %s", r.Rowtime.Format(time.RFC3339Nano), i.last[idx].Format(time.RFC3339Nano), s.name), r, pump)
		return
	}
	i.last[idx] = r.Rowtime
	if !s.input && !s.hidden {
		i.emit(s.name, r)
	}
	for _, rd := range s.readers {
		i.runners[rd.op].push(rd.side, r)
	}
}

// errorRow writes one error_stream row (§4 Error stream). DATA_ROW is the
// row as a JSON array of its values, hex-encoded (KDA writes the raw row in
// hex; the encoding inside is ours).
func (i *Instance) errorRow(name, msg string, r Row, pump string) {
	data, _ := json.Marshal(r.Values)
	var drt any
	if !r.Rowtime.IsZero() {
		drt = r.Rowtime
	}
	if len(msg) > 4096 {
		msg = msg[:4096]
	}
	i.emit(ErrorStream, Row{Rowtime: i.now, Values: []any{i.now, "ERROR", name, msg, drt, hex.EncodeToString(data), pump}})
}

// Advance moves the processing clock to now: tumbling windows whose end <=
// now close and emit; stagger windows whose deadline passed emit;
// outer-join rows whose window expired emit unmatched. Operators advance
// writers first, so a window closed upstream reaches its readers before
// they close their own.
func (i *Instance) Advance(now time.Time) {
	now = now.UTC()
	if now.After(i.now) {
		i.now = now
	}
	for _, r := range i.runners {
		r.advance(i.now)
	}
}

// SetTable replaces the rows of a reference table (§3 Reference data:
// loaded at start and on UpdateApplication).
func (i *Instance) SetTable(name string, rows [][]any) {
	t, ok := i.tables[name]
	if !ok {
		return
	}
	conv := make([][]any, len(rows))
	for k, r := range rows {
		c := make([]any, len(t.def.cols))
		for j := range c {
			if j < len(r) {
				c[j], _ = castTo(normalize(r[j]), t.def.types[j])
			}
		}
		conv[k] = c
	}
	t.rows = conv
	t.gen++
}

// order sorts ops so that every op comes after the ops writing its inputs
// (depth = longest writer chain); cycles are cut at len(ops) iterations.
func (p *Program) order() {
	for iter := 0; iter <= len(p.ops); iter++ {
		changed := false
		for _, op := range p.ops {
			d := 0
			for _, s := range op.inputs {
				if p.streams[s].depth > d {
					d = p.streams[s].depth
				}
			}
			if d != op.depth {
				op.depth, changed = d, true
			}
			if op.target >= 0 && p.streams[op.target].depth < d+1 {
				p.streams[op.target].depth, changed = d+1, true
			}
		}
		if !changed {
			break
		}
	}
	idx := make([]int, len(p.ops))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p.ops[idx[a]].depth < p.ops[idx[b]].depth })
	pos := make([]int, len(idx))
	ops := make([]*opPlan, len(idx))
	for n, o := range idx {
		ops[n] = p.ops[o]
		pos[o] = n
	}
	p.ops = ops
	for _, s := range p.streams {
		for k := range s.readers {
			s.readers[k].op = pos[s.readers[k].op]
		}
	}
}

var _ = kdasql.Parse
