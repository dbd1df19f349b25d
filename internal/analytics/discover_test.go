package analytics

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

func recs(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i, x := range s {
		out[i] = []byte(x)
	}
	return out
}

// The Getting Started demo stream's records infer AWS's documented schema:
// (TICKER_SYMBOL VARCHAR(4), SECTOR VARCHAR(16), CHANGE REAL, PRICE REAL).
func TestInferJSONGettingStarted(t *testing.T) {
	d, err := InferSchema(recs(
		`{"TICKER_SYMBOL":"AMZN","SECTOR":"TECHNOLOGY","CHANGE":-0.05,"PRICE":84.51}`,
		`{"TICKER_SYMBOL":"WMT","SECTOR":"RETAIL","CHANGE":1,"PRICE":12}`,
	))
	if err != nil {
		t.Fatal(err)
	}
	want := []RecordColumn{
		{Name: "TICKER_SYMBOL", Mapping: "$.TICKER_SYMBOL", SqlType: "VARCHAR(4)"},
		{Name: "SECTOR", Mapping: "$.SECTOR", SqlType: "VARCHAR(16)"},
		{Name: "CHANGE", Mapping: "$.CHANGE", SqlType: "REAL"},
		{Name: "PRICE", Mapping: "$.PRICE", SqlType: "REAL"},
	}
	if !reflect.DeepEqual(d.InputSchema.RecordColumns, want) {
		t.Fatalf("columns %+v", d.InputSchema.RecordColumns)
	}
	f := d.InputSchema.RecordFormat
	if f.RecordFormatType != "JSON" || f.MappingParameters.JSONMappingParameters.RecordRowPath != "$" || d.InputSchema.RecordEncoding != "UTF-8" {
		t.Fatalf("format %+v", d.InputSchema)
	}
	if !reflect.DeepEqual(d.ParsedInputRecords[0], []string{"AMZN", "TECHNOLOGY", "-0.05", "84.51"}) || len(d.RawInputRecords) != 2 || len(d.ProcessedInputRecords) != 2 {
		t.Fatalf("records %+v", d)
	}
}

func TestInferJSONTypes(t *testing.T) {
	d, err := InferSchema(recs(
		`{"n":1,"big":3000000000,"ok":true,"event_time":"2018-08-01T20:17:20.797945","timestamp":"x","nested":{"v":2},"list":[1,2],"nil":null}`,
		`{"n":2,"big":1,"ok":false,"event_time":"2018-08-01 20:17:21","timestamp":"yyyyy","nested":{"v":3}}`,
		`not json`,
	))
	if err != nil {
		t.Fatal(err)
	}
	want := []RecordColumn{
		{Name: "n", Mapping: "$.n", SqlType: "INTEGER"},
		{Name: "big", Mapping: "$.big", SqlType: "BIGINT"},
		{Name: "ok", Mapping: "$.ok", SqlType: "BOOLEAN"},
		{Name: "event_time", Mapping: "$.event_time", SqlType: "TIMESTAMP"},
		{Name: "COL_timestamp", Mapping: "$.timestamp", SqlType: "VARCHAR(8)"},
		{Name: "v", Mapping: "$.nested.v", SqlType: "INTEGER"},
		{Name: "list", Mapping: "$.list", SqlType: "VARCHAR(8)"},
		{Name: "nil", Mapping: "$.nil", SqlType: "VARCHAR(4)"},
	}
	if !reflect.DeepEqual(d.InputSchema.RecordColumns, want) {
		t.Fatalf("columns\n%+v\nwant\n%+v", d.InputSchema.RecordColumns, want)
	}
	if len(d.ParsedInputRecords) != 2 || len(d.RawInputRecords) != 3 {
		t.Fatalf("parsed %d raw %d", len(d.ParsedInputRecords), len(d.RawInputRecords))
	}
}

func TestInferCSV(t *testing.T) {
	d, err := InferSchema(recs("AMZN,84.51,10\nWMT,12.5,3", "MSFT,30,7"))
	if err != nil {
		t.Fatal(err)
	}
	want := []RecordColumn{{Name: "COLUMN1", SqlType: "VARCHAR(4)"}, {Name: "COLUMN2", SqlType: "REAL"}, {Name: "COLUMN3", SqlType: "INTEGER"}}
	if !reflect.DeepEqual(d.InputSchema.RecordColumns, want) {
		t.Fatalf("columns %+v", d.InputSchema.RecordColumns)
	}
	m := d.InputSchema.RecordFormat.MappingParameters.CSVMappingParameters
	if d.InputSchema.RecordFormat.RecordFormatType != "CSV" || m.RecordRowDelimiter != "\n" || m.RecordColumnDelimiter != "," {
		t.Fatalf("format %+v", d.InputSchema.RecordFormat)
	}
	if len(d.ParsedInputRecords) != 3 || d.ParsedInputRecords[1][0] != "WMT" {
		t.Fatalf("rows %v", d.ParsedInputRecords)
	}
}

func TestInferNothing(t *testing.T) {
	for _, in := range [][][]byte{nil, recs("plain", "text"), {{0xff, 0xfe}}} {
		_, err := InferSchema(in)
		wantKind(t, err, KindUnableToDetectSchema)
	}
}

type sampler struct {
	recs [][]byte
	err  error
	pos  string
}

func (s *sampler) Sample(_ context.Context, _ string, pos string, max int) ([][]byte, error) {
	s.pos = pos
	if len(s.recs) > max {
		return s.recs[:max], s.err
	}
	return s.recs, s.err
}

type objects map[string][]byte

func (o objects) GetObject(_ context.Context, _, bucket, key string, _ int64) ([]byte, error) {
	b, ok := o[bucket+"/"+key]
	if !ok {
		return nil, ErrSourceNotFound
	}
	return b, nil
}

func TestDiscoverSources(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	streamARN := "arn:aws:kinesis:us-east-1:123456789012:stream/in"
	_, err := s.Discover(ctx, sc, DiscoverInput{ResourceARN: streamARN})
	wantKind(t, err, KindUnavailable)
	sm := &sampler{recs: recs(`{"a":1}`)}
	s.cfg.Streams = sm
	s.cfg.Objects = objects{"b/k.csv": []byte("1,x\n2,y\n")}
	d, err := s.Discover(ctx, sc, DiscoverInput{ResourceARN: streamARN, Position: "TRIM_HORIZON"})
	if err != nil || d.InputSchema.RecordColumns[0].SqlType != "INTEGER" || sm.pos != "TRIM_HORIZON" {
		t.Fatalf("%+v %v", d, err)
	}
	d, err = s.Discover(ctx, sc, DiscoverInput{BucketARN: "arn:aws:s3:::b", FileKey: "k.csv"})
	if err != nil || d.InputSchema.RecordFormat.RecordFormatType != "CSV" || len(d.RawInputRecords) != 2 {
		t.Fatalf("%+v %v", d, err)
	}
	_, err = s.Discover(ctx, sc, DiscoverInput{BucketARN: "arn:aws:s3:::b", FileKey: "missing"})
	wantKind(t, err, KindInvalidArgument)
	sm.err = errors.Join(ErrSourceNotFound)
	_, err = s.Discover(ctx, sc, DiscoverInput{ResourceARN: streamARN})
	wantKind(t, err, KindInvalidArgument)
	_, err = s.Discover(ctx, sc, DiscoverInput{})
	wantKind(t, err, KindInvalidArgument)
	_, err = s.Discover(ctx, sc, DiscoverInput{ResourceARN: "arn:aws:firehose:us-east-1:123456789012:deliverystream/x"})
	wantKind(t, err, KindInvalidArgument)
	sm.err, sm.recs = nil, nil
	_, err = s.Discover(ctx, sc, DiscoverInput{ResourceARN: streamARN})
	wantKind(t, err, KindUnableToDetectSchema)
}
