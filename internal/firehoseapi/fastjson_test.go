package firehoseapi

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/rheos/rheos/internal/awsmodel/firehosemodel"
	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/firehose"
)

// generic decodes body the slow way (the operation's model schema);
// ok=false when it would be refused.
func generic(t testing.TB, op string, body []byte) (*putInput, bool) {
	fields, err := awsproto.FieldsFromModel(firehosemodel.Model, firehosemodel.Model.Operations[op].Input)
	if err != nil {
		t.Fatal(err)
	}
	m, aerr := awsproto.DecodeJSON(body, 64)
	if aerr != nil {
		return nil, false
	}
	in, aerr := awsproto.CheckTypes(m, fields)
	if aerr != nil {
		return nil, false
	}
	if awsproto.Validate(in, fields) != nil {
		return nil, false
	}
	return putInputOf(&awsproto.Call{Input: in}, op == "PutRecord"), true
}

var batchSeeds = []string{
	`{"DeliveryStreamName":"s","Records":[{"Data":"aGVsbG8="},{"Data":""}]}`,
	` { "Records" : [ { "Data" : "QUJD" } ] , "DeliveryStreamName" : "a.b-c_d" } `,
	`{"DeliveryStreamName":"s","Records":[]}`,
	`{"DeliveryStreamName":"s","Records":[{"Data":"aGVsbG8"}]}`,
	`{"DeliveryStreamName":"s","Records":[{"Data":"aGVsbG9="}]}`,
	`{"DeliveryStreamName":"s","Records":[{"Data":"aGVs\nbG8="}]}`,
	`{"DeliveryStreamName":"bad name","Records":[{"Data":"aGVsbG8="}]}`,
	`{"DeliveryStreamName":"s","DeliveryStreamName":"t","Records":[{"Data":"aGVsbG8="}]}`,
	`{"DeliveryStreamName":"s","Records":[{"Data":"aGVsbG8=","Extra":1}]}`,
}

var recordSeeds = []string{
	`{"DeliveryStreamName":"s","Record":{"Data":"aGVsbG8="}}`,
	`{"Record":{"Data":""},"DeliveryStreamName":"s"}`,
	`{"DeliveryStreamName":"s","Record":{"Data":"aGVsbG8="},"Extra":1}`,
}

func checkAgree(t *testing.T, op string, body []byte) {
	t.Helper()
	fast := fastPutRecordBatch
	if op == "PutRecord" {
		fast = fastPutRecord
	}
	typed, ok := fast(body)
	if !ok {
		return
	}
	got := typed.(*putInput)
	want, gok := generic(t, op, body)
	if !gok {
		t.Fatalf("%s: the fast path accepted a body the generic path refuses: %q", op, body)
	}
	if got.Name != want.Name || len(got.Records) != len(want.Records) {
		t.Fatalf("%s: fast and generic disagree on %q: %+v %+v", op, body, got, want)
	}
	for i := range got.Records {
		if !bytes.Equal(got.Records[i], want.Records[i]) {
			t.Fatalf("%s: record %d differs on %q", op, i, body)
		}
	}
	if !json.Valid(body) {
		t.Fatalf("%s: the fast path accepted invalid JSON %q", op, body)
	}
	got.Release()
}

func TestFastDecodeSeeds(t *testing.T) {
	for _, s := range batchSeeds {
		checkAgree(t, "PutRecordBatch", []byte(s))
	}
	for _, s := range recordSeeds {
		checkAgree(t, "PutRecord", []byte(s))
	}
	if _, ok := fastPutRecordBatch([]byte(batchSeeds[0])); !ok {
		t.Fatal("the common PutRecordBatch body must take the fast path")
	}
	if _, ok := fastPutRecord([]byte(recordSeeds[0])); !ok {
		t.Fatal("the common PutRecord body must take the fast path")
	}
}

func FuzzFastDecodeAgrees(f *testing.F) {
	for _, s := range batchSeeds {
		f.Add("PutRecordBatch", []byte(s))
	}
	for _, s := range recordSeeds {
		f.Add("PutRecord", []byte(s))
	}
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		if op != "PutRecord" {
			op = "PutRecordBatch"
		}
		checkAgree(t, op, body)
	})
}

func TestAppendBatchOutputIsJSON(t *testing.T) {
	res := []firehose.PutResult{{RecordID: "00ab"}, {ErrorCode: "ServiceUnavailableException", ErrorMessage: "Slow down."}}
	var out struct {
		Encrypted        bool
		FailedPutCount   int
		RequestResponses []struct{ RecordId, ErrorCode, ErrorMessage string }
	}
	if err := json.Unmarshal(appendBatchOutput(nil, res, true), &out); err != nil {
		t.Fatal(err)
	}
	if !out.Encrypted || out.FailedPutCount != 1 || out.RequestResponses[0].RecordId != "00ab" || out.RequestResponses[1].ErrorMessage != "Slow down." {
		t.Fatalf("%+v", out)
	}
}

// TestRelaxedPatterns: plain-http endpoints and any PostgreSQL host pass
// the API's validation (deliberate differences from AWS).
func TestRelaxedPatterns(t *testing.T) {
	fields, err := awsproto.FieldsFromModel(firehosemodel.Model, "CreateDeliveryStreamInput")
	if err != nil {
		t.Fatal(err)
	}
	allowPlainHTTP(fields)
	for _, c := range []struct {
		body string
		ok   bool
	}{
		{`{"DeliveryStreamName":"r","RedshiftDestinationConfiguration":{"RoleARN":"arn:aws:iam::000000000000:role/r","ClusterJDBCURL":"jdbc:postgresql://127.0.0.1:5432/db","CopyCommand":{"DataTableName":"t"},"S3Configuration":{"RoleARN":"arn:aws:iam::000000000000:role/r","BucketARN":"arn:aws:s3:::b"}}}`, true},
		{`{"DeliveryStreamName":"r","RedshiftDestinationConfiguration":{"RoleARN":"arn:aws:iam::000000000000:role/r","ClusterJDBCURL":"mysql://h/db","CopyCommand":{"DataTableName":"t"},"S3Configuration":{"RoleARN":"arn:aws:iam::000000000000:role/r","BucketARN":"arn:aws:s3:::b"}}}`, false},
		{`{"DeliveryStreamName":"o","AmazonopensearchserviceDestinationConfiguration":{"RoleARN":"arn:aws:iam::000000000000:role/r","ClusterEndpoint":"http://127.0.0.1:9200","IndexName":"i","S3Configuration":{"RoleARN":"arn:aws:iam::000000000000:role/r","BucketARN":"arn:aws:s3:::b"}}}`, true},
	} {
		m, aerr := awsproto.DecodeJSON([]byte(c.body), 64)
		if aerr != nil {
			t.Fatal(aerr)
		}
		in, aerr := awsproto.CheckTypes(m, fields)
		if aerr == nil {
			aerr = awsproto.Validate(in, fields)
		}
		if (aerr == nil) != c.ok {
			t.Errorf("%s: %v", c.body, aerr)
		}
	}
}
