package engine

import (
	"time"

	kdasql "github.com/rheos/rheos/internal/analytics/sql"
)

type consFactory = func(f *finisher) consumer

// planRows plans a query without GROUP BY or STAGGER: stateless
// filter/project, or sliding windows when aggregates carry OVER.
func (c *compiler) planRows(sel *kdasql.Select, s *scope, where *expr) (consFactory, finisher, []outCol, error) {
	s.allowAg, s.sliding = true, true
	items, rt, outs, err := s.selectList(sel)
	if err != nil {
		return nil, finisher{}, nil, err
	}
	fin := finisher{items: items, rt: rt}
	if sel.Having != nil {
		h, err := s.compile(sel.Having)
		if err != nil {
			return nil, finisher{}, nil, err
		}
		fin.having = &h
	}
	if len(s.aggs) == 0 {
		return func(f *finisher) consumer { return &stateless{fin: f, where: where} }, fin, outs, nil
	}
	wins, err := s.slidingWindows()
	if err != nil {
		return nil, finisher{}, nil, err
	}
	aggs := s.aggs
	return func(f *finisher) consumer {
		r := &slideRun{fin: f, where: where, aggs: aggs, nAggs: len(aggs)}
		for _, w := range wins {
			r.wins = append(r.wins, &slideWinRun{plan: w, parts: map[string]*partition{}})
		}
		return r
	}, fin, outs, nil
}

// stateless is filter + project: one output row per input row that passes
// WHERE.
type stateless struct {
	fin   *finisher
	where *expr
}

func (s *stateless) consume(e *env) {
	if s.where != nil {
		if s.where.f(e) != true {
			if e.err != nil {
				s.fin.fail(e)
			}
			return
		}
	}
	s.fin.run(e)
}

func (s *stateless) advance(time.Time) {}

// grouped prepares s for a grouped select list with the given keys.
func (s *scope) group(keys []kdasql.Expr) ([]expr, error) {
	var out []expr
	for _, k := range keys {
		x, err := s.compile(k)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
		s.keys = append(s.keys, k.String())
		s.keyT = append(s.keyT, x.t)
		kc := column{idx: -2}
		if n, ok := k.(*kdasql.Name); ok {
			if col, err := s.lookup(n); err == nil {
				kc = col
			}
		}
		s.keyCols = append(s.keyCols, kc)
	}
	s.grouped, s.allowAg, s.sliding = true, true, false
	return out, nil
}

// planTumbling plans GROUP BY with a ROWTIME-monotonic key: a tumbling
// window (developer guide tumbling-window-concepts; §4 Windows). One row per
// group when the clock passes the window end; result ROWTIME = window end;
// other keys, STEP/FLOOR of event-time columns included, are ordinary keys.
func (c *compiler) planTumbling(sel *kdasql.Select, s *scope, where *expr) (consFactory, finisher, []outCol, error) {
	mono := -1
	for i, k := range sel.GroupBy {
		if s.monotonic(k) {
			mono = i
			break
		}
	}
	if mono < 0 {
		return nil, finisher{}, nil, errAt(sel.GroupBy[0], "a streaming GROUP BY needs a monotonic expression based on ROWTIME, such as STEP(ROWTIME BY INTERVAL '1' MINUTE) or FLOOR(ROWTIME TO MINUTE)")
	}
	endFn, err := s.windowEnd(sel.GroupBy[mono])
	if err != nil {
		return nil, finisher{}, nil, err
	}
	keys, err := s.group(sel.GroupBy)
	if err != nil {
		return nil, finisher{}, nil, err
	}
	s.noAgg = ""
	items, rt, outs, err := s.selectList(sel)
	if err != nil {
		return nil, finisher{}, nil, err
	}
	fin := finisher{items: items, rt: rt}
	if sel.Having != nil {
		h, err := s.compile(sel.Having)
		if err != nil {
			return nil, finisher{}, nil, err
		}
		fin.having = &h
	}
	aggs := s.aggs
	return func(f *finisher) consumer {
		return &tumbleRun{fin: f, where: where, keys: keys, mono: mono, monoKey: sel.GroupBy[mono], end: endFn, aggs: aggs,
			scratch: make([]any, len(keys)), results: make([]any, len(aggs))}
	}, fin, outs, nil
}

type tumbleRun struct {
	fin     *finisher
	where   *expr
	keys    []expr
	mono    int
	monoKey kdasql.Expr
	end     func(start, t time.Time) time.Time
	aggs    []*aggRef
	wins    []*twin // by end, oldest first
	scratch []any
	results []any
	kb      []byte
}

type twin struct {
	end    time.Time
	groups map[string]*tgroup
	order  []*tgroup
}

type tgroup struct {
	keys []any
	accs []accum
}

func (r *tumbleRun) consume(e *env) {
	rt := e.rowtime
	r.close(e, rt)
	e.rowtime = rt
	if r.where != nil && r.where.f(e) != true {
		if e.err != nil {
			r.fin.fail(e)
		}
		return
	}
	for i, k := range r.keys {
		r.scratch[i] = k.f(e)
	}
	if e.err != nil {
		r.fin.fail(e)
		return
	}
	start, ok := r.scratch[r.mono].(time.Time)
	if !ok {
		return
	}
	end := r.end(start, rt)
	var w *twin
	for i := len(r.wins) - 1; i >= 0; i-- {
		if r.wins[i].end.Equal(end) {
			w = r.wins[i]
			break
		}
	}
	if w == nil {
		w = &twin{end: end, groups: map[string]*tgroup{}}
		pos := len(r.wins)
		for pos > 0 && r.wins[pos-1].end.After(end) {
			pos--
		}
		r.wins = append(r.wins, nil)
		copy(r.wins[pos+1:], r.wins[pos:])
		r.wins[pos] = w
	}
	kb := r.kb[:0]
	for i, v := range r.scratch {
		if i != r.mono {
			kb = appendKey(kb, v)
		}
	}
	r.kb = kb
	g := w.groups[string(kb)]
	if g == nil {
		g = &tgroup{keys: append([]any(nil), r.scratch...), accs: make([]accum, len(r.aggs))}
		w.groups[string(kb)] = g
		w.order = append(w.order, g)
	}
	addRow(e, r.aggs, g.accs)
	if e.err != nil {
		r.fin.fail(e)
	}
}

// addRow adds the current row to each aggregate's accumulator.
func addRow(e *env, aggs []*aggRef, accs []accum) {
	for i, a := range aggs {
		var v any = true // COUNT(*)
		if !a.star {
			v = a.args[0].f(e)
		}
		accs[i].add(a.name, v)
	}
}

func (r *tumbleRun) close(e *env, now time.Time) {
	for len(r.wins) > 0 && !r.wins[0].end.After(now) {
		w := r.wins[0]
		r.wins = r.wins[1:]
		for _, g := range w.order {
			e.keys = g.keys
			for i, a := range r.aggs {
				r.results[i] = g.accs[i].result(a.name)
			}
			e.aggs = r.results
			e.rowtime = w.end
			if _, ok := r.monoKey.(*kdasql.Name); ok {
				e.rowtime = w.end.Add(-instantWindow)
			}
			r.fin.run(e)
		}
	}
}

func (r *tumbleRun) advance(now time.Time) {
	if len(r.wins) == 0 || r.wins[0].end.After(now) {
		return
	}
	var e env
	e.rows = make([][]any, 2)
	e.start = r.fin.in.now
	r.close(&e, now)
}

// planStagger plans WINDOWED BY STAGGER (PARTITION BY keys RANGE INTERVAL
// n): a window per key opens at the first row's ROWTIME and emits at
// open+n (developer guide stagger-window-concepts; §4 Windows). The
// result's ROWTIME is open+n, the time of emission, which keeps the output
// stream in ROWTIME order.
func (c *compiler) planStagger(sel *kdasql.Select, s *scope, where *expr) (consFactory, finisher, []outCol, error) {
	st := sel.Stagger
	if len(st.PartitionBy) == 0 {
		return nil, finisher{}, nil, errAt(st, "STAGGER needs PARTITION BY")
	}
	rng, err := s.compile(st.Range)
	if err != nil {
		return nil, finisher{}, nil, err
	}
	width, ok := rng.f(nil).(time.Duration)
	if !rng.konst || !ok || width <= 0 {
		return nil, finisher{}, nil, errAt(st.Range, "STAGGER RANGE needs a positive day-time INTERVAL")
	}
	keys, err := s.group(st.PartitionBy)
	if err != nil {
		return nil, finisher{}, nil, err
	}
	items, rt, outs, err := s.selectList(sel)
	if err != nil {
		return nil, finisher{}, nil, err
	}
	fin := finisher{items: items, rt: rt}
	if sel.Having != nil {
		h, err := s.compile(sel.Having)
		if err != nil {
			return nil, finisher{}, nil, err
		}
		fin.having = &h
	}
	aggs := s.aggs
	return func(f *finisher) consumer {
		return &staggerRun{fin: f, where: where, keys: keys, width: width, aggs: aggs,
			groups: map[string]*sgroup{}, scratch: make([]any, len(keys)), results: make([]any, len(aggs))}
	}, fin, outs, nil
}

type staggerRun struct {
	fin     *finisher
	where   *expr
	keys    []expr
	width   time.Duration
	aggs    []*aggRef
	groups  map[string]*sgroup
	queue   []*sgroup // by deadline: windows open in ROWTIME order and share a width
	scratch []any
	results []any
	kb      []byte
}

type sgroup struct {
	key      string
	keys     []any
	accs     []accum
	deadline time.Time
}

func (r *staggerRun) consume(e *env) {
	rt := e.rowtime
	r.close(e, rt)
	e.rowtime = rt
	if r.where != nil && r.where.f(e) != true {
		if e.err != nil {
			r.fin.fail(e)
		}
		return
	}
	kb := r.kb[:0]
	for i, k := range r.keys {
		r.scratch[i] = k.f(e)
		kb = appendKey(kb, r.scratch[i])
	}
	r.kb = kb
	if e.err != nil {
		r.fin.fail(e)
		return
	}
	g := r.groups[string(kb)]
	if g == nil {
		g = &sgroup{key: string(kb), keys: append([]any(nil), r.scratch...), accs: make([]accum, len(r.aggs)), deadline: rt.Add(r.width)}
		r.groups[g.key] = g
		r.queue = append(r.queue, g)
	}
	addRow(e, r.aggs, g.accs)
	if e.err != nil {
		r.fin.fail(e)
	}
}

func (r *staggerRun) close(e *env, now time.Time) {
	for len(r.queue) > 0 && !r.queue[0].deadline.After(now) {
		g := r.queue[0]
		r.queue[0] = nil
		r.queue = r.queue[1:]
		delete(r.groups, g.key)
		e.keys = g.keys
		for i, a := range r.aggs {
			r.results[i] = g.accs[i].result(a.name)
		}
		e.aggs = r.results
		e.rowtime = g.deadline
		r.fin.run(e)
	}
}

func (r *staggerRun) advance(now time.Time) {
	if len(r.queue) == 0 || r.queue[0].deadline.After(now) {
		return
	}
	var e env
	e.rows = make([][]any, 2)
	e.start = r.fin.in.now
	r.close(&e, now)
}
