package loadtest

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

const (
	msec = time.Millisecond
	sec  = time.Second
)

var testTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestHeaderRoundTrip(t *testing.T) {
	h := header{producer: 0xbeef, counter: counterMask, sent: testTime.UnixNano(), tag: 0x0123456789abcdef}
	var b [headerSize]byte
	h.put(b[:])
	if got, ok := parseHeader(b[:]); !ok || got != h {
		t.Fatalf("parseHeader = %+v %v, want %+v", got, ok, h)
	}
	var s [headerB64]byte
	h.putBase64(s[:])
	if got, ok := parseHeaderBase64(string(s[:]) + "more data"); !ok || got != h {
		t.Fatalf("parseHeaderBase64 = %+v %v, want %+v", got, ok, h)
	}
	if _, ok := parseHeaderBase64("short"); ok {
		t.Fatal("parseHeaderBase64 accepted a short string")
	}
	if _, ok := parseHeaderBase64("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"); ok {
		t.Fatal("parseHeaderBase64 accepted bad base64")
	}
}

// TestPatchedBodiesDecode checks that a template patched in place decodes,
// with encoding/json (which decodes base64 into []byte), to records carrying
// the intended headers and the untouched rest of the payload.
func TestPatchedBodiesDecode(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, size := range []int{24, 25, 26, 27, 100, 1024} {
		payload := randomPayload(rng, size)
		keys := randomKeys(rng, 7)
		tp := putRecordsTemplate(`s"q`, payload, keys)
		for round := range 3 {
			h := header{producer: 3, counter: uint64(round * 7), sent: testTime.Add(time.Duration(round) * sec).UnixNano(), tag: 42}
			tp.patch(h)
			var in struct {
				StreamName string
				Records    []struct {
					Data         []byte
					PartitionKey string
				}
			}
			if err := json.Unmarshal(tp.body, &in); err != nil {
				t.Fatalf("size %d: patched body does not decode: %v", size, err)
			}
			if in.StreamName != `s"q` || len(in.Records) != len(keys) {
				t.Fatalf("size %d: stream %q, %d records", size, in.StreamName, len(in.Records))
			}
			for i, r := range in.Records {
				want := h
				want.counter = h.counter + uint64(i)
				if got, _ := parseHeader(r.Data); got != want {
					t.Fatalf("size %d record %d: header %+v, want %+v", size, i, got, want)
				}
				if len(r.Data) != size || !bytes.Equal(r.Data[headerSize:], payload[headerSize:]) {
					t.Fatalf("size %d record %d: payload after the header changed", size, i)
				}
				if r.PartitionKey != keys[i] {
					t.Fatalf("record %d: key %q, want %q", i, r.PartitionKey, keys[i])
				}
			}
		}
	}

	payload := randomPayload(rng, 100)
	keys := randomKeys(rng, 2)
	tp := putRecordTemplate("s", payload, keys[0])
	h := header{producer: 1, counter: 9, sent: testTime.UnixNano(), tag: 7}
	tp.patch(h)
	tp.setKey(keys[1])
	var in struct {
		StreamName, PartitionKey string
		Data                     []byte
	}
	if err := json.Unmarshal(tp.body, &in); err != nil {
		t.Fatal(err)
	}
	if got, _ := parseHeader(in.Data); got != h || in.PartitionKey != keys[1] || !bytes.Equal(in.Data[headerSize:], payload[headerSize:]) {
		t.Fatalf("PutRecord body: header %+v key %q, want %+v %q", got, in.PartitionKey, h, keys[1])
	}
}

func TestPutRecordsFailures(t *testing.T) {
	for _, tc := range []struct {
		body    string
		n       int
		failed  []int
		why     string
		wantErr bool
	}{
		{`{"FailedRecordCount":0,"Records":[{},{}]}`, 2, nil, "", false},
		{`{"Records":[{}],"FailedRecordCount": 0}`, 1, nil, "", false},
		{`{"FailedRecordCount":2,"Records":[{"ErrorCode":"InternalFailure","ErrorMessage":"disk"},{"SequenceNumber":"1"},{"ErrorCode":"X"}]}`,
			3, []int{0, 2}, "InternalFailure: disk", false},
		{`{"FailedRecordCount":10,"Records":[{"ErrorCode":"X"}]}`, 1, []int{0}, "X: ", false},
		{`{"FailedRecordCount":1,"Records":[{"ErrorCode":"X"}]}`, 2, nil, "", true},
		{`{"Records":[]}`, 0, nil, "", true},
		{`{"FailedRecordCount":1,`, 1, nil, "", true},
	} {
		failed, why, err := putRecordsFailures([]byte(tc.body), tc.n)
		if (err != nil) != tc.wantErr || !slices.Equal(failed, tc.failed) || why != tc.why {
			t.Errorf("%s: got %v %q %v, want %v %q error=%v", tc.body, failed, why, err, tc.failed, tc.why, tc.wantErr)
		}
	}
}
