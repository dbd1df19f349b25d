package server_test

import (
	"bytes"
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
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// kinesisEvent is the part of Lambda's Kinesis event the tests read.
type kinesisEvent struct {
	Records []struct {
		Kinesis struct {
			PartitionKey, SequenceNumber, Data string
			KinesisSchemaVersion               string
		}
		EventSource, EventID, EventName, EventSourceARN, AwsRegion string
	}
}

// batchSink is a url function's server: it records every batch and can
// fail some (per the fail callback, which returns the handler's response).
type batchSink struct {
	mu      sync.Mutex
	batches []kinesisEvent
	respond func(ev kinesisEvent) (status int, body string)
}

func (b *batchSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var ev kinesisEvent
	json.Unmarshal(body, &ev)
	b.mu.Lock()
	b.batches = append(b.batches, ev)
	respond := b.respond
	b.mu.Unlock()
	if respond != nil {
		if status, out := respond(ev); status != 0 {
			w.WriteHeader(status)
			io.WriteString(w, out)
			return
		}
	}
	io.WriteString(w, "null")
}

func (b *batchSink) delivered() map[string][]string { // shard → sequence numbers in delivery order
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string][]string{}
	for _, ev := range b.batches {
		for _, r := range ev.Records {
			shard := r.EventID[:len(r.EventID)-len(r.Kinesis.SequenceNumber)-1]
			out[shard] = append(out[shard], r.Kinesis.SequenceNumber)
		}
	}
	return out
}

// TestEventSourceMappingKinesis: a mapping on a 2-shard stream delivers
// every record, in order per shard, in single-shard batches of at most
// BatchSize, with Lambda's event shape; AWS's defaults in the answer; a
// ReportBatchItemFailures answer redelivers from the failed record; after
// a restart delivery resumes at the checkpoint.
func TestEventSourceMappingKinesis(t *testing.T) {
	sink := &batchSink{}
	fnSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { sink.ServeHTTP(w, r) }))
	defer fnSrv.Close()
	dir := t.TempDir()
	ts := startServer(t, dir, nil)
	ctx := context.Background()
	lc := lambdaClient(ts.url)
	ts.createStream(t, "src", 2)
	createURLFunction(t, lc, "sink", fnSrv.URL)
	put := func(from, n int) {
		for i := from; i < from+n; i += 100 {
			recs := make([]ktypes.PutRecordsRequestEntry, 0, 100)
			for j := i; j < i+100 && j < from+n; j++ {
				recs = append(recs, ktypes.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprintf("key-%d", j%20)), Data: []byte(fmt.Sprintf(`{"n":%d}`, j))})
			}
			if _, err := ts.kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("src"), Records: recs}); err != nil {
				t.Fatal(err)
			}
		}
	}
	put(0, 1000)
	created, err := lc.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("sink"),
		EventSourceArn: aws.String(streamARN("src")), StartingPosition: types.EventSourcePositionTrimHorizon,
		FunctionResponseTypes: []types.FunctionResponseType{types.FunctionResponseTypeReportBatchItemFailures}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(created.State) != "Creating" || aws.ToInt32(created.BatchSize) != 100 || aws.ToInt32(created.MaximumRetryAttempts) != -1 ||
		aws.ToInt32(created.MaximumRecordAgeInSeconds) != -1 || aws.ToInt32(created.ParallelizationFactor) != 1 ||
		aws.ToString(created.LastProcessingResult) != "No records processed" || aws.ToString(created.FunctionArn) != "arn:aws:lambda:us-east-1:000000000000:function:sink" ||
		aws.ToString(created.EventSourceMappingArn) != "arn:aws:lambda:us-east-1:000000000000:event-source-mapping:"+aws.ToString(created.UUID) {
		t.Fatalf("create: %+v", created)
	}
	_, err = lc.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("sink"),
		EventSourceArn: aws.String(streamARN("src")), StartingPosition: types.EventSourcePositionTrimHorizon})
	wantAPIError(t, err, "ResourceConflictException", aws.ToString(created.UUID))
	waitDelivered := func(want int) map[string][]string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			got := sink.delivered()
			n := 0
			seen := map[string]bool{}
			for _, seqs := range got {
				for _, s := range seqs {
					if !seen[s] {
						seen[s] = true
						n++
					}
				}
			}
			if n >= want {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d records delivered", n, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	got := waitDelivered(1000)
	inShardOrder(t, got)
	sink.mu.Lock()
	for _, ev := range sink.batches {
		if len(ev.Records) == 0 || len(ev.Records) > 100 {
			t.Fatalf("batch of %d records", len(ev.Records))
		}
		r := ev.Records[0]
		if r.EventSource != "aws:kinesis" || r.EventName != "aws:kinesis:record" || r.Kinesis.KinesisSchemaVersion != "1.0" ||
			r.EventSourceARN != streamARN("src") || r.AwsRegion != "us-east-1" {
			t.Fatalf("event record %+v", r)
		}
	}
	batchesBefore := len(sink.batches)
	// The next batch reports its third record as failed once.
	failedOnce := "" // guarded by failMu: the two shards' batches arrive concurrently
	var failMu sync.Mutex
	sink.respond = func(ev kinesisEvent) (int, string) {
		failMu.Lock()
		defer failMu.Unlock()
		if failedOnce == "" && len(ev.Records) >= 3 {
			failedOnce = ev.Records[2].Kinesis.SequenceNumber
			return 200, `{"batchItemFailures":[{"itemIdentifier":"` + failedOnce + `"}]}`
		}
		return 0, ""
	}
	sink.mu.Unlock()
	put(1000, 200)
	waitDelivered(1200)
	failMu.Lock()
	failed := failedOnce
	failMu.Unlock()
	sink.mu.Lock()
	redelivered := false
	for _, ev := range sink.batches[batchesBefore:] {
		if len(ev.Records) > 0 && ev.Records[0].Kinesis.SequenceNumber == failed {
			redelivered = true
		}
	}
	sink.mu.Unlock()
	if failed == "" || !redelivered {
		t.Fatalf("the reported failure %q was not redelivered from that record", failed)
	}
	if resp, err := http.Get(ts.url + "/metrics"); err == nil {
		mb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(mb), `rheos_lambda_event_source_records_total{mapping="`+aws.ToString(created.UUID)+`",outcome="ok"}`) ||
			!strings.Contains(string(mb), `rheos_lambda_event_source_iterator_age_milliseconds{mapping="`+aws.ToString(created.UUID)+`"}`) {
			t.Errorf("event source mapping metrics missing")
		}
	}
	if m, err := lc.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: created.UUID}); err != nil || aws.ToString(m.State) != "Enabled" {
		t.Fatalf("get: %+v %v", m, err)
	}
	// Restart: delivery resumes at the checkpoint (no record before it again).
	ts.stop()
	sink.mu.Lock()
	sink.batches, sink.respond = nil, nil
	sink.mu.Unlock()
	ts = startServer(t, dir, nil)
	ts.waitActive(t, "src")
	put(1200, 100)
	got = waitDelivered(100)
	total := 0
	for _, seqs := range got {
		total += len(seqs)
	}
	if total > 100+200 { // at most the batches in flight at the stop, redelivered
		t.Fatalf("after a restart %d records were delivered, want about 100", total)
	}
	list, err := lambdaClient(ts.url).ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{FunctionName: aws.String("sink")})
	if err != nil || len(list.EventSourceMappings) != 1 {
		t.Fatalf("list: %+v %v", list, err)
	}
	if _, err := lambdaClient(ts.url).DeleteEventSourceMapping(ctx, &lambda.DeleteEventSourceMappingInput{UUID: created.UUID}); err != nil {
		t.Fatal(err)
	}
	_, err = lambdaClient(ts.url).GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: created.UUID})
	wantAPIError(t, err, "ResourceNotFoundException", "does not exist")
}

// TestEventSourceMappingFollowsLineage: records put before and after a
// split and a merge reach the function with every partition key's records
// in put order: a child shard is read only once its parents are done.
func TestEventSourceMappingFollowsLineage(t *testing.T) {
	sink := &batchSink{}
	ts, lc := esmServer(t, sink, "re", 2, "sink")
	ctx := context.Background()
	n := 0
	put := func(count int) {
		for i := 0; i < count; i++ {
			key := fmt.Sprintf("key-%d", n%16)
			if _, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("re"), PartitionKey: aws.String(key),
				Data: []byte(fmt.Sprintf(`{"k":%q,"n":%d}`, key, n))}); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	put(200)
	if _, err := lc.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("sink"),
		EventSourceArn: aws.String(streamARN("re")), StartingPosition: types.EventSourcePositionTrimHorizon, BatchSize: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.kc.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("re"), ShardToSplit: aws.String("shardId-000000000000"),
		NewStartingHashKey: aws.String("85070591730234615865843651857942052864")}); err != nil {
		t.Fatal(err)
	}
	ts.waitActive(t, "re")
	put(200)
	if _, err := ts.kc.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String("re"), ShardToMerge: aws.String("shardId-000000000002"),
		AdjacentShardToMerge: aws.String("shardId-000000000003")}); err != nil {
		t.Fatal(err)
	}
	ts.waitActive(t, "re")
	put(200)
	deadline := time.Now().Add(30 * time.Second)
	for {
		sink.mu.Lock()
		last := map[string]int{}
		seen := map[int]bool{}
		for _, ev := range sink.batches {
			for _, r := range ev.Records {
				var d struct {
					K string
					N int
				}
				b, _ := base64Decode(r.Kinesis.Data)
				json.Unmarshal(b, &d)
				if prev, ok := last[d.K]; ok && d.N < prev {
					sink.mu.Unlock()
					t.Fatalf("key %s: record %d delivered after %d", d.K, d.N, prev)
				}
				last[d.K] = d.N
				seen[d.N] = true
			}
		}
		sink.mu.Unlock()
		if len(seen) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records delivered", len(seen), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func base64Decode(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

// TestEventSourceMappingOnFailure: a poison record fails its batch; after
// MaximumRetryAttempts the batch is given up and a failure record with its
// KinesisBatchInfo goes to the OnFailure stream (a Rheos stream: an
// extension), and the shard moves on.
func TestEventSourceMappingOnFailure(t *testing.T) {
	sink := &batchSink{respond: func(ev kinesisEvent) (int, string) { // the poison's error body
		for _, r := range ev.Records {
			if d, _ := base64Decode(r.Kinesis.Data); string(d) == "poison" {
				return 200, `{"errorMessage":"poisoned","errorType":"Error"}`
			}
		}
		return 0, ""
	}}
	fnSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev kinesisEvent
		json.Unmarshal(body, &ev)
		for _, rec := range ev.Records {
			if d, _ := base64Decode(rec.Kinesis.Data); string(d) == "poison" {
				w.Header().Set("X-Amz-Function-Error", "Unhandled")
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sink.ServeHTTP(w, r)
	}))
	defer fnSrv.Close()
	ts := newServer(t)
	ctx := context.Background()
	lc := lambdaClient(ts.url)
	ts.createStream(t, "src", 1)
	ts.createStream(t, "dlq", 1)
	createURLFunction(t, lc, "sink", fnSrv.URL)
	var poisonSeq string
	for _, d := range []string{"a", "poison", "b"} {
		out, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("src"), PartitionKey: aws.String("k"), Data: []byte(d)})
		if err != nil {
			t.Fatal(err)
		}
		if d == "poison" {
			poisonSeq = aws.ToString(out.SequenceNumber)
		}
	}
	m, err := lc.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("sink"),
		EventSourceArn: aws.String(streamARN("src")), StartingPosition: types.EventSourcePositionTrimHorizon, BatchSize: aws.Int32(1),
		MaximumRetryAttempts: aws.Int32(2), DestinationConfig: &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String(streamARN("dlq"))}}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(m.DestinationConfig.OnFailure.Destination) != streamARN("dlq") {
		t.Fatalf("destination %+v", m.DestinationConfig)
	}
	// The record after the poison arrives once the poison is given up.
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := map[string]int{}
		sink.mu.Lock()
		for _, ev := range sink.batches {
			for _, r := range ev.Records {
				d, _ := base64Decode(r.Kinesis.Data)
				got[string(d)]++
			}
		}
		sink.mu.Unlock()
		if got["b"] > 0 {
			if got["poison"] != 3 || got["a"] != 1 {
				t.Fatalf("deliveries %v: want a once, poison 3 times (1 + 2 retries), then b", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries %v: b never arrived", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	it := ts.iterator(t, &kinesis.GetShardIteratorInput{StreamName: aws.String("dlq"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: ktypes.ShardIteratorTypeTrimHorizon})
	recs := ts.readAll(t, it)
	if len(recs) != 1 {
		t.Fatalf("%d failure records, want 1", len(recs))
	}
	var fr struct {
		RequestContext struct {
			Condition              string
			ApproximateInvokeCount int
			FunctionArn            string
		}
		ResponseContext  struct{ FunctionError string }
		Version          string
		KinesisBatchInfo struct {
			ShardID                                string
			StartSequenceNumber, EndSequenceNumber string
			BatchSize                              int
			StreamArn                              string
		}
	}
	if err := json.Unmarshal(recs[0].Data, &fr); err != nil {
		t.Fatal(err)
	}
	bi := fr.KinesisBatchInfo
	if fr.RequestContext.Condition != "RetryAttemptsExhausted" || fr.RequestContext.ApproximateInvokeCount != 3 || fr.ResponseContext.FunctionError != "Unhandled" ||
		fr.Version != "1.0" || bi.ShardID != "shardId-000000000000" || bi.StartSequenceNumber != poisonSeq || bi.EndSequenceNumber != poisonSeq ||
		bi.BatchSize != 1 || bi.StreamArn != streamARN("src") {
		t.Fatalf("failure record %s", recs[0].Data)
	}
}

// TestEventSourceMappingFilters: only records whose JSON data matches the
// FilterCriteria reach the function (the rest are skipped, checkpointed
// with them); an invalid pattern is refused at create.
func TestEventSourceMappingFilters(t *testing.T) {
	sink := &batchSink{}
	ts, lc := esmServer(t, sink, "f", 1, "sink")
	ctx := context.Background()
	_, err := lc.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("sink"),
		EventSourceArn: aws.String(streamARN("f")), StartingPosition: types.EventSourcePositionTrimHorizon,
		FilterCriteria: &types.FilterCriteria{Filters: []types.Filter{{Pattern: aws.String(`{"data": "order"}`)}}}})
	wantAPIError(t, err, "InvalidParameterValueException", "Invalid filter pattern definition")
	for _, d := range []string{`{"kind":"order","n":1}`, `{"kind":"refund"}`, `not json`, `{"kind":"order","n":2}`} {
		if _, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("f"), PartitionKey: aws.String("k"), Data: []byte(d)}); err != nil {
			t.Fatal(err)
		}
	}
	m, err := lc.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("sink"),
		EventSourceArn: aws.String(streamARN("f")), StartingPosition: types.EventSourcePositionTrimHorizon,
		FilterCriteria: &types.FilterCriteria{Filters: []types.Filter{{Pattern: aws.String(`{"data": {"kind": ["order"]}}`)}}}})
	if err != nil || len(m.FilterCriteria.Filters) != 1 {
		t.Fatalf("create: %+v %v", m, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got []string
		sink.mu.Lock()
		for _, ev := range sink.batches {
			for _, r := range ev.Records {
				d, _ := base64Decode(r.Kinesis.Data)
				got = append(got, string(d))
			}
		}
		sink.mu.Unlock()
		if len(got) >= 2 {
			if len(got) != 2 || got[0] != `{"kind":"order","n":1}` || got[1] != `{"kind":"order","n":2}` {
				t.Fatalf("delivered %q, want the two orders", got)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivered %q", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestEventSourceMappingParallelizationFactor: with ParallelizationFactor 4
// one shard has several batches in flight at once, and each partition key's
// records still arrive in order.
func TestEventSourceMappingParallelizationFactor(t *testing.T) {
	var mu sync.Mutex
	inFlight, maxInFlight := 0, 0
	last := map[string]int{}
	delivered := 0
	var orderErr string
	fnSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev kinesisEvent
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &ev)
		mu.Lock()
		inFlight++
		maxInFlight = max(maxInFlight, inFlight)
		mu.Unlock()
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		inFlight--
		for _, rec := range ev.Records {
			d, _ := base64Decode(rec.Kinesis.Data)
			var n int
			fmt.Sscanf(string(d), "%d", &n)
			if prev, ok := last[rec.Kinesis.PartitionKey]; ok && n < prev && orderErr == "" {
				orderErr = fmt.Sprintf("key %s: %d after %d", rec.Kinesis.PartitionKey, n, prev)
			}
			last[rec.Kinesis.PartitionKey] = n
			delivered++
		}
		mu.Unlock()
		io.WriteString(w, "null")
	}))
	defer fnSrv.Close()
	ts := newServer(t)
	ctx := context.Background()
	lc := lambdaClient(ts.url)
	ts.createStream(t, "pf", 1)
	createURLFunction(t, lc, "slow", fnSrv.URL)
	recs := make([]ktypes.PutRecordsRequestEntry, 400)
	for i := range recs {
		recs[i] = ktypes.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprintf("key-%d", i%16)), Data: []byte(fmt.Sprint(i))}
	}
	if _, err := ts.kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("pf"), Records: recs}); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("slow"),
		EventSourceArn: aws.String(streamARN("pf")), StartingPosition: types.EventSourcePositionTrimHorizon,
		BatchSize: aws.Int32(20), ParallelizationFactor: aws.Int32(4)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		d, m, oe := delivered, maxInFlight, orderErr
		mu.Unlock()
		if oe != "" {
			t.Fatal(oe)
		}
		if d >= 400 {
			if m < 2 {
				t.Fatalf("at most %d batch in flight with ParallelizationFactor 4", m)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 400 delivered", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// esmServer starts a server with a stream of shards and a url function fn
// forwarding to handler.
func esmServer(t *testing.T, handler http.Handler, stream string, shards int32, fn string) (*testServer, *lambda.Client) {
	t.Helper()
	fnSrv := httptest.NewServer(handler)
	t.Cleanup(fnSrv.Close)
	ts := newServer(t)
	lc := lambdaClient(ts.url)
	ts.createStream(t, stream, shards)
	createURLFunction(t, lc, fn, fnSrv.URL)
	return ts, lc
}

// inShardOrder fails the test unless each shard's records were delivered
// once each, in ascending sequence order.
func inShardOrder(t *testing.T, got map[string][]string) {
	t.Helper()
	for shard, seqs := range got {
		for i := 1; i < len(seqs); i++ {
			if len(seqs[i]) == len(seqs[i-1]) && seqs[i] <= seqs[i-1] {
				t.Fatalf("shard %s: %s delivered after %s", shard, seqs[i], seqs[i-1])
			}
		}
	}
}

// createURLFunction creates a url function forwarding to a test server.
func createURLFunction(t testing.TB, lc *lambda.Client, name, url string) {
	t.Helper()
	if _, err := lc.CreateFunction(context.Background(), &lambda.CreateFunctionInput{FunctionName: aws.String(name), PackageType: types.PackageTypeImage,
		Role: aws.String("arn:aws:iam::000000000000:role/r"), Code: &types.FunctionCode{ImageUri: aws.String(url)}}); err != nil {
		t.Fatal(err)
	}
}
