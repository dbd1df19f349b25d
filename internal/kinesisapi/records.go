package kinesisapi

import (
	"context"
	"errors"
	"strconv"

	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/datastream"
)

// putInputOf returns the typed put input, from the fast decoder or built
// from the generic one.
func putInputOf(c *awsproto.Call, single bool) *putInput {
	if in, ok := c.Typed.(*putInput); ok {
		return in
	}
	in := &putInput{StreamName: str(c, "StreamName"), StreamARN: str(c, "StreamARN"), SeqForOrd: str(c, "SequenceNumberForOrdering")}
	entry := func(m map[string]any) datastream.PutEntry {
		d, _ := m["Data"].([]byte)
		pk, _ := m["PartitionKey"].(string)
		eh, _ := m["ExplicitHashKey"].(string)
		return datastream.PutEntry{PartitionKey: pk, ExplicitHashKey: eh, Data: d}
	}
	if single {
		in.Records = []datastream.PutEntry{entry(c.Input)}
		return in
	}
	list, _ := c.Input["Records"].([]any)
	in.Records = make([]datastream.PutEntry, len(list))
	for i, v := range list {
		m, _ := v.(map[string]any)
		in.Records[i] = entry(m)
	}
	return in
}

func (a *API) putRecord(ctx context.Context, c *awsproto.Call) (any, error) {
	in := putInputOf(c, true)
	sc, name, err := a.streamOf(c, in.StreamName, in.StreamARN)
	if err != nil {
		return nil, err
	}
	res, err := a.svc.Put(ctx, sc, name, in.Records, datastream.PutOptions{SequenceNumberForOrdering: in.SeqForOrd, Single: true, DryRun: boolOf(c, "DryRun")})
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, 128)
	b = append(b, `{"ShardId":"`...)
	b = append(b, res[0].ShardID...)
	b = append(b, `","SequenceNumber":"`...)
	b = append(b, res[0].SequenceNumber...)
	b = append(b, '"')
	if res[0].Encrypted {
		b = append(b, `,"EncryptionType":"KMS"`...)
	}
	b = append(b, '}')
	return awsproto.RawJSON(b), nil
}

func (a *API) putRecords(ctx context.Context, c *awsproto.Call) (any, error) {
	in := putInputOf(c, false)
	sc, name, err := a.streamOf(c, in.StreamName, in.StreamARN)
	if err != nil {
		return nil, err
	}
	res, err := a.svc.Put(ctx, sc, name, in.Records, datastream.PutOptions{DryRun: boolOf(c, "DryRun")})
	if err != nil {
		return nil, err
	}
	return awsproto.RawJSON(appendPutRecordsResult(make([]byte, 0, 32+len(res)*110), res)), nil
}

// internalRecordMessage is the ErrorMessage of a record that failed with a
// server-side (5xx) exception: the cause is logged, not sent.
const internalRecordMessage = "Internal service failure."

// recordError returns the ErrorCode and ErrorMessage of a failed record,
// mapping its domain error through the one table (exceptionOf, by toAWS).
func recordError(e *datastream.Error) (code, msg string) {
	var ae *awserr.Error
	if !errors.As(toAWS(e), &ae) {
		return awserr.InternalFailure.Name, internalRecordMessage
	}
	msg = ae.Message
	if ae.Status >= 500 {
		msg = internalRecordMessage
	}
	return ae.Name, msg
}

// appendPutRecordsResult encodes the PutRecords response: a record's
// ErrorCode and ErrorMessage come from its domain error (recordError).
func appendPutRecordsResult(b []byte, res []datastream.PutResult) []byte {
	failed := 0
	for _, r := range res {
		if r.Err != nil {
			failed++
		}
	}
	b = append(b, `{"FailedRecordCount":`...)
	b = strconv.AppendInt(b, int64(failed), 10)
	b = append(b, `,"Records":[`...)
	for i, r := range res {
		if i > 0 {
			b = append(b, ',')
		}
		if r.Err != nil {
			code, msg := recordError(r.Err)
			b = append(b, `{"ErrorCode":`...)
			b = appendJSONString(b, code)
			b = append(b, `,"ErrorMessage":`...)
			b = appendJSONString(b, msg)
			b = append(b, '}')
			continue
		}
		b = append(b, `{"SequenceNumber":"`...)
		b = append(b, r.SequenceNumber...)
		b = append(b, `","ShardId":"`...)
		b = append(b, r.ShardID...)
		b = append(b, `"}`...)
	}
	b = append(b, ']')
	for _, r := range res {
		if r.Encrypted {
			b = append(b, `,"EncryptionType":"KMS"`...)
			break
		}
	}
	return append(b, '}')
}

func (a *API) getShardIterator(ctx context.Context, c *awsproto.Call) (any, error) {
	sc, name, err := a.stream(c)
	if err != nil {
		return nil, err
	}
	it, err := a.svc.GetShardIterator(ctx, sc, datastream.IteratorInput{
		Stream: name, ShardID: str(c, "ShardId"), Type: str(c, "ShardIteratorType"),
		StartingSeq: str(c, "StartingSequenceNumber"), Timestamp: timePtr(c.Input["Timestamp"]), DryRun: boolOf(c, "DryRun"),
	})
	if err != nil {
		return nil, err
	}
	return map[string]string{"ShardIterator": it}, nil
}

func (a *API) getRecords(ctx context.Context, c *awsproto.Call) (any, error) {
	if v := str(c, "StreamARN"); v != "" {
		// The iterator decides what is read: a StreamARN naming another
		// stream is refused, not ignored (it would be what was authorized).
		given, err := a.streamResource(c, "", v)
		if err != nil {
			return nil, err
		}
		if iterARN, ok := a.svc.IteratorStreamARN(str(c, "ShardIterator")); ok && iterARN != given {
			return nil, awserr.New(exInvalidArgument, "StreamARN "+v+" does not match the stream of the shard iterator.")
		}
	}
	if boolOf(c, "DryRun") {
		return nil, a.svc.CheckRecords(ctx, str(c, "ShardIterator"))
	}
	res, err := a.svc.GetRecords(ctx, str(c, "ShardIterator"), intOr(c, "Limit", 10000))
	if err != nil {
		return nil, err
	}
	size := 256
	for _, r := range res.Records {
		size += 160 + len(r.PartitionKey) + len(r.Data)*4/3
	}
	return awsproto.RawJSON(appendGetRecordsOutput(make([]byte, 0, size), res)), nil
}
