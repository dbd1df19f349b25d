package datastream

import (
	"fmt"
	"sort"

	"github.com/rheos/rheos/internal/hashkey"
)

// UNIFORM_SCALING as AWS performs it: UpdateShardCount reaches the target
// layout through ordinary splits and merges ("Amazon Kinesis performs splits
// or merges on individual shards. This can cause short-lived shards to be
// created, in addition to the final shards."), so every shard it creates has
// the lineage SplitShard and MergeShards give: a split child has one parent
// (ParentShardId) covering it whole; a merge child has two adjacent parents
// (ParentShardId, AdjacentParentShardId) that it covers whole. Every shard
// that held part of a final shard's range is then its ancestor, and a
// consumer that reads a shard only after its listed parents reads every key
// in order.
//
// The plan, for open shards O (in hash order) and the target layout T:
//
//	 O:  |   0   |   1   |   2   |   3   |   4   |      5 → 3
//	 T:  |     a     |     b     |     c     |
//	split 1 and 3 at T's boundaries inside them:
//	     |   0   | 5 | 6 |   2   | 7 | 8 |   4   |
//	merge the pieces of each target, left to right:
//	 a = 9 (0+5)   b = 11 ((6+2)=10 + 7)   c = 12 (8+4)
//
// Splits come first (every open shard holding a target boundary strictly
// inside it is split there, left to right, the right part split again), then
// merges (each target's pieces, left to right: the merge child is the
// ParentShardId of the next merge). A target equal to an open shard keeps
// it: doubling is all splits and halving all merges, AWS's advice for the
// fewest. The shards in between are created and closed in the same change,
// so they never receive a record.
//
// The target boundaries are hashkey.Split(target)'s, the layout CreateStream
// gives, with one exception: a boundary within snapKeys of an open shard's
// boundary is taken to be that boundary. Split puts boundary i of n at
// i·⌊2^128/n⌋, up to n keys below i/n of the space, so two layouts meet at
// the same fraction a few keys apart (3 shards → 6: 1/3 is ...070485 in one
// and ...070484 in the other); without the snap, doubling 3 shards would
// split off a shard of one key and merge it back. The final ranges are then
// uniform to within snapKeys, 2^-96 of the key space.

// snapKeys is how far (in keys) a target boundary may be moved to meet an
// open shard's boundary: far above the rounding of hashkey.Split for any
// shard count, far below any shard's width (a stream of 2^31 shards has
// ranges of 2^97 keys).
var snapKeys = hashkey.Key{Lo: 1 << 32}

// scaleNode is a shard in a UNIFORM_SCALING plan: one of the open shards
// before the change, or one the change creates.
type scaleNode struct {
	r hashkey.Range
	// parent and adjacent are node numbers; -1 for none. An open shard of
	// the old layout has neither, a split child only a parent, a merge
	// child both (parent the lower range, adjacent the upper).
	parent, adjacent int
}

// scalePlan is the sequence of splits and merges that takes the open shards
// to the target layout.
type scalePlan struct {
	// nodes are the open shards before the change (0 … old-1, in hash
	// order) followed by the shards the change creates, in creation order.
	nodes []scaleNode
	old   int
	// final lists, in hash order, the nodes that are the open shards
	// afterwards; every other node is closed by the change.
	final []int
	// splits and merges count the steps.
	splits, merges int
}

// created is the number of shards the plan creates.
func (p *scalePlan) created() int { return len(p.nodes) - p.old }

// planUniformScaling returns the splits and merges that take open, the
// ranges of the open shards in hash order (which tile the key space), to
// target shards of uniform ranges.
func planUniformScaling(open []hashkey.Range, target int) (scalePlan, error) {
	if len(open) == 0 || target < 1 {
		return scalePlan{}, fmt.Errorf("datastream: scaling %d shards to %d", len(open), target)
	}
	if open[0].Start != (hashkey.Key{}) || open[len(open)-1].End != hashkey.Max {
		return scalePlan{}, fmt.Errorf("datastream: the open shards do not cover the key space")
	}
	for i := 1; i < len(open); i++ {
		if !adjacent(open[i-1], open[i]) {
			return scalePlan{}, fmt.Errorf("datastream: open shards %d and %d are not adjacent", i-1, i)
		}
	}
	bounds := targetBoundaries(open, target)
	for i := 1; i < len(bounds); i++ {
		if bounds[i].Cmp(bounds[i-1].Add(hashkey.Key{Lo: 2})) < 0 {
			return scalePlan{}, fmt.Errorf("datastream: target boundaries %s and %s too close", bounds[i-1], bounds[i])
		}
	}
	p := scalePlan{old: len(open)}
	for _, r := range open {
		p.nodes = append(p.nodes, scaleNode{r: r, parent: -1, adjacent: -1})
	}
	add := func(r hashkey.Range, parent, adjacent int) int {
		p.nodes = append(p.nodes, scaleNode{r: r, parent: parent, adjacent: adjacent})
		return len(p.nodes) - 1
	}
	one := hashkey.Key{Lo: 1}

	// Splits: cut every open shard at the target boundaries inside it.
	var pieces []int // nodes tiling the key space, in hash order
	b := 0
	for i := range open {
		cur := i
		for b < len(bounds) && bounds[b].Cmp(open[i].End) <= 0 {
			at, r := bounds[b], p.nodes[cur].r
			b++
			if at == r.Start {
				continue // a boundary the layouts share
			}
			left := add(hashkey.Range{Start: r.Start, End: at.Sub(one)}, cur, -1)
			right := add(hashkey.Range{Start: at, End: r.End}, cur, -1)
			p.splits++
			pieces = append(pieces, left)
			cur = right
		}
		pieces = append(pieces, cur)
	}

	// Merges: join each target's pieces, left to right.
	next := 0
	for t := 0; t <= len(bounds); t++ {
		end := hashkey.Max
		if t < len(bounds) {
			end = bounds[t].Sub(one)
		}
		acc := pieces[next]
		next++
		for p.nodes[acc].r.End.Cmp(end) < 0 {
			piece := pieces[next]
			next++
			acc = add(hashkey.Range{Start: p.nodes[acc].r.Start, End: p.nodes[piece].r.End}, acc, piece)
			p.merges++
		}
		if p.nodes[acc].r.End != end {
			return scalePlan{}, fmt.Errorf("datastream: target %d ends at %s, its pieces at %s", t, end, p.nodes[acc].r.End)
		}
		p.final = append(p.final, acc)
	}
	return p, nil
}

// targetBoundaries returns the first keys of target shards 1 … target-1:
// hashkey.Split's, each moved to the nearest open shard's first key when
// that is within snapKeys.
func targetBoundaries(open []hashkey.Range, target int) []hashkey.Key {
	split := hashkey.Split(target)
	out := make([]hashkey.Key, 0, target-1)
	for _, r := range split[1:] {
		at := r.Start
		// The first open shard starting at or after at, and the one before.
		i := sort.Search(len(open), func(i int) bool { return open[i].Start.Cmp(at) >= 0 })
		best, bestDist := at, snapKeys.Add(hashkey.Key{Lo: 1})
		for _, j := range []int{i - 1, i} {
			if j < 1 || j >= len(open) {
				continue // open[0] starts at 0, never a boundary
			}
			if d := keyDistance(open[j].Start, at); d.Cmp(bestDist) < 0 {
				best, bestDist = open[j].Start, d
			}
		}
		out = append(out, best)
	}
	return out
}

// keyDistance returns |a - b|.
func keyDistance(a, b hashkey.Key) hashkey.Key {
	if a.Cmp(b) < 0 {
		return b.Sub(a)
	}
	return a.Sub(b)
}
