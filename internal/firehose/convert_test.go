package firehose

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
)

// fakeSchemas is a SchemaSource over fixed tables ("db.table").
type fakeSchemas struct {
	tables map[string][]Column
	calls  []string // account/region/db.table of each call
}

func (f *fakeSchemas) Columns(_ context.Context, account, region, db, table string) ([]Column, error) {
	f.calls = append(f.calls, account+"/"+region+"/"+db+"."+table)
	cols, ok := f.tables[db+"."+table]
	if !ok {
		return nil, errors.New("EntityNotFoundException: table not found")
	}
	return cols, nil
}

// conversionConf returns a normalized configuration with the given
// deserializer and ParquetSerDe.
func conversionConf(t testing.TB, deser map[string]any, serde map[string]any) map[string]any {
	t.Helper()
	if serde == nil {
		serde = map[string]any{}
	}
	conf, err := normalizeConversion(map[string]any{
		"SchemaConfiguration":       map[string]any{"DatabaseName": "lake", "TableName": "events", "RoleARN": "arn:aws:iam::111122223333:role/r"},
		"InputFormatConfiguration":  map[string]any{"Deserializer": deser},
		"OutputFormatConfiguration": map[string]any{"Serializer": map[string]any{"ParquetSerDe": serde}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return conf
}

var openX = map[string]any{"OpenXJsonSerDe": map[string]any{}}

// readParquet reads a Parquet body back with parquet-go's reader, as plain
// values: timestamps as RFC 3339 strings, lists as []any, maps and structs
// as map[string]any.
func readParquet(t testing.TB, body []byte) []map[string]any {
	t.Helper()
	if _, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body))); err != nil {
		t.Fatalf("not a Parquet file: %v", err)
	}
	r := parquet.NewReader(bytes.NewReader(body))
	var out []map[string]any
	for {
		m := map[string]any{}
		if err := r.Read(&m); err != nil {
			break
		}
		p, _ := plain(reflect.ValueOf(m)).(map[string]any)
		out = append(out, p)
	}
	return out
}

func plain(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	if v.Type() == reflect.TypeFor[deprecated.Int96]() {
		i96 := deprecated.Int96{uint32(v.Index(0).Uint()), uint32(v.Index(1).Uint()), uint32(v.Index(2).Uint())}
		return timeOfInt96(i96).Format(time.RFC3339Nano)
	}
	if st, ok := v.Interface().(fmt.Stringer); ok && v.CanInterface() && v.Kind() == reflect.Pointer && !v.IsNil() {
		return st.String() // decimals read back as *big.Float
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return plain(v.Elem())
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return string(v.Bytes())
		}
		l := []any{}
		for i := range v.Len() {
			l = append(l, plain(v.Index(i)))
		}
		return l
	case reflect.Map:
		m := map[string]any{}
		for _, k := range v.MapKeys() {
			m[fmt.Sprint(plain(k))] = plain(v.MapIndex(k))
		}
		return unwrap(m)
	case reflect.Struct:
		m := map[string]any{}
		for i := range v.NumField() {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("parquet"), ",")
			m[name] = plain(v.Field(i))
		}
		return unwrap(m)
	case reflect.Int32, reflect.Int64, reflect.Int:
		return v.Int()
	case reflect.Float32:
		return float64(float32(v.Float()))
	case reflect.Float64:
		return v.Float()
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return v.Bool()
	}
	return fmt.Sprint(v)
}

// unwrap turns a 3-level LIST group read as a struct into its elements.
func unwrap(m map[string]any) any {
	l, ok := m["list"].([]any)
	if len(m) != 1 || !ok {
		return m
	}
	out := []any{}
	for _, e := range l {
		em, _ := e.(map[string]any)
		out = append(out, em["element"])
	}
	return out
}

func mustConvert(t testing.TB, conf map[string]any, cols []Column, recs ...string) ([]map[string]any, []badRecord) {
	t.Helper()
	p, err := newPlan(conf, cols)
	if err != nil {
		t.Fatal(err)
	}
	data := make([][]byte, len(recs))
	for i, r := range recs {
		data[i] = []byte(r)
	}
	body, bad, err := p.convert(data)
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		return nil, bad
	}
	return readParquet(t, body), bad
}

func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// TestConvertTypes converts records of every supported Hive type and
// reads the Parquet back value by value.
func TestConvertTypes(t *testing.T) {
	cols := []Column{{"s", "string"}, {"vc", "varchar(3)"}, {"ti", "tinyint"}, {"si", "smallint"}, {"i", "int"}, {"bi", "bigint"},
		{"f", "float"}, {"d", "double"}, {"b", "boolean"}, {"ts", "timestamp"}, {"dt", "date"}, {"dec", "decimal(10,2)"},
		{"a", "array<int>"}, {"m", "map<string,bigint>"}, {"st", "struct<x:int,tags:array<string>>"}}
	rows, bad := mustConvert(t, conversionConf(t, openX, nil), cols,
		`{"s":"héllo","vc":"abcdef","ti":-128,"si":32767,"i":"42","bi":9007199254740993,"f":1.5,"d":-2.25e10,"b":"TRUE",
		  "ts":"2017-02-07T15:13:01.39256Z","dt":"2020-02-29","dec":"-12.345","a":[1,null,3],"m":{"k2":2,"k1":null},
		  "st":{"X":7,"tags":["p","q"]}}`,
		`{"s":12.50,"b":false,"ts":1518033528,"a":[],"m":{},"st":null,"unknown":{"deep":[1]}}`,
		`{}`,
	)
	if len(bad) != 0 {
		t.Fatalf("failures: %v", bad)
	}
	want := []map[string]any{
		{"s": "héllo", "vc": "abc", "ti": -128, "si": 32767, "i": 42, "bi": 9007199254740993, "f": 1.5, "d": -2.25e10, "b": true,
			"ts": "2017-02-07T15:13:01.39256Z", "dt": 18321, "dec": "-12.35", "a": []any{1, nil, 3}, "m": map[string]any{"k1": nil, "k2": 2},
			"st": map[string]any{"x": 7, "tags": []any{"p", "q"}}},
		{"s": "12.50", "vc": nil, "ti": nil, "si": nil, "i": nil, "bi": nil, "f": nil, "d": nil, "b": false,
			"ts": "2018-02-07T19:58:48Z", "dt": nil, "dec": nil, "a": []any{}, "m": map[string]any{}, "st": nil},
		{"s": nil, "vc": nil, "ti": nil, "si": nil, "i": nil, "bi": nil, "f": nil, "d": nil, "b": nil,
			"ts": nil, "dt": nil, "dec": nil, "a": nil, "m": nil, "st": nil},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for i := range want {
		sameJSON(t, fmt.Sprintf("row %d", i), rows[i], want[i])
	}
}

// TestConvertOpenXOptions: case-insensitive keys (default on),
// ColumnToJsonKeyMappings, dots to underscores, and the timestamp forms.
func TestConvertOpenXOptions(t *testing.T) {
	cols := []Column{{"ts", "timestamp"}, {"a_b", "string"}, {"name", "string"}}
	rows, bad := mustConvert(t, conversionConf(t, map[string]any{"OpenXJsonSerDe": map[string]any{
		"ColumnToJsonKeyMappings":            map[string]any{"ts": "timestamp"},
		"ConvertDotsInJsonKeysToUnderscores": true,
	}}, nil), cols,
		`{"timestamp":"2017-02-07 15:13:01.14","a.b":"dotted","NAME":"upper"}`,
		`{"timestamp":1518033528123}`,
		`{"timestamp":1518033528.123}`,
		`{"timestamp":"2017-2-7 5:03:01"}`,
	)
	if len(bad) != 0 {
		t.Fatalf("failures: %v", bad)
	}
	sameJSON(t, "rows", rows, []map[string]any{
		{"ts": "2017-02-07T15:13:01.14Z", "a_b": "dotted", "name": "upper"},
		{"ts": "2018-02-07T19:58:48.123Z", "a_b": nil, "name": nil},
		{"ts": "2018-02-07T19:58:48.123Z", "a_b": nil, "name": nil},
		{"ts": "2017-02-07T05:03:01Z", "a_b": nil, "name": nil},
	})

	// CaseInsensitive false: keys must match the (lower-case) column names.
	rows, _ = mustConvert(t, conversionConf(t, map[string]any{"OpenXJsonSerDe": map[string]any{"CaseInsensitive": false}}, nil),
		[]Column{{"name", "string"}}, `{"NAME":"upper"}`, `{"name":"lower"}`)
	sameJSON(t, "case-sensitive rows", rows, []map[string]any{{"name": nil}, {"name": "lower"}})
}

// TestConvertHiveTimestampFormats: Joda patterns in order, "millis", and
// java.sql.Timestamp.valueOf's form as the default.
func TestConvertHiveTimestampFormats(t *testing.T) {
	cols := []Column{{"ts", "timestamp"}}
	conf := conversionConf(t, map[string]any{"HiveJsonSerDe": map[string]any{
		"TimestampFormats": []any{"yyyy-MM-dd'T'HH:mm:ss.SSSZZ", "dd/MM/yyyy HH:mm", "millis"},
	}}, nil)
	rows, bad := mustConvert(t, conf, cols,
		`{"ts":"2021-03-04T05:06:07.089+02:00"}`,
		`{"ts":"31/12/1999 23:59"}`,
		`{"ts":1518033528123}`,
		`{"ts":"2001-02-03 04:05:06.7"}`,
		`{"ts":"yesterday"}`,
	)
	sameJSON(t, "rows", rows, []map[string]any{
		{"ts": "2021-03-04T03:06:07.089Z"}, {"ts": "1999-12-31T23:59:00Z"}, {"ts": "2018-02-07T19:58:48.123Z"}, {"ts": "2001-02-03T04:05:06.7Z"},
	})
	if len(bad) != 1 || bad[0].index != 4 || !strings.Contains(bad[0].msg, "yesterday") {
		t.Errorf("failures %v", bad)
	}
	if _, err := normalizeConversion(map[string]any{
		"SchemaConfiguration":       map[string]any{"DatabaseName": "lake", "TableName": "events"},
		"InputFormatConfiguration":  map[string]any{"Deserializer": map[string]any{"HiveJsonSerDe": map[string]any{"TimestampFormats": []any{"yyyy QQ"}}}},
		"OutputFormatConfiguration": map[string]any{"Serializer": map[string]any{"ParquetSerDe": map[string]any{}}},
	}); !IsKind(err, KindInvalidArgument) {
		t.Errorf("unsupported Joda letter: %v", err)
	}
}

// TestConvertMalformedRecords: records that are not JSON objects or do
// not fit the columns fail alone; the rest convert.
func TestConvertMalformedRecords(t *testing.T) {
	cols := []Column{{"id", "int"}, {"tags", "array<string>"}}
	rows, bad := mustConvert(t, conversionConf(t, openX, nil), cols,
		`{"id":1}`,
		`{"id":`,
		`[{"id":2}]`,
		`{"id":2147483648}`,
		`{"id":3,"tags":"notalist"}`,
		`   `,
		`{"id":4}{"id":5}`,
		`{"id":6} trailing`,
	)
	sameJSON(t, "rows", rows, []map[string]any{{"id": 1, "tags": nil}, {"id": 4, "tags": nil}, {"id": 5, "tags": nil}})
	var idx []int
	for _, b := range bad {
		idx = append(idx, b.index)
	}
	if fmt.Sprint(idx) != "[1 2 3 4 5 7]" {
		t.Errorf("failed records %v (%v)", idx, bad)
	}
	// Nothing converts: no object.
	if rows, bad := mustConvert(t, conversionConf(t, openX, nil), cols, `nope`); rows != nil || len(bad) != 1 {
		t.Errorf("rows %v failures %v", rows, bad)
	}
}

// TestConvertNormalize: AWS's defaults and the refusals.
func TestConvertNormalize(t *testing.T) {
	conf := conversionConf(t, openX, nil)
	ps := mapOf(mapOf(mapOf(conf, "OutputFormatConfiguration"), "Serializer"), "ParquetSerDe")
	if intOf(ps, "BlockSizeBytes") != 256<<20 || intOf(ps, "PageSizeBytes") != 1<<20 || str(ps, "Compression") != "SNAPPY" || str(ps, "WriterVersion") != "V1" {
		t.Errorf("ParquetSerDe defaults %v", ps)
	}
	ox := mapOf(mapOf(mapOf(conf, "InputFormatConfiguration"), "Deserializer"), "OpenXJsonSerDe")
	if ox["CaseInsensitive"] != true || ox["ConvertDotsInJsonKeysToUnderscores"] != false {
		t.Errorf("OpenXJsonSerDe defaults %v", ox)
	}
	if v := str(mapOf(conf, "SchemaConfiguration"), "VersionId"); v != "LATEST" {
		t.Errorf("VersionId %q", v)
	}
	base := func() map[string]any {
		return map[string]any{
			"SchemaConfiguration":       map[string]any{"DatabaseName": "lake", "TableName": "events"},
			"InputFormatConfiguration":  map[string]any{"Deserializer": map[string]any{"OpenXJsonSerDe": map[string]any{}}},
			"OutputFormatConfiguration": map[string]any{"Serializer": map[string]any{"ParquetSerDe": map[string]any{}}},
		}
	}
	for name, mut := range map[string]func(map[string]any){
		"no table": func(c map[string]any) { c["SchemaConfiguration"] = map[string]any{"DatabaseName": "lake"} },
		"two serdes": func(c map[string]any) {
			mapOf(c, "InputFormatConfiguration")["Deserializer"].(map[string]any)["HiveJsonSerDe"] = map[string]any{}
		},
		"no deserializer": func(c map[string]any) { c["InputFormatConfiguration"] = map[string]any{} },
		"orc": func(c map[string]any) {
			c["OutputFormatConfiguration"] = map[string]any{"Serializer": map[string]any{"OrcSerDe": map[string]any{}}}
		},
		"small block": func(c map[string]any) {
			c["OutputFormatConfiguration"] = map[string]any{"Serializer": map[string]any{"ParquetSerDe": map[string]any{"BlockSizeBytes": float64(1 << 20)}}}
		},
		"small page": func(c map[string]any) {
			c["OutputFormatConfiguration"] = map[string]any{"Serializer": map[string]any{"ParquetSerDe": map[string]any{"PageSizeBytes": int64(1024)}}}
		},
		"lzo": func(c map[string]any) {
			c["OutputFormatConfiguration"] = map[string]any{"Serializer": map[string]any{"ParquetSerDe": map[string]any{"Compression": "LZO"}}}
		},
	} {
		c := base()
		mut(c)
		_, err := normalizeConversion(c)
		if !IsKind(err, KindInvalidArgument) {
			t.Errorf("%s: %v", name, err)
		}
		if name == "orc" && (err == nil || !strings.Contains(err.Error(), "ORC")) {
			t.Errorf("orc: %v", err)
		}
	}
}

// TestConvertSerDeOptions: every ParquetSerDe compression and writer
// version, with and without dictionaries, reads back the same rows.
func TestConvertSerDeOptions(t *testing.T) {
	cols := []Column{{"k", "string"}, {"n", "bigint"}}
	var recs []string
	for i := range 100 {
		recs = append(recs, fmt.Sprintf(`{"k":"key%d","n":%d}`, i%3, i))
	}
	for _, comp := range []string{"SNAPPY", "GZIP", "UNCOMPRESSED"} {
		for _, v := range []string{"V1", "V2"} {
			for _, dict := range []bool{false, true} {
				rows, bad := mustConvert(t, conversionConf(t, openX, map[string]any{"Compression": comp, "WriterVersion": v, "EnableDictionaryCompression": dict}), cols, recs...)
				if len(bad) != 0 || len(rows) != 100 || rows[99]["n"] != int64(99) || rows[98]["k"] != "key2" {
					t.Errorf("%s %s dict=%v: %d rows, failures %v", comp, v, dict, len(rows), bad)
				}
			}
		}
	}
}

// TestConvertInvalidSchema: a table with a type the converter does not
// write fails every record with InvalidSchema.
func TestConvertInvalidSchema(t *testing.T) {
	for _, typ := range []string{"binary", "uniontype<int,string>", "map<array<int>,int>", "decimal(40,2)", "struct<a:int", "varchar(0)"} {
		if _, err := newPlan(conversionConf(t, openX, nil), []Column{{"c", typ}}); !errors.Is(err, errSchema) {
			t.Errorf("%s: %v", typ, err)
		}
	}
	for _, typ := range []string{"STRING", "array< struct< `Key` : string , v : map<int, decimal(38,0)> > >", "decimal", "double precision", "char(10)"} {
		if _, err := newPlan(conversionConf(t, openX, nil), []Column{{"c", typ}}); err != nil {
			t.Errorf("%s: %v", typ, err)
		}
	}
}

func TestConvertDecimal(t *testing.T) {
	for _, c := range []struct {
		in        string
		p, s      int
		want      string
		wantFails bool
	}{
		{"1.005", 5, 2, "1.01", false},
		{"-1.005", 5, 2, "-1.01", false},
		{"999.994", 5, 2, "999.99", false},
		{"999.995", 5, 2, "", true},
		{"1e2", 5, 0, "100", false},
		{"-0.5", 1, 0, "-1", false},
		{"12345678901234567890123456789012345678", 38, 0, "12345678901234567890123456789012345678", false},
		{"abc", 5, 2, "", true},
	} {
		b, err := decimalValue(c.in, c.p, c.s)
		if (err != nil) != c.wantFails {
			t.Errorf("%s decimal(%d,%d): %v", c.in, c.p, c.s, err)
			continue
		}
		if err == nil {
			if got := decimalString(b, c.s); got != c.want {
				t.Errorf("%s decimal(%d,%d) = %s, want %s", c.in, c.p, c.s, got, c.want)
			}
		}
	}
}

// TestConvertEndToEnd: a delivery stream with conversion enabled writes
// one .parquet object per batch and the failed records under
// format-conversion-failed.
func TestConvertEndToEnd(t *testing.T) {
	schemas := &fakeSchemas{tables: map[string][]Column{"lake.events": {{"id", "bigint"}, {"name", "string"}, {"at", "timestamp"}}}}
	svc, objs := newTestService(t, func(c *Config) { c.Schemas = schemas })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	_, err := svc.Create(ctx, Scope{}, CreateInput{Name: "events", Destinations: map[string]map[string]any{
		"ExtendedS3": {"RoleARN": "arn:aws:iam::111122223333:role/r", "BucketARN": "arn:aws:s3:::lake", "Prefix": "conv/",
			"BufferingHints": map[string]any{"SizeInMBs": int64(64), "IntervalInSeconds": int64(0)},
			"DataFormatConversionConfiguration": map[string]any{
				"SchemaConfiguration":       map[string]any{"DatabaseName": "lake", "TableName": "events", "RoleARN": "arn:aws:iam::111122223333:role/r"},
				"InputFormatConfiguration":  map[string]any{"Deserializer": map[string]any{"OpenXJsonSerDe": map[string]any{}}},
				"OutputFormatConfiguration": map[string]any{"Serializer": map[string]any{"ParquetSerDe": map[string]any{}}},
			}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	recs := [][]byte{[]byte(`{"id":1,"Name":"a","at":"2024-05-06T07:08:09Z"}`), []byte(`{"id":"x"}`), []byte(`{"id":2,"name":"b"}`)}
	if _, _, err := svc.Put(ctx, Scope{}, "events", recs); err != nil {
		t.Fatal(err)
	}
	var got map[string][]byte
	for range 500 {
		got = objs.snapshot()
		if len(got) == 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	var parquetKey, failedKey string
	for k := range got {
		switch {
		case strings.HasSuffix(k, ".parquet"):
			parquetKey = k
		case strings.Contains(k, "format-conversion-failed/"):
			failedKey = k
		}
	}
	if parquetKey == "" || failedKey == "" || len(got) != 2 {
		t.Fatalf("objects %v", keysOf(got))
	}
	if !strings.HasPrefix(parquetKey, "lake/conv/") || !strings.Contains(parquetKey, "/events-1-") {
		t.Errorf("object key %q", parquetKey)
	}
	sameJSON(t, "rows", readParquet(t, got[parquetKey]), []map[string]any{
		{"id": 1, "name": "a", "at": "2024-05-06T07:08:09Z"}, {"id": 2, "name": "b", "at": nil},
	})
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(got[failedKey]), &line); err != nil {
		t.Fatalf("failed object %q: %v", got[failedKey], err)
	}
	raw, _ := base64.StdEncoding.DecodeString(fmt.Sprint(line["rawData"]))
	if string(raw) != `{"id":"x"}` || !strings.Contains(string(got[failedKey]), codeMalformedData) {
		t.Errorf("failed record %s", got[failedKey])
	}
	if len(schemas.calls) == 0 || schemas.calls[0] != "111122223333/us-east-1/lake.events" {
		t.Errorf("schema reads %v", schemas.calls)
	}
	cancel()
	<-done
}

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// FuzzConvert: any record either converts (and reads back) or fails
// alone; the converter never panics.
func FuzzConvert(f *testing.F) {
	for _, s := range []string{`{"id":1,"s":"x","a":[1,2],"m":{"k":{"x":1.5}},"ts":"2017-02-07T15:13:01Z","d":"1.25"}`, `{"id":`, `[]`, `{}{}`,
		`{"a":[null,[]],"m":{"":null}}`, `{"ts":1e300,"d":"1e-400"}`, `{"s":{"nested":true}}`} {
		f.Add([]byte(s))
	}
	cols := []Column{{"id", "bigint"}, {"s", "string"}, {"a", "array<int>"}, {"m", "map<string,struct<x:double>>"}, {"ts", "timestamp"}, {"d", "decimal(9,3)"}}
	plan, err := newPlan(conversionConf(f, openX, nil), cols)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, rec []byte) {
		body, bad, err := plan.convert([][]byte{rec, []byte(`{"id":7}`)})
		if err != nil {
			t.Fatal(err)
		}
		rows := readParquet(t, body)
		if len(bad) > 1 || (len(bad) == 1 && bad[0].index != 0) {
			t.Fatalf("failures %v", bad)
		}
		if len(rows) == 0 || rows[len(rows)-1]["id"] != int64(7) {
			t.Fatalf("rows %v", rows)
		}
	})
}

// BenchmarkConvertParquet: 1,000 records of about 1 KiB, 10 columns; the
// throughput is of JSON input.
func BenchmarkConvertParquet(b *testing.B) {
	cols := []Column{{"id", "bigint"}, {"user", "string"}, {"event", "string"}, {"at", "timestamp"}, {"amount", "double"},
		{"count", "int"}, {"ok", "boolean"}, {"country", "string"}, {"payload", "string"}, {"tags", "array<string>"}}
	plan, err := newPlan(conversionConf(b, openX, nil), cols)
	if err != nil {
		b.Fatal(err)
	}
	data := make([][]byte, 1000)
	size := 0
	for i := range data {
		data[i] = fmt.Appendf(nil, `{"id":%d,"user":"user-%06d","event":"page_view","at":"2024-05-06T07:08:%02d.%03dZ","amount":%d.25,"count":%d,"ok":%v,"country":"%s","payload":"%s","tags":["a%d","b","c"]}`,
			i, i%5000, i%60, i%1000, i, i%100, i%2 == 0, []string{"DE", "FR", "US", "JP"}[i%4], strings.Repeat("x", 700+i%50), i%7)
		size += len(data[i])
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		body, bad, err := plan.convert(data)
		if err != nil || len(bad) != 0 || len(body) == 0 {
			b.Fatal(err, bad)
		}
	}
}
