package loadtest

import (
	"math"
	"math/bits"
	"time"
)

// histogram is a log-linear histogram of non-negative durations in
// nanoseconds, in the manner of HdrHistogram: values below 64 have a bucket
// each; above, every power of two is split into 64 equal buckets. A bucket's
// width is at most 1/64 of its lower bound, and a quantile is reported as its
// bucket's midpoint, so the relative error is at most 1/128 (< 0.8%). Memory is
// fixed (histBuckets counters) whatever the range.
//
// A histogram is not safe for concurrent use: each producer and consumer owns
// one, and they are merged when the run ends.
type histogram struct {
	counts [histBuckets]uint64
	n      uint64
	max    uint64
}

const (
	histSubBits = 6
	histSub     = 1 << histSubBits                 // buckets per power of two
	histBuckets = (64 - histSubBits + 1) * histSub // bucketOf(math.MaxUint64) < histBuckets
)

// bucketOf returns the bucket index of v.
func bucketOf(v uint64) int {
	if v < histSub {
		return int(v)
	}
	shift := bits.Len64(v) - histSubBits - 1 // v>>shift is in [histSub, 2*histSub)
	return (shift+1)*histSub + int(v>>shift) - histSub
}

// bucketRange returns the lowest value of bucket i and its width.
func bucketRange(i int) (low, width uint64) {
	if i < histSub {
		return uint64(i), 1
	}
	shift := i/histSub - 1
	top := uint64(histSub + i%histSub)
	return top << shift, 1 << shift
}

// record adds one duration; negative durations count as zero.
func (h *histogram) record(d time.Duration) {
	v := uint64(0)
	if d > 0 {
		v = uint64(d)
	}
	h.counts[bucketOf(v)]++
	h.n++
	h.max = max(h.max, v)
}

// merge adds o's counts to h.
func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the value below which a fraction q of the recorded values
// lie (the value of rank ceil(q·n)), or 0 when nothing was recorded.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			low, width := bucketRange(i)
			mid := low + (width-1)/2
			return time.Duration(min(mid, h.max))
		}
	}
	return time.Duration(h.max)
}
