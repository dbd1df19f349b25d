package awsproto

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rheos/rheos/internal/awserr"
)

// TestValidateRefusesNullListMembers: a null element of a list is a
// ValidationException at '<list>.<n>.member' (Coral's naming), for lists of
// structures and of strings alike; before, a null PutRecords entry reached
// the handler as a record with no partition key and no data, and was
// stored.
func TestValidateRefusesNullListMembers(t *testing.T) {
	schema := fuzzSchema()
	for _, tc := range []struct {
		body, want string
	}{
		{`{"Records":[null]}`, "1 validation error detected: Value null at 'records.1.member' failed to satisfy constraint: Member must not be null"},
		{`{"Records":[{"PartitionKey":"p","Data":"AA=="},null]}`, "1 validation error detected: Value null at 'records.2.member' failed to satisfy constraint: Member must not be null"},
		{`{"Records":[{"PartitionKey":"p","Data":"AA=="}],"TagKeys":["k",null]}`, "1 validation error detected: Value null at 'tagKeys.2.member' failed to satisfy constraint: Member must not be null"},
	} {
		m, aerr := DecodeJSON([]byte(tc.body), 64)
		if aerr != nil {
			t.Fatal(aerr)
		}
		in, aerr := CheckTypes(m, schema)
		if aerr != nil {
			t.Fatal(aerr)
		}
		aerr = Validate(in, schema)
		if aerr == nil || aerr.Name != awserr.Validation.Name || aerr.Message != tc.want {
			t.Errorf("%s: %v, want %s", tc.body, aerr, tc.want)
		}
	}
}

// TestDecodeJSONValueCap: a body with MaxValues brackets and commas is
// decoded, one more is a SerializationException without being decoded, and
// brackets and commas inside strings do not count.
func TestDecodeJSONValueCap(t *testing.T) {
	list := func(commas int) []byte { // {"a":[1,1,…,1]}: 2 brackets + commas
		return []byte(`{"a":[` + strings.Repeat("1,", commas) + `1]}`)
	}
	for _, tc := range []struct {
		name string
		body []byte
		ok   bool
	}{
		{"at the cap", list(MaxValues - 2), true},
		{"one over", list(MaxValues - 1), false},
		{"16 MiB of empty objects", []byte(`{"Records":[` + strings.Repeat("{},", 16<<20/3-10) + `{}]}`), false},
		{"commas in a string", []byte(`{"a":"` + strings.Repeat(",[{", MaxValues) + `"}`), true},
	} {
		_, aerr := DecodeJSON(tc.body, 64)
		if tc.ok != (aerr == nil) || aerr != nil && aerr.Name != awserr.Serialization.Name {
			t.Errorf("%s: %v, want ok=%v", tc.name, aerr, tc.ok)
		}
	}
}

// TestCheckTypesRefusesNonFiniteNumbers: NaN and the infinities, which JSON
// cannot spell but normalized CBOR floats can ("NaN", "+Inf"), are a
// SerializationException for integer and timestamp members, like numbers
// beyond float64's range.
func TestCheckTypesRefusesNonFiniteNumbers(t *testing.T) {
	schema := []Field{F("N", &Shape{Type: Integer}), F("L", &Shape{Type: Long}), F("T", &Shape{Type: Timestamp})}
	for _, member := range []string{"N", "L", "T"} {
		for _, v := range []string{"NaN", "+Inf", "-Inf", "Inf", "1e400"} {
			if _, aerr := CheckTypes(map[string]any{member: json.Number(v)}, schema); aerr == nil || aerr.Name != awserr.Serialization.Name {
				t.Errorf("%s = %s: %v, want SerializationException", member, v, aerr)
			}
		}
		if _, aerr := CheckTypes(map[string]any{member: json.Number("1.5e9")}, schema); aerr != nil {
			t.Errorf("%s = 1.5e9: %v", member, aerr)
		}
	}
}
