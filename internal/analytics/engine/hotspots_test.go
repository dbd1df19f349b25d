package engine

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
)

// TestHotspotsExample follows the developer guide's hotspots example
// (app-hotspot-create-app: HOTSPOTS(CURSOR(...), 1000, 0.2, 17) over x, y
// in [0, 10] with generated hotspots): the dense region (10% of the records
// on 0.25% of the area, 40 times the average density) is found with a
// density far above the window's average of 1, its box is the region's, and
// the uniform background yields no hotspot half as dense.
func TestHotspotsExample(t *testing.T) {
	in := []Stream{{Name: "SOURCE_SQL_STREAM_001", Columns: []Column{
		{"x", "DOUBLE"}, {"y", "DOUBLE"}, {"is_hot", "VARCHAR(4)"}}}}
	code := `CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
    "x" DOUBLE, "y" DOUBLE, "is_hot" VARCHAR(4), HOTSPOTS_RESULT VARCHAR(10000));
CREATE OR REPLACE PUMP "STREAM_PUMP" AS
    INSERT INTO "DESTINATION_SQL_STREAM"
    SELECT "x", "y", "is_hot", "HOTSPOTS_RESULT"
    FROM TABLE (HOTSPOTS(CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001"), 1000, 0.2, 17));`
	p, err := Compile(code, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	var last string
	inst := p.Start(base, func(_ string, r Row) { last = r.Values[3].(string) })
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3000; i++ {
		x, y, hot := rng.Float64()*10, rng.Float64()*10, "N"
		if i%10 == 0 { // 10% of the records in a 0.5 × 0.5 square at (6, 3)
			x, y, hot = 6+rng.Float64()*0.5, 3+rng.Float64()*0.5, "Y"
		}
		inst.Insert("SOURCE_SQL_STREAM_001", Row{Rowtime: base.Add(time.Duration(i) * time.Millisecond), Values: []any{x, y, hot}})
	}
	var res struct {
		Hotspots []struct {
			Density   float64   `json:"density"`
			MinValues []float64 `json:"minValues"`
			MaxValues []float64 `json:"maxValues"`
		} `json:"hotspots"`
	}
	if err := json.Unmarshal([]byte(last), &res); err != nil {
		t.Fatalf("%q: %v", last, err)
	}
	if len(res.Hotspots) == 0 {
		t.Fatalf("no hotspot in %s", last)
	}
	top := res.Hotspots[0]
	t.Logf("%d hotspots, densest %+v", len(res.Hotspots), top)
	if top.Density < 20 {
		t.Errorf("densest hotspot has density %.1f, want >= 20", top.Density)
	}
	if top.MinValues[0] < 5.7 || top.MaxValues[0] > 6.8 || top.MinValues[1] < 2.7 || top.MaxValues[1] > 3.8 {
		t.Errorf("densest hotspot box %v..%v, want around [6, 6.5] × [3, 3.5]", top.MinValues, top.MaxValues)
	}
	for _, h := range res.Hotspots[1:] {
		if h.Density >= top.Density/2 {
			t.Errorf("background hotspot %+v as dense as the real one", h)
		}
	}
}
