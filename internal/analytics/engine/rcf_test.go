package engine

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"testing"
	"time"
)

var rcfInput = []Stream{{Name: "SOURCE_SQL_STREAM_001", Columns: []Column{
	{"LABEL", "VARCHAR(8)"}, {"X", "DOUBLE"}, {"Y", "DOUBLE"}}}}

// runRCF runs code over rows (label, x, y), one a second, and returns the
// output rows of DESTINATION_SQL_STREAM.
func runRCF(t testing.TB, code string, rows [][]any) []Row {
	t.Helper()
	p, err := Compile(code, rcfInput, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []Row
	in := p.Start(base, func(s string, r Row) {
		if s == "DESTINATION_SQL_STREAM" {
			out = append(out, r)
		}
	})
	for i, r := range rows {
		in.Insert("SOURCE_SQL_STREAM_001", Row{Rowtime: base.Add(time.Duration(i) * time.Second), Values: r})
	}
	if len(out) != len(rows) {
		t.Fatalf("%d output rows for %d input rows", len(out), len(rows))
	}
	return out
}

const rcfCode = `CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (label VARCHAR(8), x DOUBLE, y DOUBLE, ANOMALY_SCORE DOUBLE);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM * FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001")));`

const rcfExplainCode = `CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (label VARCHAR(8), ANOMALY_SCORE DOUBLE, ANOMALY_EXPLANATION VARCHAR(20480));
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM label, ANOMALY_SCORE, ANOMALY_EXPLANATION FROM TABLE(RANDOM_CUT_FOREST_WITH_EXPLANATION(
  CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001"), 100, 256, 100000, 1, true));`

// cluster is n points around (0, 0) with unit spread, deterministic.
func cluster(n int, seed uint64) [][]any {
	rng := rand.New(rand.NewPCG(seed, 1))
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{"normal", rng.NormFloat64(), rng.NormFloat64()}
	}
	return rows
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// TestRCFOutlier: the reference's promise: a point distant from the others
// scores clearly higher; the first subSampleSize (256) records score 0.
func TestRCFOutlier(t *testing.T) {
	rows := cluster(1000, 7)
	rows = append(rows, []any{"outlier", 8.0, -9.0})
	rows = append(rows, cluster(50, 8)...)
	out := runRCF(t, rcfCode, rows)
	for i := 0; i < 256; i++ {
		if s := out[i].Values[3].(float64); s != 0 {
			t.Fatalf("row %d scored %v during the learning phase", i, s)
		}
	}
	if s := out[256].Values[3].(float64); s <= 0 {
		t.Fatalf("row 256 scored %v, want > 0 after the learning phase", s)
	}
	var normal []float64
	for _, r := range out[500:1000] {
		normal = append(normal, r.Values[3].(float64))
	}
	med := median(normal)
	outlier := out[1000].Values[3].(float64)
	t.Logf("median normal score %.3f, outlier %.3f", med, outlier)
	if med < 0.5 || med > 2 {
		t.Errorf("median normal score %.3f, want about 1 (AWS's ordinary records score 0.7)", med)
	}
	if outlier < 3*med {
		t.Errorf("outlier scored %.3f, want at least 3× the median %.3f", outlier, med)
	}
	for i, s := range normal {
		if s >= outlier {
			t.Errorf("normal row %d scored %.3f >= the outlier's %.3f", 500+i, s, outlier)
		}
	}
	// Pass-through: the cursor's columns come out unchanged.
	if out[1000].Values[0] != "outlier" || out[1000].Values[1] != 8.0 {
		t.Errorf("row %v, want the input columns first", out[1000].Values)
	}
}

// TestRCFDeterministic: the same input gives the same scores.
func TestRCFDeterministic(t *testing.T) {
	rows := cluster(400, 3)
	a, b := runRCF(t, rcfCode, rows), runRCF(t, rcfCode, rows)
	for i := range a {
		if a[i].Values[3] != b[i].Values[3] {
			t.Fatalf("row %d: %v then %v", i, a[i].Values[3], b[i].Values[3])
		}
	}
}

type rcfColumnExplanation struct {
	Direction   string `json:"DIRECTION"`
	Strength    string `json:"STRENGTH"`
	Attribution string `json:"ATTRIBUTION_SCORE"`
}

func parseExplanation(t *testing.T, s string) map[string]rcfColumnExplanation {
	t.Helper()
	var m map[string]rcfColumnExplanation
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("ANOMALY_EXPLANATION %q: %v", s, err)
	}
	return m
}

func num(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestRCFExplanation reproduces the reference's figure of four outliers
// A1..A4 around one cluster: A1 and A2 are anomalous in y (LOW, HIGH), A3
// and A4 in x (HIGH, LOW); the attribution scores sum to the anomaly score;
// the learning phase explains with zeros and LOW.
func TestRCFExplanation(t *testing.T) {
	rows := cluster(600, 11)
	outliers := map[string][2]float64{"A1": {0, -8}, "A2": {0.5, 9}, "A3": {8, 0.3}, "A4": {-9, -0.2}}
	names := []string{"A1", "A2", "A3", "A4"}
	for i, n := range names {
		o := outliers[n]
		rows = append(rows, []any{n, o[0], o[1]})
		rows = append(rows, cluster(20, uint64(20+i))...)
	}
	out := runRCF(t, rcfExplainCode, rows)
	first := parseExplanation(t, out[0].Values[2].(string))
	if first["X"] != (rcfColumnExplanation{"LOW", "0.0000", "0.0000"}) || len(first) != 2 {
		t.Errorf("learning-phase explanation %v", out[0].Values[2])
	}
	want := map[string][2]string{"A1": {"Y", "LOW"}, "A2": {"Y", "HIGH"}, "A3": {"X", "HIGH"}, "A4": {"X", "LOW"}}
	for _, r := range out[600:] {
		label := r.Values[0].(string)
		score := r.Values[1].(float64)
		m := parseExplanation(t, r.Values[2].(string))
		sum := num(t, m["X"].Attribution) + num(t, m["Y"].Attribution)
		if math.Abs(sum-score) > 0.001 {
			t.Errorf("%s: attributions sum to %.4f, score %.4f", label, sum, score)
		}
		w, ok := want[label]
		if !ok {
			continue
		}
		other := "X"
		if w[0] == "X" {
			other = "Y"
		}
		col := m[w[0]]
		t.Logf("%s score %.3f %s", label, score, r.Values[2])
		if col.Direction != w[1] {
			t.Errorf("%s: %s direction %s, want %s", label, w[0], col.Direction, w[1])
		}
		if num(t, col.Attribution) < 3*num(t, m[other].Attribution) {
			t.Errorf("%s: attribution %s %s vs %s %s, want the first to dominate", label, w[0], col.Attribution, other, m[other].Attribution)
		}
		if num(t, col.Strength) <= num(t, m[other].Strength) {
			t.Errorf("%s: strength %s %s not above %s %s", label, w[0], col.Strength, other, m[other].Strength)
		}
	}
}

// TestRCFShingle: the reference's sine wave with an injected dip, shingle
// size 4: the records where the dip begins score highest.
func TestRCFShingle(t *testing.T) {
	code := `CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (label VARCHAR(8), x DOUBLE, y DOUBLE, ANOMALY_SCORE DOUBLE);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM * FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM label, x, y FROM "SOURCE_SQL_STREAM_001"), 50, 256, 100000, 4));`
	var rows [][]any
	for i := 0; i < 1500; i++ {
		v := 50 + 40*math.Sin(2*math.Pi*float64(i)/100)
		label := "wave"
		if i >= 1200 && i < 1220 {
			v, label = 0, "dip"
		}
		rows = append(rows, []any{label, v, 0.0})
	}
	out := runRCF(t, code, rows)
	best, at := 0.0, 0
	for i, r := range out {
		if s := r.Values[3].(float64); s > best {
			best, at = s, i
		}
	}
	var normal []float64
	for _, r := range out[600:1200] {
		normal = append(normal, r.Values[3].(float64))
	}
	t.Logf("highest score %.3f at record %d, median %.3f", best, at, median(normal))
	if at < 1200 || at > 1225 {
		t.Errorf("highest score at record %d, want at the dip (1200..1219) or its end", at)
	}
	if best < 2*median(normal) {
		t.Errorf("dip scored %.3f, median %.3f", best, median(normal))
	}
}
