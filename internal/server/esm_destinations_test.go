package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/rheos/rheos/internal/config"
)

// TestEventSourceMappingOnFailureS3: a batch the function fails, with
// MaximumRetryAttempts 0, is given up to an S3 OnFailure destination: one
// object per batch under aws/lambda/<UUID>/<shard>/YYYY/MM/DD/, holding
// the invocation record (AWS's members, in AWS's order) and the batch's
// event as an escaped JSON string in "payload"; SQS destinations and
// malformed bucket ARNs are refused.
func TestEventSourceMappingOnFailureS3(t *testing.T) {
	ts, lc := esmServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		io.WriteString(w, `{"errorMessage":"always fails","errorType":"Error"}`)
	}), "src", 1, "fails")
	ctx := context.Background()
	sc := ts.s3Client(t, true, "AKIDTEST", "secret")
	if _, err := sc.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("failures")}); err != nil {
		t.Fatal(err)
	}
	for _, dest := range []string{"arn:aws:sqs:us-east-1:000000000000:dlq", "arn:aws:s3:::failures/prefix"} {
		_, err := lc.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("fails"),
			EventSourceArn: aws.String(streamARN("src")), StartingPosition: types.EventSourcePositionTrimHorizon,
			DestinationConfig: &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String(dest)}}})
		wantAPIError(t, err, "InvalidParameterValueException", dest)
	}
	out, err := ts.kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("src"), Records: []ktypes.PutRecordsRequestEntry{
		{PartitionKey: aws.String("k"), Data: []byte(`{"n":1}`)}, {PartitionKey: aws.String("k"), Data: []byte(`{"n":2}`)},
		{PartitionKey: aws.String("k"), Data: []byte(`{"n":3}`)}}})
	if err != nil {
		t.Fatal(err)
	}
	first, last := aws.ToString(out.Records[0].SequenceNumber), aws.ToString(out.Records[2].SequenceNumber)
	m, err := lc.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("fails"),
		EventSourceArn: aws.String(streamARN("src")), StartingPosition: types.EventSourcePositionTrimHorizon, MaximumRetryAttempts: aws.Int32(0),
		DestinationConfig: &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String("arn:aws:s3:::failures")}}})
	if err != nil {
		t.Fatal(err)
	}
	if d := aws.ToString(m.DestinationConfig.OnFailure.Destination); d != "arn:aws:s3:::failures" {
		t.Fatalf("destination %q", d)
	}
	uuid := aws.ToString(m.UUID)
	prefix := "aws/lambda/" + uuid + "/shardId-000000000000/"
	var key string
	deadline := time.Now().Add(20 * time.Second)
	for key == "" {
		list, err := sc.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("failures")})
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case len(list.Contents) > 1:
			t.Fatalf("%d objects, want 1", len(list.Contents))
		case len(list.Contents) == 1:
			key = aws.ToString(list.Contents[0].Key)
		case time.Now().After(deadline):
			t.Fatal("no failure record in the bucket")
		default:
			time.Sleep(20 * time.Millisecond)
		}
	}
	// aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<Random UUID>
	km := regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `(\d{4})/(\d{2})/(\d{2})/(\d{4})-(\d{2})-(\d{2})T\d{2}\.\d{2}\.\d{2}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).FindStringSubmatch(key)
	if km == nil || km[1] != km[4] || km[2] != km[5] || km[3] != km[6] {
		t.Fatalf("object key %q", key)
	}
	obj, err := sc.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("failures"), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	if !strings.HasPrefix(string(body), `{"requestContext":{"requestId":`) {
		t.Fatalf("record does not start as AWS's: %s", body)
	}
	var rec struct {
		RequestContext struct {
			RequestID, FunctionArn, Condition string
			ApproximateInvokeCount            int
		}
		ResponseContext struct {
			StatusCode                     int
			ExecutedVersion, FunctionError string
		}
		Version, Timestamp string
		KinesisBatchInfo   struct {
			ShardID, StartSequenceNumber, EndSequenceNumber                 string
			ApproximateArrivalOfFirstRecord, ApproximateArrivalOfLastRecord string
			BatchSize                                                       int
			StreamArn                                                       string
		}
		Payload string
	}
	if err := json.Unmarshal(body, &rec); err != nil {
		t.Fatal(err)
	}
	rc, bi := rec.RequestContext, rec.KinesisBatchInfo
	if rc.Condition != "RetryAttemptsExhausted" || rc.ApproximateInvokeCount != 1 || rc.RequestID == "" ||
		rc.FunctionArn != "arn:aws:lambda:us-east-1:000000000000:function:fails" ||
		rec.ResponseContext.StatusCode != 200 || rec.ResponseContext.ExecutedVersion != "$LATEST" || rec.ResponseContext.FunctionError != "Unhandled" ||
		rec.Version != "1.0" || bi.ShardID != "shardId-000000000000" || bi.StartSequenceNumber != first || bi.EndSequenceNumber != last ||
		bi.BatchSize != 3 || bi.StreamArn != streamARN("src") || bi.ApproximateArrivalOfFirstRecord == "" {
		t.Fatalf("invocation record %s", body)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", rec.Timestamp); err != nil {
		t.Fatalf("timestamp %q: %v", rec.Timestamp, err)
	}
	// The payload is the event the function was given, as a string.
	var ev kinesisEvent
	if err := json.Unmarshal([]byte(rec.Payload), &ev); err != nil || len(ev.Records) != 3 {
		t.Fatalf("payload %q: %v", rec.Payload, err)
	}
	for i, r := range ev.Records {
		d, _ := base64Decode(r.Kinesis.Data)
		if string(d) != `{"n":`+string(rune('1'+i))+`}` || r.Kinesis.SequenceNumber != aws.ToString(out.Records[i].SequenceNumber) ||
			r.EventSource != "aws:kinesis" || r.EventSourceARN != streamARN("src") || r.EventID != "shardId-000000000000:"+r.Kinesis.SequenceNumber {
			t.Fatalf("payload record %d: %+v", i, r)
		}
	}
	// The destination can be removed with "".
	up, err := lc.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: m.UUID,
		DestinationConfig: &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String("")}}})
	if err != nil || up.DestinationConfig.OnFailure.Destination != nil {
		t.Fatalf("update: %+v %v", up, err)
	}
}

// TestEventSourceMappingEnhancedFanOut: a mapping whose EventSourceArn is
// an enhanced fan-out consumer reads the consumer's stream (every shard,
// in order) and answers with the consumer ARN as given; a consumer not
// ACTIVE, or unknown, is refused; when the consumer is deregistered the
// mapping is disabled by Lambda, saying why.
func TestEventSourceMappingEnhancedFanOut(t *testing.T) {
	sink := &batchSink{}
	ts, lc := esmServer(t, sink, "efo", 2, "sink")
	ctx := context.Background()
	reg, err := ts.kc.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String(streamARN("efo")), ConsumerName: aws.String("fn")})
	if err != nil {
		t.Fatal(err)
	}
	carn := aws.ToString(reg.Consumer.ConsumerARN)
	create := func(src string) (*lambda.CreateEventSourceMappingOutput, error) {
		return lc.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("sink"),
			EventSourceArn: aws.String(src), StartingPosition: types.EventSourcePositionTrimHorizon, BatchSize: aws.Int32(10)})
	}
	_, err = create(carn)
	wantAPIError(t, err, "InvalidParameterValueException", "is CREATING")
	_, err = create(streamARN("efo") + "/consumer/nobody:1700000000")
	wantAPIError(t, err, "InvalidParameterValueException", "Stream consumer not found")
	for i := 0; ; i++ {
		d, err := ts.kc.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{ConsumerARN: aws.String(carn)})
		if err == nil && d.ConsumerDescription.ConsumerStatus == ktypes.ConsumerStatusActive {
			break
		}
		if i == 500 {
			t.Fatalf("consumer never ACTIVE: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	recs := make([]ktypes.PutRecordsRequestEntry, 60)
	for i := range recs {
		recs[i] = ktypes.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprintf("key-%d", i%8)), Data: []byte(fmt.Sprint(i))}
	}
	if _, err := ts.kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("efo"), Records: recs}); err != nil {
		t.Fatal(err)
	}
	m, err := create(carn)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(m.EventSourceArn) != carn || aws.ToString(m.State) != "Creating" {
		t.Fatalf("create: %+v", m)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := sink.delivered()
		inShardOrder(t, got)
		n := 0
		for _, seqs := range got {
			n += len(seqs)
		}
		if n >= 60 {
			if n != 60 || len(got) != 2 {
				t.Fatalf("%d records from %d shards, want 60 from 2", n, len(got))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 60 records delivered", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	sink.mu.Lock()
	if r := sink.batches[0].Records[0]; r.EventSource != "aws:kinesis" || r.EventSourceARN != streamARN("efo") {
		t.Errorf("event record %+v", r)
	}
	sink.mu.Unlock()
	got, err := lc.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: m.UUID})
	if err != nil || aws.ToString(got.EventSourceArn) != carn || aws.ToString(got.State) != "Enabled" {
		t.Fatalf("get: %+v %v", got, err)
	}
	list, err := lc.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{EventSourceArn: aws.String(carn)})
	if err != nil || len(list.EventSourceMappings) != 1 {
		t.Fatalf("list by consumer: %+v %v", list, err)
	}
	// The consumer goes: Lambda disables the mapping.
	if _, err := ts.kc.DeregisterStreamConsumer(ctx, &kinesis.DeregisterStreamConsumerInput{ConsumerARN: aws.String(carn)}); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		got, err = lc.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: m.UUID})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(got.State) == "Disabled" {
			break
		}
		if i == 500 {
			t.Fatalf("mapping still %s after its consumer was deregistered", aws.ToString(got.State))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if aws.ToString(got.StateTransitionReason) != "Lambda initiated" || !strings.Contains(aws.ToString(got.LastProcessingResult), "PROBLEM: Stream consumer not found") ||
		aws.ToString(got.EventSourceArn) != carn {
		t.Fatalf("disabled mapping: %+v", got)
	}
}

// TestEventSourceMappingAuthorizesSources: with authentication on, creating
// a mapping needs, besides the stream's read actions, s3:PutObject and
// s3:ListBucket on an S3 destination, and DescribeStreamConsumer and
// SubscribeToShard on a consumer it reads through (what AWS asks of the
// function's execution role).
func TestEventSourceMappingAuthorizesSources(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *config.Config) {
		c.AuthMode = "verify"
		c.RootAccessKeyID, c.RootSecretAccessKey = "AKIDROOT", "root-secret"
		c.Principals = []config.Principal{{Name: "dev", AccessKeyID: "AKIDDEV", SecretAccessKey: "dev-secret",
			Policies: []json.RawMessage{json.RawMessage(`{"Statement":[{"Effect":"Allow","Action":["lambda:*","kinesis:Describe*","kinesis:List*","kinesis:Get*"],"Resource":"*"},
				{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::failures"}]}`)}}}
	})
	ctx := context.Background()
	as := func(akid, secret string) *lambda.Client {
		return lambda.New(lambda.Options{Region: region, BaseEndpoint: aws.String(ts.url), Retryer: aws.NopRetryer{},
			Credentials: credentials.NewStaticCredentialsProvider(akid, secret, "")})
	}
	root := kinesis.New(kinesis.Options{Region: region, BaseEndpoint: aws.String(ts.url), Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider("AKIDROOT", "root-secret", "")})
	ts.kc = root
	ts.createStream(t, "src", 1)
	reg, err := root.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String(streamARN("src")), ConsumerName: aws.String("c")})
	if err != nil {
		t.Fatal(err)
	}
	createURLFunction(t, as("AKIDROOT", "root-secret"), "fn", "http://127.0.0.1:1")
	dev := as("AKIDDEV", "dev-secret")
	_, err = dev.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("fn"),
		EventSourceArn: aws.String(streamARN("src")), StartingPosition: types.EventSourcePositionLatest,
		DestinationConfig: &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String("arn:aws:s3:::failures")}}})
	wantAPIError(t, err, "AccessDeniedException", "s3:PutObject on resource: arn:aws:s3:::failures/*")
	_, err = dev.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("fn"),
		EventSourceArn: reg.Consumer.ConsumerARN, StartingPosition: types.EventSourcePositionLatest})
	wantAPIError(t, err, "AccessDeniedException", "kinesis:SubscribeToShard on resource: "+aws.ToString(reg.Consumer.ConsumerARN))
}
