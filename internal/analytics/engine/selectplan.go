package engine

import (
	"container/heap"
	"fmt"
	"sort"
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
	sort   *sortSpec
	tsort  *tsortSpec
	heap   heldHeap
	seq    int64
	// The ORDER BY buffer: rows of the current leading-key value.
	buf       []sorted
	bucket    time.Time
	bucketEnd time.Time
}

// sortSpec is ORDER BY leading-key, keys...: rows are held until the
// leading key's value is complete (a row with a later value arrives, or the
// clock passes the value's end), then emitted sorted by the other keys.
type sortSpec struct {
	keys []expr // keys[0] is the monotonic leading key
	desc []bool
	end  func(start, t time.Time) time.Time
}

type sorted struct {
	row  Row
	keys []any
}

// orderBy compiles ORDER BY in the query's scope; a bare name that is not
// a column may name a select-list alias.
func (s *scope) orderBy(o *kdasql.OrderBy, items []expr, outs []outCol) (*sortSpec, error) {
	end, err := s.windowEnd(o.Items[0].Expr)
	if err != nil {
		return nil, err
	}
	sp := &sortSpec{end: end}
	for _, it := range o.Items {
		x, err := s.compile(it.Expr)
		if err != nil {
			n, ok := it.Expr.(*kdasql.Name)
			found := false
			if ok && len(n.Parts) == 1 {
				for k, oc := range outs {
					if oc.name == n.Parts[0].Name && k < len(items) {
						x, found = items[k], true
						break
					}
				}
			}
			if !found {
				return nil, err
			}
		}
		sp.keys = append(sp.keys, x)
		sp.desc = append(sp.desc, it.Dir == "DESC")
	}
	return sp, nil
}

func (f *finisher) hold(e *env, r Row) {
	keys := make([]any, len(f.sort.keys))
	for i, k := range f.sort.keys {
		keys[i] = k.f(e)
	}
	if e.err != nil {
		f.fail(e)
		return
	}
	b, _ := keys[0].(time.Time)
	if len(f.buf) > 0 && !b.Equal(f.bucket) {
		f.flush()
	}
	if len(f.buf) == 0 {
		f.bucket, f.bucketEnd = b, f.sort.end(b, b)
	}
	f.buf = append(f.buf, sorted{row: r, keys: keys})
}

// tick flushes the ORDER BY buffer once the clock passes its key's end.
func (f *finisher) tick(now time.Time) {
	if len(f.buf) > 0 && !f.bucketEnd.After(now) {
		f.flush()
	}
	if f.tsort != nil {
		f.release(now)
	}
}

// tsortSpec is the T-sort ORDER BY ts WITHIN d (§3 Time; sqlref ORDER BY
// clause, T-sorting): rows wait in a buffer ordered by ts and leave, with
// ts as their ROWTIME, once the clock is d past ts. A row whose ts is
// already behind the rows released is inserted late and so dropped with an
// error_stream row (the stream's ROWTIME order, §3 Pumps); a NULL ts is
// discarded.
type tsortSpec struct {
	key    expr
	within time.Duration
}

type held struct {
	ts  time.Time
	seq int64
	row Row
}

type heldHeap []held

func (h heldHeap) Len() int { return len(h) }
func (h heldHeap) Less(i, j int) bool {
	if !h[i].ts.Equal(h[j].ts) {
		return h[i].ts.Before(h[j].ts)
	}
	return h[i].seq < h[j].seq
}
func (h heldHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *heldHeap) Push(x any)   { *h = append(*h, x.(held)) }
func (h *heldHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (s *scope) tsort(o *kdasql.OrderBy, items []expr, outs []outCol) (*tsortSpec, error) {
	sp, err := s.orderBy(&kdasql.OrderBy{Pos: o.Pos, Items: o.Items}, items, outs)
	if err != nil {
		// orderBy wants a monotonic key for its bucket end; the T-sort key
		// is any timestamp.
		sp = &sortSpec{}
		x, err2 := s.compile(o.Items[0].Expr)
		if err2 != nil {
			return nil, err
		}
		sp.keys = []expr{x}
	}
	if k := sp.keys[0].t.k; k != kTimestamp && k != kNull {
		return nil, errAt(o.Items[0], "a T-sort orders by a TIMESTAMP, not %s", sp.keys[0].t.text)
	}
	w, err := s.compile(o.Within)
	if err != nil {
		return nil, err
	}
	d, ok := w.f(nil).(time.Duration)
	if !w.konst || !ok || d < 0 {
		return nil, errAt(o.Within, "WITHIN needs a day-time INTERVAL")
	}
	return &tsortSpec{key: sp.keys[0], within: d}, nil
}

func (f *finisher) holdTS(e *env, r Row) {
	ts, ok := f.tsort.key.f(e).(time.Time)
	if e.err != nil {
		f.fail(e)
		return
	}
	if !ok {
		return
	}
	f.seq++
	heap.Push(&f.heap, held{ts: ts, seq: f.seq, row: r})
	f.release(e.rowtime)
}

func (f *finisher) release(now time.Time) {
	for len(f.heap) > 0 && !f.heap[0].ts.Add(f.tsort.within).After(now) {
		h := heap.Pop(&f.heap).(held)
		h.row.Rowtime = h.ts
		f.out(h.row, nil)
	}
}

func (f *finisher) flush() {
	buf := f.buf
	f.buf = nil
	sort.SliceStable(buf, func(a, b int) bool {
		for i := 1; i < len(f.sort.keys); i++ {
			x, y := buf[a].keys[i], buf[b].keys[i]
			c := 0
			switch {
			case x == nil && y == nil:
			case x == nil:
				c = -1 // NULLs sort first
			case y == nil:
				c = 1
			default:
				c, _ = compare(x, y)
			}
			if f.sort.desc[i] {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		return false
	})
	// The sorted rows leave together, so they share a ROWTIME: the latest
	// of the bucket's rows, which keeps the stream's ROWTIME order and each
	// row inside its leading-key bucket.
	var rt time.Time
	for _, s := range buf {
		if s.row.Rowtime.After(rt) {
			rt = s.row.Rowtime
		}
	}
	for _, s := range buf {
		s.row.Rowtime = rt
		f.out(s.row, nil)
	}
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
			if v == nil && f.tsort != nil && e.err == nil {
				return // a T-sort discards rows without a timestamp (§3 Time)
			}
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
	if f.sort != nil {
		f.hold(e, Row{Rowtime: rt, Values: vals})
		return
	}
	if f.tsort != nil {
		f.holdTS(e, Row{Rowtime: rt, Values: vals})
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
	if o := sel.Order; o != nil {
		// §4: ORDER BY on a stream needs a time-based monotonic leading key;
		// the rows of each value of that key are sorted by the other keys.
		// ORDER BY ts WITHIN interval is the T-sort (§3 Time).
		if o.Within != nil {
			if len(o.Items) != 1 || o.Items[0].Dir == "DESC" {
				return nil, nil, errAt(o, "a T-sort orders by one ascending timestamp: ORDER BY ts WITHIN INTERVAL ...")
			}
			if sel.Stagger != nil || len(sel.GroupBy) > 0 {
				return nil, nil, errAt(o, "a T-sort cannot follow GROUP BY or WINDOWED BY")
			}
		} else if !s.monotonic(o.Items[0].Expr) || o.Items[0].Dir == "DESC" {
			return nil, nil, errAt(o.Items[0], "ORDER BY on a stream needs a ROWTIME-based monotonic leading key, ascending")
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
	if o := sel.Order; o != nil && o.Within != nil {
		ts, err := s.tsort(o, fin.items, outs)
		if err != nil {
			return nil, nil, err
		}
		fin.tsort = ts
	} else if o != nil && len(o.Items) > 1 {
		srt, err := s.orderBy(o, fin.items, outs)
		if err != nil {
			return nil, nil, err
		}
		fin.sort = srt
	}

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
			return &single{e: e, c: cons(&f), fin: &f}
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
	e   *env
	c   consumer
	fin *finisher
}

func (s *single) push(_ int, r Row) {
	s.e.rows[0] = r.Values
	s.e.rowtimes[0] = r.Rowtime
	s.e.rowtime = r.Rowtime
	s.c.consume(s.e)
}

func (s *single) advance(now time.Time) {
	s.c.advance(now)
	s.fin.tick(now)
}

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

// instantWindow is the width of the window of GROUP BY ROWTIME: a
// nanosecond, so it closes when the clock passes the ROWTIME; its rows carry
// the ROWTIME itself.
const instantWindow = time.Nanosecond

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
	// GROUP BY ROWTIME: one window per ROWTIME value, closed as soon as the
	// clock moves past it (the tumbling operator emits such a window with
	// the ROWTIME itself, see instantWindow).
	return func(_, t time.Time) time.Time { return t.Add(instantWindow) }, nil
}
