package apprun

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/rheos/rheos/internal/analytics"
	"github.com/rheos/rheos/internal/analytics/engine"
)

func tickerSchema(t testing.TB) *schema {
	t.Helper()
	s, err := compileSchema(analytics.SourceSchema{RecordFormat: analytics.RecordFormat{RecordFormatType: "JSON",
		MappingParameters: &analytics.MappingParameters{JSONMappingParameters: &analytics.JSONMapping{RecordRowPath: "$"}}},
		RecordColumns: []analytics.RecordColumn{
			{Name: "TICKER", SqlType: "VARCHAR(4)", Mapping: "$.ticker"}, {Name: "PRICE", SqlType: "REAL", Mapping: "$.price"},
			{Name: "N", SqlType: "INTEGER", Mapping: "$.n"}, {Name: "OK", SqlType: "BOOLEAN", Mapping: "$.ok"},
			{Name: "AT", SqlType: "TIMESTAMP", Mapping: "$.at"}}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// general maps a record the general way (the document decoded).
func general(s *schema, data []byte) ([][]any, error) {
	idx := s.flatIdx
	s.flatIdx = nil
	defer func() { s.flatIdx = idx }()
	return s.rows(data)
}

// TestMapping: records become rows as the input schema says, by the fast
// and the general path alike; what does not fit is an error.
func TestMapping(t *testing.T) {
	s := tickerSchema(t)
	if s.flatIdx == nil {
		t.Fatal("a flat schema does not take the fast path")
	}
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for rec, want := range map[string][]any{
		`{"ticker":"AMZN","price":12.5,"n":3,"ok":true,"at":"2026-12-03 10:00:00"}`:              {"AMZN", 12.5, int64(3), true, at},
		` { "n" : "7" , "extra" : {"a":[1,{"b":"}"}]}, "ticker":"A\u0042", "at":1796292000000 }`: {"AB", nil, int64(7), nil, at},
		`{"n":2.0,"price":"3"}`: {nil, 3.0, int64(2), nil, nil},
		`{}`:                    {nil, nil, nil, nil, nil},
	} {
		got, err := s.rows([]byte(rec))
		if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], want) {
			t.Errorf("%s: %v %v, want %v", rec, got, err, want)
		}
		g, err := general(s, []byte(rec))
		if err != nil || !reflect.DeepEqual(g, got) {
			t.Errorf("%s: general path %v %v", rec, g, err)
		}
	}
	for _, rec := range []string{`{"ticker":"TOOLONG"}`, `{"n":"x"}`, `{"n":1.5}`, `[1]`, `{"ok":"maybe"}`, `not json`} {
		if got, err := s.rows([]byte(rec)); err == nil {
			t.Errorf("%s: %v, want an error", rec, got)
		}
	}
	// Nested mappings and array row paths take the general path.
	n, err := compileSchema(analytics.SourceSchema{RecordFormat: analytics.RecordFormat{RecordFormatType: "JSON",
		MappingParameters: &analytics.MappingParameters{JSONMappingParameters: &analytics.JSONMapping{RecordRowPath: "$.items[0:]"}}},
		RecordColumns: []analytics.RecordColumn{{Name: "X", SqlType: "INTEGER", Mapping: "$.v.x"}}})
	if err != nil || n.flatIdx != nil {
		t.Fatalf("nested schema: %v", err)
	}
	got, err := n.rows([]byte(`{"items":[{"v":{"x":1}},{"v":{"x":2}}]}`))
	if err != nil || fmt.Sprint(got) != "[[1] [2]]" {
		t.Errorf("array row path: %v %v", got, err)
	}
	// CSV.
	c, _ := compileSchema(analytics.SourceSchema{RecordFormat: analytics.RecordFormat{RecordFormatType: "CSV",
		MappingParameters: &analytics.MappingParameters{CSVMappingParameters: &analytics.CSVMapping{RecordRowDelimiter: "\n", RecordColumnDelimiter: ","}}},
		RecordColumns: []analytics.RecordColumn{{Name: "A", SqlType: "INTEGER"}, {Name: "B", SqlType: "VARCHAR(8)"}}})
	got, err = c.rows([]byte("1,x\n2,y\n"))
	if err != nil || fmt.Sprint(got) != "[[1 x] [2 y]]" {
		t.Errorf("csv: %v %v", got, err)
	}
}

// TestSerialiseJSON: output rows are JSON objects that encoding/json reads
// back to the same values.
func TestSerialiseJSON(t *testing.T) {
	cols := []engine.Column{{Name: "S", Type: "VARCHAR(8)"}, {Name: "F", Type: "DOUBLE"}, {Name: "I", Type: "BIGINT"}, {Name: "T", Type: "TIMESTAMP"}, {Name: "B", Type: "BOOLEAN"}, {Name: "NUL", Type: "INTEGER"}}
	row := engine.Row{Values: []any{"q\"\\\n\x01é", 1e-7, int64(-3), time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC), true, nil}}
	out := serialise("JSON", cols, []engine.Row{row})
	var m map[string]any
	if err := json.Unmarshal(out[0], &m); err != nil {
		t.Fatalf("%s: %v", out[0], err)
	}
	if m["S"] != "q\"\\\n\x01é" || m["F"] != 1e-7 || m["I"] != -3.0 || m["T"] != "2026-01-02 03:04:05.006" || m["B"] != true || m["NUL"] != nil || len(m) != 6 {
		t.Errorf("%s → %v", out[0], m)
	}
}

// FuzzMappingPathsAgree: whenever the fast path reads a record, the general
// path reads the same row.
func FuzzMappingPathsAgree(f *testing.F) {
	f.Add(`{"ticker":"AMZN","price":12.5,"n":3,"ok":true,"at":"2026-12-03 10:00:00"}`)
	f.Add(`{"n":"7","extra":{"a":[1,{"b":"}"}]},"ticker":"AB"}`)
	f.Add(`{"n":1e3,"price":-0,"ok":null}`)
	s := tickerSchema(f)
	f.Fuzz(func(t *testing.T, rec string) {
		vals := make([]any, len(s.cols))
		if !s.fastRow([]byte(rec), s.flatIdx, vals) {
			return
		}
		g, err := general(s, []byte(rec))
		if err != nil || len(g) != 1 || !reflect.DeepEqual(g[0], vals) {
			t.Fatalf("%q: fast %v, general %v %v", rec, vals, g, err)
		}
	})
}
