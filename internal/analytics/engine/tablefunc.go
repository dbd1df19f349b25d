package engine

import (
	"sort"
	"strings"
	"time"

	kdasql "github.com/rheos/rheos/internal/analytics/sql"
)

// tableFuncs are the table functions TABLE(fn(CURSOR(query), args...))
// accepts: the number of arguments after the cursor (min, max; the
// trailing ones take the reference's defaults) and the planner.
var tableFuncs = map[string]struct {
	min, max int
	usage    string
	plan     func(c *compiler, a *tfCall) (*streamDef, func(inst *Instance, emit func(Row, *env)) runner, error)
}{
	"TOP_K_ITEMS_TUMBLING":               {3, 3, "(CURSOR(...), 'column', K, windowSize)", planTopK},
	"COUNT_DISTINCT_ITEMS_TUMBLING":      {2, 2, "(CURSOR(...), 'column', windowSize)", planCountDistinct},
	"RANDOM_CUT_FOREST":                  {0, 4, "(CURSOR(...)[, numberOfTrees[, subSampleSize[, timeDecay[, shingleSize]]]])", planRCF},
	"RANDOM_CUT_FOREST_WITH_EXPLANATION": {0, 5, "(CURSOR(...)[, numberOfTrees[, subSampleSize[, timeDecay[, shingleSize[, withDirectionality]]]]])", planRCF},
	"HOTSPOTS":                           {3, 3, "(CURSOR(...), windowSize, scanRadius, minimumNumberOfPointsInAHotspot)", planHotspots},
}

// tfCall is a table function call being planned: its name, the cursor's
// stream and the constant arguments after the cursor with their nodes.
type tfCall struct {
	name   string
	call   *kdasql.FuncCall
	in     *streamDef
	consts []any
	args   []kdasql.Expr
}

// intArg is argument i (0 = the first after the cursor) as an integer in
// [lo, hi], def when absent.
func (a *tfCall) intArg(i int, def, lo, hi int64, what string) (int64, error) {
	if i >= len(a.consts) {
		return def, nil
	}
	v, ok := a.consts[i].(int64)
	if !ok || v < lo || v > hi {
		return 0, errAt(a.args[i], "%s of %s must be an integer from %d to %d", what, a.name, lo, hi)
	}
	return v, nil
}

// column is argument i as the name of a column of the cursor's query.
func (a *tfCall) column(i int) (int, error) {
	name, ok := a.consts[i].(string)
	for j, cd := range a.in.cols {
		if ok && cd.Name == name {
			return j, nil
		}
	}
	return 0, errAt(a.args[i], "column '%v' not found in the cursor's query", a.consts[i])
}

// numericCols are the cursor's columns RCF and HOTSPOTS read: integers
// and floating point, not DECIMAL (the reference: "DECIMAL is not a
// supported type. Use DOUBLE instead."); other columns pass through.
func (a *tfCall) numericCols() ([]int, error) {
	var cols []int
	for j, t := range a.in.types {
		if (t.k == kInt || t.k == kFloat) && !t.dec {
			cols = append(cols, j)
		}
	}
	if len(cols) == 0 {
		return nil, errAt(a.call.Args[0], "%s needs at least one numeric column (DOUBLE, REAL, FLOAT, INTEGER, BIGINT, SMALLINT, TINYINT) in the cursor's query", a.name)
	}
	if len(cols) > 30 {
		return nil, errAt(a.call.Args[0], "%s reads at most 30 numeric columns, the cursor's query has %d", a.name, len(cols))
	}
	return cols, nil
}

// passThrough is an output stream with the cursor's columns and extra ones.
func (a *tfCall) passThrough(extra []Column, types []sqlType) *streamDef {
	out := &streamDef{hidden: true}
	out.cols = append(append(out.cols, a.in.cols...), extra...)
	out.types = append(append(out.types, a.in.types...), types...)
	return out
}

// tableFunc plans TABLE(fn(CURSOR(query), args...)) in FROM: the cursor's
// query writes a hidden stream, the function is an operator reading it and
// writing another hidden stream that the outer query reads.
func (c *compiler) tableFunc(x *kdasql.TableFunc, pump string) (int, error) {
	call := x.Call
	name := strings.ToUpper(lastName(call.Name))
	tf, ok := tableFuncs[name]
	if !ok {
		return 0, errAt(call, "table function %s is not supported yet", name)
	}
	if len(call.Args) < 1+tf.min || len(call.Args) > 1+tf.max {
		return 0, errAt(call, "%s takes %s", name, tf.usage)
	}
	cur, ok := call.Args[0].(*kdasql.Cursor)
	if !ok {
		return 0, errAt(call.Args[0], "the first argument of %s must be CURSOR(SELECT STREAM ...)", name)
	}
	c.subs++
	in := &streamDef{name: "$cursor" + itoa(c.subs), hidden: true}
	ii := c.addStream(in)
	outs, _, err := c.query(cur.Query, pump, ii, nil)
	if err != nil {
		return 0, err
	}
	for _, o := range outs {
		in.cols = append(in.cols, Column{Name: o.name, Type: o.t.text})
		in.types = append(in.types, o.t)
	}
	a := &tfCall{name: name, call: call, in: in, args: call.Args[1:]}
	ks := &scope{c: c}
	for i, arg := range a.args {
		e, err := ks.compile(arg)
		if err != nil {
			return 0, err
		}
		if !e.konst {
			return 0, errAt(arg, "argument %d of %s must be a constant", i+2, name)
		}
		a.consts = append(a.consts, e.f(nil))
	}
	out, build, err := tf.plan(c, a)
	if err != nil {
		return 0, err
	}
	c.subs++
	out.name = "$table" + itoa(c.subs)
	oi := c.addStream(out)
	c.addOp(&opPlan{pump: pump, inputs: []int{ii}, target: oi, build: build})
	return oi, nil
}

func itoa(i int) string { return toString(int64(i)) }

// planTopK: sqlref top-k: 1 <= K <= 100000, 1 <= windowSize <= 3600
// seconds; output columns: the counted column and MOST_FREQUENT_VALUES.
func planTopK(_ *compiler, a *tfCall) (*streamDef, func(*Instance, func(Row, *env)) runner, error) {
	col, err := a.column(0)
	if err != nil {
		return nil, nil, err
	}
	k, ok1 := a.consts[1].(int64)
	win, ok2 := a.consts[2].(int64)
	if !ok1 || k < 1 || k > 100000 {
		return nil, nil, errAt(a.args[1], "K must be an integer from 1 to 100000")
	}
	if !ok2 || win < 1 || win > 3600 {
		return nil, nil, errAt(a.args[2], "windowSize must be from 1 to 3600 seconds")
	}
	out := &streamDef{hidden: true,
		cols:  []Column{a.in.cols[col], {Name: "MOST_FREQUENT_VALUES", Type: "BIGINT"}},
		types: []sqlType{a.in.types[col], tBigint}}
	width := time.Duration(win) * time.Second
	return out, func(inst *Instance, emit func(Row, *env)) runner {
		return &topK{col: col, k: int(k), width: width, out: emit, counts: map[string]*topKItem{}}
	}, nil
}

// topK is TOP_K_ITEMS_TUMBLING (sqlref top-k): the K most frequent values
// of a column per tumbling window of windowSize seconds (aligned to the
// epoch, like STEP), emitted when the window closes with the window end as
// ROWTIME, most frequent first (ties: first seen first). AWS approximates
// the counts; we count exactly, which is within what it promises.
type topK struct {
	col    int
	k      int
	width  time.Duration
	out    func(Row, *env)
	end    time.Time
	counts map[string]*topKItem
	order  []*topKItem
	kb     []byte
}

type topKItem struct {
	v any
	n int64
}

func (t *topK) push(_ int, r Row) {
	t.advance(r.Rowtime)
	if len(t.order) == 0 {
		t.end = stepTime(r.Rowtime, t.width).Add(t.width)
	}
	v := r.Values[t.col]
	if v == nil {
		return
	}
	t.kb = appendKey(t.kb[:0], v)
	it := t.counts[string(t.kb)]
	if it == nil {
		it = &topKItem{v: v}
		t.counts[string(t.kb)] = it
		t.order = append(t.order, it)
	}
	it.n++
}

func (t *topK) advance(now time.Time) {
	if len(t.order) == 0 || t.end.After(now) {
		return
	}
	items := t.order
	sort.SliceStable(items, func(a, b int) bool { return items[a].n > items[b].n })
	if len(items) > t.k {
		items = items[:t.k]
	}
	end := t.end
	t.order, t.counts = nil, map[string]*topKItem{}
	for _, it := range items {
		t.out(Row{Rowtime: end, Values: []any{it.v, it.n}}, nil)
	}
}
