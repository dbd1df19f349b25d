package kinesisapi

import (
	"context"
	"strconv"
	"time"

	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/awsproto/eventstream"
	"github.com/rheos/rheos/internal/datastream"
)

type consumerOut struct {
	ConsumerName              string  `json:"ConsumerName"`
	ConsumerARN               string  `json:"ConsumerARN"`
	ConsumerStatus            string  `json:"ConsumerStatus"`
	ConsumerCreationTimestamp float64 `json:"ConsumerCreationTimestamp"`
	StreamARN                 string  `json:"StreamARN,omitempty"`
}

func toConsumerOut(c datastream.ConsumerInfo, withStream bool) consumerOut {
	o := consumerOut{c.Name, c.ARN, c.Status, epoch(c.CreatedAt), ""}
	if withStream {
		o.StreamARN = c.StreamARN
	}
	return o
}

// consumerRef resolves ConsumerARN, or StreamARN + ConsumerName.
func (a *API) consumerRef(c *awsproto.Call) (datastream.Scope, string, string, error) {
	if arn := str(c, "ConsumerARN"); arn != "" {
		// The consumer's exact ARN: another creation time names nothing.
		return a.svc.ConsumerByARN(arn)
	}
	if str(c, "StreamARN") == "" || str(c, "ConsumerName") == "" {
		return datastream.Scope{}, "", "", awserr.New(exInvalidArgument, "Either ConsumerARN or both StreamARN and ConsumerName must be provided.")
	}
	sc, stream, err := a.stream(c)
	return sc, stream, str(c, "ConsumerName"), err
}

func (a *API) registerStreamConsumer(ctx context.Context, c *awsproto.Call) (any, error) {
	sc, stream, err := a.stream(c)
	if err != nil {
		return nil, err
	}
	info, err := a.svc.RegisterConsumer(ctx, sc, stream, str(c, "ConsumerName"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"Consumer": toConsumerOut(info, false)}, nil
}

func (a *API) deregisterStreamConsumer(ctx context.Context, c *awsproto.Call) (any, error) {
	sc, stream, name, err := a.consumerRef(c)
	if err != nil {
		return nil, err
	}
	return nil, a.svc.DeregisterConsumer(ctx, sc, stream, name)
}

func (a *API) describeStreamConsumer(ctx context.Context, c *awsproto.Call) (any, error) {
	sc, stream, name, err := a.consumerRef(c)
	if err != nil {
		return nil, err
	}
	info, err := a.svc.DescribeConsumer(sc, stream, name)
	if err != nil {
		return nil, err
	}
	return map[string]any{"ConsumerDescription": toConsumerOut(info, true)}, nil
}

func (a *API) listStreamConsumers(ctx context.Context, c *awsproto.Call) (any, error) {
	sc, stream, err := a.stream(c)
	if err != nil {
		return nil, err
	}
	after := ""
	if tok := str(c, "NextToken"); tok != "" {
		t, ok := a.decodeToken(tok)
		if !ok || t.Stream != stream || t.Account != sc.Account || t.Region != sc.Region || t.Max == listShardsToken {
			return nil, awserr.New(exInvalidArgument, "Invalid NextToken.")
		}
		if time.Since(time.UnixMilli(t.Issued)) > tokenTTL {
			return nil, awserr.New(exExpiredNextToken, "The NextToken has expired: it is valid for "+tokenTTL.String()+".")
		}
		after = t.After
	}
	list, more, err := a.svc.ListConsumers(sc, stream, after, intOr(c, "MaxResults", 100))
	if err != nil {
		return nil, err
	}
	out := struct {
		Consumers []consumerOut `json:"Consumers"`
		NextToken string        `json:"NextToken,omitempty"`
	}{Consumers: []consumerOut{}}
	for _, ci := range list {
		out.Consumers = append(out.Consumers, toConsumerOut(ci, false))
	}
	if more && len(list) > 0 {
		out.NextToken = a.encodeToken(pageToken{After: list[len(list)-1].Name, Stream: stream, Account: sc.Account, Region: sc.Region, Issued: time.Now().UnixMilli()})
	}
	return out, nil
}

// subscription streams SubscribeToShard events.
type subscription struct{ sub *datastream.Subscription }

func (s subscription) Stream(ctx context.Context, send eventstream.Sender) error {
	defer s.sub.Close()
	if err := send.Event("initial-response", []byte("{}")); err != nil {
		return err
	}
	for {
		ev, done, err := s.sub.Next(ctx)
		if err != nil {
			return toAWS(err)
		}
		if done {
			return nil
		}
		if err := send.Event("SubscribeToShardEvent", appendSubscribeEvent(nil, ev)); err != nil {
			return err
		}
	}
}

func (a *API) subscribeToShard(ctx context.Context, c *awsproto.Call) (any, error) {
	pos, _ := c.Input["StartingPosition"].(map[string]any)
	typ, _ := pos["Type"].(string)
	seq, _ := pos["SequenceNumber"].(string)
	sub, err := a.svc.Subscribe(ctx, a.scope(c), datastream.SubscribeInput{
		ConsumerARN: str(c, "ConsumerARN"), ShardID: str(c, "ShardId"),
		Type: typ, SequenceNum: seq, Timestamp: timePtr(pos["Timestamp"]),
	})
	if err != nil {
		return nil, err
	}
	if boolOf(c, "DryRun") {
		sub.Close()
		return nil, awserr.New(exDryRunOperation, "Request would have succeeded, but DryRun flag is set.")
	}
	return subscription{sub}, nil
}

// appendSubscribeEvent encodes a SubscribeToShardEvent payload.
func appendSubscribeEvent(b []byte, ev datastream.SubscribeEvent) []byte {
	b = appendRecords(append(b, `{"Records":`...), ev.Records)
	if ev.ContinuationSequenceNumber != "" {
		b = append(b, `,"ContinuationSequenceNumber":"`...)
		b = append(b, ev.ContinuationSequenceNumber...)
		b = append(b, '"')
	}
	b = append(b, `,"MillisBehindLatest":`...)
	b = strconv.AppendInt(b, ev.MillisBehindLatest, 10)
	b = appendChildShards(b, ev.ChildShards)
	return append(b, '}')
}
