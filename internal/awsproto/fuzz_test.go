package awsproto

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/rheos/rheos/internal/awserr"
)

// fuzzSchema is a representative input schema: every shape type, nested
// structures in a list, maps with key and value rules, patterns, enums and
// numeric bounds, modelled on Kinesis's PutRecords, CreateStream, ListShards
// and tagging operations.
func fuzzSchema() []Field {
	name := &Shape{Type: String, Pattern: "[a-zA-Z0-9_.-]+", MinLen: Len(1), MaxLen: Len(128)}
	return []Field{
		F("Records", &Shape{Type: List, Required: true, MinLen: Len(1), MaxLen: Len(500),
			MemberStr: "com.amazonaws.kinesis.v20131202.PutRecordsRequestEntry@c965e310",
			Member: &Shape{Type: Structure, Fields: []Field{
				F("PartitionKey", &Shape{Type: String, Required: true, MinLen: Len(1), MaxLen: Len(256)}),
				F("ExplicitHashKey", &Shape{Type: String, Pattern: "0|([1-9]\\d{0,38})"}),
				F("Data", &Shape{Type: Blob, Required: true, MaxLen: Len(1 << 20)}),
			}}}),
		F("StreamName", name),
		F("StreamARN", &Shape{Type: String, Pattern: "arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+", MinLen: Len(1), MaxLen: Len(2048)}),
		F("ShardCount", &Shape{Type: Integer, Min: I64(1), Max: I64(100000)}),
		F("Epoch", &Shape{Type: Long, Min: I64(-5), Max: I64(math.MaxInt64)}),
		F("EnforceConsumerDeletion", &Shape{Type: Boolean}),
		F("StreamCreationTimestamp", &Shape{Type: Timestamp}),
		F("StreamModeDetails", &Shape{Type: Structure, Fields: []Field{
			F("StreamMode", &Shape{Type: String, Required: true, Enum: []string{"PROVISIONED", "ON_DEMAND"}}),
		}}),
		F("Tags", &Shape{Type: Map, Member: &Shape{Type: String}, MinLen: Len(1), MaxLen: Len(50), KeyLen: &[2]int{1, 128}, ValueLen: &[2]int{0, 256}}),
		F("TagKeys", &Shape{Type: List, Member: &Shape{Type: String}, MinLen: Len(1), MaxLen: Len(50), KeyLen: &[2]int{1, 128}}),
	}
}

const fuzzDepth = 8

// decodeSeeds are table cases: the seed corpus of FuzzDecodeJSON.
var decodeSeeds = []string{
	`{"Records":[{"PartitionKey":"pk","Data":"aGVsbG8="}],"StreamName":"s"}`,
	`{"Records":[{"PartitionKey":"pk","Data":"","ExplicitHashKey":"340282366920938463463374607431768211455"},null],"StreamARN":"arn:aws:kinesis:us-east-1:123456789012:stream/s"}`,
	`{"Records":[],"ShardCount":0,"Epoch":-9.5,"StreamModeDetails":{"StreamMode":"BOGUS"},"Tags":{"":"v"},"TagKeys":[""]}`,
	`{"Records":[{"PartitionKey":"","Data":"aGVsbG8"}]}`,
	`{"Records":[{"Data":"a=bc"}]}`,
	`{"Records":{"a":1}}`,
	`{"Records":"x","ShardCount":"1"}`,
	`{"ShardCount":1e400,"Records":[{"PartitionKey":"p","Data":"AA=="}]}`,
	`{"ShardCount":99999999999,"Epoch":-1e30,"Records":[{"PartitionKey":"p","Data":"AA=="}]}`,
	`{"EnforceConsumerDeletion":"true","Records":[{"PartitionKey":"p","Data":"AA=="}]}`,
	`{"StreamCreationTimestamp":1.5e9,"Records":[{"PartitionKey":"p","Data":"AA=="}],"Tags":{"k":null,"k2":"v"}}`,
	`{"StreamModeDetails":[],"Records":[{"PartitionKey":"p","Data":"AA=="}]}`,
	`{"StreamName":"caf\u00e9","Records":[{"PartitionKey":"\ud83d\ude00","Data":"AA=="}]}`,
	`{"a":"[[[[[[[[[[[[[[[[[[[[","b":"\"{{{{{{{{{{{{{{"}`,
	`{"a":[[[[[[[1]]]]]]]}`,
	`{"a":[[[[[[[[1]]]]]]]]}`,
	`  {"Records":[{"PartitionKey":"p","Data":"AA=="}]}  ` + "\n",
	`{}`, `[]`, `null`, `"x"`, `1`, ``, `{`, `{"a":1,}`, `{"a" 1}`,
	`{} {}`, `{}x`,
	`{}}`, // trailing closing bracket after the object
	`{"a":1}]`,
	"{\"a\":\"\xff\"}",
	`{"a":1,"a":2}`,
}

// jsonDepth is the nesting depth of a decoded value (1 for {}).
func jsonDepth(v any) int {
	d := 0
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			d = max(d, jsonDepth(e))
		}
		return d + 1
	case []any:
		for _, e := range x {
			d = max(d, jsonDepth(e))
		}
		return d + 1
	}
	return 0
}

// refDecode is the reference: encoding/json's verdict on body.
func refDecode(body []byte) (map[string]any, bool) {
	if !json.Valid(body) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	m, ok := v.(map[string]any)
	return m, ok
}

// FuzzDecodeJSON runs the request pipeline (DecodeJSON, CheckTypes,
// Validate) on arbitrary bodies. It never panics; every rejection is the
// right exception; DecodeJSON agrees with encoding/json (it accepts exactly
// the valid UTF-8 JSON objects no deeper than the limit and within
// MaxValues, with the same content); CheckTypes returns only schema members,
// typed per their shapes; and whatever Validate accepts satisfies every
// constraint of the schema.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	schema := fuzzSchema()
	f.Fuzz(func(t *testing.T, body []byte) {
		ref, refOK := refDecode(body)
		refOK = refOK && utf8.Valid(body) && jsonDepth(ref) <= fuzzDepth
		m, aerr := DecodeJSON(body, fuzzDepth)
		if aerr != nil {
			if aerr.Name != awserr.Serialization.Name {
				t.Fatalf("DecodeJSON: %v, want SerializationException", aerr)
			}
			// An upper bound of the structure tooComplex counts: every
			// bracket and comma, strings included.
			big := bytes.Count(body, []byte("{"))+bytes.Count(body, []byte("["))+bytes.Count(body, []byte(",")) > MaxValues
			if refOK && !big {
				t.Fatalf("DecodeJSON rejected a valid JSON object of depth %d", jsonDepth(ref))
			}
			return
		}
		if !refOK {
			t.Fatalf("DecodeJSON accepted %q, which encoding/json rejects (or is not an object, not UTF-8, or nested deeper than %d)", body, fuzzDepth)
		}
		if !reflect.DeepEqual(m, ref) {
			t.Fatalf("DecodeJSON and encoding/json disagree on the content:\n%v\n%v", m, ref)
		}

		in, aerr := CheckTypes(m, schema)
		if aerr != nil {
			if aerr.Name != awserr.Serialization.Name {
				t.Fatalf("CheckTypes: %v, want SerializationException", aerr)
			}
			return
		}
		checkTyped(t, in, schema, "")
		if aerr := Validate(in, schema); aerr != nil {
			if aerr.Name != awserr.Validation.Name || aerr.Message == "" {
				t.Fatalf("Validate: %v, want ValidationException with a message", aerr)
			}
			return
		}
		checkValid(t, in, schema, "")
	})
}

func findField(fields []Field, name string) *Shape {
	for _, f := range fields {
		if f.Name == name {
			return f.Shape
		}
	}
	return nil
}

// checkTyped checks CheckTypes' output against the schema.
func checkTyped(t *testing.T, in map[string]any, fields []Field, path string) {
	t.Helper()
	for k, v := range in {
		s := findField(fields, k)
		if s == nil {
			t.Fatalf("%s.%s: unknown member kept", path, k)
		}
		if v == nil {
			t.Fatalf("%s.%s: null kept", path, k)
		}
		checkTypedValue(t, v, s, path+"."+k)
	}
}

func checkTypedValue(t *testing.T, v any, s *Shape, path string) {
	t.Helper()
	ok := false
	switch s.Type {
	case String:
		_, ok = v.(string)
	case Integer:
		n, isInt := v.(int64)
		ok = isInt && n <= math.MaxInt32
	case Long:
		_, ok = v.(int64)
	case Boolean:
		_, ok = v.(bool)
	case Blob:
		_, ok = v.([]byte)
	case Timestamp:
		x, isFloat := v.(float64)
		ok = isFloat && !math.IsInf(x, 0) && !math.IsNaN(x)
	case List:
		var l []any
		if l, ok = v.([]any); ok {
			for i, e := range l {
				if e != nil {
					checkTypedValue(t, e, s.Member, path+"["+strconv.Itoa(i)+"]")
				}
			}
		}
	case Map:
		var m map[string]any
		if m, ok = v.(map[string]any); ok {
			for k, e := range m {
				if e == nil {
					t.Fatalf("%s.%s: null map value kept", path, k)
				}
				checkTypedValue(t, e, s.Member, path+"."+k)
			}
		}
	case Structure:
		var m map[string]any
		if m, ok = v.(map[string]any); ok {
			checkTyped(t, m, s.Fields, path)
		}
	}
	if !ok {
		t.Fatalf("%s: %T (%v) for shape type %d", path, v, v, s.Type)
	}
}

func runesIn(s string, r [2]int) bool {
	n := utf8.RuneCountInString(s)
	return n >= r[0] && n <= r[1]
}

// checkValid is an independent statement of the constraints Validate
// enforces.
func checkValid(t *testing.T, in map[string]any, fields []Field, path string) {
	t.Helper()
	for _, f := range fields {
		v := in[f.Name]
		p := path + "." + f.Name
		if v == nil {
			if f.Shape.Required {
				t.Fatalf("%s: required member missing, but Validate accepted", p)
			}
			continue
		}
		checkValidValue(t, v, f.Shape, p)
	}
}

func checkValidValue(t *testing.T, v any, s *Shape, path string) {
	t.Helper()
	fail := func(what string) { t.Fatalf("%s = %v: %s, but Validate accepted", path, v, what) }
	if n, ok := v.(int64); ok {
		if s.Min != nil && n < *s.Min {
			fail("below minimum")
		}
		if s.Max != nil && n > *s.Max {
			fail("above maximum")
		}
	}
	if str, ok := v.(string); ok {
		if s.Pattern != "" && !regexp.MustCompile("^(?:"+s.Pattern+")$").MatchString(str) {
			fail("pattern")
		}
		if s.Enum != nil && !slices.Contains(s.Enum, str) {
			fail("enum")
		}
	}
	if s.MinLen != nil && length(v) < *s.MinLen {
		fail("too short")
	}
	if s.MaxLen != nil && length(v) > *s.MaxLen {
		fail("too long")
	}
	switch s.Type {
	case Map:
		for k, e := range v.(map[string]any) {
			if s.KeyLen != nil && !runesIn(k, *s.KeyLen) {
				fail("map key length")
			}
			if str, ok := e.(string); ok && s.ValueLen != nil && !runesIn(str, *s.ValueLen) {
				fail("map value length")
			}
		}
	case List:
		for _, e := range v.([]any) {
			if e == nil {
				fail("null member")
			}
			if str, ok := e.(string); ok && s.KeyLen != nil && !runesIn(str, *s.KeyLen) {
				fail("member length")
			}
			if s.Member.Type == Structure {
				checkValid(t, e.(map[string]any), s.Member.Fields, path+"[]")
			}
		}
	case Structure:
		checkValid(t, v.(map[string]any), s.Fields, path)
	}
}

// TestDecodeJSONDepth: nesting up to the limit is accepted, one more level
// is a SerializationException, and brackets inside strings do not count.
func TestDecodeJSONDepth(t *testing.T) {
	nest := func(depth int) []byte {
		return []byte(`{"a":` + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + `}`)
	}
	for _, tc := range []struct {
		body []byte
		ok   bool
	}{
		{nest(64), true},
		{nest(65), false},
		{nest(100000), false},
		{[]byte(`{"a":"` + strings.Repeat("[{", 1000) + `"}`), true},
	} {
		_, aerr := DecodeJSON(tc.body, 64)
		if tc.ok != (aerr == nil) || aerr != nil && aerr.Name != awserr.Serialization.Name {
			t.Errorf("%.40s... (%d bytes): %v, want ok=%v", tc.body, len(tc.body), aerr, tc.ok)
		}
	}
}

// TestValidateConcurrent validates with one schema from many goroutines, as
// concurrent requests to one operation do. Run with -race: the schema is
// shared, read-only data, so validating must not write to it.
func TestValidateConcurrent(t *testing.T) {
	schema := fuzzSchema()
	in, aerr := CheckTypes(map[string]any{
		"StreamName": "bad name!",
		"Records":    []any{map[string]any{"PartitionKey": "p", "Data": "AA==", "ExplicitHashKey": "x"}},
	}, schema)
	if aerr != nil {
		t.Fatal(aerr)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if aerr := Validate(in, schema); aerr == nil {
				t.Error("invalid input accepted")
			}
		})
	}
	wg.Wait()
}
