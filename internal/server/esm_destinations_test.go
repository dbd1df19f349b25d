package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestEventSourceMappingOnFailureS3: a batch the function fails, with
// MaximumRetryAttempts 0, is given up to an S3 OnFailure destination: one
// object per batch under aws/lambda/<UUID>/<shard>/YYYY/MM/DD/, holding
// the invocation record (AWS's members, in AWS's order) and the batch's
// event as an escaped JSON string in "payload"; SQS destinations and
// malformed bucket ARNs are refused.
func TestEventSourceMappingOnFailureS3(t *testing.T) {
	fnSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		io.WriteString(w, `{"errorMessage":"always fails","errorType":"Error"}`)
	}))
	defer fnSrv.Close()
	ts := newServer(t)
	ctx := context.Background()
	lc := lambdaClient(ts.url)
	sc := ts.s3Client(t, true, "AKIDTEST", "secret")
	ts.createStream(t, "src", 1)
	createURLFunction(t, lc, "fails", fnSrv.URL)
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
