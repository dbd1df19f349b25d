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
