package kinesisapi

import (
	"context"

	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/datastream"
)

func (a *API) putRecord(ctx context.Context, c *awsproto.Call) (any, error) {
	sc, name, err := a.stream(c)
	if err != nil {
		return nil, err
	}
	d, _ := c.Input["Data"].([]byte)
	res, err := a.svc.Put(ctx, sc, name, []datastream.PutEntry{{
		PartitionKey: str(c, "PartitionKey"), ExplicitHashKey: str(c, "ExplicitHashKey"), Data: d,
	}}, datastream.PutOptions{SequenceNumberForOrdering: str(c, "SequenceNumberForOrdering"), Single: true})
	if err != nil {
		return nil, err
	}
	return struct {
		ShardID        string `json:"ShardId"`
		SequenceNumber string `json:"SequenceNumber"`
	}{res[0].ShardID, res[0].SequenceNumber}, nil
}

type putRecordsEntryOut struct {
	SequenceNumber string `json:"SequenceNumber,omitempty"`
	ShardID        string `json:"ShardId,omitempty"`
	ErrorCode      string `json:"ErrorCode,omitempty"`
	ErrorMessage   string `json:"ErrorMessage,omitempty"`
}

func (a *API) putRecords(ctx context.Context, c *awsproto.Call) (any, error) {
	sc, name, err := a.stream(c)
	if err != nil {
		return nil, err
	}
	list, _ := c.Input["Records"].([]any)
	entries := make([]datastream.PutEntry, len(list))
	for i, v := range list {
		m, _ := v.(map[string]any)
		d, _ := m["Data"].([]byte)
		pk, _ := m["PartitionKey"].(string)
		eh, _ := m["ExplicitHashKey"].(string)
		entries[i] = datastream.PutEntry{PartitionKey: pk, ExplicitHashKey: eh, Data: d}
	}
	res, err := a.svc.Put(ctx, sc, name, entries, datastream.PutOptions{})
	if err != nil {
		return nil, err
	}
	out := struct {
		FailedRecordCount int                  `json:"FailedRecordCount"`
		Records           []putRecordsEntryOut `json:"Records"`
	}{Records: make([]putRecordsEntryOut, len(res))}
	for i, r := range res {
		out.Records[i] = putRecordsEntryOut{r.SequenceNumber, r.ShardID, r.ErrorCode, r.ErrorMessage}
		if r.ErrorCode != "" {
			out.FailedRecordCount++
		}
	}
	return out, nil
}

func (a *API) getShardIterator(ctx context.Context, c *awsproto.Call) (any, error) {
	sc, name, err := a.stream(c)
	if err != nil {
		return nil, err
	}
	it, err := a.svc.GetShardIterator(ctx, sc, datastream.IteratorInput{
		Stream: name, ShardID: str(c, "ShardId"), Type: str(c, "ShardIteratorType"),
		StartingSeq: str(c, "StartingSequenceNumber"), Timestamp: timePtr(c.Input["Timestamp"]),
	})
	if err != nil {
		return nil, err
	}
	return map[string]string{"ShardIterator": it}, nil
}

type recordOut struct {
	SequenceNumber              string  `json:"SequenceNumber"`
	ApproximateArrivalTimestamp float64 `json:"ApproximateArrivalTimestamp"`
	Data                        []byte  `json:"Data"`
	PartitionKey                string  `json:"PartitionKey"`
}

type childShardOut struct {
	ShardID      string       `json:"ShardId"`
	ParentShards []string     `json:"ParentShards"`
	HashKeyRange hashKeyRange `json:"HashKeyRange"`
}

func (a *API) getRecords(ctx context.Context, c *awsproto.Call) (any, error) {
	res, err := a.svc.GetRecords(ctx, str(c, "ShardIterator"), intOr(c, "Limit", 10000))
	if err != nil {
		return nil, err
	}
	out := struct {
		Records            []recordOut     `json:"Records"`
		NextShardIterator  string          `json:"NextShardIterator,omitempty"`
		MillisBehindLatest int64           `json:"MillisBehindLatest"`
		ChildShards        []childShardOut `json:"ChildShards,omitempty"`
	}{Records: make([]recordOut, len(res.Records)), NextShardIterator: res.NextShardIterator, MillisBehindLatest: res.MillisBehindLatest}
	for i, r := range res.Records {
		out.Records[i] = recordOut{r.SequenceNumber, epoch(r.ArrivalTime), r.Data, r.PartitionKey}
	}
	for _, ch := range res.ChildShards {
		out.ChildShards = append(out.ChildShards, childShardOut{ch.ShardID, ch.ParentShards, hashKeyRange{ch.HashKeyStart, ch.HashKeyEnd}})
	}
	return out, nil
}
