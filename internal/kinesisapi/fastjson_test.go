package kinesisapi

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/datastream"
)

// generic decodes body the slow way; ok=false when it would be refused.
func generic(op string, body []byte) (*putInput, bool) {
	m, aerr := awsproto.DecodeJSON(body, 64)
	if aerr != nil {
		return nil, false
	}
	in, aerr := awsproto.CheckTypes(m, schemas[op])
	if aerr != nil {
		return nil, false
	}
	if awsproto.Validate(in, schemas[op]) != nil {
		return nil, false
	}
	return putInputOf(&awsproto.Call{Input: in}, op == "PutRecord"), true
}

func samePut(a, b *putInput) bool {
	if a.StreamName != b.StreamName || a.StreamARN != b.StreamARN || a.SeqForOrd != b.SeqForOrd || len(a.Records) != len(b.Records) {
		return false
	}
	for i := range a.Records {
		x, y := a.Records[i], b.Records[i]
		if x.PartitionKey != y.PartitionKey || x.ExplicitHashKey != y.ExplicitHashKey || !bytes.Equal(x.Data, y.Data) {
			return false
		}
	}
	return true
}

var putRecordsSeeds = []string{
	`{"StreamName":"s","Records":[{"Data":"aGVsbG8=","PartitionKey":"k"}]}`,
	`{"Records":[{"PartitionKey":"k","Data":"","ExplicitHashKey":"340282366920938463463374607431768211455"},{"Data":"AA==","PartitionKey":"ü"}],"StreamARN":"arn:aws:kinesis:us-east-1:000000000000:stream/s"}`,
	` { "StreamName" : "a.b-c_d" , "Records" : [ { "Data" : "QUJD" , "PartitionKey" : "x" } ] } `,
	`{"StreamName":"s","Records":[{"Data":"aGVsbG8","PartitionKey":"k"}]}`,
	`{"StreamName":"s","Records":[{"Data":"aGVsbG8=","PartitionKey":""}]}`,
	`{"StreamName":"s","Records":[]}`,
	`{"StreamName":"s","Records":[{"Data":"aGVsbG9=","PartitionKey":"k"}]}`,
	`{"StreamName":"s","StreamName":"t","Records":[{"Data":"aGVsbG8=","PartitionKey":"k"}]}`,
	`{"StreamName":"s","Records":[{"Data":"aGVs\nbG8=","PartitionKey":"k"}]}`,
	`{"StreamName":"s","Records":[{"Data":"aGVsbG8=","PartitionKey":"k","ExplicitHashKey":"01"}]}`,
	`{"StreamName":"bad name","Records":[{"Data":"aGVsbG8=","PartitionKey":"k"}]}`,
}

var putRecordSeeds = []string{
	`{"StreamName":"s","Data":"aGVsbG8=","PartitionKey":"k"}`,
	`{"Data":"aGVsbG8=","PartitionKey":"k","SequenceNumberForOrdering":"49590338271490256608559692538361571095921575989136588898","StreamARN":"arn:aws:kinesis:eu-west-1:123456789012:stream/x"}`,
	`{"StreamName":"s","Data":"aGVsbG8=","PartitionKey":"k","Extra":1}`,
}

func TestFastDecodeSeeds(t *testing.T) {
	for _, s := range putRecordsSeeds {
		checkAgree(t, "PutRecords", []byte(s))
	}
	for _, s := range putRecordSeeds {
		checkAgree(t, "PutRecord", []byte(s))
	}
	if _, ok := fastPutRecords([]byte(putRecordsSeeds[0])); !ok {
		t.Fatal("the common body must take the fast path")
	}
	if _, ok := fastPutRecord([]byte(putRecordSeeds[1])); !ok {
		t.Fatal("the common PutRecord body must take the fast path")
	}
}

func checkAgree(t *testing.T, op string, body []byte) {
	t.Helper()
	fast := fastPutRecords
	if op == "PutRecord" {
		fast = fastPutRecord
	}
	typed, ok := fast(body)
	if !ok {
		return
	}
	want, gok := generic(op, body)
	if !gok {
		t.Fatalf("%s fast path accepted a body the generic path refuses: %q", op, body)
	}
	if !samePut(typed.(*putInput), want) {
		t.Fatalf("%s fast and generic disagree on %q:\n%+v\n%+v", op, body, typed, want)
	}
	if !json.Valid(body) {
		t.Fatalf("%s fast path accepted invalid JSON %q", op, body)
	}
}

func FuzzFastDecodeAgrees(f *testing.F) {
	for _, s := range putRecordsSeeds {
		f.Add("PutRecords", []byte(s))
	}
	for _, s := range putRecordSeeds {
		f.Add("PutRecord", []byte(s))
	}
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		if op != "PutRecord" {
			op = "PutRecords"
		}
		checkAgree(t, op, body)
	})
}

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote`, `back\slash`, "ctl\x00\x01\x1f\n\r\t", "ünï©ødé", "<html>&"} {
		var got any
		if err := json.Unmarshal(appendJSONString(nil, s), &got); err != nil || got != s {
			t.Fatalf("appendJSONString(%q) round trip = %q, %v", s, got, err)
		}
	}
}

func TestAppendGetRecordsOutputIsJSON(t *testing.T) {
	res := datastream.GetRecordsResult{
		Records:           []datastream.Record{{SequenceNumber: "1", PartitionKey: "p\"k", Data: []byte{0, 1, 2}}},
		NextShardIterator: "AAAA", MillisBehindLatest: 5,
		ChildShards: []datastream.ChildShard{{ShardID: "shardId-000000000001", ParentShards: []string{"shardId-000000000000"}, HashKeyStart: "0", HashKeyEnd: "9"}},
	}
	var out struct {
		Records []struct {
			Data         []byte
			PartitionKey string
		}
		NextShardIterator  string
		MillisBehindLatest int
		ChildShards        []struct{ ShardId string }
	}
	if err := json.Unmarshal(appendGetRecordsOutput(nil, res), &out); err != nil {
		t.Fatal(err)
	}
	if out.Records[0].PartitionKey != "p\"k" || !bytes.Equal(out.Records[0].Data, []byte{0, 1, 2}) || out.MillisBehindLatest != 5 || out.ChildShards[0].ShardId != "shardId-000000000001" {
		t.Fatalf("decoded %+v", out)
	}
}

func BenchmarkFastPutRecords(b *testing.B) {
	body := benchBody(500, 1024)
	b.SetBytes(int64(len(body)))
	for i := 0; i < b.N; i++ {
		if _, ok := fastPutRecords(body); !ok {
			b.Fatal("refused")
		}
	}
}

func BenchmarkGenericPutRecords(b *testing.B) {
	body := benchBody(500, 1024)
	b.SetBytes(int64(len(body)))
	for i := 0; i < b.N; i++ {
		if _, ok := generic("PutRecords", body); !ok {
			b.Fatal("refused")
		}
	}
}

func benchBody(n, size int) []byte {
	type rec struct {
		Data         []byte
		PartitionKey string
	}
	in := struct {
		StreamName string
		Records    []rec
	}{StreamName: "bench"}
	for i := 0; i < n; i++ {
		in.Records = append(in.Records, rec{Data: bytes.Repeat([]byte{byte(i)}, size), PartitionKey: "pk-" + string(rune('a'+i%26))})
	}
	b, _ := json.Marshal(in)
	return b
}
