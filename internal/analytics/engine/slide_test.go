package engine

import (
	"math/rand"
	"testing"
	"time"
)

// TestSlidingAgreesWithScan: the incremental sliding aggregates (running
// sums, MIN/MAX deques, evictions, compaction) agree with a direct scan of
// the frame [t - 10 s, t] per partition, on random rows (seeded).
func TestSlidingAgreesWithScan(t *testing.T) {
	code := `CREATE STREAM o (k INTEGER, lo INTEGER, hi INTEGER, n BIGINT, s INTEGER, r3 INTEGER);
CREATE PUMP p AS INSERT INTO o
SELECT STREAM K, MIN(V) OVER w, MAX(V) OVER w, COUNT(V) OVER w, SUM(V) OVER w, MAX(V) OVER (PARTITION BY K ROWS 3 PRECEDING)
FROM SOURCE_SQL_STREAM_001
WINDOW w AS (PARTITION BY K RANGE INTERVAL '10' SECOND PRECEDING);`
	p, err := Compile(code, []Stream{{Name: "SOURCE_SQL_STREAM_001", Columns: []Column{{"K", "INTEGER"}, {"V", "INTEGER"}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	type rec struct {
		t    time.Time
		k, v int64
		null bool
	}
	var got []Row
	in := p.Start(base, func(s string, r Row) {
		if s == "O" {
			got = append(got, r)
		}
	})
	rng := rand.New(rand.NewSource(1))
	var hist []rec
	now := base
	for i := 0; i < 5000; i++ {
		now = now.Add(time.Duration(rng.Intn(800)) * time.Millisecond)
		r := rec{t: now, k: int64(rng.Intn(4)), v: int64(rng.Intn(1000) - 500), null: rng.Intn(10) == 0}
		hist = append(hist, r)
		var v any = r.v
		if r.null {
			v = nil
		}
		in.Insert("SOURCE_SQL_STREAM_001", Row{Rowtime: now, Values: []any{r.k, v}})
		out := got[len(got)-1].Values
		var lo, hi, sum any
		n := int64(0)
		for _, h := range hist {
			if h.k != r.k || h.t.Before(now.Add(-10*time.Second)) || h.null {
				continue
			}
			if lo == nil || h.v < lo.(int64) {
				lo = h.v
			}
			if hi == nil || h.v > hi.(int64) {
				hi = h.v
			}
			if sum == nil {
				sum = int64(0)
			}
			sum = sum.(int64) + h.v
			n++
		}
		var r3 any
		seen := 0
		for j := len(hist) - 1; j >= 0 && seen < 4; j-- {
			if hist[j].k != r.k {
				continue
			}
			seen++
			if !hist[j].null && (r3 == nil || hist[j].v > r3.(int64)) {
				r3 = hist[j].v
			}
		}
		want := []any{r.k, lo, hi, n, sum, r3}
		for c := range want {
			if out[c] != want[c] {
				t.Fatalf("row %d column %d: got %v, want %v (row %v)", i, c, out[c], want[c], out)
			}
		}
	}
}
