// Package kinesisapi owns the Kinesis Data Streams wire API
// (Kinesis_20131202.*): each operation's input schema (schema.go), its
// handler, the JSON output shapes, and the one table that maps domain errors
// to AWS exceptions. It imports awsproto and awserr for the protocol and the
// datastream domain for behaviour, nothing else of Rheos.
package kinesisapi

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/awsproto/jsonrpc"
	"github.com/rheos/rheos/internal/datastream"
)

// TargetPrefix is the X-Amz-Target prefix of the Kinesis API.
const TargetPrefix = "Kinesis_20131202"

// SigningName is the SigV4 service name of the Kinesis API.
const SigningName = "kinesis"

// API binds the domain service to the wire.
type API struct {
	svc *datastream.Service
}

// New returns the awsproto service for Kinesis.
func New(svc *datastream.Service) *jsonrpc.Service {
	a := &API{svc: svc}
	handlers := map[string]func(context.Context, *awsproto.Call) (any, error){
		"CreateStream":                           a.createStream,
		"DeleteStream":                           a.deleteStream,
		"DescribeStream":                         a.describeStream,
		"DescribeStreamSummary":                  a.describeStreamSummary,
		"ListStreams":                            a.listStreams,
		"ListShards":                             a.listShards,
		"PutRecord":                              a.putRecord,
		"PutRecords":                             a.putRecords,
		"GetShardIterator":                       a.getShardIterator,
		"GetRecords":                             a.getRecords,
		"IncreaseStreamRetentionPeriod":          a.increaseRetention,
		"DecreaseStreamRetentionPeriod":          a.decreaseRetention,
		"AddTagsToStream":                        a.addTags(a.stream),
		"RemoveTagsFromStream":                   a.removeTags(a.stream),
		"ListTagsForStream":                      a.listTagsForStream,
		"TagResource":                            a.addTags(a.resource),
		"UntagResource":                          a.removeTags(a.resource),
		"ListTagsForResource":                    a.listTagsForResource,
		"DescribeLimits":                         a.describeLimits,
		"UpdateMaxRecordSize":                    a.updateMaxRecordSize,
		"SplitShard":                             a.splitShard,
		"MergeShards":                            a.mergeShards,
		"UpdateShardCount":                       a.updateShardCount,
		"RegisterStreamConsumer":                 a.registerStreamConsumer,
		"DeregisterStreamConsumer":               a.deregisterStreamConsumer,
		"DescribeStreamConsumer":                 a.describeStreamConsumer,
		"ListStreamConsumers":                    a.listStreamConsumers,
		"SubscribeToShard":                       a.subscribeToShard,
		"EnableEnhancedMonitoring":               a.monitoring(true),
		"DisableEnhancedMonitoring":              a.monitoring(false),
		"UpdateStreamMode":                       a.updateStreamMode,
		"UpdateStreamWarmThroughput":             a.updateStreamWarmThroughput,
		"UpdateStreamRecordDistributionStrategy": a.updateRecordDistribution,
		"PutResourcePolicy":                      a.putResourcePolicy,
		"GetResourcePolicy":                      a.getResourcePolicy,
		"DeleteResourcePolicy":                   a.deleteResourcePolicy,
		"DescribeAccountSettings":                a.describeAccountSettings,
		"UpdateAccountSettings":                  a.updateAccountSettings,
		"CreateChannel":                          a.channelUnsupported,
		"DescribeChannel":                        a.channelUnsupported,
		"ListChannels":                           a.channelUnsupported,
		"UpdateChannel":                          a.channelUnsupported,
		"DeleteChannel":                          a.channelUnsupported,
		"StartStreamEncryption":                  a.encryption(true),
		"StopStreamEncryption":                   a.encryption(false),
	}
	ops := map[string]*jsonrpc.Operation{}
	for name, h := range handlers {
		op := &jsonrpc.Operation{Input: schemas[name], Handle: wrap(a.rateLimited(name, h))}
		switch name {
		case "PutRecords":
			op.Fast = fastPutRecords
			// 500 records of up to 10 MiB are refused by the domain's limits
			// long before; the body cap bounds memory: 10 MiB of payload is
			// ~13.4 MiB of base64 plus JSON framing.
			op.MaxBody = 16 << 20
		case "PutRecord":
			op.Fast = fastPutRecord
			op.MaxBody = 15 << 20
		}
		ops[name] = op
	}
	return &jsonrpc.Service{SigningName: SigningName, TargetPrefix: TargetPrefix, Operations: ops, CBOROutput: cborOutput}
}

// cborOutput lists the Kinesis output members that are blobs and
// timestamps, for CBOR answers.
var cborOutput = jsonrpc.CBOROutput{
	Blobs: map[string]bool{"Data": true},
	Timestamps: map[string]bool{"ApproximateArrivalTimestamp": true, "StreamCreationTimestamp": true,
		"ConsumerCreationTimestamp": true},
}

// rateLimited applies the control-plane call rates before h.
func (a *API) rateLimited(op string, h func(context.Context, *awsproto.Call) (any, error)) func(context.Context, *awsproto.Call) (any, error) {
	return func(ctx context.Context, c *awsproto.Call) (any, error) {
		if c.Input != nil {
			sc, name := a.scope(c), str(c, "StreamName")
			if arn := str(c, "StreamARN"); arn != "" {
				if asc, aname, ok := datastream.ResolveARN(arn); ok {
					sc, name = asc, aname
				}
			}
			if err := a.svc.AllowCall(sc, op, name); err != nil {
				return nil, err
			}
		}
		if c.Authorize != nil {
			if aerr := c.Authorize(ctx, "kinesis:"+op, a.resourceOf(c)); aerr != nil {
				return nil, aerr
			}
		}
		return h(ctx, c)
	}
}

// wrap maps domain errors to AWS exceptions.
func wrap(h func(context.Context, *awsproto.Call) (any, error)) func(context.Context, *awsproto.Call) (any, error) {
	return func(ctx context.Context, c *awsproto.Call) (any, error) {
		out, err := h(ctx, c)
		if err != nil {
			return nil, toAWS(err)
		}
		return out, nil
	}
}

// exceptionOf is the one table from domain error kinds to AWS exceptions.
var exceptionOf = map[datastream.Kind]awserr.Exception{
	datastream.KindNotFound:         exResourceNotFound,
	datastream.KindInUse:            exResourceInUse,
	datastream.KindInvalidArgument:  exInvalidArgument,
	datastream.KindLimitExceeded:    exLimitExceeded,
	datastream.KindExpiredIterator:  exExpiredIterator,
	datastream.KindExpiredNextToken: exExpiredNextToken,
	datastream.KindValidation:       awserr.Validation,
	datastream.KindUnavailable:      awserr.InternalFailure,
	datastream.KindThroughput:       exProvisionedThroughputExceeded,
	datastream.KindKMSNotFound:      exKMSNotFound,
	datastream.KindKMSAccessDenied:  exKMSAccessDenied,
	datastream.KindKMSInvalidState:  exKMSInvalidState,
	datastream.KindDryRun:           exDryRunOperation,
	datastream.KindInternal:         awserr.InternalFailure,
}

func toAWS(err error) error {
	var ae *awserr.Error
	if errors.As(err, &ae) {
		return ae
	}
	var de *datastream.Error
	if errors.As(err, &de) {
		ex, ok := exceptionOf[de.Kind]
		if !ok {
			ex = awserr.InternalFailure
		}
		msg := de.Msg
		if ex.Status >= 500 {
			msg = "" // internal details are logged, not sent
		}
		return &awserr.Error{Exception: ex, Message: msg, Cause: err}
	}
	return &awserr.Error{Exception: awserr.InternalFailure, Cause: err}
}

// Input accessors. Values were type-checked by awsproto.

func str(c *awsproto.Call, k string) string {
	s, _ := c.Input[k].(string)
	return s
}

func boolOf(c *awsproto.Call, k string) bool {
	b, _ := c.Input[k].(bool)
	return b
}

func intPtr(c *awsproto.Call, k string) *int {
	v, ok := c.Input[k].(int64)
	if !ok {
		return nil
	}
	n := int(v)
	return &n
}

func intOr(c *awsproto.Call, k string, def int) int {
	if p := intPtr(c, k); p != nil {
		return *p
	}
	return def
}

// timePtr converts a timestamp member (float seconds) to a time with AWS's
// millisecond precision, rounding: 1700000002.123 is not exactly
// representable, and truncating its nanoseconds would give ...122 ms where
// AWS reports timestampInMillis ...123.
func timePtr(v any) *time.Time {
	f, ok := v.(float64)
	if !ok {
		return nil
	}
	ms := math.Round(f * 1000)
	ms = max(min(ms, 1<<62), -1<<62) // far outside any real time; int64 conversion stays defined
	t := time.UnixMilli(int64(ms))
	return &t
}

func epoch(t time.Time) float64 {
	return float64(t.UnixMilli()) / 1000
}

func (a *API) scope(c *awsproto.Call) datastream.Scope {
	acct := c.Account
	if acct == "" {
		acct = a.svc.DefaultAccount()
	}
	return datastream.Scope{Account: acct, Region: c.Region}
}

// stream resolves StreamName / StreamARN into a scope and name.
func (a *API) stream(c *awsproto.Call) (datastream.Scope, string, error) {
	return a.streamOf(c, str(c, "StreamName"), str(c, "StreamARN"))
}

func (a *API) streamOf(c *awsproto.Call, name, arn string) (datastream.Scope, string, error) {
	sc := a.scope(c)
	if arn != "" {
		asc, aname, ok := datastream.ResolveARN(arn)
		if !ok {
			return sc, "", awserr.New(exInvalidArgument, "Invalid StreamARN "+arn+".")
		}
		if name != "" && name != aname {
			return sc, "", awserr.New(exInvalidArgument, "StreamARN "+arn+" and StreamName "+name+" do not refer to the same stream.")
		}
		return asc, aname, nil
	}
	if name == "" {
		return sc, "", awserr.New(exInvalidArgument, "Either StreamName or StreamARN must be provided.")
	}
	return sc, name, nil
}

// resourceOf is the ARN a call acts on, for authorization: the consumer,
// the resource or the stream named in the input, the stream a shard
// iterator reads, or "*" for account-level operations.
func (a *API) resourceOf(c *awsproto.Call) string {
	if in, ok := c.Typed.(*putInput); ok {
		if in.StreamARN != "" {
			return in.StreamARN
		}
		return a.svc.StreamARN(a.scope(c), in.StreamName)
	}
	for _, k := range []string{"ConsumerARN", "ResourceARN", "StreamARN"} {
		if v := str(c, k); v != "" {
			return v
		}
	}
	if n := str(c, "StreamName"); n != "" {
		return a.svc.StreamARN(a.scope(c), n)
	}
	if it := str(c, "ShardIterator"); it != "" {
		if arn, ok := a.svc.IteratorStreamARN(it); ok {
			return arn
		}
	}
	return "*"
}

func (a *API) encryption(start bool) func(context.Context, *awsproto.Call) (any, error) {
	return func(ctx context.Context, c *awsproto.Call) (any, error) {
		sc, name, err := a.stream(c)
		if err != nil {
			return nil, err
		}
		if start {
			return nil, a.svc.StartStreamEncryption(ctx, sc, name, str(c, "EncryptionType"), str(c, "KeyId"))
		}
		return nil, a.svc.StopStreamEncryption(ctx, sc, name, str(c, "EncryptionType"), str(c, "KeyId"))
	}
}
