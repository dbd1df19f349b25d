package server_test

import (
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/rheos/rheos/internal/config"
)

// firehoseCall sends a Firehose JSON request (unverified signature).
func (ts *testServer) firehoseCall(t *testing.T, op string, body any) rawResponse {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, ts.url+"/", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Firehose_20150804."+op)
	req.Header.Set("X-Amz-Date", "20260101T000000Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AK/20260101/"+region+"/firehose/aws4_request, SignedHeaders=host, Signature=x")
	return doRaw(t, req)
}

func (ts *testServer) waitDeliveryStream(t *testing.T, name string) map[string]any {
	t.Helper()
	for range 300 {
		r := ts.firehoseCall(t, "DescribeDeliveryStream", map[string]any{"DeliveryStreamName": name})
		d, _ := r.body["DeliveryStreamDescription"].(map[string]any)
		if d != nil && d["DeliveryStreamStatus"] == "ACTIVE" {
			return d
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("delivery stream %s never ACTIVE", name)
	return nil
}

// httpReceiver is an HTTP endpoint checking AWS's request contract.
type httpReceiver struct {
	t       *testing.T
	mu      sync.Mutex
	records []string
	ids     map[string]int // request id → attempts
	fail    int            // answer 500 to this many requests first
}

func (h *httpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, k := range []string{"X-Amz-Firehose-Protocol-Version", "X-Amz-Firehose-Request-Id", "X-Amz-Firehose-Source-Arn"} {
		if r.Header.Get(k) == "" {
			h.t.Errorf("missing header %s", k)
		}
	}
	if got := r.Header.Get("X-Amz-Firehose-Access-Key"); got != "my-access-key" {
		h.t.Errorf("access key %q", got)
	}
	if got := r.Header.Get("X-Amz-Firehose-Common-Attributes"); got != `{"commonAttributes":{"env":"test"}}` {
		h.t.Errorf("common attributes %q", got)
	}
	if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Content-Encoding") != "gzip" {
		h.t.Errorf("content headers %v", r.Header)
	}
	id := r.Header.Get("X-Amz-Firehose-Request-Id")
	h.ids[id]++
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		h.t.Errorf("body not gzip: %v", err)
		return
	}
	raw, _ := io.ReadAll(zr)
	var body struct {
		RequestID string `json:"requestId"`
		Timestamp int64  `json:"timestamp"`
		Records   []struct {
			Data string `json:"data"`
		} `json:"records"`
	}
	if err := json.Unmarshal(raw, &body); err != nil || body.RequestID != id || body.Timestamp == 0 {
		h.t.Errorf("body %s: %v", raw, err)
	}
	if h.fail > 0 {
		h.fail--
		w.WriteHeader(500)
		return
	}
	for _, rec := range body.Records {
		d, _ := base64.StdEncoding.DecodeString(rec.Data)
		h.records = append(h.records, string(d))
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"requestId": id, "timestamp": time.Now().UnixMilli()})
}

func TestFirehoseHTTPEndpointDelivery(t *testing.T) {
	recv := &httpReceiver{t: t, ids: map[string]int{}, fail: 1}
	hs := httptest.NewServer(recv)
	defer hs.Close()
	ts := startServer(t, t.TempDir(), func(c *config.Config) {})
	r := ts.firehoseCall(t, "CreateDeliveryStream", map[string]any{
		"DeliveryStreamName": "to-http", "DeliveryStreamType": "DirectPut",
		"HttpEndpointDestinationConfiguration": map[string]any{
			"EndpointConfiguration": map[string]any{"Url": hs.URL + "/ingest", "Name": "test", "AccessKey": "my-access-key"},
			"BufferingHints":        map[string]any{"SizeInMBs": 1, "IntervalInSeconds": 0},
			"RequestConfiguration": map[string]any{"ContentEncoding": "GZIP",
				"CommonAttributes": []any{map[string]any{"AttributeName": "env", "AttributeValue": "test"}}},
			"RetryOptions":    map[string]any{"DurationInSeconds": 60},
			"S3Configuration": map[string]any{"RoleARN": "arn:aws:iam::000000000000:role/f", "BucketARN": "arn:aws:s3:::backup"},
		},
	})
	if r.status != 200 || !strings.HasPrefix(r.body["DeliveryStreamARN"].(string), "arn:aws:firehose:"+region+":000000000000:deliverystream/to-http") {
		t.Fatalf("create: %d %v", r.status, r.body)
	}
	d := ts.waitDeliveryStream(t, "to-http")
	dest := d["Destinations"].([]any)[0].(map[string]any)["HttpEndpointDestinationDescription"].(map[string]any)
	if ep := dest["EndpointConfiguration"].(map[string]any); ep["AccessKey"] != nil || ep["Url"] != hs.URL+"/ingest" {
		t.Errorf("described endpoint %v", ep)
	}
	var want []string
	for i := range 20 {
		rec := "record-" + string(rune('a'+i))
		want = append(want, rec)
		r := ts.firehoseCall(t, "PutRecord", map[string]any{"DeliveryStreamName": "to-http", "Record": map[string]any{"Data": base64.StdEncoding.EncodeToString([]byte(rec))}})
		if r.status != 200 || len(r.body["RecordId"].(string)) == 0 {
			t.Fatalf("put: %d %v", r.status, r.body)
		}
	}
	batch := []any{}
	for i := range 5 {
		rec := "batch-" + string(rune('a'+i))
		want = append(want, rec)
		batch = append(batch, map[string]any{"Data": base64.StdEncoding.EncodeToString([]byte(rec))})
	}
	r = ts.firehoseCall(t, "PutRecordBatch", map[string]any{"DeliveryStreamName": "to-http", "Records": batch})
	if r.status != 200 || r.body["FailedPutCount"].(float64) != 0 || len(r.body["RequestResponses"].([]any)) != 5 {
		t.Fatalf("batch: %d %v", r.status, r.body)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		recv.mu.Lock()
		n := len(recv.records)
		recv.mu.Unlock()
		if n >= len(want) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	recv.mu.Lock()
	defer recv.mu.Unlock()
	seen := map[string]bool{}
	for _, r := range recv.records {
		seen[r] = true
	}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("record %s never delivered (got %d records)", w, len(recv.records))
		}
	}
	retried := false
	for _, n := range recv.ids {
		retried = retried || n > 1
	}
	if !retried {
		t.Error("the failed request was not retried with the same request id")
	}
}

func TestFirehoseAPIErrors(t *testing.T) {
	ts := newServer(t)
	r := ts.firehoseCall(t, "DescribeDeliveryStream", map[string]any{"DeliveryStreamName": "nope"})
	if r.typ != "ResourceNotFoundException" || r.message != "Firehose nope under account 000000000000 not found." {
		t.Errorf("describe missing: %v", r.body)
	}
	r = ts.firehoseCall(t, "CreateDeliveryStream", map[string]any{"DeliveryStreamName": "bad name!"})
	if r.typ != "ValidationException" {
		t.Errorf("bad name: %v", r.body)
	}
	s3 := map[string]any{"RoleARN": "arn:aws:iam::000000000000:role/f", "BucketARN": "arn:aws:s3:::b", "Prefix": "data/!{timestamp:yyyy}/"}
	r = ts.firehoseCall(t, "CreateDeliveryStream", map[string]any{"DeliveryStreamName": "s3", "ExtendedS3DestinationConfiguration": s3})
	if r.typ != "InvalidArgumentException" || !strings.Contains(r.message, "ErrorOutputPrefix") {
		t.Errorf("prefix rule: %v", r.body)
	}
	s3["ErrorOutputPrefix"] = "errors/!{firehose:error-output-type}/"
	if r = ts.firehoseCall(t, "CreateDeliveryStream", map[string]any{"DeliveryStreamName": "s3", "ExtendedS3DestinationConfiguration": s3}); r.status != 200 {
		t.Fatalf("create: %v", r.body)
	}
	if r = ts.firehoseCall(t, "CreateDeliveryStream", map[string]any{"DeliveryStreamName": "s3", "ExtendedS3DestinationConfiguration": s3}); r.typ != "ResourceInUseException" {
		t.Errorf("duplicate: %v", r.body)
	}
	d := ts.waitDeliveryStream(t, "s3")
	if d["VersionId"] != "1" {
		t.Errorf("version %v", d["VersionId"])
	}
	r = ts.firehoseCall(t, "UpdateDestination", map[string]any{"DeliveryStreamName": "s3", "CurrentDeliveryStreamVersionId": "7",
		"DestinationId": "destinationId-000000000001", "ExtendedS3DestinationUpdate": map[string]any{"CompressionFormat": "GZIP"}})
	if r.typ != "ConcurrentModificationException" {
		t.Errorf("stale version: %v", r.body)
	}
	r = ts.firehoseCall(t, "UpdateDestination", map[string]any{"DeliveryStreamName": "s3", "CurrentDeliveryStreamVersionId": "1",
		"DestinationId": "destinationId-000000000001", "ExtendedS3DestinationUpdate": map[string]any{"CompressionFormat": "GZIP"}})
	if r.status != 200 {
		t.Fatalf("update: %v", r.body)
	}
	d = ts.waitDeliveryStream(t, "s3")
	ext := d["Destinations"].([]any)[0].(map[string]any)["ExtendedS3DestinationDescription"].(map[string]any)
	if d["VersionId"] != "2" || ext["CompressionFormat"] != "GZIP" || ext["Prefix"] != "data/!{timestamp:yyyy}/" {
		t.Errorf("after update (merge keeps the prefix): %v", d)
	}
	r = ts.firehoseCall(t, "ListDeliveryStreams", map[string]any{})
	if names := r.body["DeliveryStreamNames"].([]any); len(names) != 1 || names[0] != "s3" {
		t.Errorf("list: %v", r.body)
	}
	if r = ts.firehoseCall(t, "TagDeliveryStream", map[string]any{"DeliveryStreamName": "s3", "Tags": []any{map[string]any{"Key": "team", "Value": "data"}}}); r.status != 200 {
		t.Fatal(r.body)
	}
	r = ts.firehoseCall(t, "ListTagsForDeliveryStream", map[string]any{"DeliveryStreamName": "s3"})
	if tags := r.body["Tags"].([]any); len(tags) != 1 || r.body["HasMoreTags"] != false {
		t.Errorf("tags: %v", r.body)
	}
	if r = ts.firehoseCall(t, "DeleteDeliveryStream", map[string]any{"DeliveryStreamName": "s3"}); r.status != 200 {
		t.Fatal(r.body)
	}
}

// TestFirehoseLambdaProcessor: a jq function as Firehose's Lambda processor
// (AWS's event and response contract): records are upper-cased, "drop"
// records are Dropped, "bad" ones fail; the rest reach the HTTP endpoint
// with AppendDelimiterToRecord applied after the function.
func TestFirehoseLambdaProcessor(t *testing.T) {
	recv := &httpReceiver{t: t, ids: map[string]int{}}
	hs := httptest.NewServer(recv)
	defer hs.Close()
	ts := newServer(t)
	program := `{records: [.records[] | (.data | @base64d) as $d |
		if $d == "drop" then {recordId, result: "Dropped"}
		elif $d == "bad" then {recordId, result: "ProcessingFailed", data}
		else {recordId, result: "Ok", data: ($d | ascii_upcase | @base64)} end]}`
	_, err := lambdaClient(ts.url).CreateFunction(context.Background(), &lambda.CreateFunctionInput{FunctionName: aws.String("upper"), Runtime: "rheos.jq",
		Handler: aws.String("t.jq"), Role: aws.String("arn:aws:iam::000000000000:role/r"), Code: &lambdatypes.FunctionCode{ZipFile: zipOf(t, map[string]string{"t.jq": program})}})
	if err != nil {
		t.Fatal(err)
	}
	r := ts.firehoseCall(t, "CreateDeliveryStream", map[string]any{
		"DeliveryStreamName": "processed",
		"HttpEndpointDestinationConfiguration": map[string]any{
			"EndpointConfiguration": map[string]any{"Url": hs.URL, "AccessKey": "my-access-key"},
			"BufferingHints":        map[string]any{"SizeInMBs": 1, "IntervalInSeconds": 0},
			"RequestConfiguration": map[string]any{"ContentEncoding": "GZIP",
				"CommonAttributes": []any{map[string]any{"AttributeName": "env", "AttributeValue": "test"}}},
			"ProcessingConfiguration": map[string]any{"Enabled": true, "Processors": []any{
				map[string]any{"Type": "Lambda", "Parameters": []any{
					map[string]any{"ParameterName": "LambdaArn", "ParameterValue": "arn:aws:lambda:us-east-1:000000000000:function:upper"}}},
				map[string]any{"Type": "AppendDelimiterToRecord"},
			}},
			"S3Configuration": map[string]any{"RoleARN": "arn:aws:iam::000000000000:role/f", "BucketARN": "arn:aws:s3:::backup"},
		},
	})
	if r.status != 200 {
		t.Fatalf("create: %v", r.body)
	}
	ts.waitDeliveryStream(t, "processed")
	batch := []any{}
	for _, d := range []string{"alpha", "drop", "beta"} {
		batch = append(batch, map[string]any{"Data": base64.StdEncoding.EncodeToString([]byte(d))})
	}
	if r = ts.firehoseCall(t, "PutRecordBatch", map[string]any{"DeliveryStreamName": "processed", "Records": batch}); r.status != 200 {
		t.Fatal(r.body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		recv.mu.Lock()
		n := len(recv.records)
		recv.mu.Unlock()
		if n >= 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	recv.mu.Lock()
	defer recv.mu.Unlock()
	if strings.Join(recv.records, "") != "ALPHA\nBETA\n" {
		t.Errorf("delivered %q", recv.records)
	}
}

// TestFirehoseKinesisSourceAcrossSplit: a KinesisStreamAsSource delivery
// stream copies a Data Stream into its buffer, parents before children
// across a split, and delivers every record written after it started.
func TestFirehoseKinesisSourceAcrossSplit(t *testing.T) {
	recv := &httpReceiver{t: t, ids: map[string]int{}}
	hs := httptest.NewServer(recv)
	defer hs.Close()
	ts := newServer(t)
	ts.createStream(t, "src", 1)
	ts.waitActive(t, "src")
	r := ts.firehoseCall(t, "CreateDeliveryStream", map[string]any{
		"DeliveryStreamName": "from-kds", "DeliveryStreamType": "KinesisStreamAsSource",
		"KinesisStreamSourceConfiguration": map[string]any{"KinesisStreamARN": streamARN("src"), "RoleARN": "arn:aws:iam::000000000000:role/f"},
		"HttpEndpointDestinationConfiguration": map[string]any{
			"EndpointConfiguration": map[string]any{"Url": hs.URL, "AccessKey": "my-access-key"},
			"BufferingHints":        map[string]any{"SizeInMBs": 1, "IntervalInSeconds": 0},
			"RequestConfiguration": map[string]any{"ContentEncoding": "GZIP",
				"CommonAttributes": []any{map[string]any{"AttributeName": "env", "AttributeValue": "test"}}},
			"S3Configuration": map[string]any{"RoleARN": "arn:aws:iam::000000000000:role/f", "BucketARN": "arn:aws:s3:::backup"},
		},
	})
	if r.status != 200 {
		t.Fatalf("create: %v", r.body)
	}
	d := ts.waitDeliveryStream(t, "from-kds")
	if src := d["Source"].(map[string]any)["KinesisStreamSourceDescription"].(map[string]any); src["KinesisStreamARN"] != streamARN("src") {
		t.Errorf("source %v", src)
	}
	if r = ts.firehoseCall(t, "PutRecord", map[string]any{"DeliveryStreamName": "from-kds", "Record": map[string]any{"Data": "eA=="}}); r.typ != "InvalidArgumentException" {
		t.Errorf("direct put on a Kinesis-sourced stream: %v", r.body)
	}
	time.Sleep(1200 * time.Millisecond) // the pump has started (records before that are not its)
	var want []string
	for i := range 10 {
		want = append(want, "before-"+string(rune('a'+i)))
	}
	putTo(t, ts, "src", bytesOf(want)...)
	if _, err := ts.kc.SplitShard(context.Background(), &kinesis.SplitShardInput{StreamName: aws.String("src"),
		ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String("170141183460469231731687303715884105728")}); err != nil {
		t.Fatal(err)
	}
	ts.waitActive(t, "src")
	var after []string
	for i := range 10 {
		after = append(after, "after-"+string(rune('a'+i)))
	}
	for i, d := range after {
		if _, err := ts.kc.PutRecord(context.Background(), &kinesis.PutRecordInput{StreamName: aws.String("src"),
			PartitionKey: aws.String(fmt.Sprintf("pk-%d", i)), Data: []byte(d)}); err != nil {
			t.Fatal(err)
		}
	}
	want = append(want, after...)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		recv.mu.Lock()
		n := len(recv.records)
		recv.mu.Unlock()
		if n >= len(want) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	recv.mu.Lock()
	defer recv.mu.Unlock()
	got := map[string]int{}
	for i, r := range recv.records {
		got[r] = i + 1
	}
	for _, w := range want {
		if got[w] == 0 {
			t.Errorf("%s never delivered", w)
		}
	}
	for _, b := range want[:10] {
		for _, a := range after {
			if got[b] > got[a] {
				t.Errorf("child record %s delivered before parent record %s", a, b)
			}
		}
	}
}

func bytesOf(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}
