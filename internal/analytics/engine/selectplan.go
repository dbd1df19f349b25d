package engine

import (
	"fmt"
	"time"

	kdasql "github.com/rheos/rheos/internal/analytics/sql"
)

// consumer is the part of an operator after its FROM: it reads the current
// source rows from its env (set by the operator's front: a single stream, a
// stream-table join or a windowed stream-stream join).
type consumer interface {
	consume(e *env)
	advance(now time.Time)
}

// finisher evaluates the select list of one output row, applies HAVING,
// converts to the target stream's columns and inserts.
type finisher struct {
	items  []expr
	rt     int // index of the `AS ROWTIME` item, -1 when none
	having *expr
	ins    *insertSpec
	pump   string
	in     *Instance
	out    func(Row, *env)
}

func (f *finisher) fail(e *env) {
	var vals []any
	for _, r := range e.rows {
		vals = append(vals, r...)
	}
	f.in.errorRow(e.err.name, e.err.msg, Row{Rowtime: e.rowtime, Values: vals}, f.pump)
	e.err = nil
}

func (f *finisher) run(e *env) {
	if f.having != nil {
		if h := f.having.f(e); h != true {
			if e.err != nil {
				f.fail(e)
			}
			return
		}
	}
	n := len(f.items)
	if f.rt >= 0 {
		n--
	}
	width := n
	if f.ins != nil {
		width = f.ins.width
	}
	vals := make([]any, width)
	rt := e.rowtime
	k := 0
	for i, it := range f.items {
		v := it.f(e)
		if i == f.rt {
			t, ok := v.(time.Time)
			if !ok && e.err == nil {
				e.fail(errEvaluation, "the ROWTIME column is NULL or not a TIMESTAMP")
			}
			rt = t
			continue
		}
		if f.ins != nil {
			j := f.ins.mapping[k]
			c, err := castTo(v, f.ins.types[j])
			if err != nil && e.err == nil {
				e.fail(errConversion, "column %d: %v", j+1, err)
			}
			vals[j] = c
		} else {
			vals[k] = v
		}
		k++
	}
	if e.err != nil {
		f.fail(e)
		return
	}
	f.out(Row{Rowtime: rt, Values: vals}, e)
}

// selectQuery plans one SELECT block.
func (c *compiler) selectQuery(sel *kdasql.Select, pump string, target int, ins *insertSpec) ([]outCol, []int, error) {
	if sel.From == nil {
		return nil, nil, errAt(sel, "SELECT needs FROM a stream")
	}
	if sel.Quantifier == "DISTINCT" {
		return nil, nil, errAt(sel, "SELECT DISTINCT is not supported on a stream")
	}
	windows := map[string]*kdasql.WindowSpec{}
	for _, w := range sel.Windows {
		windows[w.Name.Name] = w.Spec
	}
	// FROM.
	var items []fromItem
	var join *kdasql.Join
	if j, ok := sel.From.(*kdasql.Join); ok {
		join = j
		l, err := c.fromItem(j.Left, pump, 0)
		if err != nil {
			return nil, nil, err
		}
		r, err := c.fromItem(j.Right, pump, 1)
		if err != nil {
			return nil, nil, err
		}
		items = []fromItem{l, r}
		if l.stream < 0 && r.stream < 0 {
			return nil, nil, errAt(j, "a join needs a stream on one side")
		}
	} else {
		it, err := c.fromItem(sel.From, pump, 0)
		if err != nil {
			return nil, nil, err
		}
		if it.stream < 0 {
			// §3 Reference data: "join from a stream only".
			return nil, nil, errAt(sel.From, "%s is a reference table: it can only be joined from a stream", it.src.name)
		}
		if it.over != nil {
			return nil, nil, errAt(sel.From, "a window on a FROM item needs a join")
		}
		items = []fromItem{it}
	}
	s := &scope{c: c, windows: windows}
	for _, it := range items {
		s.srcs = append(s.srcs, it.src)
	}
	if sel.Order != nil {
		// ORDER BY whose keys are all ROWTIME-monotonic is a no-op: rows
		// already flow in ROWTIME order. Sorting within a time bucket and the
		// T-sort (ORDER BY ... WITHIN) are not supported yet.
		for _, o := range sel.Order.Items {
			if !s.monotonic(o.Expr) || o.Dir == "DESC" || sel.Order.Within != nil {
				return nil, nil, errAt(sel.Order, "ORDER BY on a stream is supported only on ROWTIME-monotonic keys")
			}
		}
	}

	var where *expr
	if sel.Where != nil {
		w, err := s.compile(sel.Where)
		if err != nil {
			return nil, nil, err
		}
		if w.t.k != kBool && w.t.k != kNull {
			return nil, nil, errAt(sel.Where, "WHERE needs a BOOLEAN, not %s", w.t.text)
		}
		where = &w
	}

	var cons func(f *finisher) consumer
	var fin finisher
	var outs []outCol
	var err error
	switch {
	case sel.Stagger != nil:
		if len(sel.GroupBy) > 0 {
			return nil, nil, errAt(sel.GroupBy[0], "WINDOWED BY STAGGER replaces GROUP BY")
		}
		cons, fin, outs, err = c.planStagger(sel, s, where)
	case len(sel.GroupBy) > 0:
		cons, fin, outs, err = c.planTumbling(sel, s, where)
	default:
		cons, fin, outs, err = c.planRows(sel, s, where)
	}
	if err != nil {
		return nil, nil, err
	}
	if ins != nil {
		if err := ins.check(outs, sel); err != nil {
			return nil, nil, err
		}
	}
	fin.ins, fin.pump = ins, pump

	op := &opPlan{pump: pump, target: target}
	nsrc := len(items)
	mkEnv := func(in *Instance) *env {
		return &env{rows: make([][]any, nsrc), rowtimes: make([]time.Time, nsrc), start: in.now}
	}
	switch {
	case join == nil:
		op.inputs = []int{items[0].stream}
		op.build = func(in *Instance, out func(Row, *env)) runner {
			f := fin
			f.in, f.out = in, out
			e := mkEnv(in)
			return &single{e: e, c: cons(&f)}
		}
	case items[0].stream >= 0 && items[1].stream >= 0:
		front, err := c.planStreamJoin(join, s, items)
		if err != nil {
			return nil, nil, err
		}
		op.inputs = []int{items[0].stream, items[1].stream}
		op.build = func(in *Instance, out func(Row, *env)) runner {
			f := fin
			f.in, f.out = in, out
			return front(in, mkEnv(in), cons(&f), &f)
		}
	default:
		front, si, err := c.planTableJoin(join, s, items)
		if err != nil {
			return nil, nil, err
		}
		op.inputs = []int{items[si].stream}
		op.build = func(in *Instance, out func(Row, *env)) runner {
			f := fin
			f.in, f.out = in, out
			return front(in, mkEnv(in), cons(&f), &f)
		}
	}
	idx := c.addOp(op)
	return outs, []int{idx}, nil
}

// single is the front of an operator reading one stream.
type single struct {
	e *env
	c consumer
}

func (s *single) push(_ int, r Row) {
	s.e.rows[0] = r.Values
	s.e.rowtimes[0] = r.Rowtime
	s.e.rowtime = r.Rowtime
	s.c.consume(s.e)
}

func (s *single) advance(now time.Time) { s.c.advance(now) }

// selectList compiles the select list in scope s: * expands to every column
// of every source (or of the qualified one); `expr AS ROWTIME` sets the
// output row's ROWTIME instead of a column (§3 Pumps).
func (s *scope) selectList(sel *kdasql.Select) ([]expr, int, []outCol, error) {
	var items []expr
	var outs []outCol
	rt := -1
	for _, it := range sel.Items {
		if st, ok := it.Expr.(*kdasql.Star); ok {
			if s.grouped {
				return nil, 0, nil, errAt(st, "* is not allowed in a grouped query")
			}
			matched := false
			for _, src := range s.srcs {
				if len(st.Qualifier) > 0 {
					q := st.Qualifier[len(st.Qualifier)-1].Name
					if src.alias != q && src.name != q {
						continue
					}
				}
				matched = true
				for _, col := range src.cols {
					items = append(items, s.columnExpr(col))
					outs = append(outs, outCol{name: col.name, t: col.t, at: st})
				}
			}
			if !matched {
				return nil, 0, nil, errAt(st, "table %s not found", st.Qualifier[len(st.Qualifier)-1].Name)
			}
			continue
		}
		x, err := s.compile(it.Expr)
		if err != nil {
			return nil, 0, nil, err
		}
		name := ""
		if it.Alias != nil {
			name = it.Alias.Name
			if name == "ROWTIME" && !it.Alias.Quoted {
				if x.t.k != kTimestamp && x.t.k != kNull {
					return nil, 0, nil, errAt(it, "the ROWTIME column must be a TIMESTAMP, not %s", x.t.text)
				}
				if rt >= 0 {
					return nil, 0, nil, errAt(it, "ROWTIME is set twice")
				}
				rt = len(items)
				items = append(items, x)
				continue
			}
		} else if n, ok := it.Expr.(*kdasql.Name); ok {
			name = lastName(n)
		} else {
			name = fmt.Sprintf("EXPR$%d", len(outs))
		}
		items = append(items, x)
		outs = append(outs, outCol{name: name, t: x.t, at: it})
	}
	return items, rt, outs, nil
}

// monotonic reports whether e is a ROWTIME-based monotonic expression: the
// streaming GROUP BY needs one (§4 Windows, sqlref GROUP BY: "GROUP BY on a
// monotonic expression based on ROWTIME").
func (s *scope) monotonic(e kdasql.Expr) bool {
	switch x := e.(type) {
	case *kdasql.Name:
		return s.isRowtime(x)
	case *kdasql.Step:
		return s.isRowtime(x.X)
	case *kdasql.FloorCeil:
		return s.isRowtime(x.X)
	}
	return false
}

// windowEnd returns, for a monotonic GROUP BY key, the end of the tumbling
// window given the key's value (the window start) and the row's ROWTIME.
func (s *scope) windowEnd(e kdasql.Expr) (func(start, t time.Time) time.Time, error) {
	switch x := e.(type) {
	case *kdasql.Step:
		by, err := s.compile(x.By)
		if err != nil {
			return nil, err
		}
		w, ok := by.f(nil).(time.Duration)
		if !ok || w <= 0 {
			return nil, errAt(x.By, "STEP of ROWTIME needs a positive day-time interval")
		}
		return func(start, _ time.Time) time.Time { return start.Add(w) }, nil
	case *kdasql.FloorCeil:
		unit := x.Unit
		if x.Fn == "FLOOR" {
			return func(start, _ time.Time) time.Time { return addUnit(start, unit) }, nil
		}
		return func(end, t time.Time) time.Time {
			if !end.After(t) {
				return t.Add(time.Millisecond)
			}
			return end
		}, nil
	}
	// GROUP BY ROWTIME: one window per ROWTIME value (timestamps have
	// millisecond precision, §4 data types).
	return func(_, t time.Time) time.Time { return t.Add(time.Millisecond) }, nil
}
