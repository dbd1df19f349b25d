package loadtest

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketsCoverEveryValue(t *testing.T) {
	if b := bucketOf(math.MaxUint64); b >= histBuckets {
		t.Fatalf("bucketOf(MaxUint64) = %d, want < %d", b, histBuckets)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	vals := []uint64{0, 1, 63, 64, 65, 127, 128, 129, 1000, 1 << 40, math.MaxUint64}
	for range 10000 {
		vals = append(vals, rng.Uint64()>>rng.IntN(64))
	}
	for _, v := range vals {
		i := bucketOf(v)
		low, width := bucketRange(i)
		if v < low || v-low >= width {
			t.Fatalf("value %d in bucket %d = [%d, %d+%d)", v, i, low, low, width)
		}
		if width > 1 && width > low/histSub {
			t.Fatalf("bucket %d = [%d, +%d) is wider than 1/%d of its lower bound", i, low, width, histSub)
		}
	}
	for i := 1; i < histBuckets; i++ {
		pl, pw := bucketRange(i - 1)
		if l, _ := bucketRange(i); l != pl+pw {
			t.Fatalf("bucket %d starts at %d, previous ends at %d", i, l, pl+pw)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		name string
		gen  func() time.Duration
	}{
		{"lognormal around 2ms", func() time.Duration { return time.Duration(2e6 * math.Exp(rng.NormFloat64())) }},
		{"uniform 0-100us", func() time.Duration { return time.Duration(rng.IntN(100_000)) }},
		{"bimodal", func() time.Duration {
			if rng.IntN(100) == 0 {
				return time.Duration(500e6 + rng.IntN(100e6))
			}
			return time.Duration(1e6 + rng.IntN(1e5))
		}},
		{"tiny", func() time.Duration { return time.Duration(rng.IntN(50)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Two histograms merged, as producers' are.
			var a, b histogram
			var all []time.Duration
			for i := range 100_000 {
				d := tc.gen()
				all = append(all, d)
				if i%2 == 0 {
					a.record(d)
				} else {
					b.record(d)
				}
			}
			a.merge(&b)
			slices.Sort(all)
			for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
				rank := max(int(math.Ceil(q*float64(len(all)))), 1)
				want := all[rank-1]
				got := a.quantile(q)
				if diff := math.Abs(float64(got - want)); diff > 0.01*float64(want) && diff > 0 && want >= histSub {
					t.Errorf("q%.3f = %v, exact %v: off by %.2f%%", q, got, want, 100*diff/float64(want))
				}
				if want < histSub && got != want {
					t.Errorf("q%.3f = %v, exact %v (small values are exact)", q, got, want)
				}
			}
		})
	}
	var empty histogram
	if q := empty.quantile(0.99); q != 0 {
		t.Fatalf("empty histogram p99 = %v", q)
	}
	var neg histogram
	neg.record(-time.Second)
	if q := neg.quantile(0.5); q != 0 {
		t.Fatalf("negative duration recorded as %v, want 0", q)
	}
}
