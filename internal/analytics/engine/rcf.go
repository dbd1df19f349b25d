package engine

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// RANDOM_CUT_FOREST and RANDOM_CUT_FOREST_WITH_EXPLANATION (sqlref
// sqlrf-random-cut-forest, sqlrf-random-cut-forest-with-explanation). What
// the reference says, and what we do with it:
//
//   - Arguments: CURSOR(...) is the only required one; the others default
//     to numberOfTrees 100 (1..1000), subSampleSize 256 (10..1000, and
//     less than timeDecay), timeDecay 100000 (1..2147483647), shingleSize
//     1 (1..30), withDirectionality FALSE (the _WITH_EXPLANATION variant
//     only). Out-of-range values are compile errors at the argument.
//   - Only numeric columns (DOUBLE, REAL, FLOAT, INTEGER, BIGINT, SMALLINT,
//     TINYINT; not DECIMAL) are read, at most 30 of them; each record is a
//     point in n-dimensional space (n·shingleSize with shingling, the
//     shingle being the last shingleSize records, oldest first). Other
//     columns pass through.
//   - Output: the cursor's columns and ANOMALY_SCORE (DOUBLE); the
//     explanation variant adds ANOMALY_EXPLANATION (VARCHAR), a JSON object
//     with one member per numeric column:
//     {"Systolic":{"DIRECTION":"LOW","STRENGTH":"0.0922","ATTRIBUTION_SCORE":"0.3792"},...}
//     (the developer guide's printed results; values are strings with four
//     decimals). The attribution scores of a record sum to its anomaly
//     score. Without withDirectionality only ATTRIBUTION_SCORE is given
//     (our reading: direction and strength are what the flag adds).
//   - "The algorithm returns zero for the first subSampleSize records while
//     the machine learning model is trained"; during that phase STRENGTH is
//     0 and DIRECTION defaults to LOW.
//   - Each tree keeps a sample of subSampleSize points; once full, "records
//     are removed randomly, with older records having a higher probability
//     of removal than newer records"; timeDecay is the number of records
//     over which older data loses weight.
//
// The algorithm is the robust random cut forest of Guha, Mishra, Roy and
// Schrijvers (ICML 2016) as the open-source AWS implementation
// (randomcutforest-core) computes it:
//
//   - Sampling: time-decayed reservoir per tree. Point number s gets the
//     weight -λ·s + ln(−ln u), u uniform, λ = 1/timeDecay; a tree keeps the
//     subSampleSize points of lowest weight (a max-heap), so newer points
//     win and older ones leave first, at random.
//   - Trees: insertion draws a random cut on the bounding box of the node
//     and the new point (dimension chosen in proportion to its range); if
//     the cut separates the point from the node's box, a new internal node
//     takes the node's place with the point's leaf beside it, otherwise the
//     point descends. Deletion replaces a leaf's parent with its sibling and
//     shrinks the boxes above. Equal points share a leaf (its mass).
//   - Score (before the point is inserted, as AWS does): on the point's
//     path from its leaf up, with depth d, a leaf equal to the point scores
//     1/(d+log2(1+mass)), a different leaf 1/(d+1); each node above mixes in
//     the probability p that a random cut of (box ∪ point) separates the
//     point: s = p/(d+1) + (1−p)·s. The tree's score is s·log2(1+treeMass),
//     the forest's the average over the trees: about 1 for points among the
//     data, growing as a point is isolated sooner, an expected-depth
//     approximation of collusive displacement (CoDisp), the normalisation
//     AWS's printed scores show (0.71 for ordinary records, 3.86 for the
//     outlier in the blood-pressure example).
//   - Attribution: the same recursion on vectors, the separation
//     probability split per dimension and side (above the box: HIGH, below:
//     LOW); a column's ATTRIBUTION_SCORE sums its dimensions over the
//     shingle, DIRECTION is the larger side, STRENGTH the difference of the
//     two sides (AWS does not define strength's scale; ours is 0 when the
//     point sits inside the data and grows with its one-sidedness).
//   - Deterministic: the random numbers come from a PCG seeded with
//     rcfSeed and the tree's number, so the same input gives the same
//     scores on every run and every instance.
//   - A record with a NULL in a numeric column is passed through with
//     ANOMALY_SCORE 0 and does not train the forest (our choice).
func planRCF(_ *compiler, a *tfCall) (*streamDef, func(*Instance, func(Row, *env)) runner, error) {
	trees, err := a.intArg(0, 100, 1, 1000, "numberOfTrees")
	if err != nil {
		return nil, nil, err
	}
	sample, err := a.intArg(1, 256, 10, 1000, "subSampleSize")
	if err != nil {
		return nil, nil, err
	}
	decay, err := a.intArg(2, 100000, 1, math.MaxInt32, "timeDecay")
	if err != nil {
		return nil, nil, err
	}
	if sample >= decay {
		at := a.args[len(a.args)-1]
		if len(a.args) > 2 {
			at = a.args[2]
		}
		return nil, nil, errAt(at, "subSampleSize (%d) of %s must be less than timeDecay (%d)", sample, a.name, decay)
	}
	shingle, err := a.intArg(3, 1, 1, 30, "shingleSize")
	if err != nil {
		return nil, nil, err
	}
	explain := a.name == "RANDOM_CUT_FOREST_WITH_EXPLANATION"
	direction := false
	if len(a.consts) > 4 {
		b, ok := a.consts[4].(bool)
		if !ok {
			return nil, nil, errAt(a.args[4], "withDirectionality of %s must be TRUE or FALSE", a.name)
		}
		direction = b
	}
	cols, err := a.numericCols()
	if err != nil {
		return nil, nil, err
	}
	extra := []Column{{Name: "ANOMALY_SCORE", Type: "DOUBLE"}}
	types := []sqlType{tDouble}
	if explain {
		extra = append(extra, Column{Name: "ANOMALY_EXPLANATION", Type: "VARCHAR"})
		types = append(types, tVarchar)
	}
	out := a.passThrough(extra, types)
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = a.in.cols[c].Name
	}
	cfg := rcfConfig{trees: int(trees), sample: int(sample), lambda: 1 / float64(decay), shingle: int(shingle), cols: len(cols)}
	return out, func(_ *Instance, emit func(Row, *env)) runner {
		return &rcfOp{cols: cols, names: names, explain: explain, direction: direction,
			forest: newRCFForest(cfg, rcfSeed), out: emit}
	}, nil
}

// rcfSeed seeds every forest: scores are reproducible.
const rcfSeed = 0x52434631

type rcfConfig struct {
	trees, sample int
	lambda        float64
	shingle, cols int
}

// rcfOp is one RANDOM_CUT_FOREST[_WITH_EXPLANATION] operator.
type rcfOp struct {
	cols      []int
	names     []string
	explain   bool
	direction bool
	forest    *rcfForest
	out       func(Row, *env)
	buf       []float64 // the shingle: last shingleSize records' columns, a ring
	filled    int
	pos       int
	att       rcfAttribution
}

func (o *rcfOp) advance(time.Time) {}

func (o *rcfOp) push(_ int, r Row) {
	f := o.forest
	n := len(o.cols)
	vals := make([]any, 0, len(r.Values)+2)
	vals = append(vals, r.Values...)
	if o.buf == nil {
		o.buf = make([]float64, f.dim)
	}
	ok := true
	for i, c := range o.cols {
		x, isNum := toFloat(r.Values[c])
		if !isNum || math.IsNaN(x) {
			ok = false
			break
		}
		o.buf[o.pos*n+i] = x
	}
	score := 0.0
	var expl string
	learned := false
	if ok {
		o.pos = (o.pos + 1) % f.cfg.shingle
		if o.filled < f.cfg.shingle {
			o.filled++
		}
		if o.filled == f.cfg.shingle {
			p := make([]float64, f.dim)
			// oldest first: the ring starts at pos.
			for k := 0; k < f.cfg.shingle; k++ {
				copy(p[k*n:(k+1)*n], o.buf[((o.pos+k)%f.cfg.shingle)*n:])
			}
			if f.ready() {
				learned = true
				if o.explain {
					f.attribution(p, &o.att)
					score = o.att.total()
				} else {
					score = f.score(p)
				}
			}
			f.update(p)
		}
	}
	vals = append(vals, score)
	if o.explain {
		expl = o.explanation(learned)
		vals = append(vals, expl)
	}
	o.out(Row{Rowtime: r.Rowtime, Values: vals}, nil)
}

// explanation is ANOMALY_EXPLANATION: per numeric column its attribution
// summed over the shingle, with direction and strength when asked for.
func (o *rcfOp) explanation(learned bool) string {
	n := len(o.cols)
	b := make([]byte, 0, 64*n)
	b = append(b, '{')
	for i, name := range o.names {
		hi, lo := 0.0, 0.0
		if learned {
			for k := i; k < len(o.att.hi); k += n {
				hi += o.att.hi[k]
				lo += o.att.lo[k]
			}
		}
		if i > 0 {
			b = append(b, ',')
		}
		q, _ := json.Marshal(name)
		b = append(b, q...)
		b = append(b, ":{"...)
		if o.direction {
			dir := "LOW"
			if hi > lo {
				dir = "HIGH"
			}
			b = append(b, `"DIRECTION":"`...)
			b = append(b, dir...)
			b = append(b, `","STRENGTH":"`...)
			b = strconv.AppendFloat(b, math.Abs(hi-lo), 'f', 4, 64)
			b = append(b, `",`...)
		}
		b = append(b, `"ATTRIBUTION_SCORE":"`...)
		b = strconv.AppendFloat(b, hi+lo, 'f', 4, 64)
		b = append(b, `"}`...)
	}
	return string(append(b, '}'))
}

// rcfForest is a robust random cut forest over points of dimension dim.
type rcfForest struct {
	cfg   rcfConfig
	dim   int
	trees []*rcfTree
	seq   int64 // points offered so far
	tmp   rcfAttribution
}

func newRCFForest(cfg rcfConfig, seed uint64) *rcfForest {
	f := &rcfForest{cfg: cfg, dim: cfg.cols * cfg.shingle}
	for i := 0; i < cfg.trees; i++ {
		f.trees = append(f.trees, &rcfTree{dim: f.dim, rng: rand.New(rand.NewPCG(seed, uint64(i)))})
	}
	return f
}

// ready: the first subSampleSize points only train (sqlref).
func (f *rcfForest) ready() bool { return f.seq >= int64(f.cfg.sample) }

// update offers p to every tree's sampler.
func (f *rcfForest) update(p []float64) {
	f.seq++
	for _, t := range f.trees {
		t.offer(p, f.seq, f.cfg)
	}
}

// score is the forest's anomaly score of p (not yet inserted).
func (f *rcfForest) score(p []float64) float64 {
	s := 0.0
	for _, t := range f.trees {
		s += t.score(p)
	}
	return s / float64(len(f.trees))
}

// attribution sets out to the forest's per-dimension attribution of p.
func (f *rcfForest) attribution(p []float64, out *rcfAttribution) {
	out.reset(f.dim)
	f.tmp.reset(f.dim)
	for _, t := range f.trees {
		t.attribution(p, &f.tmp)
		for d := range out.hi {
			out.hi[d] += f.tmp.hi[d]
			out.lo[d] += f.tmp.lo[d]
		}
	}
	k := 1 / float64(len(f.trees))
	for d := range out.hi {
		out.hi[d] *= k
		out.lo[d] *= k
	}
}

// rcfAttribution is a score split by dimension and side: hi for the part
// due to the point lying above the data, lo below.
type rcfAttribution struct{ hi, lo []float64 }

func (a *rcfAttribution) reset(dim int) {
	if len(a.hi) != dim {
		a.hi, a.lo = make([]float64, dim), make([]float64, dim)
	}
	clear(a.hi)
	clear(a.lo)
}

func (a *rcfAttribution) total() float64 {
	s := 0.0
	for d := range a.hi {
		s += a.hi[d] + a.lo[d]
	}
	return s
}

// rcfNode is a leaf (left == nil: point, mass) or an internal node (a cut
// and the bounding box of the points below).
type rcfNode struct {
	parent, left, right *rcfNode
	cutDim              int
	cutVal              float64
	min, max            []float64
	point               []float64
	mass                int
}

func (n *rcfNode) leaf() bool { return n.left == nil }

func (n *rcfNode) box() (lo, hi []float64) {
	if n.leaf() {
		return n.point, n.point
	}
	return n.min, n.max
}

func (n *rcfNode) child(p []float64) *rcfNode {
	if p[n.cutDim] <= n.cutVal {
		return n.left
	}
	return n.right
}

type rcfSample struct {
	w float64
	p []float64
}

// rcfTree is one tree and its time-decayed sample (a max-heap on weight).
type rcfTree struct {
	dim  int
	rng  *rand.Rand
	root *rcfNode
	mass int
	heap []rcfSample
	path []*rcfNode
}

// offer runs the sampler: p enters while the sample is not full, or when
// its weight is below the heaviest sample's, which leaves.
func (t *rcfTree) offer(p []float64, seq int64, cfg rcfConfig) {
	u := t.rng.Float64()
	for u == 0 {
		u = t.rng.Float64()
	}
	w := -cfg.lambda*float64(seq) + math.Log(-math.Log(u))
	if len(t.heap) < cfg.sample {
		t.heap = append(t.heap, rcfSample{w, p})
		for i := len(t.heap) - 1; i > 0; {
			up := (i - 1) / 2
			if t.heap[up].w >= t.heap[i].w {
				break
			}
			t.heap[up], t.heap[i] = t.heap[i], t.heap[up]
			i = up
		}
		t.insert(p)
		return
	}
	if w >= t.heap[0].w {
		return
	}
	old := t.heap[0].p
	t.heap[0] = rcfSample{w, p}
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(t.heap) && t.heap[l].w > t.heap[m].w {
			m = l
		}
		if r < len(t.heap) && t.heap[r].w > t.heap[m].w {
			m = r
		}
		if m == i {
			break
		}
		t.heap[i], t.heap[m] = t.heap[m], t.heap[i]
		i = m
	}
	t.remove(old)
	t.insert(p)
}

func equalPoints(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// randomCut draws a cut of the box [lo, hi] ∪ {p}, the dimension in
// proportion to its range, and says whether it separates p from the box.
func (t *rcfTree) randomCut(lo, hi, p []float64) (dim int, val float64, sep bool) {
	sum := 0.0
	for d := range p {
		sum += math.Max(hi[d], p[d]) - math.Min(lo[d], p[d])
	}
	r := t.rng.Float64() * sum
	dim = -1
	for d := range p {
		a, b := math.Min(lo[d], p[d]), math.Max(hi[d], p[d])
		if b <= a {
			continue
		}
		dim, val = d, a+r
		if r < b-a {
			break
		}
		r -= b - a
	}
	if dim < 0 {
		return 0, lo[0], false
	}
	a, b := math.Min(lo[dim], p[dim]), math.Max(hi[dim], p[dim])
	if val >= b { // rounding at the top end
		val = math.Nextafter(b, a)
	}
	sep = (p[dim] <= val && val < lo[dim]) || (hi[dim] <= val && val < p[dim])
	return dim, val, sep
}

func (t *rcfTree) insert(p []float64) {
	t.mass++
	if t.root == nil {
		t.root = &rcfNode{point: p, mass: 1}
		return
	}
	n := t.root
	for {
		if n.leaf() && equalPoints(n.point, p) {
			n.mass++
			return
		}
		lo, hi := n.box()
		dim, val, sep := t.randomCut(lo, hi, p)
		if !sep && n.leaf() {
			// Rounding: a leaf differing from p is always separable.
			for d := range p {
				if p[d] != lo[d] {
					dim, val = d, math.Min(p[d], lo[d])
					break
				}
			}
			sep = true
		}
		if sep {
			leaf := &rcfNode{point: p, mass: 1}
			bounds := make([]float64, 2*t.dim) // one allocation, adjacent in memory
			in := &rcfNode{parent: n.parent, cutDim: dim, cutVal: val,
				min: bounds[:t.dim:t.dim], max: bounds[t.dim:]}
			for d := range p {
				in.min[d], in.max[d] = math.Min(lo[d], p[d]), math.Max(hi[d], p[d])
			}
			if p[dim] <= val {
				in.left, in.right = leaf, n
			} else {
				in.left, in.right = n, leaf
			}
			t.replace(n, in)
			leaf.parent, n.parent = in, in
			return
		}
		for d := range p {
			n.min[d], n.max[d] = math.Min(n.min[d], p[d]), math.Max(n.max[d], p[d])
		}
		n = n.child(p)
	}
}

// replace puts m where n was under n's parent.
func (t *rcfTree) replace(n, m *rcfNode) {
	switch par := n.parent; {
	case par == nil:
		t.root = m
	case par.left == n:
		par.left = m
	default:
		par.right = m
	}
}

// remove takes one copy of p out of the tree.
func (t *rcfTree) remove(p []float64) {
	n := t.root
	for n != nil && !n.leaf() {
		n = n.child(p)
	}
	if n == nil || !equalPoints(n.point, p) {
		return // not in the tree: cannot happen, as the sampler owns the points
	}
	t.mass--
	if n.mass > 1 {
		n.mass--
		return
	}
	par := n.parent
	if par == nil {
		t.root = nil
		return
	}
	sib := par.left
	if sib == n {
		sib = par.right
	}
	t.replace(par, sib)
	sib.parent = par.parent
	for a := sib.parent; a != nil; a = a.parent {
		llo, lhi := a.left.box()
		rlo, rhi := a.right.box()
		for d := range a.min {
			a.min[d], a.max[d] = math.Min(llo[d], rlo[d]), math.Max(lhi[d], rhi[d])
		}
	}
}

// descend records the path of p from the root to its leaf in t.path.
func (t *rcfTree) descend(p []float64) {
	t.path = t.path[:0]
	for n := t.root; n != nil; n = n.child(p) {
		t.path = append(t.path, n)
		if n.leaf() {
			break
		}
	}
}

// separation is the probability that a random cut of box ∪ {p} separates
// p, and the sum of the merged ranges.
func separation(lo, hi, p []float64) (prob, sum float64) {
	gap := 0.0
	for d := range p {
		a, b := math.Min(lo[d], p[d]), math.Max(hi[d], p[d])
		sum += b - a
		gap += (b - a) - (hi[d] - lo[d])
	}
	if sum == 0 {
		return 0, 0
	}
	return gap / sum, sum
}

func (t *rcfTree) score(p []float64) float64 {
	if t.root == nil {
		return 0
	}
	t.descend(p)
	last := len(t.path) - 1
	leaf := t.path[last]
	var s float64
	if equalPoints(leaf.point, p) {
		s = 1 / (float64(last) + math.Log2(1+float64(leaf.mass)))
	} else {
		s = 1 / float64(last+1)
	}
	for i := last - 1; i >= 0; i-- {
		lo, hi := t.path[i].box()
		prob, _ := separation(lo, hi, p)
		s = prob/float64(i+1) + (1-prob)*s
	}
	return s * math.Log2(1+float64(t.mass))
}

// attribution sets a to the tree's score of p split by dimension and side.
func (t *rcfTree) attribution(p []float64, a *rcfAttribution) {
	clear(a.hi)
	clear(a.lo)
	if t.root == nil {
		return
	}
	t.descend(p)
	last := len(t.path) - 1
	leaf := t.path[last]
	if equalPoints(leaf.point, p) {
		s := 1 / (float64(last) + math.Log2(1+float64(leaf.mass))) / float64(2*len(p))
		for d := range p {
			a.hi[d], a.lo[d] = s, s
		}
	} else {
		t.mix(a, leaf.point, leaf.point, p, 1/float64(last+1))
	}
	for i := last - 1; i >= 0; i-- {
		lo, hi := t.path[i].box()
		t.mix(a, lo, hi, p, 1/float64(i+1))
	}
	k := math.Log2(1 + float64(t.mass))
	for d := range p {
		a.hi[d] *= k
		a.lo[d] *= k
	}
}

// mix folds one level into a: a = gap/sum·unseen + (1−prob)·a per side.
func (t *rcfTree) mix(a *rcfAttribution, lo, hi, p []float64, unseen float64) {
	prob, sum := separation(lo, hi, p)
	if sum == 0 {
		return
	}
	keep := 1 - prob
	for d := range p {
		above, below := math.Max(p[d]-hi[d], 0), math.Max(lo[d]-p[d], 0)
		a.hi[d] = above/sum*unseen + keep*a.hi[d]
		a.lo[d] = below/sum*unseen + keep*a.lo[d]
	}
}
