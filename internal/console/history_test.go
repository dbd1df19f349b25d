package console

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"
)

// TestHistory: samples are kept aligned, bounded to HistoryPoints, a
// series that disappears is dropped once all its points are gone, and a
// read ends with a live point.
func TestHistory(t *testing.T) {
	clk := &clock{time.Unix(1000, 0)}
	vals := map[string]float64{"a": 1}
	h := NewHistory(func() (map[string]float64, error) {
		out := map[string]float64{}
		for k, v := range vals {
			out[k] = v
		}
		return out, nil
	}, clk.now)
	for i := 0; i < HistoryPoints+10; i++ {
		clk.t = clk.t.Add(HistoryInterval)
		vals["a"] = float64(i)
		if i == 5 {
			vals["b"] = 7
		}
		if i == 6 {
			delete(vals, "b")
		}
		if err := h.Sample(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(h.times) != HistoryPoints || len(h.series["a"]) != HistoryPoints {
		t.Fatalf("kept %d times, %d points", len(h.times), len(h.series["a"]))
	}
	if _, ok := h.series["b"]; ok {
		t.Fatal("a series gone for the whole window is still kept")
	}
	clk.t = clk.t.Add(time.Second)
	vals["a"] = 1000
	vals["c"] = 3
	var buf bytes.Buffer
	if err := h.write(&buf, []string{"a", "c"}); err != nil {
		t.Fatal(err)
	}
	var out struct {
		T      []int64
		Series map[string][]*float64
	}
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	a, c := out.Series["a"], out.Series["c"]
	if len(out.T) != HistoryPoints+1 || len(a) != len(out.T) || *a[len(a)-1] != 1000 || len(c) != len(out.T) || c[0] != nil || *c[len(c)-1] != 3 {
		t.Fatalf("read: %d times, a %d points (last %v), c %v", len(out.T), len(a), a[len(a)-1], c[len(c)-1])
	}
}
