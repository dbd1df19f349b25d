package engine

import (
	"fmt"
	"time"

	kdasql "github.com/rheos/rheos/internal/analytics/sql"
)

type compiler struct {
	p      *Program
	tables map[string]*tableDef
	funcs  map[string]*kdasql.CreateFunction
	subs   int
	// udfDepth is the nesting of UDF bodies being inlined.
	udfDepth int
}

// Compile parses and plans application code against its input streams and
// reference tables. Errors carry line and column: a *kdasql.Error for
// syntax, an *Error for semantics.
func Compile(code string, inputs []Stream, tables []Table) (*Program, error) {
	script, err := kdasql.Parse(code)
	if err != nil {
		return nil, err
	}
	p := &Program{byName: map[string]int{}}
	c := &compiler{p: p, tables: map[string]*tableDef{}, funcs: map[string]*kdasql.CreateFunction{}}
	for _, s := range inputs {
		types, err := columnTypes(s.Columns)
		if err != nil {
			return nil, fmt.Errorf("input stream %s: %w", s.Name, err)
		}
		c.addStream(&streamDef{name: s.Name, cols: append([]Column(nil), s.Columns...), types: types, input: true})
	}
	for _, t := range tables {
		types, err := columnTypes(t.Columns)
		if err != nil {
			return nil, fmt.Errorf("reference table %s: %w", t.Name, err)
		}
		td := &tableDef{name: t.Name, cols: append([]Column(nil), t.Columns...), types: types}
		for _, r := range t.Rows {
			row := make([]any, len(types))
			for j := range row {
				if j < len(r) {
					if row[j], err = castTo(normalize(r[j]), types[j]); err != nil {
						return nil, fmt.Errorf("reference table %s: %w", t.Name, err)
					}
				}
			}
			td.rows = append(td.rows, row)
		}
		c.tables[t.Name] = td
		p.tables = append(p.tables, td)
	}
	for _, st := range script.Stmts {
		if err := c.stmt(st); err != nil {
			return nil, err
		}
	}
	p.order()
	return p, nil
}

func columnTypes(cols []Column) ([]sqlType, error) {
	out := make([]sqlType, len(cols))
	for i, c := range cols {
		t, err := parseType(c.Type)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
		out[i] = t
	}
	return out, nil
}

func (c *compiler) addStream(s *streamDef) int {
	c.p.byName[s.name] = len(c.p.streams)
	c.p.streams = append(c.p.streams, s)
	return len(c.p.streams) - 1
}

func lastName(n *kdasql.Name) string { return n.Parts[len(n.Parts)-1].Name }

func (c *compiler) stmt(st kdasql.Stmt) error {
	switch s := st.(type) {
	case *kdasql.CreateStream:
		name := lastName(s.Name)
		if _, ok := c.p.byName[name]; ok && (!s.OrReplace || c.p.streams[c.p.byName[name]].input) {
			return errAt(s.Name, "stream %s already exists", name)
		}
		if _, ok := c.tables[name]; ok {
			return errAt(s.Name, "%s is a reference table", name)
		}
		d := &streamDef{name: name}
		seen := map[string]bool{}
		for _, col := range s.Columns {
			t, err := parseType(col.Type.String())
			if err != nil {
				return errAt(col.Type, "%v", err)
			}
			if seen[col.Name.Name] {
				return errAt(col.Name, "duplicate column %s", col.Name.Name)
			}
			seen[col.Name.Name] = true
			d.cols = append(d.cols, Column{Name: col.Name.Name, Type: col.Type.String()})
			d.types = append(d.types, t)
		}
		if i, ok := c.p.byName[name]; ok {
			c.p.streams[i] = d // OR REPLACE before any pump reads it
			return nil
		}
		c.addStream(d)
		return nil
	case *kdasql.CreateFunction:
		c.funcs[lastName(s.Name)] = s
		return nil
	case *kdasql.CreatePump:
		return c.insert(s.Insert, lastName(s.Name))
	case *kdasql.Insert:
		return c.insert(s, "")
	case *kdasql.QueryStmt:
		// A bare SELECT STREAM in application code has no destination: it
		// is checked and planned, and its rows are discarded.
		_, _, err := c.query(s.Query, "", -1, nil)
		return err
	}
	return errAt(st, "statement not supported")
}

// insert plans INSERT INTO target [(cols)] query: columns map by position
// (§4: "Pump INSERT maps columns by position, types must match").
func (c *compiler) insert(ins *kdasql.Insert, pump string) error {
	name := lastName(ins.Target)
	ti, ok := c.p.byName[name]
	if !ok || c.p.streams[ti].hidden {
		if _, isT := c.tables[name]; isT {
			return errAt(ins.Target, "cannot INSERT into reference table %s", name)
		}
		return errAt(ins.Target, "stream %s not found", name)
	}
	target := c.p.streams[ti]
	if target.input {
		return errAt(ins.Target, "cannot INSERT into input stream %s", name)
	}
	// mapping[k] is the target column of select output k.
	var mapping []int
	if len(ins.Columns) > 0 {
		for _, id := range ins.Columns {
			found := -1
			for j, col := range target.cols {
				if col.Name == id.Name {
					found = j
				}
			}
			if found < 0 {
				return errAt(id, "column %s not found in stream %s", id.Name, name)
			}
			mapping = append(mapping, found)
		}
	} else {
		for j := range target.cols {
			mapping = append(mapping, j)
		}
	}
	conv := func(outs []outCol, at kdasql.Node) error {
		if len(outs) != len(mapping) {
			return errAt(at, "INSERT into %s has %d target columns but the query produces %d", name, len(mapping), len(outs))
		}
		for k, o := range outs {
			tt := target.types[mapping[k]]
			if !compatible(o.t.k, tt.k) {
				return errAt(o.at, "cannot assign %s to column %s %s of stream %s", o.t.text, target.cols[mapping[k]].Name, target.cols[mapping[k]].Type, name)
			}
		}
		return nil
	}
	_, _, err := c.query(ins.Query, pump, ti, &insertSpec{mapping: mapping, check: conv, types: target.types, width: len(target.cols)})
	return err
}

// insertSpec describes how a query's output lands in its target stream.
type insertSpec struct {
	mapping []int
	types   []sqlType
	width   int
	check   func([]outCol, kdasql.Node) error
}

// outCol is one output column of a query.
type outCol struct {
	name string
	t    sqlType
	at   kdasql.Node
}

// query plans a query writing into stream target (-1: discard).
func (c *compiler) query(q kdasql.Query, pump string, target int, ins *insertSpec) ([]outCol, []int, error) {
	switch x := q.(type) {
	case *kdasql.SetOp:
		if x.Op != "UNION" || x.Quantifier != "ALL" {
			return nil, nil, errAt(x, "only UNION ALL is supported on streams")
		}
		if x.Order != nil {
			return nil, nil, errAt(x.Order, "ORDER BY is not supported here")
		}
		l, lops, err := c.query(x.Left, pump, target, ins)
		if err != nil {
			return nil, nil, err
		}
		r, rops, err := c.query(x.Right, pump, target, ins)
		if err != nil {
			return nil, nil, err
		}
		if len(l) != len(r) {
			return nil, nil, errAt(x, "UNION ALL sides have %d and %d columns", len(l), len(r))
		}
		return l, append(lops, rops...), nil
	case *kdasql.Select:
		return c.selectQuery(x, pump, target, ins)
	}
	return nil, nil, errAt(q, "query not supported")
}

// addOp registers an operator and subscribes it to its inputs.
func (c *compiler) addOp(op *opPlan) int {
	i := len(c.p.ops)
	c.p.ops = append(c.p.ops, op)
	for side, s := range op.inputs {
		st := c.p.streams[s]
		st.readers = append(st.readers, reader{op: i, side: side})
	}
	return i
}

// fromItem resolves one FROM item to a stream or table source.
type fromItem struct {
	stream int // -1 for a table
	table  *tableDef
	src    source
	over   *kdasql.Over
	node   kdasql.Node
}

func (c *compiler) fromItem(s kdasql.Source, pump string, idx int) (fromItem, error) {
	switch x := s.(type) {
	case *kdasql.TableRef:
		name := lastName(x.Name)
		fi := fromItem{stream: -1, over: x.Over, node: x}
		alias := ""
		if x.Alias.Name != nil {
			alias = x.Alias.Name.Name
		}
		var cols []Column
		var types []sqlType
		if si, ok := c.p.byName[name]; ok && !c.p.streams[si].hidden {
			fi.stream = si
			cols, types = c.p.streams[si].cols, c.p.streams[si].types
		} else if t, ok := c.tables[name]; ok {
			fi.table = t
			cols, types = t.cols, t.types
		} else {
			return fi, errAt(x.Name, "stream or table %s not found", name)
		}
		fi.src = source{name: name, alias: alias}
		for j, col := range cols {
			fi.src.cols = append(fi.src.cols, column{src: idx, idx: j, name: col.Name, t: types[j]})
		}
		if len(x.Alias.Columns) > 0 {
			if len(x.Alias.Columns) != len(cols) {
				return fi, errAt(x.Alias.Columns[0], "%d column aliases for %d columns", len(x.Alias.Columns), len(cols))
			}
			for j, a := range x.Alias.Columns {
				fi.src.cols[j].name = a.Name
			}
		}
		return fi, nil
	case *kdasql.SubquerySource:
		// A FROM subquery runs as an operator of its own writing a hidden
		// stream that the outer query reads (streams are pub/sub, §3).
		c.subs++
		d := &streamDef{name: fmt.Sprintf("$subquery%d", c.subs), hidden: true}
		si := c.addStream(d)
		outs, _, err := c.query(x.Query, pump, si, nil)
		if err != nil {
			return fromItem{}, err
		}
		for _, o := range outs {
			d.cols = append(d.cols, Column{Name: o.name, Type: o.t.text})
			d.types = append(d.types, o.t)
		}
		fi := fromItem{stream: si, over: x.Over, node: x}
		alias := ""
		if x.Alias.Name != nil {
			alias = x.Alias.Name.Name
		}
		fi.src = source{name: d.name, alias: alias}
		for j, col := range d.cols {
			name := col.Name
			if j < len(x.Alias.Columns) {
				name = x.Alias.Columns[j].Name
			}
			fi.src.cols = append(fi.src.cols, column{src: idx, idx: j, name: name, t: d.types[j]})
		}
		return fi, nil
	case *kdasql.TableFunc:
		si, err := c.tableFunc(x, pump)
		if err != nil {
			return fromItem{}, err
		}
		d := c.p.streams[si]
		fi := fromItem{stream: si, over: x.Over, node: x}
		alias := ""
		if x.Alias.Name != nil {
			alias = x.Alias.Name.Name
		}
		fi.src = source{name: d.name, alias: alias}
		for j, col := range d.cols {
			name := col.Name
			if j < len(x.Alias.Columns) {
				name = x.Alias.Columns[j].Name
			}
			fi.src.cols = append(fi.src.cols, column{src: idx, idx: j, name: name, t: d.types[j]})
		}
		return fi, nil
	case *kdasql.Join:
		return fromItem{}, errAt(x, "joins of more than two sources are not supported yet")
	}
	return fromItem{}, errAt(s, "FROM item not supported")
}

// windowWidth reads the RANGE interval or ROWS count of a join side's
// window.
func (c *compiler) joinWindow(o *kdasql.Over, windows map[string]*kdasql.WindowSpec) (time.Duration, error) {
	spec := o.Spec
	if o.Name != nil {
		w, ok := windows[o.Name.Name]
		if !ok {
			return 0, errAt(o.Name, "window %s not found", o.Name.Name)
		}
		spec = w
	}
	if len(spec.PartitionBy) > 0 {
		// sqlref allowed-disallowed-window: no PARTITION BY in a join window.
		return 0, errAt(spec.PartitionBy[0], "PARTITION BY is not allowed in a join window")
	}
	if spec.Frame == nil || spec.Frame.Unit != "RANGE" {
		return 0, errAt(spec, "a join window must be RANGE INTERVAL ... PRECEDING")
	}
	return frameRange(spec.Frame)
}

func frameRange(f *kdasql.Frame) (time.Duration, error) {
	switch f.Start.Kind {
	case kdasql.CurrentRow:
		return 0, nil
	case kdasql.Preceding:
		il, ok := f.Start.Offset.(*kdasql.IntervalLit)
		if !ok {
			return 0, errAt(f.Start, "RANGE needs an INTERVAL offset")
		}
		v, err := intervalValue(il)
		if err != nil {
			return 0, err
		}
		d, ok := v.(time.Duration)
		if !ok || d < 0 {
			return 0, errAt(f.Start, "RANGE needs a non-negative day-time interval")
		}
		return d, nil
	}
	return 0, errAt(f.Start, "frame bound not allowed on a stream")
}
