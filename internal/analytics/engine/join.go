package engine

import (
	"time"

	kdasql "github.com/rheos/rheos/internal/analytics/sql"
)

type frontFactory = func(in *Instance, e *env, c consumer, f *finisher) runner

// joinOn compiles the join condition: ON expr, USING (cols) as equalities,
// or nothing (CROSS and comma joins).
func (s *scope) joinOn(j *kdasql.Join) (*expr, error) {
	if j.Natural {
		return nil, errAt(j, "NATURAL JOIN is not supported; use ON or USING")
	}
	var cond kdasql.Expr = j.On
	for _, id := range j.Using {
		eq := &kdasql.Binary{Pos: id.Pos, Op: "=",
			L: &kdasql.Name{Pos: id.Pos, Parts: []*kdasql.Ident{{Pos: id.Pos, Name: s.qual(0)}, id}},
			R: &kdasql.Name{Pos: id.Pos, Parts: []*kdasql.Ident{{Pos: id.Pos, Name: s.qual(1)}, id}}}
		if cond == nil {
			cond = eq
		} else {
			cond = &kdasql.Binary{Pos: id.Pos, Op: "AND", L: cond, R: eq}
		}
	}
	if cond == nil {
		if j.Kind != "CROSS" && j.Kind != "," {
			return nil, errAt(j, "JOIN needs ON or USING")
		}
		return nil, nil
	}
	x, err := s.compile(cond)
	if err != nil {
		return nil, err
	}
	if x.t.k != kBool && x.t.k != kNull {
		return nil, errAt(cond, "join condition must be BOOLEAN, not %s", x.t.text)
	}
	return &x, nil
}

func (s *scope) qual(i int) string {
	if s.srcs[i].alias != "" {
		return s.srcs[i].alias
	}
	return s.srcs[i].name
}

// preserved reports which sides an outer join keeps.
func preserved(kind string) [2]bool {
	switch kind {
	case "LEFT":
		return [2]bool{true, false}
	case "RIGHT":
		return [2]bool{false, true}
	case "FULL":
		return [2]bool{true, true}
	}
	return [2]bool{}
}

// planTableJoin plans a stream-to-reference-table join (§3 Reference data;
// developer guide app-add-reference-data): each stream row is matched with
// the table's current rows; the output ROWTIME is the stream row's. An
// outer join keeps unmatched stream rows (NULL table columns); a preserved
// table side has no rows of its own to drive output, so FULL acts as the
// stream side's outer join. An equality between a table column and an
// expression of the stream alone uses a hash index of the table.
func (c *compiler) planTableJoin(j *kdasql.Join, s *scope, items []fromItem) (frontFactory, int, error) {
	si, ti := 0, 1
	if items[0].stream < 0 {
		si, ti = 1, 0
	}
	if items[si].over != nil {
		return nil, 0, errAt(items[si].node, "a window is not needed on a stream joined with a reference table")
	}
	on, err := s.joinOn(j)
	if err != nil {
		return nil, 0, err
	}
	keep := preserved(j.Kind)[si]
	// Find an index key: conjunct `tableCol = streamExpr`.
	idxCol := -1
	var probe expr
	var conj []kdasql.Expr
	var walk func(e kdasql.Expr)
	walk = func(e kdasql.Expr) {
		if b, ok := e.(*kdasql.Binary); ok && b.Op == "AND" {
			walk(b.L)
			walk(b.R)
			return
		}
		conj = append(conj, e)
	}
	if j.On != nil {
		walk(j.On)
	}
	streamOnly := &scope{c: c, srcs: make([]source, len(s.srcs))}
	streamOnly.srcs[si] = s.srcs[si]
	streamOnly.srcs[ti] = source{name: "\x00", alias: "\x00"}
	for _, e := range conj {
		b, ok := e.(*kdasql.Binary)
		if !ok || b.Op != "=" || idxCol >= 0 {
			continue
		}
		for _, pair := range [][2]kdasql.Expr{{b.L, b.R}, {b.R, b.L}} {
			n, ok := pair[0].(*kdasql.Name)
			if !ok {
				continue
			}
			col, err := s.lookup(n)
			if err != nil || col.src != ti || col.idx < 0 {
				continue
			}
			p, err := streamOnly.compile(pair[1])
			if err != nil {
				continue
			}
			idxCol, probe = col.idx, p
			break
		}
	}
	tname := items[ti].table.name
	width := len(items[ti].table.cols)
	return func(in *Instance, e *env, cons consumer, f *finisher) runner {
		return &tableJoinRun{e: e, cons: cons, fin: f, si: si, ti: ti, ts: in.tables[tname], on: on, keep: keep,
			idxCol: idxCol, probe: probe, null: make([]any, width), gen: -1}
	}, si, nil
}

type tableJoinRun struct {
	e      *env
	cons   consumer
	fin    *finisher
	si, ti int
	ts     *tableState
	on     *expr
	keep   bool
	idxCol int
	probe  expr
	index  map[string][]int
	gen    int
	null   []any
	kb     []byte
}

func (r *tableJoinRun) push(_ int, row Row) {
	e := r.e
	e.rows[r.si] = row.Values
	e.rowtimes[r.si], e.rowtimes[r.ti] = row.Rowtime, row.Rowtime
	e.rowtime = row.Rowtime
	rows := r.ts.rows
	matched := false
	try := func(tr []any) {
		e.rows[r.ti] = tr
		if r.on != nil {
			ok := r.on.f(e)
			if e.err != nil {
				r.fin.fail(e)
				return
			}
			if ok != true {
				return
			}
		}
		matched = true
		r.cons.consume(e)
		e.rowtime = row.Rowtime
	}
	if r.idxCol >= 0 {
		if r.gen != r.ts.gen {
			r.index = map[string][]int{}
			for k, tr := range rows {
				if v := tr[r.idxCol]; v != nil {
					key := string(appendKey(nil, v))
					r.index[key] = append(r.index[key], k)
				}
			}
			r.gen = r.ts.gen
		}
		v := r.probe.f(e)
		if e.err != nil {
			r.fin.fail(e)
			return
		}
		if v != nil {
			r.kb = appendKey(r.kb[:0], v)
			for _, k := range r.index[string(r.kb)] {
				try(rows[k])
			}
		}
	} else {
		for _, tr := range rows {
			try(tr)
		}
	}
	if !matched && r.keep {
		e.rows[r.ti] = r.null
		r.cons.consume(e)
	}
}

func (r *tableJoinRun) advance(now time.Time) {
	r.cons.advance(now)
	r.fin.tick(now)
}

// planStreamJoin plans a stream-to-stream join (developer guide
// stream-joins-concepts; sqlref join-clause; §4 Joins). A side with
// `OVER (RANGE INTERVAL 'n' unit PRECEDING)` keeps its rows for n after
// their ROWTIME; a side without a window contributes only its current row
// (rows with the same ROWTIME). Rows arrive in ROWTIME order, so a pair
// (a, b) is formed once, when the later row arrives, if the earlier one is
// still inside its side's window; the output ROWTIME is the later row's.
// An unmatched row of a preserved (outer) side is emitted with NULLs when
// the clock passes the end of its window, with that end as ROWTIME.
func (c *compiler) planStreamJoin(j *kdasql.Join, s *scope, items []fromItem) (frontFactory, error) {
	var w [2]time.Duration
	if items[0].over == nil && items[1].over == nil {
		return nil, errAt(j, "a stream-to-stream join needs a window on at least one side, e.g. JOIN s OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS t")
	}
	for k := range items {
		if items[k].over != nil {
			d, err := c.joinWindow(items[k].over, s.windows)
			if err != nil {
				return nil, err
			}
			w[k] = d
		}
	}
	on, err := s.joinOn(j)
	if err != nil {
		return nil, err
	}
	keep := preserved(j.Kind)
	widths := [2]int{len(items[0].src.cols), len(items[1].src.cols)}
	keys, indexed := streamJoinKeys(c, j, s)
	return func(in *Instance, e *env, cons consumer, f *finisher) runner {
		r := &streamJoinRun{e: e, cons: cons, fin: f, w: w, on: on, keep: keep, keys: keys, indexed: indexed}
		r.null[0], r.null[1] = make([]any, widths[0]), make([]any, widths[1])
		if indexed {
			r.index[0], r.index[1] = map[string][]*jrow{}, map[string][]*jrow{}
		}
		return r
	}, nil
}

// streamJoinKeys finds an equality conjunct of the ON condition whose
// sides each read one stream alone (`a.id = b.auction`): its two
// expressions key a hash index of each side's window, so a row meets only
// the rows of the other side with its key instead of all of them. The full
// condition is still evaluated on each pair.
func streamJoinKeys(c *compiler, j *kdasql.Join, s *scope) ([2]expr, bool) {
	var keys [2]expr
	if j.On == nil || len(s.srcs) != 2 {
		return keys, false
	}
	var conj []kdasql.Expr
	var walk func(e kdasql.Expr)
	walk = func(e kdasql.Expr) {
		if b, ok := e.(*kdasql.Binary); ok && b.Op == "AND" {
			walk(b.L)
			walk(b.R)
			return
		}
		conj = append(conj, e)
	}
	walk(j.On)
	var only [2]*scope
	for k := range only {
		only[k] = &scope{c: c, srcs: make([]source, 2)}
		only[k].srcs[k] = s.srcs[k]
		only[k].srcs[1-k] = source{name: "\x00", alias: "\x00"}
	}
	for _, e := range conj {
		b, ok := e.(*kdasql.Binary)
		if !ok || b.Op != "=" {
			continue
		}
		for _, pair := range [][2]kdasql.Expr{{b.L, b.R}, {b.R, b.L}} {
			k0, err0 := only[0].compile(pair[0])
			k1, err1 := only[1].compile(pair[1])
			if err0 == nil && err1 == nil {
				return [2]expr{k0, k1}, true
			}
		}
	}
	return keys, false
}

type streamJoinRun struct {
	e       *env
	cons    consumer
	fin     *finisher
	w       [2]time.Duration
	on      *expr
	keep    [2]bool
	buf     [2][]*jrow
	null    [2][]any
	keys    [2]expr // each side's key of the equality the index uses
	indexed bool
	index   [2]map[string][]*jrow // key → the side's rows with it, oldest first
	kb      []byte
}

type jrow struct {
	t       time.Time
	vals    []any
	matched bool
	key     string
	keyed   bool // in the index under key
}

func (r *streamJoinRun) push(side int, row Row) {
	t := row.Rowtime
	r.expire(t)
	e := r.e
	other := 1 - side
	matched := false
	cands := r.buf[other]
	jr := &jrow{t: t, vals: row.Values}
	if r.indexed {
		e.rows[side] = row.Values
		e.rowtimes[side], e.rowtime = t, t
		v := r.keys[side].f(e)
		if e.err != nil {
			r.fin.fail(e)
			return
		}
		cands = nil
		if v != nil { // NULL equals nothing
			r.kb = appendKey(r.kb[:0], v)
			jr.key, jr.keyed = string(r.kb), true
			cands = r.index[other][jr.key]
		}
	}
	for _, b := range cands {
		e.rows[side], e.rows[other] = row.Values, b.vals
		e.rowtimes[side], e.rowtimes[other] = t, b.t
		e.rowtime = t
		if r.on != nil {
			ok := r.on.f(e)
			if e.err != nil {
				r.fin.fail(e)
				continue
			}
			if ok != true {
				continue
			}
		}
		b.matched, matched = true, true
		r.cons.consume(e)
	}
	jr.matched = matched
	r.buf[side] = append(r.buf[side], jr)
	if jr.keyed {
		r.index[side][jr.key] = append(r.index[side][jr.key], jr)
	}
	// Let the consumer's own clock move (tumbling windows downstream).
}

// expire drops rows whose window ended before now, emitting unmatched rows
// of preserved sides in order of their window end.
func (r *streamJoinRun) expire(now time.Time) {
	for {
		side := -1
		var end time.Time
		for k := 0; k < 2; k++ {
			if len(r.buf[k]) == 0 {
				continue
			}
			ek := r.buf[k][0].t.Add(r.w[k])
			if ek.Before(now) && (side < 0 || ek.Before(end)) {
				side, end = k, ek
			}
		}
		if side < 0 {
			return
		}
		head := r.buf[side][0]
		r.buf[side][0] = nil
		r.buf[side] = r.buf[side][1:]
		if head.keyed {
			// Rows leave in ROWTIME order, so a key's oldest row is first.
			if rows := r.index[side][head.key]; len(rows) <= 1 {
				delete(r.index[side], head.key)
			} else {
				rows[0] = nil
				r.index[side][head.key] = rows[1:]
			}
		}
		if !head.matched && r.keep[side] {
			e := r.e
			e.rows[side], e.rows[1-side] = head.vals, r.null[1-side]
			e.rowtimes[side], e.rowtimes[1-side] = head.t, end
			e.rowtime = end
			r.cons.consume(e)
		}
	}
}

func (r *streamJoinRun) advance(now time.Time) {
	r.expire(now)
	r.cons.advance(now)
	r.fin.tick(now)
}
