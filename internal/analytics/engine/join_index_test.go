package engine

import (
	"fmt"
	"math/rand"
	"testing"
	"time"
)

// TestStreamJoinIndexAgreesWithScan: a windowed stream join whose ON has a
// usable equality (the hash index) emits exactly what the same join emits
// when its condition hides the equality from the planner (a scan of the
// window), on random rows of both sides, outer rows included.
func TestStreamJoinIndexAgreesWithScan(t *testing.T) {
	run := func(on string) []string {
		code := fmt.Sprintf(`CREATE STREAM a (k INTEGER, x INTEGER);
CREATE STREAM o (k INTEGER, x INTEGER, y INTEGER);
CREATE PUMP pa AS INSERT INTO a SELECT STREAM K, V FROM SOURCE_SQL_STREAM_001 WHERE S = 0;
CREATE PUMP p AS INSERT INTO o SELECT STREAM b.K, a.X, b.V
FROM SOURCE_SQL_STREAM_001 AS b LEFT JOIN a OVER (RANGE INTERVAL '5' SECOND PRECEDING) AS a ON %s
WHERE b.S = 1;`, on)
		p, err := Compile(code, []Stream{{Name: "SOURCE_SQL_STREAM_001", Columns: []Column{{"S", "INTEGER"}, {"K", "INTEGER"}, {"V", "INTEGER"}}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		in := p.Start(base, func(s string, r Row) {
			if s == "O" {
				got = append(got, fmt.Sprint(r.Rowtime.UnixMilli(), r.Values))
			}
		})
		rng := rand.New(rand.NewSource(7))
		now := base
		for i := 0; i < 3000; i++ {
			now = now.Add(time.Duration(rng.Intn(300)) * time.Millisecond)
			var k any = int64(rng.Intn(20))
			if rng.Intn(15) == 0 {
				k = nil
			}
			in.Insert("SOURCE_SQL_STREAM_001", Row{Rowtime: now, Values: []any{int64(rng.Intn(2)), k, int64(i)}})
		}
		in.Advance(now.Add(time.Minute))
		return got
	}
	indexed, scanned := run("a.K = b.K"), run("(a.K = b.K OR 1 = 0)")
	if len(indexed) == 0 || fmt.Sprint(indexed) != fmt.Sprint(scanned) {
		t.Fatalf("indexed join (%d rows) differs from the scan (%d rows)", len(indexed), len(scanned))
	}
}
