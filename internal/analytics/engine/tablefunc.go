package engine

import (
	"sort"
	"strings"
	"time"

	kdasql "github.com/rheos/rheos/internal/analytics/sql"
)

// tableFunc plans TABLE(fn(CURSOR(query), args...)) in FROM: the cursor's
// query writes a hidden stream, the function is an operator reading it and
// writing another hidden stream that the outer query reads.
func (c *compiler) tableFunc(x *kdasql.TableFunc, pump string) (int, error) {
	call := x.Call
	name := strings.ToUpper(lastName(call.Name))
	switch name {
	case "TOP_K_ITEMS_TUMBLING":
	default:
		return 0, errAt(call, "table function %s is not supported yet", name)
	}
	if len(call.Args) != 4 {
		return 0, errAt(call, "%s takes (CURSOR(...), 'column', K, windowSize)", name)
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
	ks := &scope{c: c}
	consts := make([]any, 3)
	for i, a := range call.Args[1:] {
		e, err := ks.compile(a)
		if err != nil {
			return 0, err
		}
		if !e.konst {
			return 0, errAt(a, "argument %d of %s must be a constant", i+2, name)
		}
		consts[i] = e.f(nil)
	}
	colName, ok := consts[0].(string)
	col := -1
	for j, cd := range in.cols {
		if ok && cd.Name == colName {
			col = j
		}
	}
	if col < 0 {
		return 0, errAt(call.Args[1], "column '%v' not found in the cursor's query", consts[0])
	}
	// sqlref top-k: 1 <= K <= 100000, 1 <= windowSize <= 3600 seconds.
	k, ok1 := consts[1].(int64)
	win, ok2 := consts[2].(int64)
	if !ok1 || k < 1 || k > 100000 {
		return 0, errAt(call.Args[2], "K must be an integer from 1 to 100000")
	}
	if !ok2 || win < 1 || win > 3600 {
		return 0, errAt(call.Args[3], "windowSize must be from 1 to 3600 seconds")
	}
	c.subs++
	out := &streamDef{name: "$table" + itoa(c.subs), hidden: true,
		cols:  []Column{in.cols[col], {Name: "MOST_FREQUENT_VALUES", Type: "BIGINT"}},
		types: []sqlType{in.types[col], tBigint}}
	oi := c.addStream(out)
	width := time.Duration(win) * time.Second
	c.addOp(&opPlan{pump: pump, inputs: []int{ii}, target: oi, build: func(inst *Instance, emit func(Row, *env)) runner {
		return &topK{col: col, k: int(k), width: width, out: emit, counts: map[string]*topKItem{}}
	}})
	return oi, nil
}

func itoa(i int) string { return toString(int64(i)) }

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
