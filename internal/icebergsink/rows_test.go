package icebergsink

import (
	"errors"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// allTypes is a schema with every type the sink writes.
var allTypes = iceberg.NewSchema(0,
	iceberg.NestedField{ID: 1, Name: "b", Type: iceberg.PrimitiveTypes.Bool},
	iceberg.NestedField{ID: 2, Name: "i", Type: iceberg.PrimitiveTypes.Int32},
	iceberg.NestedField{ID: 3, Name: "l", Type: iceberg.PrimitiveTypes.Int64, Required: true},
	iceberg.NestedField{ID: 4, Name: "f", Type: iceberg.PrimitiveTypes.Float32},
	iceberg.NestedField{ID: 5, Name: "d", Type: iceberg.PrimitiveTypes.Float64},
	iceberg.NestedField{ID: 6, Name: "dec", Type: iceberg.DecimalTypeOf(9, 2)},
	iceberg.NestedField{ID: 7, Name: "s", Type: iceberg.PrimitiveTypes.String},
	iceberg.NestedField{ID: 8, Name: "u", Type: iceberg.PrimitiveTypes.UUID},
	iceberg.NestedField{ID: 9, Name: "day", Type: iceberg.PrimitiveTypes.Date},
	iceberg.NestedField{ID: 10, Name: "tm", Type: iceberg.PrimitiveTypes.Time},
	iceberg.NestedField{ID: 11, Name: "ts", Type: iceberg.PrimitiveTypes.Timestamp},
	iceberg.NestedField{ID: 12, Name: "tz", Type: iceberg.PrimitiveTypes.TimestampTz},
	iceberg.NestedField{ID: 13, Name: "bin", Type: iceberg.PrimitiveTypes.Binary},
	iceberg.NestedField{ID: 14, Name: "fx", Type: iceberg.FixedTypeOf(2)},
	iceberg.NestedField{ID: 15, Name: "st", Type: &iceberg.StructType{FieldList: []iceberg.NestedField{
		{ID: 16, Name: "x", Type: iceberg.PrimitiveTypes.Float64}, {ID: 17, Name: "tag", Type: iceberg.PrimitiveTypes.String}}}},
	iceberg.NestedField{ID: 18, Name: "li", Type: &iceberg.ListType{ElementID: 19, Element: iceberg.PrimitiveTypes.Int64}},
	iceberg.NestedField{ID: 20, Name: "mp", Type: &iceberg.MapType{KeyID: 21, KeyType: iceberg.PrimitiveTypes.String, ValueID: 22, ValueType: iceberg.PrimitiveTypes.Int32}},
)

// write normalizes a record and appends it to Arrow builders of the schema.
func write(t testing.TB, rec string) error {
	obj, err := decodeRecord([]byte(rec))
	if err != nil {
		return err
	}
	vals, err := rowValues(allTypes.Fields(), obj)
	if err != nil {
		return err
	}
	asch, err := table.SchemaToArrowSchema(allTypes, nil, true, false)
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, asch)
	defer b.Release()
	for i, v := range vals {
		appendValue(b.Field(i), v)
	}
	r := b.NewRecordBatch()
	defer r.Release()
	if r.NumRows() != 1 {
		t.Fatalf("%d rows", r.NumRows())
	}
	return nil
}

func TestRecordValues(t *testing.T) {
	full := `{"b":true,"i":-5,"l":9007199254740993,"f":1.5,"d":2.25,"dec":"1234567.89","s":"x","u":"6f1b2a3c-0000-4000-8000-000000000000",
		"day":"2026-12-03","tm":"10:11:12.5","ts":"2026-12-03T10:11:12","tz":1764756672000000,"bin":"aGk=","fx":"6869",
		"st":{"x":1,"tag":"t","other":1},"li":[1,2,null],"mp":{"a":1},"ignored":{"deep":[1]}}`
	if err := write(t, full); err != nil {
		t.Fatalf("full record: %v", err)
	}
	for rec, code := range map[string]string{
		`[1]`:                              CodeInvalidRecord,
		`{"l":1}{"l":2}`:                   CodeInvalidRecord,
		`{"s":"no l"}`:                     CodeMissingColumn,
		`{"L":1}`:                          CodeMissingColumn, // names match exactly
		`{"l":1.5}`:                        CodeTypeMismatch,
		`{"l":1,"i":2147483648}`:           CodeTypeMismatch,
		`{"l":1,"s":5}`:                    CodeTypeMismatch,
		`{"l":1,"dec":"12345678.9"}`:       CodeTypeMismatch, // 10 digits > precision 9
		`{"l":1,"u":"nope"}`:               CodeTypeMismatch,
		`{"l":1,"day":"03/12/2026"}`:       CodeTypeMismatch,
		`{"l":1,"fx":"aGVsbG8="}`:          CodeTypeMismatch, // 5 bytes in fixed(2)
		`{"l":1,"st":[1]}`:                 CodeTypeMismatch,
		`{"l":1,"li":[1,"x"]}`:             CodeTypeMismatch,
		`{"l":1,"mp":{"a":"b"}}`:           CodeTypeMismatch,
		`{"l":1,"tm":86400000000}`:         CodeTypeMismatch,
		`{"l":1,"ts":"yesterday at noon"}`: CodeTypeMismatch,
	} {
		err := write(t, rec)
		var re *rowError
		if !errors.As(err, &re) || re.code != code {
			t.Errorf("%s: err = %v, want %s", rec, err, code)
		}
	}
}

func TestParseOpAndMetadataVersion(t *testing.T) {
	for s, want := range map[string]Op{"": Insert, "INSERT": Insert, "update": Update, "Delete": Delete} {
		if got, ok := ParseOp(s); !ok || got != want {
			t.Errorf("ParseOp(%q) = %v %v", s, got, ok)
		}
	}
	if _, ok := ParseOp("upsert"); ok {
		t.Error("upsert accepted")
	}
	for loc, want := range map[string]int{
		"s3://b/t/metadata/00012-6f1b2a3c-0000-4000-8000-000000000000.metadata.json": 12,
		"s3://b/t/metadata/v3.metadata.json":                                         3, "s3://b/t/metadata/x.json": -1,
	} {
		if got := metadataVersion(loc); got != want {
			t.Errorf("metadataVersion(%s) = %d, want %d", loc, got, want)
		}
	}
}

// FuzzRecordValues: any record either fails with a row error or is
// appended to Arrow builders of every type without a panic.
func FuzzRecordValues(f *testing.F) {
	f.Add(`{"l":1,"st":{"x":1},"li":[1],"mp":{"k":1},"dec":1.25,"tz":"2026-12-03T10:11:12Z"}`)
	f.Add(`{"l":-1,"bin":"00ff","fx":"abcd","day":19000,"tm":1}`)
	f.Add(`not json`)
	f.Fuzz(func(t *testing.T, rec string) {
		err := write(t, rec)
		var re *rowError
		if err != nil && !errors.As(err, &re) {
			t.Fatalf("%q: %v is not a row error", rec, err)
		}
	})
}
