package engine

import (
	"fmt"
	"testing"
	"time"
)

// Benchmarks of the row path: go test -run XXX -bench . ./internal/analytics/engine/
// Each reports rows/s (one input row per iteration, ROWTIME 1 ms apart, 100
// tickers), emit discarding.

var benchInput = []Stream{{Name: "SOURCE_SQL_STREAM_001", Columns: []Column{
	{"TICKER_SYMBOL", "VARCHAR(4)"}, {"SECTOR", "VARCHAR(16)"}, {"CHANGE", "REAL"}, {"PRICE", "REAL"}}}}

func benchRun(b *testing.B, code string) {
	p, err := Compile(code, benchInput, nil)
	if err != nil {
		b.Fatal(err)
	}
	rows := make([][]any, 1000)
	sectors := []string{"TECH", "RETAIL", "ENERGY", "FINANCE"}
	for i := range rows {
		rows[i] = []any{fmt.Sprintf("T%03d", i%100), sectors[i%4], float64(i%7) - 3, 10 + float64(i%97)}
	}
	out := 0
	in := p.Start(base, func(string, Row) { out++ })
	b.ReportAllocs()
	b.ResetTimer()
	t := base
	for i := 0; i < b.N; i++ {
		t = t.Add(time.Millisecond)
		in.Insert("SOURCE_SQL_STREAM_001", Row{Rowtime: t, Values: rows[i%len(rows)]})
	}
	in.Advance(t.Add(time.Hour))
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	if out == 0 && b.N > 1000 {
		b.Fatal("no output")
	}
}

func BenchmarkStateless(b *testing.B) {
	benchRun(b, `CREATE STREAM d (t VARCHAR(4), s VARCHAR(16), p DOUBLE, up BOOLEAN);
CREATE PUMP p AS INSERT INTO d
SELECT STREAM ticker_symbol, LOWER(sector), price * 0.908, change > 0
FROM SOURCE_SQL_STREAM_001 WHERE sector <> 'ENERGY' AND price > 11;`)
}

func BenchmarkTumbling(b *testing.B) {
	benchRun(b, `CREATE STREAM d (t VARCHAR(4), lo REAL, hi REAL, n BIGINT, a DOUBLE);
CREATE PUMP p AS INSERT INTO d
SELECT STREAM ticker_symbol, MIN(price), MAX(price), COUNT(*), AVG(price)
FROM SOURCE_SQL_STREAM_001
GROUP BY ticker_symbol, STEP(SOURCE_SQL_STREAM_001.ROWTIME BY INTERVAL '10' SECOND);`)
}

func BenchmarkSliding(b *testing.B) {
	benchRun(b, `CREATE STREAM d (t VARCHAR(4), a DOUBLE, n BIGINT);
CREATE PUMP p AS INSERT INTO d
SELECT STREAM ticker_symbol, AVG(price) OVER w, COUNT(*) OVER w
FROM SOURCE_SQL_STREAM_001
WINDOW w AS (PARTITION BY ticker_symbol RANGE INTERVAL '1' MINUTE PRECEDING);`)
}

func BenchmarkSlidingMax(b *testing.B) {
	benchRun(b, `CREATE STREAM d (t VARCHAR(4), hi REAL);
CREATE PUMP p AS INSERT INTO d
SELECT STREAM ticker_symbol, MAX(price) OVER w
FROM SOURCE_SQL_STREAM_001
WINDOW w AS (PARTITION BY ticker_symbol RANGE INTERVAL '10' SECOND PRECEDING);`)
}

func BenchmarkStagger(b *testing.B) {
	benchRun(b, `CREATE STREAM d (t VARCHAR(4), n BIGINT);
CREATE PUMP p AS INSERT INTO d
SELECT STREAM ticker_symbol, COUNT(*)
FROM SOURCE_SQL_STREAM_001
WINDOWED BY STAGGER (PARTITION BY ticker_symbol RANGE INTERVAL '1' MINUTE);`)
}

// BenchmarkRandomCutForest: RANDOM_CUT_FOREST with the reference's
// defaults (100 trees, 256 samples) over the two numeric columns.
func BenchmarkRandomCutForest(b *testing.B) {
	benchRun(b, `CREATE STREAM d (t VARCHAR(4), s VARCHAR(16), c REAL, p REAL, a DOUBLE);
CREATE PUMP p AS INSERT INTO d
SELECT STREAM * FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001)));`)
}

// BenchmarkRandomCutForestExplanation: the same with explanations and
// directionality.
func BenchmarkRandomCutForestExplanation(b *testing.B) {
	benchRun(b, `CREATE STREAM d (t VARCHAR(4), a DOUBLE, e VARCHAR(512));
CREATE PUMP p AS INSERT INTO d
SELECT STREAM ticker_symbol, ANOMALY_SCORE, ANOMALY_EXPLANATION
FROM TABLE(RANDOM_CUT_FOREST_WITH_EXPLANATION(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 100, 256, 100000, 1, true));`)
}
