package jsonrpc

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsproto"
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
		awsproto.CheckTypes(m, []awsproto.Field{awsproto.F("StreamName", &awsproto.Shape{Type: awsproto.String}), awsproto.F("Data", &awsproto.Shape{Type: awsproto.Blob}), awsproto.F("Timestamp", &awsproto.Shape{Type: awsproto.Timestamp}), awsproto.F("ShardCount", &awsproto.Shape{Type: awsproto.Integer})})
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
	if d, ok := m["Data"].(awsproto.Bytes); !ok || string(d) != "hi" || m["Timestamp"].(json.Number).String() != "1700000000.5" || m["N"].(json.Number).String() != "3" {
		t.Fatalf("normalized = %#v", m)
	}
	out, cerr := EncodeCBOR([]byte(`{"Records":[{"Data":"aGk=","ApproximateArrivalTimestamp":1700000000.5,"PartitionKey":"k"}],"MillisBehindLatest":0}`),
		CBOROutput{Blobs: map[string]bool{"Data": true}, Timestamps: map[string]bool{"ApproximateArrivalTimestamp": true}})
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
	_, aerr := awsproto.CheckTypes(m, []awsproto.Field{awsproto.F("StreamName", &awsproto.Shape{Type: awsproto.String}), awsproto.F("Data", &awsproto.Shape{Type: awsproto.Blob})})
	if aerr == nil || aerr.Name != "SerializationException" {
		t.Fatalf("a byte string was accepted as a string: %v", aerr)
	}
	in, aerr := awsproto.CheckTypes(m, []awsproto.Field{awsproto.F("Data", &awsproto.Shape{Type: awsproto.Blob})})
	if aerr != nil || string(in["Data"].([]byte)) != "x" {
		t.Fatalf("a byte string as a blob: %v %v", in, aerr)
	}
	nan, _ := cbor.Marshal(map[string]any{"Timestamp": cbor.Tag{Number: 1, Content: math.NaN()}})
	m, err = DecodeCBOR(nan)
	if err == nil {
		if _, aerr := awsproto.CheckTypes(m, []awsproto.Field{awsproto.F("Timestamp", &awsproto.Shape{Type: awsproto.Timestamp})}); aerr == nil {
			t.Fatal("a NaN timestamp was accepted")
		}
	}
}

// TestDecodeCBORItemCap: a CBOR body of awsproto.MaxValues data items is decoded,
// one more is a SerializationException without being decoded, string
// payloads do not count, and malformed bodies are left to the decoder.
func TestDecodeCBORItemCap(t *testing.T) {
	// {"a": [0, 0, …]}: the map, the key, the array and n integers.
	list := func(n int) []byte {
		b := []byte{0xa1, 0x61, 'a', 0x9a, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
		return append(b, make([]byte, n)...)
	}
	// {"a": [[{}, {}, …] × k]}: 15 MiB of nested empty maps, the shape that
	// grew the server by over 1 GB before the cap.
	bomb := func() []byte {
		n, k := 1<<20-1, 15
		b := []byte{0xa1, 0x61, 'a', byte(0x80 + k)}
		for range k {
			b = append(b, 0x9a, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
			b = append(b, bytes.Repeat([]byte{0xa0}, n)...)
		}
		return b
	}
	indefinite := func(n int) []byte { // {"a": [_ 0, 0, …]}
		b := append([]byte{0xa1, 0x61, 'a', 0x9f}, make([]byte, n)...)
		return append(b, 0xff)
	}
	blob := append([]byte{0xa1, 0x61, 'a', 0x5a, 0x00, 0x10, 0x00, 0x00}, bytes.Repeat([]byte{0xa0}, 1<<20)...)
	for _, tc := range []struct {
		name string
		body []byte
		ok   bool
	}{
		{"at the cap", list(awsproto.MaxValues - 3), true},
		{"one over", list(awsproto.MaxValues - 2), false},
		{"indefinite-length, one over", indefinite(awsproto.MaxValues - 2), false},
		{"nested empty maps", bomb(), false},
		{"1 MiB byte string of 0xa0", blob, true},
	} {
		_, aerr := DecodeCBOR(tc.body)
		if tc.ok != (aerr == nil) || aerr != nil && aerr.Name != awserr.Serialization.Name {
			t.Errorf("%s: %v, want ok=%v", tc.name, aerr, tc.ok)
		}
	}
	for _, b := range [][]byte{{0x9b, 0xff}, {0x5b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x1c}, {0xff}, {}} {
		if cborTooComplex(b, awsproto.MaxValues) {
			t.Errorf("%x: a malformed body counted as too complex", b)
		}
	}
}
