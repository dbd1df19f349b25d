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

	"github.com/rheos/rheos/internal/arn"
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
		case "GetRecords":
			// Up to 10 MiB of data, ~13.4 MiB as base64, plus the
			// envelope: reserved from the caller's share of the memory
			// budget before the read, so that callers that do not take
			// their answers cannot make the server hold more than it.
			op.MaxResponse = 14 << 20
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
			resource, err := a.resourceOf(c)
			if err != nil {
				return nil, err
			}
			if resource != "" {
				if owner := resourceAccount(resource); owner != "" && owner != a.scope(c).Account && !crossAccountActions[op] {
					return nil, awserr.New(awserr.AccessDenied, "The caller is not authorized to perform: kinesis:"+op+
						" on resource: "+resource+" because this action cannot be shared with another account")
				}
				if aerr := c.Authorize(ctx, "kinesis:"+op, resource); aerr != nil {
					return nil, aerr
				}
			}
		}
		return h(ctx, c)
	}
}

// resourceAccount is the account of a canonical ARN ("" for "*").
func resourceAccount(resource string) string {
	if a, ok := arn.Parse(resource); ok {
		return a.Account
	}
	return ""
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

// resourceOf is the canonical ARN a call acts on, for authorization (issue
// 20: every operation authorizes what it really touches):
//   - a consumer: the consumer's own ARN, creation time included, whether
//     named by ConsumerARN or by StreamARN + ConsumerName;
//   - a stream named by StreamARN, StreamName or ResourceARN;
//   - the stream a shard iterator reads (a StreamARN that names another
//     stream is refused), or the one a sealed ListShards NextToken lists;
//   - "*" for calls on the caller's own account (ListStreams, limits,
//     account settings), and "" when nothing is touched because the input
//     does not decode (the handler refuses it).
//
// ARNs are parsed once, canonically: a foreign partition or a malformed ARN
// is refused here with the handler's error, before anything is evaluated.
func (a *API) resourceOf(c *awsproto.Call) (string, error) {
	if in, ok := c.Typed.(*putInput); ok {
		return a.streamResource(c, in.StreamName, in.StreamARN)
	}
	if v := str(c, "ConsumerARN"); v != "" {
		return a.consumerResource(v, "ConsumerARN")
	}
	if v := str(c, "ResourceARN"); v != "" {
		if _, _, _, ok := datastream.ResolveConsumerARN(v); ok {
			return a.consumerResource(v, "ResourceARN")
		}
		if _, _, ok := datastream.ResolveARN(v); !ok {
			return "", awserr.New(exInvalidArgument, "Invalid ResourceARN "+v+".")
		}
		return a.streamResource(c, "", v)
	}
	if it := str(c, "ShardIterator"); it != "" {
		iterARN, ok := a.svc.IteratorStreamARN(it)
		if !ok {
			return "", nil
		}
		if v := str(c, "StreamARN"); v != "" {
			given, err := a.streamResource(c, "", v)
			if err != nil {
				return "", err
			}
			if given != iterARN {
				return "", awserr.New(exInvalidArgument, "StreamARN "+v+" does not match the stream of the shard iterator.")
			}
		}
		return iterARN, nil
	}
	if c.Op == "DescribeStreamConsumer" || c.Op == "DeregisterStreamConsumer" {
		if name := str(c, "ConsumerName"); name != "" {
			stream, err := a.streamResource(c, str(c, "StreamName"), str(c, "StreamARN"))
			if err != nil || stream == "*" {
				return stream, err
			}
			sc, sname, _ := datastream.ResolveARN(stream)
			if carn, ok := a.svc.ConsumerARN(sc, sname, name); ok {
				return carn, nil
			}
			return stream + "/consumer/" + name + ":*", nil
		}
	}
	if str(c, "StreamARN") != "" || str(c, "StreamName") != "" {
		return a.streamResource(c, str(c, "StreamName"), str(c, "StreamARN"))
	}
	if tok := str(c, "NextToken"); tok != "" && c.Op == "ListShards" {
		t, ok := a.decodeToken(tok)
		if !ok || t.Stream == "" {
			return "", nil
		}
		return a.svc.StreamARN(datastream.Scope{Account: t.Account, Region: t.Region}, t.Stream), nil
	}
	return "*", nil
}

// streamResource is the canonical ARN of the stream a call names.
func (a *API) streamResource(c *awsproto.Call, name, arnStr string) (string, error) {
	sc, sname, err := a.streamOf(c, name, arnStr)
	if err != nil {
		return "", err
	}
	return a.svc.StreamARN(sc, sname), nil
}

// consumerResource is the canonical ARN of the consumer an ARN names: the
// consumer's own when it exists (a changed creation time names nothing),
// the ARN as parsed otherwise (the handler then answers that it does not
// exist).
func (a *API) consumerResource(v, member string) (string, error) {
	if _, _, _, ok := datastream.ResolveConsumerARN(v); !ok {
		return "", awserr.New(exInvalidArgument, "Invalid "+member+" "+v+".")
	}
	return v, nil
}

// crossAccountActions are the actions another account may be granted by a
// resource policy, as AWS's guide to sharing streams lists them (data
// streams: reading, writing, describing and registering consumers;
// consumers: describing and subscribing). Everything else — deleting,
// resharding, tags, the resource policy itself ("the calling identity must
// ... belong to the owner's account"), encryption, settings — stays with
// the owner's account whatever a policy says.
var crossAccountActions = map[string]bool{
	"DescribeStream": true, "DescribeStreamSummary": true, "ListShards": true, "GetShardIterator": true,
	"GetRecords": true, "PutRecord": true, "PutRecords": true, "ListStreamConsumers": true,
	"RegisterStreamConsumer": true, "DeregisterStreamConsumer": true, "DescribeStreamConsumer": true,
	"SubscribeToShard": true,
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
