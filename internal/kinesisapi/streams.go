package kinesisapi

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/datastream"
)

type modeDetails struct {
	StreamMode string `json:"StreamMode"`
}

type hashKeyRange struct {
	StartingHashKey string `json:"StartingHashKey"`
	EndingHashKey   string `json:"EndingHashKey"`
}

type seqRange struct {
	StartingSequenceNumber string `json:"StartingSequenceNumber"`
	EndingSequenceNumber   string `json:"EndingSequenceNumber,omitempty"`
}

type shardOut struct {
	ShardID               string       `json:"ShardId"`
	ParentShardID         string       `json:"ParentShardId,omitempty"`
	AdjacentParentShardID string       `json:"AdjacentParentShardId,omitempty"`
	HashKeyRange          hashKeyRange `json:"HashKeyRange"`
	SequenceNumberRange   seqRange     `json:"SequenceNumberRange"`
}

type enhancedMonitoring struct {
	ShardLevelMetrics []string `json:"ShardLevelMetrics"`
}

func toShardOut(s datastream.ShardInfo) shardOut {
	return shardOut{
		ShardID: s.ShardID, ParentShardID: s.ParentShardID, AdjacentParentShardID: s.AdjacentParentShardID,
		HashKeyRange:        hashKeyRange{s.StartingHashKey, s.EndingHashKey},
		SequenceNumberRange: seqRange{s.StartingSequenceNumber, s.EndingSequenceNumber},
	}
}

func metrics(in datastream.StreamInfo) []enhancedMonitoring {
	m := in.ShardLevelMetrics
	if m == nil {
		m = []string{}
	}
	return []enhancedMonitoring{{ShardLevelMetrics: m}}
}

func (a *API) createStream(ctx context.Context, c *awsproto.Call) (any, error) {
	in := datastream.CreateStreamInput{Name: str(c, "StreamName"), ShardCount: intPtr(c, "ShardCount")}
	if md, ok := c.Input["StreamModeDetails"].(map[string]any); ok {
		in.Mode, _ = md["StreamMode"].(string)
	}
	if tags, ok := c.Input["Tags"].(map[string]any); ok {
		in.Tags = map[string]string{}
		for k, v := range tags {
			in.Tags[k], _ = v.(string)
		}
	}
	in.MaxRecordSizeKiB = intOr(c, "MaxRecordSizeInKiB", 0)
	return nil, a.svc.CreateStream(ctx, a.scope(c), in)
}

func (a *API) deleteStream(ctx context.Context, c *awsproto.Call) (any, error) {
	sc, name, err := a.stream(c)
	if err != nil {
		return nil, err
	}
	return nil, a.svc.DeleteStream(ctx, sc, name, boolOf(c, "EnforceConsumerDeletion"))
}

func (a *API) describeStream(ctx context.Context, c *awsproto.Call) (any, error) {
	sc, name, err := a.stream(c)
	if err != nil {
		return nil, err
	}
	in, err := a.svc.Describe(sc, name)
	if err != nil {
		return nil, err
	}
	limit := intOr(c, "Limit", 100)
	start := str(c, "ExclusiveStartShardId")
	if start != "" {
		start = datastream.CanonicalShardID(start)
	}
	shards := []shardOut{}
	more := false
	for _, s := range in.Shards {
		if start != "" && s.ShardID <= start {
			continue
		}
		if len(shards) == limit {
			more = true
			break
		}
		shards = append(shards, toShardOut(s))
	}
	type desc struct {
		StreamName              string               `json:"StreamName"`
		StreamARN               string               `json:"StreamARN"`
		StreamStatus            string               `json:"StreamStatus"`
		StreamModeDetails       modeDetails          `json:"StreamModeDetails"`
		Shards                  []shardOut           `json:"Shards"`
		HasMoreShards           bool                 `json:"HasMoreShards"`
		RetentionPeriodHours    int                  `json:"RetentionPeriodHours"`
		StreamCreationTimestamp float64              `json:"StreamCreationTimestamp"`
		EnhancedMonitoring      []enhancedMonitoring `json:"EnhancedMonitoring"`
		EncryptionType          string               `json:"EncryptionType"`
		KeyID                   string               `json:"KeyId,omitempty"`
	}
	return map[string]any{"StreamDescription": desc{
		StreamName: in.Name, StreamARN: in.ARN, StreamStatus: in.Status, StreamModeDetails: modeDetails{in.Mode},
		Shards: shards, HasMoreShards: more, RetentionPeriodHours: in.RetentionHours,
		StreamCreationTimestamp: epoch(in.CreatedAt), EnhancedMonitoring: metrics(in),
		EncryptionType: in.EncryptionType, KeyID: in.KeyID,
	}}, nil
}

func (a *API) describeStreamSummary(ctx context.Context, c *awsproto.Call) (any, error) {
	sc, name, err := a.stream(c)
	if err != nil {
		return nil, err
	}
	in, err := a.svc.Describe(sc, name)
	if err != nil {
		return nil, err
	}
	// StreamId is deliberately never returned: current SDKs route requests
	// that carry one to AWS's account endpoints, bypassing a custom endpoint.
	type summary struct {
		StreamName              string               `json:"StreamName"`
		StreamARN               string               `json:"StreamARN"`
		StreamStatus            string               `json:"StreamStatus"`
		StreamModeDetails       modeDetails          `json:"StreamModeDetails"`
		RetentionPeriodHours    int                  `json:"RetentionPeriodHours"`
		StreamCreationTimestamp float64              `json:"StreamCreationTimestamp"`
		EnhancedMonitoring      []enhancedMonitoring `json:"EnhancedMonitoring"`
		EncryptionType          string               `json:"EncryptionType"`
		KeyID                   string               `json:"KeyId,omitempty"`
		OpenShardCount          int                  `json:"OpenShardCount"`
		ConsumerCount           int                  `json:"ConsumerCount"`
		MaxRecordSizeInKiB      int                  `json:"MaxRecordSizeInKiB"`
	}
	return map[string]any{"StreamDescriptionSummary": summary{
		StreamName: in.Name, StreamARN: in.ARN, StreamStatus: in.Status, StreamModeDetails: modeDetails{in.Mode},
		RetentionPeriodHours: in.RetentionHours, StreamCreationTimestamp: epoch(in.CreatedAt),
		EnhancedMonitoring: metrics(in), EncryptionType: in.EncryptionType, KeyID: in.KeyID,
		OpenShardCount: in.OpenShardCount, ConsumerCount: in.ConsumerCount, MaxRecordSizeInKiB: in.MaxRecordSizeKiB,
	}}, nil
}

// pageToken is the content of ListStreams/ListShards/ListStreamConsumers
// NextTokens: JSON sealed by the domain (SealToken), so that a client can
// neither read nor forge what a token names. Account and Region are the
// scope listed; a token is honoured only for the listing and the scope it
// was issued for (issue 20: a forged base64-JSON token listed the shards of
// a denied stream and of another account's stream).
type pageToken struct {
	After   string `json:"a"`
	Stream  string `json:"s,omitempty"`
	Account string `json:"c,omitempty"`
	Region  string `json:"r,omitempty"`
	Filter  string `json:"f,omitempty"`
	Ts      int64  `json:"t,omitempty"` // filter timestamp, ms
	Issued  int64  `json:"i"`
	Max     int    `json:"m,omitempty"`
}

func (a *API) encodeToken(t pageToken) string {
	b, _ := json.Marshal(t)
	return a.svc.SealToken(b)
}

func (a *API) decodeToken(s string) (pageToken, bool) {
	var t pageToken
	b, ok := a.svc.OpenToken(s)
	if !ok || json.Unmarshal(b, &t) != nil || t.Issued == 0 {
		return t, false
	}
	return t, true
}

func (a *API) listStreams(ctx context.Context, c *awsproto.Call) (any, error) {
	limit := intOr(c, "Limit", 100)
	after := str(c, "ExclusiveStartStreamName")
	sc := a.scope(c)
	if tok := str(c, "NextToken"); tok != "" {
		t, ok := a.decodeToken(tok)
		if !ok || t.Account != sc.Account || t.Region != sc.Region || t.Stream != "" {
			return nil, awserr.New(exInvalidArgument, "Invalid NextToken.")
		}
		after = t.After
	}
	list, more := a.svc.ListStreams(sc, after, limit)
	type summary struct {
		StreamName              string      `json:"StreamName"`
		StreamARN               string      `json:"StreamARN"`
		StreamStatus            string      `json:"StreamStatus"`
		StreamModeDetails       modeDetails `json:"StreamModeDetails"`
		StreamCreationTimestamp float64     `json:"StreamCreationTimestamp"`
	}
	out := struct {
		StreamNames     []string  `json:"StreamNames"`
		HasMoreStreams  bool      `json:"HasMoreStreams"`
		NextToken       string    `json:"NextToken,omitempty"`
		StreamSummaries []summary `json:"StreamSummaries"`
	}{StreamNames: []string{}, StreamSummaries: []summary{}, HasMoreStreams: more}
	for _, s := range list {
		out.StreamNames = append(out.StreamNames, s.Name)
		out.StreamSummaries = append(out.StreamSummaries, summary{s.Name, s.ARN, s.Status, modeDetails{s.Mode}, epoch(s.CreatedAt)})
	}
	if more && len(list) > 0 {
		out.NextToken = a.encodeToken(pageToken{After: list[len(list)-1].Name, Account: sc.Account, Region: sc.Region, Issued: time.Now().UnixMilli()})
	}
	return out, nil
}

// listShardsToken marks ListShards tokens (in pageToken.Max), so that a
// ListStreamConsumers token of the same stream is not one.
const listShardsToken = -1

// tokenTTL is how long a ListShards NextToken stays valid (AWS: 300 s).
const tokenTTL = 300 * time.Second

func (a *API) listShards(ctx context.Context, c *awsproto.Call) (any, error) {
	tok := str(c, "NextToken")
	hasStream := str(c, "StreamName") != "" || str(c, "StreamARN") != ""
	if tok == "" && !hasStream {
		return nil, awserr.New(exInvalidArgument, "Either NextToken or StreamName should be provided.")
	}
	if tok != "" && hasStream {
		return nil, awserr.New(exInvalidArgument, "NextToken and StreamName cannot be provided together.")
	}
	var t pageToken
	var sc datastream.Scope
	var name string
	maxResults := intOr(c, "MaxResults", 1000)
	if tok != "" {
		var ok bool
		if t, ok = a.decodeToken(tok); !ok || t.Stream == "" || t.Max != listShardsToken {
			return nil, awserr.New(exInvalidArgument, "Invalid NextToken.")
		}
		if age := time.Since(time.UnixMilli(t.Issued)); age > tokenTTL {
			return nil, awserr.New(exExpiredNextToken, "The timestamp in the NextToken has expired: the token is valid for "+tokenTTL.String()+".")
		}
		sc, name = datastream.Scope{Account: t.Account, Region: t.Region}, t.Stream
	} else {
		var err error
		if sc, name, err = a.stream(c); err != nil {
			return nil, err
		}
		if t.After = str(c, "ExclusiveStartShardId"); t.After != "" {
			t.After = datastream.CanonicalShardID(t.After)
		}
		if f, ok := c.Input["ShardFilter"].(map[string]any); ok {
			t.Filter, _ = f["Type"].(string)
			sid, _ := f["ShardId"].(string)
			ts := timePtr(f["Timestamp"])
			switch t.Filter {
			case "AFTER_SHARD_ID":
				if sid == "" {
					return nil, awserr.New(exInvalidArgument, "Must specify ShardId in ShardFilter when ShardFilter type is AFTER_SHARD_ID.")
				}
				if sid = datastream.CanonicalShardID(sid); sid > t.After {
					t.After = sid
				}
			case "AT_TIMESTAMP", "FROM_TIMESTAMP":
				if ts == nil {
					return nil, awserr.New(exInvalidArgument, "Must specify Timestamp in ShardFilter when ShardFilter type is "+t.Filter+".")
				}
				t.Ts = ts.UnixMilli()
			}
		}
	}
	in, err := a.svc.Describe(sc, name)
	if err != nil {
		return nil, err
	}
	if in.Status == datastream.StatusCreating {
		return nil, awserr.New(exResourceInUse, "Stream "+name+" under account "+sc.Account+" is in CREATING state.")
	}
	limit := min(maxResults, 1000)
	now := time.Now()
	trim := now.Add(-time.Duration(in.RetentionHours) * time.Hour)
	retained := map[string]bool{}
	for _, s := range in.Shards {
		if s.ClosedAt.IsZero() || !s.ClosedAt.Before(trim) {
			retained[s.ShardID] = true
		}
	}
	keep := func(s datastream.ShardInfo) bool {
		open := s.ClosedAt.IsZero()
		switch t.Filter {
		case "AT_LATEST":
			return open
		case "AT_TRIM_HORIZON":
			return retained[s.ShardID] && !retained[s.ParentShardID] && !retained[s.AdjacentParentShardID]
		case "FROM_TRIM_HORIZON":
			return retained[s.ShardID]
		case "AT_TIMESTAMP":
			ts := time.UnixMilli(t.Ts)
			createdBy := !s.CreatedAt.After(ts) || (s.ParentShardID == "")
			return createdBy && (open || s.ClosedAt.After(ts))
		case "FROM_TIMESTAMP":
			ts := time.UnixMilli(t.Ts)
			return open || !s.ClosedAt.Before(ts)
		}
		return true
	}
	shards := []shardOut{}
	var last string
	more := false
	for _, s := range in.Shards {
		if t.After != "" && s.ShardID <= t.After {
			continue
		}
		if !keep(s) {
			continue
		}
		if len(shards) == limit {
			more = true
			break
		}
		shards = append(shards, toShardOut(s))
		last = s.ShardID
	}
	out := struct {
		Shards    []shardOut `json:"Shards"`
		NextToken string     `json:"NextToken,omitempty"`
	}{Shards: shards}
	if more {
		out.NextToken = a.encodeToken(pageToken{After: last, Stream: name, Account: sc.Account, Region: sc.Region,
			Filter: t.Filter, Ts: t.Ts, Issued: now.UnixMilli(), Max: listShardsToken})
	}
	return out, nil
}

func (a *API) increaseRetention(ctx context.Context, c *awsproto.Call) (any, error) {
	sc, name, err := a.stream(c)
	if err != nil {
		return nil, err
	}
	return nil, a.svc.IncreaseRetention(ctx, sc, name, intOr(c, "RetentionPeriodHours", 0))
}

func (a *API) decreaseRetention(ctx context.Context, c *awsproto.Call) (any, error) {
	sc, name, err := a.stream(c)
	if err != nil {
		return nil, err
	}
	return nil, a.svc.DecreaseRetention(ctx, sc, name, intOr(c, "RetentionPeriodHours", 0))
}

func (a *API) describeLimits(ctx context.Context, c *awsproto.Call) (any, error) {
	l := a.svc.DescribeLimits(a.scope(c))
	return map[string]int{
		"ShardLimit": l.ShardLimit, "OpenShardCount": l.OpenShardCount,
		"OnDemandStreamCount": l.OnDemandStreamCount, "OnDemandStreamCountLimit": l.OnDemandStreamCountLimit,
	}, nil
}

func (a *API) updateMaxRecordSize(ctx context.Context, c *awsproto.Call) (any, error) {
	arn := str(c, "StreamARN")
	if arn == "" {
		return nil, awserr.New(awserr.Validation, "1 validation error detected: Value null at 'streamARN' failed to satisfy constraint: Member must not be null")
	}
	sc, name, err := a.stream(c)
	if err != nil {
		return nil, err
	}
	return nil, a.svc.UpdateMaxRecordSize(ctx, sc, name, intOr(c, "MaxRecordSizeInKiB", 0))
}

// Tags.

func tagsOf(c *awsproto.Call) map[string]string {
	m, _ := c.Input["Tags"].(map[string]any)
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k], _ = v.(string)
	}
	return out
}

func tagKeysOf(c *awsproto.Call) []string {
	l, _ := c.Input["TagKeys"].([]any)
	out := make([]string, 0, len(l))
	for _, v := range l {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

type tagOut struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

func toTagsOut(tags []datastream.Tag) []tagOut {
	out := make([]tagOut, len(tags))
	for i, t := range tags {
		out[i] = tagOut{t.Key, t.Value}
	}
	return out
}

// resolver finds the stream a call names (by StreamName/StreamARN or by
// ResourceARN).
type resolver func(*awsproto.Call) (datastream.Scope, string, error)

// addTags serves AddTagsToStream and TagResource.
func (a *API) addTags(resolve resolver) func(context.Context, *awsproto.Call) (any, error) {
	return func(ctx context.Context, c *awsproto.Call) (any, error) {
		sc, name, err := resolve(c)
		if err != nil {
			return nil, err
		}
		return nil, a.svc.AddTags(ctx, sc, name, tagsOf(c))
	}
}

// removeTags serves RemoveTagsFromStream and UntagResource.
func (a *API) removeTags(resolve resolver) func(context.Context, *awsproto.Call) (any, error) {
	return func(ctx context.Context, c *awsproto.Call) (any, error) {
		sc, name, err := resolve(c)
		if err != nil {
			return nil, err
		}
		return nil, a.svc.RemoveTags(ctx, sc, name, tagKeysOf(c))
	}
}

func (a *API) listTagsForStream(ctx context.Context, c *awsproto.Call) (any, error) {
	sc, name, err := a.stream(c)
	if err != nil {
		return nil, err
	}
	tags, more, err := a.svc.ListTags(sc, name, str(c, "ExclusiveStartTagKey"), intOr(c, "Limit", 50))
	if err != nil {
		return nil, err
	}
	return map[string]any{"Tags": toTagsOut(tags), "HasMoreTags": more}, nil
}

// resource resolves a ResourceARN (streams only for now; consumer ARNs come
// with enhanced fan-out).
func (a *API) resource(c *awsproto.Call) (datastream.Scope, string, error) {
	arn := str(c, "ResourceARN")
	sc, name, ok := datastream.ResolveARN(arn)
	if !ok {
		if strings.Contains(arn, "/consumer/") {
			return sc, "", awserr.New(exResourceNotFound, "Resource "+arn+" not found.")
		}
		return sc, "", awserr.New(exInvalidArgument, "Invalid ResourceARN "+arn+".")
	}
	return sc, name, nil
}

func (a *API) listTagsForResource(ctx context.Context, c *awsproto.Call) (any, error) {
	sc, name, err := a.resource(c)
	if err != nil {
		return nil, err
	}
	tags, _, err := a.svc.ListTags(sc, name, "", 0)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Tags": toTagsOut(tags)}, nil
}
