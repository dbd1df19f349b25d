package awsproto

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

func FuzzDecodeCBOR(f *testing.F) {
	seed := func(v any) []byte { b, _ := cbor.Marshal(v); return b }
	f.Add(seed(map[string]any{"StreamName": "s", "ShardCount": 2}))
	f.Add(seed(map[string]any{"Records": []any{map[string]any{"Data": []byte{1, 2}, "PartitionKey": "k"}}}))
	f.Add(seed(map[string]any{"Timestamp": cbor.Tag{Number: 1, Content: int64(1700000000123)}}))
	f.Add(seed(map[string]any{"Timestamp": time.Unix(1700000000, 0)}))
	f.Add([]byte{0xbf, 0x61})
	f.Add([]byte{0xa1, 0x01, 0x02})
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := DecodeCBOR(body)
		if err != nil {
			if err.Name != "SerializationException" {
				t.Fatalf("error %s", err.Name)
			}
			return
		}
		// The normalized form is plain JSON data.
		if _, jerr := json.Marshal(m); jerr != nil {
			t.Fatalf("normalized CBOR is not JSON-encodable: %v", jerr)
		}
		CheckTypes(m, []Field{F("StreamName", &Shape{Type: String}), F("Data", &Shape{Type: Blob}), F("Timestamp", &Shape{Type: Timestamp}), F("ShardCount", &Shape{Type: Integer})})
	})
}

func TestCBORRoundTrip(t *testing.T) {
	m, err := DecodeCBOR(func() []byte {
		b, _ := cbor.Marshal(map[string]any{"Data": []byte("hi"), "Timestamp": cbor.Tag{Number: 1, Content: int64(1700000000500)}, "N": 3})
		return b
	}())
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := m["Data"].(cborBlob); !ok || string(d) != "hi" || m["Timestamp"].(json.Number).String() != "1700000000.5" || m["N"].(json.Number).String() != "3" {
		t.Fatalf("normalized = %#v", m)
	}
	out, cerr := EncodeCBOR([]byte(`{"Records":[{"Data":"aGk=","ApproximateArrivalTimestamp":1700000000.5,"PartitionKey":"k"}],"MillisBehindLatest":0}`))
	if cerr != nil {
		t.Fatal(cerr)
	}
	var back map[string]any
	dm, _ := cbor.DecOptions{DefaultMapType: nil}.DecMode()
	var v any
	if err := dm.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	_ = back
	rec := v.(map[any]any)["Records"].([]any)[0].(map[any]any)
	if string(rec["Data"].([]byte)) != "hi" {
		t.Fatalf("Data = %#v", rec["Data"])
	}
	if ts, ok := rec["ApproximateArrivalTimestamp"].(time.Time); !ok || ts.Unix() != 1700000000500 {
		t.Fatalf("timestamp = %#v (want tag 1 with epoch ms)", rec["ApproximateArrivalTimestamp"])
	}
}

func TestCBORByteStringIsNotAString(t *testing.T) {
	body, _ := cbor.Marshal(map[string]any{"StreamName": []byte("s"), "Data": []byte("x")})
	m, err := DecodeCBOR(body)
	if err != nil {
		t.Fatal(err)
	}
	_, aerr := CheckTypes(m, []Field{F("StreamName", &Shape{Type: String}), F("Data", &Shape{Type: Blob})})
	if aerr == nil || aerr.Name != "SerializationException" {
		t.Fatalf("a byte string was accepted as a string: %v", aerr)
	}
	in, aerr := CheckTypes(m, []Field{F("Data", &Shape{Type: Blob})})
	if aerr != nil || string(in["Data"].([]byte)) != "x" {
		t.Fatalf("a byte string as a blob: %v %v", in, aerr)
	}
	nan, _ := cbor.Marshal(map[string]any{"Timestamp": cbor.Tag{Number: 1, Content: math.NaN()}})
	m, err = DecodeCBOR(nan)
	if err == nil {
		if _, aerr := CheckTypes(m, []Field{F("Timestamp", &Shape{Type: Timestamp})}); aerr == nil {
			t.Fatal("a NaN timestamp was accepted")
		}
	}
}
