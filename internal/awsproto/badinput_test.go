package awsproto

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rheos/rheos/internal/awserr"
)

// TestFrontMalformedAuthorization: an Authorization header made only of
// separators (once a slice-bounds panic in checkAuth, which net/http turned
// into a dropped connection) is an IncompleteSignatureException like any
// other malformed signature, and never reaches the handler.
func TestFrontMalformedAuthorization(t *testing.T) {
	called := false
	front := &Front{Services: []*Service{{
		TargetPrefix: "Test_1",
		Operations: map[string]*Operation{"Op": {
			Input:  fuzzSchema(),
			Handle: func(context.Context, *Call) (any, error) { called = true; return nil, nil },
		}},
	}}}
	for _, auth := range []string{",", ", , ,", strings.Repeat(",", 1000), "= = =", "garbage", "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 Credential=, SignedHeaders=, Signature="} {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"Records":[{"PartitionKey":"p","Data":"AA=="}]}`))
		req.Header.Set("Content-Type", ContentJSON)
		req.Header.Set("X-Amz-Target", "Test_1.Op")
		req.Header.Set("X-Amz-Date", "20260101T000000Z")
		req.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		front.ServeHTTP(w, req)
		b, _ := io.ReadAll(w.Result().Body)
		var env map[string]string
		json.Unmarshal(b, &env)
		if w.Code != 400 || env["__type"] != awserr.IncompleteSignature.Name {
			t.Errorf("Authorization %.20q: %d %s", auth, w.Code, b)
		}
	}
	if called {
		t.Error("a request with a malformed signature reached the handler")
	}
}

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

// TestDecodeCBORItemCap: a CBOR body of MaxValues data items is decoded,
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
		{"at the cap", list(MaxValues - 3), true},
		{"one over", list(MaxValues - 2), false},
		{"indefinite-length, one over", indefinite(MaxValues - 2), false},
		{"nested empty maps", bomb(), false},
		{"1 MiB byte string of 0xa0", blob, true},
	} {
		_, aerr := DecodeCBOR(tc.body)
		if tc.ok != (aerr == nil) || aerr != nil && aerr.Name != awserr.Serialization.Name {
			t.Errorf("%s: %v, want ok=%v", tc.name, aerr, tc.ok)
		}
	}
	for _, b := range [][]byte{{0x9b, 0xff}, {0x5b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x1c}, {0xff}, {}} {
		if cborTooComplex(b, MaxValues) {
			t.Errorf("%x: a malformed body counted as too complex", b)
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

// TestFrontBodyTimeout: a client that sends its headers and then stalls
// mid-body gets a SerializationException once BodyTimeout has passed and the
// connection is closed; a slow handler (an event stream) is not cut by the
// body deadline once the body is in.
func TestFrontBodyTimeout(t *testing.T) {
	const timeout = 200 * time.Millisecond
	front := &Front{BodyTimeout: timeout, Services: []*Service{{
		TargetPrefix: "Test_1",
		Operations: map[string]*Operation{"Op": {
			Input: fuzzSchema(),
			Handle: func(context.Context, *Call) (any, error) {
				time.Sleep(3 * timeout)
				return map[string]string{"ok": "yes"}, nil
			},
		}},
	}}}
	srv := httptest.NewServer(front)
	defer srv.Close()
	head := "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: " + ContentJSON + "\r\nX-Amz-Target: Test_1.Op\r\nX-Amz-Date: 20260101T000000Z\r\n" +
		"Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=abc\r\n"

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	io.WriteString(conn, head+"Content-Length: 1000\r\n\r\n{\"Records\":")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("stalled body: no answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if took := time.Since(start); resp.StatusCode != 400 || !strings.Contains(string(b), awserr.Serialization.Name) || took < timeout || took > 10*timeout {
		t.Errorf("stalled body: %d %s after %v", resp.StatusCode, b, took)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("connection still open after a timed-out body: %v", err)
	}

	body := `{"Records":[{"PartitionKey":"p","Data":"AA=="}]}`
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
	for k, v := range map[string]string{"Content-Type": ContentJSON, "X-Amz-Target": "Test_1.Op", "X-Amz-Date": "20260101T000000Z",
		"Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=abc"} {
		req.Header.Set(k, v)
	}
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "yes") {
		t.Errorf("a handler slower than BodyTimeout: %d %s", resp.StatusCode, b)
	}
}
