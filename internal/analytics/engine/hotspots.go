package engine

import (
	"math"
	"sort"
	"strconv"
	"time"
)

// HOTSPOTS (sqlref sqlrf-hotspots; developer guide app-hotspots-*), as the
// reference states it:
//
//   - HOTSPOTS(CURSOR(...), windowSize, scanRadius,
//     minimumNumberOfPointsInAHotspot), all required: windowSize is the
//     number of records of the sliding window, 100..1000; scanRadius the
//     distance between a hotspot point and its nearest neighbours (DBSCAN's
//     ε), any double > 0; minimumNumberOfPointsInAHotspot 2..windowSize.
//     Out-of-range values are compile errors at the argument.
//   - Only numeric columns are analysed (DOUBLE, REAL, FLOAT, INTEGER,
//     BIGINT, SMALLINT, TINYINT; not DECIMAL); the others pass through.
//   - Output: the cursor's columns and HOTSPOTS_RESULT VARCHAR (the name
//     the examples select; the parameter table heads it HOTSPOT_RESULTS), a
//     JSON object {"hotspots":[{"density":…,"minValues":[…],"maxValues":[…]},…]}
//     (the viewer in app-hotspots-verify-output reads exactly these) with
//     every hotspot of the window; the caller filters on density.
//
// Our algorithm (AWS does not publish its own): DBSCAN over the last
// windowSize records, Euclidean distance over the numeric columns. A record
// with at least minimumNumberOfPointsInAHotspot records (itself included)
// within scanRadius is a core record; core records within scanRadius of each
// other form a hotspot with the records they reach. minValues/maxValues
// are the hotspot's bounding box per column, in column order. density is
// "the number of records in the hotspot divided by the hotspot size",
// made scale-free: the hotspot's share of the window's records divided by
// its share of the window's bounding-box volume (each side at least
// scanRadius wide), so 1 is the window's average density. Hotspots are
// listed densest first. Neighbour lists are kept incrementally, so a
// record costs O(windowSize·columns) plus the clustering's O(window +
// neighbour pairs). A record with a NULL numeric column passes with no
// hotspots and does not enter the window (our choice).
func planHotspots(_ *compiler, a *tfCall) (*streamDef, func(*Instance, func(Row, *env)) runner, error) {
	win, ok := a.consts[0].(int64)
	if !ok || win < 100 || win > 1000 {
		return nil, nil, errAt(a.args[0], "windowSize of HOTSPOTS must be an integer from 100 to 1000")
	}
	radius, ok := toFloat(a.consts[1])
	if !ok || !(radius > 0) || math.IsInf(radius, 0) {
		return nil, nil, errAt(a.args[1], "scanRadius of HOTSPOTS must be a number greater than 0")
	}
	minPts, ok := a.consts[2].(int64)
	if !ok || minPts < 2 || minPts > win {
		return nil, nil, errAt(a.args[2], "minimumNumberOfPointsInAHotspot of HOTSPOTS must be an integer from 2 to windowSize (%d)", win)
	}
	cols, err := a.numericCols()
	if err != nil {
		return nil, nil, err
	}
	out := a.passThrough([]Column{{Name: "HOTSPOTS_RESULT", Type: "VARCHAR"}}, []sqlType{tVarchar})
	return out, func(_ *Instance, emit func(Row, *env)) runner {
		return &hotspotsOp{cols: cols, window: int(win), r2: radius * radius, radius: radius,
			minPts: int(minPts), out: emit, slots: make([]hsPoint, win)}
	}, nil
}

// hsPoint is one record of the window; its slot in the ring is id % window.
type hsPoint struct {
	id    int64
	live  bool
	x     []float64
	nbrs  []int64 // ids of the other records within scanRadius
	label int     // clustering scratch: 0 unvisited, else cluster+1
}

type hotspotsOp struct {
	cols   []int
	window int
	radius float64
	r2     float64
	minPts int
	out    func(Row, *env)
	slots  []hsPoint
	next   int64
	queue  []int64
}

func (h *hotspotsOp) advance(time.Time) {}

func (h *hotspotsOp) slot(id int64) *hsPoint { return &h.slots[id%int64(h.window)] }

func (h *hotspotsOp) push(_ int, r Row) {
	x := make([]float64, len(h.cols))
	ok := true
	for i, c := range h.cols {
		f, isNum := toFloat(r.Values[c])
		if !isNum || math.IsNaN(f) {
			ok = false
			break
		}
		x[i] = f
	}
	result := `{"hotspots":[]}`
	if ok {
		h.add(x)
		result = h.result()
	}
	vals := append(append(make([]any, 0, len(r.Values)+1), r.Values...), result)
	h.out(Row{Rowtime: r.Rowtime, Values: vals}, nil)
}

// add puts x in the window, the oldest record leaving when it is full.
func (h *hotspotsOp) add(x []float64) {
	id := h.next
	h.next++
	s := h.slot(id)
	if s.live { // the oldest leaves: drop it from its neighbours' lists
		for _, n := range s.nbrs {
			p := h.slot(n)
			for i, m := range p.nbrs {
				if m == s.id {
					p.nbrs[i] = p.nbrs[len(p.nbrs)-1]
					p.nbrs = p.nbrs[:len(p.nbrs)-1]
					break
				}
			}
		}
	}
	*s = hsPoint{id: id, live: true, x: x, nbrs: s.nbrs[:0]}
	for i := range h.slots {
		p := &h.slots[i]
		if !p.live || p.id == id {
			continue
		}
		d := 0.0
		for k := range x {
			v := x[k] - p.x[k]
			d += v * v
			if d > h.r2 {
				break
			}
		}
		if d <= h.r2 {
			p.nbrs = append(p.nbrs, id)
			s.nbrs = append(s.nbrs, p.id)
		}
	}
}

type hotspot struct {
	n        int
	min, max []float64
	density  float64
}

// result clusters the window and renders HOTSPOTS_RESULT.
func (h *hotspotsOp) result() string {
	dim := len(h.cols)
	wmin, wmax := make([]float64, dim), make([]float64, dim)
	total := 0
	for i := range wmin {
		wmin[i], wmax[i] = math.Inf(1), math.Inf(-1)
	}
	// Visit in arrival order so that border records join the oldest
	// hotspot reaching them, whatever the ring's rotation.
	order := make([]int64, 0, h.window)
	for i := range h.slots {
		p := &h.slots[i]
		if !p.live {
			continue
		}
		p.label = 0
		total++
		order = append(order, p.id)
		for k, v := range p.x {
			wmin[k], wmax[k] = math.Min(wmin[k], v), math.Max(wmax[k], v)
		}
	}
	sort.Slice(order, func(a, b int) bool { return order[a] < order[b] })
	core := func(p *hsPoint) bool { return len(p.nbrs)+1 >= h.minPts }
	var spots []*hotspot
	for _, id := range order {
		p := h.slot(id)
		if p.label != 0 || !core(p) {
			continue
		}
		hs := &hotspot{min: append([]float64(nil), p.x...), max: append([]float64(nil), p.x...)}
		spots = append(spots, hs)
		label := len(spots)
		p.label = label
		h.queue = append(h.queue[:0], id)
		for len(h.queue) > 0 {
			q := h.slot(h.queue[0])
			h.queue = h.queue[1:]
			hs.n++
			for k, v := range q.x {
				hs.min[k], hs.max[k] = math.Min(hs.min[k], v), math.Max(hs.max[k], v)
			}
			if !core(q) {
				continue // a border record does not extend the hotspot
			}
			for _, n := range q.nbrs {
				if m := h.slot(n); m.label == 0 {
					m.label = label
					h.queue = append(h.queue, n)
				}
			}
		}
	}
	for _, hs := range spots {
		share := float64(hs.n) / float64(total)
		for k := range hs.min {
			side := math.Max(hs.max[k]-hs.min[k], h.radius)
			wside := math.Max(wmax[k]-wmin[k], h.radius)
			share /= side / wside
		}
		hs.density = share
	}
	sort.SliceStable(spots, func(a, b int) bool { return spots[a].density > spots[b].density })
	b := []byte(`{"hotspots":[`)
	for i, hs := range spots {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"density":`...)
		b = appendJSONFloat(b, hs.density)
		b = append(b, `,"minValues":`...)
		b = appendJSONFloats(b, hs.min)
		b = append(b, `,"maxValues":`...)
		b = appendJSONFloats(b, hs.max)
		b = append(b, '}')
	}
	return string(append(b, "]}"...))
}

func appendJSONFloat(b []byte, f float64) []byte {
	return strconv.AppendFloat(b, f, 'g', 10, 64)
}

func appendJSONFloats(b []byte, fs []float64) []byte {
	b = append(b, '[')
	for i, f := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONFloat(b, f)
	}
	return append(b, ']')
}
