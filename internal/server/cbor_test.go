package server_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// cborCall posts a CBOR request as the Java SDKs do and decodes the reply.
func cborCall(t *testing.T, ts *testServer, op string, in any) (int, map[string]any) {
	t.Helper()
	body, err := cbor.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", ts.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-cbor-1.1")
	req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
	req.Header.Set("X-Amz-Date", "20260101T000000Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-amz-cbor-1.1" {
		t.Fatalf("%s: content type %q", op, ct)
	}
	var out map[string]any
	dm, _ := cbor.DecOptions{DefaultMapType: nil}.DecMode()
	var generic any
	if err := dm.Unmarshal(raw, &generic); err != nil {
		t.Fatalf("%s: reply is not CBOR: %v (%x)", op, err, raw)
	}
	out = map[string]any{}
	if m, ok := generic.(map[any]any); ok {
		for k, v := range m {
			out[k.(string)] = v
		}
	}
	return resp.StatusCode, out
}

func TestCBORProtocol(t *testing.T) {
	ts := newServer(t)
	if code, out := cborCall(t, ts, "CreateStream", map[string]any{"StreamName": "cbor", "ShardCount": 1}); code != 200 {
		t.Fatalf("CreateStream: %d %v", code, out)
	}
	ts.waitActive(t, "cbor")
	payload := []byte{0, 1, 2, 0xff, 'h', 'i'}
	code, out := cborCall(t, ts, "PutRecord", map[string]any{"StreamName": "cbor", "PartitionKey": "k", "Data": payload})
	if code != 200 || out["SequenceNumber"] == nil {
		t.Fatalf("PutRecord: %d %v", code, out)
	}
	_, out = cborCall(t, ts, "GetShardIterator", map[string]any{"StreamName": "cbor", "ShardId": "shardId-000000000000", "ShardIteratorType": "TRIM_HORIZON"})
	it, _ := out["ShardIterator"].(string)
	code, out = cborCall(t, ts, "GetRecords", map[string]any{"ShardIterator": it})
	if code != 200 {
		t.Fatalf("GetRecords: %d %v", code, out)
	}
	recs, _ := out["Records"].([]any)
	if len(recs) != 1 {
		t.Fatalf("GetRecords returned %v", out)
	}
	rec := map[string]any{}
	for k, v := range recs[0].(map[any]any) {
		rec[k.(string)] = v
	}
	if d, ok := rec["Data"].([]byte); !ok || !bytes.Equal(d, payload) {
		t.Fatalf("Data = %#v, want the byte string %x", rec["Data"], payload)
	}
	// Timestamps are tag 1 with epoch milliseconds, as the Java SDK reads them.
	switch ts := rec["ApproximateArrivalTimestamp"].(type) {
	case time.Time:
		ms := ts.Unix() // decoded as seconds by a standard decoder: the value is milliseconds
		if d := time.Since(time.UnixMilli(ms)); d < 0 || d > time.Minute {
			t.Fatalf("ApproximateArrivalTimestamp %d is not recent epoch milliseconds", ms)
		}
	default:
		t.Fatalf("ApproximateArrivalTimestamp = %#v, want CBOR tag 1", rec["ApproximateArrivalTimestamp"])
	}
	// AT_TIMESTAMP with a tag-1 millisecond timestamp, as the Java SDK sends it.
	code, out = cborCall(t, ts, "GetShardIterator", map[string]any{"StreamName": "cbor", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP",
		"Timestamp": cbor.Tag{Number: 1, Content: time.Now().Add(-time.Minute).UnixMilli()}})
	if code != 200 || out["ShardIterator"] == nil {
		t.Fatalf("AT_TIMESTAMP with a CBOR timestamp: %d %v", code, out)
	}
	// Errors come back as CBOR envelopes too.
	code, out = cborCall(t, ts, "DescribeStream", map[string]any{"StreamName": "missing"})
	if code != 400 || out["__type"] != "ResourceNotFoundException" || out["message"] != "Stream missing under account 000000000000 not found." {
		t.Fatalf("DescribeStream missing: %d %v", code, out)
	}
	code, out = cborCall(t, ts, "CreateStream", map[string]any{"StreamName": "bad name", "ShardCount": 1})
	if code != 400 || out["__type"] != "ValidationException" {
		t.Fatalf("invalid name: %d %v", code, out)
	}
	// Malformed CBOR is a SerializationException, in CBOR.
	req, _ := http.NewRequest("POST", ts.url, bytes.NewReader([]byte{0xbf, 0x61}))
	req.Header.Set("Content-Type", "application/x-amz-cbor-1.1")
	req.Header.Set("X-Amz-Target", "Kinesis_20131202.ListStreams")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("x-amzn-ErrorType") != "SerializationException" {
		t.Fatalf("malformed CBOR: %d %s", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"))
	}
}
