package engine

import (
	"strconv"
	"time"

	kdasql "github.com/rheos/rheos/internal/analytics/sql"
)

// slideWinPlan is one distinct window of a sliding-window query: its
// partition keys, its frame, and the aggregates computed over it.
type slideWinPlan struct {
	parts   []expr
	isRange bool
	rng     time.Duration // RANGE: frame is [t-rng, t], inclusive (§4 Windows, cases C6/C7)
	rows    int           // ROWS n PRECEDING: the last n rows and the current one
	aggs    []int         // indices into the query's aggregates
	lagN    []int         // per aggregate of this window: LAG/NTH_VALUE offset
}

// slidingWindows groups the query's OVER aggregates by window and checks the
// frames (sqlref allowed-disallowed-window).
func (s *scope) slidingWindows() ([]*slideWinPlan, error) {
	byKey := map[string]*slideWinPlan{}
	var out []*slideWinPlan
	for i, a := range s.aggs {
		spec := a.over
		key := spec.String()
		w := byKey[key]
		if w == nil {
			w = &slideWinPlan{}
			f := spec.Frame
			if f == nil {
				return nil, errAt(a.call, "a sliding window needs RANGE INTERVAL ... PRECEDING or ROWS n PRECEDING")
			}
			if f.Unit == "RANGE" {
				w.isRange = true
				d, err := frameRange(f)
				if err != nil {
					return nil, err
				}
				w.rng = d
			} else {
				switch f.Start.Kind {
				case kdasql.CurrentRow:
				case kdasql.Preceding:
					n, ok := f.Start.Offset.(*kdasql.NumberLit)
					if !ok || n.Kind != kdasql.IntLit {
						return nil, errAt(f.Start, "ROWS needs an integer offset")
					}
					v, err := strconv.Atoi(n.Text)
					if err != nil || v < 0 {
						return nil, errAt(f.Start, "bad ROWS offset")
					}
					if v == 0 {
						// sqlref allowed-disallowed-window: "0 PRECEDING" is
						// disallowed for aggregation (ROWS CURRENT ROW is the
						// spelling).
						return nil, errAt(f.Start, "0 PRECEDING is not allowed; use CURRENT ROW")
					}
					w.rows = v
				default:
					return nil, errAt(f.Start, "frame bound not allowed on a stream")
				}
			}
			inner := *s
			inner.grouped, inner.allowAg = false, false
			for _, p := range spec.PartitionBy {
				x, err := inner.compile(p)
				if err != nil {
					return nil, err
				}
				w.parts = append(w.parts, x)
			}
			byKey[key] = w
			out = append(out, w)
		}
		n := 0
		switch a.name {
		case "LAG":
			n = 1
			if len(a.args) > 1 {
				v, ok := a.args[1].f(nil).(int64)
				if !a.args[1].konst || !ok || v < 0 {
					return nil, errAt(a.call, "LAG offset must be a non-negative integer constant")
				}
				n = int(v)
			}
		case "NTH_VALUE":
			if len(a.args) < 2 {
				return nil, errAt(a.call, "NTH_VALUE needs a position")
			}
			v, ok := a.args[1].f(nil).(int64)
			if !a.args[1].konst || !ok || v < 1 {
				return nil, errAt(a.call, "NTH_VALUE position must be a positive integer constant")
			}
			n = int(v)
		}
		w.aggs = append(w.aggs, i)
		w.lagN = append(w.lagN, n)
	}
	return out, nil
}

type slideRun struct {
	fin     *finisher
	where   *expr
	aggs    []*aggRef
	nAggs   int
	wins    []*slideWinRun
	results []any
	kb      []byte
}

type slideWinRun struct {
	plan      *slideWinPlan
	parts     map[string]*partition
	lastSweep time.Time
}

// partition is one PARTITION BY key's frame: a queue of rows (their ROWTIME
// and the aggregates' argument values) and running sums.
type partition struct {
	buf  []slot
	head int
	seq0 int64 // absolute sequence number of buf[0]
	accs []accum
	// mono holds, for each MIN/MAX slot, the sequence numbers of the rows
	// that can still become the extreme (a monotonic deque), so MIN and MAX
	// cost O(1) amortised per row instead of a scan of the frame.
	mono [][]int64
}

func (p *partition) val(seq int64, k int) any { return p.buf[seq-p.seq0].vals[k] }

// pushMono records the newest row (sequence seq) in slot k's deque.
func (p *partition) pushMono(k int, seq int64, v any, isMax bool) {
	if v == nil {
		return
	}
	d := p.mono[k]
	for len(d) > 0 {
		c, ok := compare(p.val(d[len(d)-1], k), v)
		if !ok || (isMax && c > 0) || (!isMax && c < 0) {
			break
		}
		d = d[:len(d)-1]
	}
	p.mono[k] = append(d, seq)
}

type slot struct {
	t    time.Time
	vals []any
}

func (p *partition) evict(w *slideWinPlan, aggs []*aggRef, t time.Time) {
	for p.head < len(p.buf) {
		s := &p.buf[p.head]
		if w.isRange {
			if !s.t.Before(t.Add(-w.rng)) {
				break
			}
		} else if len(p.buf)-p.head <= w.rows+1 {
			break
		}
		seq := p.seq0 + int64(p.head)
		for k, ai := range w.aggs {
			p.accs[k].sub(aggs[ai].name, s.vals[k])
			if d := p.mono[k]; len(d) > 0 && d[0] == seq {
				p.mono[k] = d[1:]
			}
		}
		p.buf[p.head] = slot{}
		p.head++
	}
	if p.head > 32 && p.head*2 > len(p.buf) {
		n := copy(p.buf, p.buf[p.head:])
		clear(p.buf[n:])
		p.buf = p.buf[:n]
		p.seq0 += int64(p.head)
		p.head = 0
	}
}

func (r *slideRun) consume(e *env) {
	if r.where != nil && r.where.f(e) != true {
		if e.err != nil {
			r.fin.fail(e)
		}
		return
	}
	if r.results == nil {
		r.results = make([]any, r.nAggs)
	}
	t := e.rowtime
	for _, w := range r.wins {
		kb := r.kb[:0]
		for _, p := range w.plan.parts {
			kb = appendKey(kb, p.f(e))
		}
		r.kb = kb
		vals := make([]any, len(w.plan.aggs))
		for k, ai := range w.plan.aggs {
			a := r.aggs[ai]
			if a.star {
				vals[k] = true
			} else {
				vals[k] = a.args[0].f(e)
			}
		}
		if e.err != nil {
			r.fin.fail(e)
			return
		}
		p := w.parts[string(kb)]
		if p == nil {
			p = &partition{accs: make([]accum, len(w.plan.aggs)), mono: make([][]int64, len(w.plan.aggs))}
			w.parts[string(kb)] = p
		}
		p.buf = append(p.buf, slot{t: t, vals: vals})
		seq := p.seq0 + int64(len(p.buf)-1)
		for k, ai := range w.plan.aggs {
			switch name := r.aggs[ai].name; name {
			case "MIN", "MAX":
				p.pushMono(k, seq, vals[k], name == "MAX")
			default:
				p.accs[k].add(name, vals[k])
			}
		}
		p.evict(w.plan, r.aggs, t)
		for k, ai := range w.plan.aggs {
			r.results[ai] = r.value(e, p, k, ai, w.plan.lagN[k])
		}
	}
	e.aggs = r.results
	r.fin.run(e)
}

// value computes aggregate ai (slot k of its window) over partition p.
func (r *slideRun) value(e *env, p *partition, k, ai, n int) any {
	a := r.aggs[ai]
	live := p.buf[p.head:]
	switch a.name {
	case "MIN", "MAX":
		if d := p.mono[k]; len(d) > 0 {
			return p.val(d[0], k)
		}
		return nil
	case "ANY", "EVERY":
		var acc accum
		for i := range live {
			acc.add(a.name, live[i].vals[k])
		}
		return acc.result(a.name)
	case "FIRST_VALUE":
		return live[0].vals[k]
	case "LAST_VALUE":
		return live[len(live)-1].vals[k]
	case "NTH_VALUE":
		if n <= len(live) {
			return live[n-1].vals[k]
		}
		return nil
	case "LAG":
		// sqlref LAG: the value n rows before the current one in the
		// window; the default (or NULL) when there is none. IGNORE NULLS
		// skips NULL values.
		ignore := a.call.Nulls == "IGNORE NULLS"
		idx := len(live) - 1
		for step := 0; step < n; {
			idx--
			if idx < 0 {
				break
			}
			if !ignore || live[idx].vals[k] != nil {
				step++
			}
		}
		if idx >= 0 {
			return live[idx].vals[k]
		}
		if len(a.args) > 2 {
			return a.args[2].f(e)
		}
		return nil
	}
	return p.accs[k].result(a.name)
}

// advance drops partitions of RANGE windows whose rows have all left the
// frame, at most once per frame width, so idle keys do not accumulate.
func (r *slideRun) advance(now time.Time) {
	for _, w := range r.wins {
		if !w.plan.isRange || now.Sub(w.lastSweep) < w.plan.rng || len(w.parts) == 0 {
			continue
		}
		w.lastSweep = now
		for k, p := range w.parts {
			if len(p.buf) > 0 && p.buf[len(p.buf)-1].t.Before(now.Add(-w.plan.rng)) {
				delete(w.parts, k)
			}
		}
	}
}
