package datastream

import "github.com/rheos/rheos/internal/quota"

// Per-shard throughput limits (see Config.ThroughputMode).

// AWS's per-shard limits.
const (
	awsWriteRecords = 1000
	awsWriteBytes   = 1 << 20
	awsReadCalls    = 5
	awsReadBytes    = 2 << 20
)

// ThroughputTag is the stream tag that overrides the server's mode.
const ThroughputTag = "rheos.throughput"

// throughputFactor returns the multiplier of AWS's limits for a stream, or
// 0 when its limits are off.
func (s *Service) throughputFactor(m *streamMeta) float64 {
	mode := s.cfg.ThroughputMode
	if v, ok := m.Tags[ThroughputTag]; ok {
		mode = v
	}
	switch mode {
	case "aws":
		return 1
	case "scaled":
		return s.cfg.ThroughputScale
	}
	return 0
}

func writeLimit(f float64) quota.Limit {
	return quota.Limit{PerSecond: awsWriteRecords * f, BytesPerSecond: awsWriteBytes * f}
}

func readLimit(f float64) quota.Limit {
	return quota.Limit{PerSecond: awsReadCalls * f, BytesPerSecond: awsReadBytes * f}
}

func rateExceeded(shard, stream, account string) *Error {
	return errorf(KindThroughput, "Rate exceeded for shard %s in stream %s under account %s.", shard, stream, account)
}

// controlRates are AWS's control-plane call limits per second, by operation:
// per account unless perStream.
var controlRates = map[string]struct {
	rate      float64
	perStream bool
}{
	"CreateStream": {5, false}, "DeleteStream": {5, false}, "ListStreams": {5, false},
	"DescribeStream": {10, false}, "DescribeStreamSummary": {20, false}, "DescribeLimits": {1, false},
	"ListShards": {1000, true}, "SplitShard": {5, true}, "MergeShards": {5, true}, "UpdateShardCount": {5, true},
	"AddTagsToStream": {5, true}, "RemoveTagsFromStream": {5, true}, "ListTagsForStream": {5, true},
	"IncreaseStreamRetentionPeriod": {5, true}, "DecreaseStreamRetentionPeriod": {5, true},
	"RegisterStreamConsumer": {5, true}, "DeregisterStreamConsumer": {5, true},
	"DescribeStreamConsumer": {20, true}, "ListStreamConsumers": {5, true},
	"EnableEnhancedMonitoring": {5, true}, "DisableEnhancedMonitoring": {5, true},
}

// AllowCall applies AWS's control-plane call rates in "aws" and "scaled"
// modes, answering LimitExceededException as AWS does.
func (s *Service) AllowCall(sc Scope, op, stream string) error {
	r, ok := controlRates[op]
	if !ok || s.cfg.ThroughputMode == "off" {
		return nil
	}
	f := 1.0
	if s.cfg.ThroughputMode == "scaled" {
		f = s.cfg.ThroughputScale
	}
	sc = s.scope(sc)
	key := sc.Account + "/" + sc.Region + "/" + op
	if r.perStream {
		key += "/" + stream
	}
	if s.callQuota.Allow(key, quota.Limit{PerSecond: r.rate * f}, 1, 0) {
		return nil
	}
	if r.perStream && stream != "" {
		return errorf(KindLimitExceeded, "Rate exceeded for stream %s under account %s.", stream, sc.Account)
	}
	return errorf(KindLimitExceeded, "Rate exceeded for account %s.", sc.Account)
}
