package functions

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/rheos/rheos/internal/arn"
)

// OnFailure destinations of event source mappings: when a batch is given up
// (retries exhausted, records too old) Lambda sends an invocation record
// describing it to the mapping's DestinationConfig.OnFailure.Destination.
// Rheos serves two kinds of destination:
//
//   - an S3 bucket (arn:aws:s3:::bucket), as AWS does for Kinesis sources
//     since late 2024: one object per batch given up, named
//     aws/lambda/<mapping UUID>/<shard id>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<random UUID>,
//     holding the invocation record and, in "payload", the batch's event as
//     an escaped JSON string (AWS's "Retain discarded batch records for a
//     Kinesis Data Streams event source");
//   - a Kinesis stream of this server (a Rheos extension: AWS sends to SQS,
//     SNS or S3), one record per batch, the invocation record without the
//     payload, as AWS sends to SQS and SNS.

// ObjectWriter stores objects: an S3 OnFailure destination writes through
// it (the server adapts its built-in S3). PutObject returns once the object
// is durable, in the mapping's account; it must be safe for concurrent use
// (the shards of a mapping give up batches concurrently).
type ObjectWriter interface {
	PutObject(ctx context.Context, account, bucket, key string, body []byte, contentType string) error
}

// bucketOf returns the bucket an S3 bucket ARN names ("arn:aws:s3:::b"),
// and false for any other ARN (S3's ARNs name no region or account).
func bucketOf(s string) (string, bool) {
	a, ok := arn.Parse(s)
	if !ok || a.Service != "s3" || a.Region != "" || a.Account != "" || strings.Contains(a.Resource, "/") {
		return "", false
	}
	return a.Resource, true
}

// checkDestination checks an OnFailure destination given to Create or
// UpdateEventSourceMapping ("" removes the destination).
func (s *Service) checkDestination(in MappingInput) error {
	if in.OnFailure == nil || *in.OnFailure == "" {
		return nil
	}
	d := *in.OnFailure
	if streamARNParts(d) {
		return nil
	}
	if _, ok := bucketOf(d); ok {
		if s.cfg.Objects == nil {
			return errorf(KindUnsupported, "DestinationConfig.OnFailure.Destination %s: this endpoint has no S3 to write failure records to.", d)
		}
		return nil
	}
	return errorf(KindUnsupported, "DestinationConfig.OnFailure.Destination %s: this endpoint sends failure records to an S3 bucket (arn:aws:s3:::bucket) or to a Kinesis stream of its own (an extension); SQS and SNS destinations are not served.", d)
}

// invocationRecord is what Lambda sends to an OnFailure destination for a
// Kinesis batch it gave up, its members in AWS's order.
type invocationRecord struct {
	RequestContext   requestContext   `json:"requestContext"`
	ResponseContext  responseContext  `json:"responseContext"`
	Version          string           `json:"version"`
	Timestamp        string           `json:"timestamp"`
	KinesisBatchInfo kinesisBatchInfo `json:"KinesisBatchInfo"`
	// Payload is the batch's event as a JSON string: S3 destinations only.
	Payload string `json:"payload,omitempty"`
}

type requestContext struct {
	RequestID              string `json:"requestId"`
	FunctionArn            string `json:"functionArn"`
	Condition              string `json:"condition"`
	ApproximateInvokeCount int    `json:"approximateInvokeCount"`
}

type responseContext struct {
	StatusCode      int    `json:"statusCode"`
	ExecutedVersion string `json:"executedVersion"`
	FunctionError   string `json:"functionError,omitempty"`
}

type kinesisBatchInfo struct {
	ShardID                         string `json:"shardId"`
	StartSequenceNumber             string `json:"startSequenceNumber"`
	EndSequenceNumber               string `json:"endSequenceNumber"`
	ApproximateArrivalOfFirstRecord string `json:"approximateArrivalOfFirstRecord"`
	ApproximateArrivalOfLastRecord  string `json:"approximateArrivalOfLastRecord"`
	BatchSize                       int    `json:"batchSize"`
	StreamArn                       string `json:"streamArn"`
}

// failureRecord is the invocation record of a batch given up.
func failureRecord(m *Mapping, shard string, recs []SourceRecord, condition string, invokes int, functionError string, now time.Time) invocationRecord {
	iso := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
	return invocationRecord{
		RequestContext:  requestContext{RequestID: newID(), FunctionArn: m.FunctionARN, Condition: condition, ApproximateInvokeCount: invokes},
		ResponseContext: responseContext{StatusCode: 200, ExecutedVersion: "$LATEST", FunctionError: functionError},
		Version:         "1.0",
		Timestamp:       iso(now),
		KinesisBatchInfo: kinesisBatchInfo{ShardID: shard, StartSequenceNumber: recs[0].SequenceNumber,
			EndSequenceNumber: recs[len(recs)-1].SequenceNumber, ApproximateArrivalOfFirstRecord: iso(recs[0].ArrivalTime),
			ApproximateArrivalOfLastRecord: iso(recs[len(recs)-1].ArrivalTime), BatchSize: len(recs), StreamArn: m.stream()},
	}
}

// failureObjectKey names the S3 object of a failure record:
// aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<Random UUID>.
func failureObjectKey(uuid, shard string, now time.Time) string {
	now = now.UTC()
	return "aws/lambda/" + uuid + "/" + shard + "/" + now.Format("2006/01/02") + "/" + now.Format("2006-01-02T15.04.05") + "-" + newID()
}

// giveUp discards records after retries or by age: it logs them, counts
// them, and sends an invocation record to the mapping's OnFailure
// destination. A destination that cannot be written is logged: the records
// are discarded either way and the shard moves on, as on AWS.
func (s *Service) giveUp(ctx context.Context, m *Mapping, shard string, recs []SourceRecord, condition string, invokes int, functionError string) {
	s.cfg.Observer.Batch(m.UUID, len(recs), condition, 0)
	s.cfg.Logger.Warn("event source mapping: records given up", "uuid", m.UUID, "shard", shard, "condition", condition,
		"first", recs[0].SequenceNumber, "last", recs[len(recs)-1].SequenceNumber, "count", len(recs))
	if m.OnFailure == "" {
		return
	}
	now := s.cfg.Now()
	rec := failureRecord(m, shard, recs, condition, invokes, functionError, now)
	var err error
	if bucket, ok := bucketOf(m.OnFailure); ok {
		rec.Payload = string(eventOf(m, s.executionRole(ctx, m), shard, recs))
		b, _ := json.Marshal(rec)
		if s.cfg.Objects == nil {
			err = errorf(KindUnsupported, "no S3 on this server")
		} else {
			err = s.cfg.Objects.PutObject(ctx, m.Account, bucket, failureObjectKey(m.UUID, shard, now), b, "application/json")
		}
	} else {
		b, _ := json.Marshal(rec)
		err = s.cfg.Streams.Put(ctx, m.OnFailure, shard, b)
	}
	if err != nil {
		s.cfg.Logger.Warn("event source mapping: failure record not delivered", "uuid", m.UUID, "destination", m.OnFailure, "err", err)
	}
}
