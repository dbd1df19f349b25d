package engine

import (
	"reflect"
	"testing"
	"time"
)

// TestStreams: Streams lists the inputs, the streams the code creates (not
// the hidden ones of FROM subqueries), and error_stream last, with columns
// as written.
func TestStreams(t *testing.T) {
	p, err := Compile(`CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (ticker VARCHAR(4), avg_price DECIMAL(8,2));
CREATE PUMP p AS INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM t, a FROM (SELECT STREAM ticker AS t, price AS a FROM SOURCE_SQL_STREAM_001) AS s;`, errInputs, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range p.Streams() {
		names = append(names, s.Name)
	}
	if want := []string{"SOURCE_SQL_STREAM_001", "DESTINATION_SQL_STREAM", "error_stream"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("streams %v, want %v", names, want)
	}
	got := p.Streams()[1].Columns
	if want := []Column{{"TICKER", "VARCHAR(4)"}, {"AVG_PRICE", "DECIMAL(8, 2)"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("columns %v, want %v", got, want)
	}
	if n := len(p.Streams()[2].Columns); n != 7 {
		t.Fatalf("error_stream has %d columns, want 7", n)
	}
}

// TestInsertErrors: a row for a stream that is not an input, a row of the
// wrong width, and a value that does not convert each give an error_stream
// row; values are converted to the column types (an integral JSON-style
// float into INTEGER, a string into TIMESTAMP).
func TestInsertErrors(t *testing.T) {
	p, err := Compile(`CREATE STREAM o (t VARCHAR(4), q INTEGER, e TIMESTAMP);
CREATE PUMP p AS INSERT INTO o SELECT STREAM ticker, qty, event_time FROM SOURCE_SQL_STREAM_001;`, errInputs, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	in := p.Start(base, func(s string, r Row) { got = append(got, fmtRow(s, r)) })
	in.Insert("O", Row{Rowtime: base, Values: []any{"A", 1.0, 1, nil}})
	in.Insert("SOURCE_SQL_STREAM_001", Row{Rowtime: base, Values: []any{"A"}})
	in.Insert("SOURCE_SQL_STREAM_001", Row{Rowtime: base, Values: []any{"A", 1.0, "x", nil}})
	in.Insert("SOURCE_SQL_STREAM_001", Row{Rowtime: base.Add(time.Second), Values: []any{"ABCDEF", 2.5, 7.0, "2026-01-01 09:00:00"}})
	in.SetTable("NOSUCH", nil)
	want := []string{
		"error_stream 00:00:00 EvaluationError",
		"error_stream 00:00:00 ConversionError",
		"error_stream 00:00:00 ConversionError",
		"O 00:00:01 'ABCD', 7, T09:00:00",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}
