package engine

import (
	"sync"
	"testing"
	"time"
)

// TestProgramSharedByInstances: one Program, several Instances on their own
// goroutines (the race detector checks that compiled closures share no
// mutable state), each producing the same output.
func TestProgramSharedByInstances(t *testing.T) {
	p, err := Compile(`CREATE STREAM o (t VARCHAR(4), n BIGINT, a DOUBLE, l DOUBLE);
CREATE PUMP p1 AS INSERT INTO o
SELECT STREAM ticker, COUNT(*), AVG(price), MAX(price) FROM SOURCE_SQL_STREAM_001
GROUP BY ticker, STEP(ROWTIME BY INTERVAL '1' SECOND);
CREATE STREAM s (t VARCHAR(4), m DOUBLE);
CREATE PUMP p2 AS INSERT INTO s
SELECT STREAM ticker, MIN(price) OVER (PARTITION BY ticker RANGE INTERVAL '2' SECOND PRECEDING)
FROM SOURCE_SQL_STREAM_001 WHERE ticker SIMILAR TO '(A|B)%';`, errInputs, errTables)
	if err != nil {
		t.Fatal(err)
	}
	run := func() int {
		n := 0
		in := p.Start(base, func(string, Row) { n++ })
		for i := 0; i < 2000; i++ {
			tk := []string{"AB", "BC", "CD"}[i%3]
			in.Insert("SOURCE_SQL_STREAM_001", Row{Rowtime: base.Add(time.Duration(i) * 10 * time.Millisecond), Values: []any{tk, float64(i % 13), int64(i), base}})
		}
		in.Advance(base.Add(time.Hour))
		return n
	}
	want := run()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := run(); got != want {
				t.Errorf("instance emitted %d rows, want %d", got, want)
			}
		}()
	}
	wg.Wait()
}
