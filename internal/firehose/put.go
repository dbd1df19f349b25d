package firehose

import (
	"context"
	"encoding/hex"
	"strconv"

	"github.com/rheos/rheos/internal/quota"
)

// Limits of the put operations (AWS's).
const (
	MaxRecordBytes   = 1000 << 10 // a record's data: 1,000 KiB
	MaxBatchRecords  = 500
	MaxBatchBytes    = 4 << 20
	recordIDHexBytes = 8
)

// PutResult is one record's answer.
type PutResult struct {
	RecordID string
	// ErrorCode and ErrorMessage are set when the record was not accepted.
	ErrorCode, ErrorMessage string
}

// Put appends records to a stream's buffer; they are durable (fsynced)
// when it returns. Each record gets a RecordId.
func (s *Service) Put(ctx context.Context, sc Scope, name string, records [][]byte) ([]PutResult, bool, error) {
	m, _, err := s.get(ctx, sc, name)
	if err != nil {
		return nil, false, err
	}
	if st := m.effectiveStatus(s.cfg.Now()); st != StatusActive {
		return nil, false, errorf(KindInUse, "Firehose %s is not in the ACTIVE state (it is %s).", name, st)
	}
	if m.Type != "DirectPut" {
		return nil, false, errorf(KindInvalidArgument, "This operation is not permitted on KinesisStreamAsSource delivery stream type.")
	}
	total := 0
	for _, r := range records {
		if len(r) > MaxRecordBytes {
			return nil, false, errorf(KindInvalidArgument, "Record size is too large: the maximum is %d bytes (1,000 KiB).", MaxRecordBytes)
		}
		total += len(r)
	}
	if total > MaxBatchBytes {
		return nil, false, errorf(KindInvalidArgument, "Records size exceeds 4 MB limit")
	}
	calls, recs := s.limits()
	id := strconv.FormatUint(m.LogKey, 10)
	if !s.quotas.Allow(id+"/calls", calls, 1, 0) {
		s.cfg.Observer.Throttled(m.Name, len(records))
		return nil, false, errorf(KindUnavailable, "Slow down.")
	}
	// Records over the stream's rates are refused one by one, in order, as
	// AWS answers PutRecordBatch; the rest are stored.
	out := make([]PutResult, len(records))
	var keep [][]byte
	var kept []int
	for i, r := range records {
		if !s.quotas.Allow(id+"/records", recs, 1, float64(len(r))) {
			out[i] = PutResult{ErrorCode: "ServiceUnavailableException", ErrorMessage: "Slow down."}
			continue
		}
		keep, kept = append(keep, r), append(kept, i)
	}
	if n := len(records) - len(keep); n > 0 {
		s.cfg.Observer.Throttled(m.Name, n)
	}
	if len(keep) == 0 {
		if len(records) == 1 {
			return nil, false, errorf(KindUnavailable, "Slow down.")
		}
		return out, m.Encryption == "ENABLED", nil
	}
	stored, flags, err := s.seal(ctx, m, keep)
	if err != nil {
		return nil, false, err
	}
	pos, err := s.log.Append(ctx, m.LogKey, stored, flags)
	if err != nil {
		return nil, false, &Error{Kind: KindUnavailable, Msg: "Slow down.", Err: err}
	}
	bytes := 0
	for j, p := range pos {
		out[kept[j]].RecordID = recordID(m.LogKey, p.Seq)
		bytes += len(keep[j])
	}
	s.cfg.Observer.Incoming(m.Name, len(keep), bytes)
	s.run.wake()
	return out, m.Encryption == "ENABLED", nil
}

// limits are the DirectPut rates of a delivery stream.
func (s *Service) limits() (calls, records quota.Limit) {
	scale := 1.0
	switch s.cfg.Throughput {
	case "aws":
	case "scaled":
		scale = max(s.cfg.ThroughputScale, 1)
	default:
		return quota.Limit{}, quota.Limit{}
	}
	return quota.Limit{PerSecond: 2000 * scale}, quota.Limit{PerSecond: 500000 * scale, BytesPerSecond: 5 * (1 << 20) * scale}
}

// recordID is AWS's opaque RecordId: here the buffer key and position, in
// hex, padded to AWS's length (an id is 112 hex characters on AWS).
func recordID(key, seq uint64) string {
	b := make([]byte, 0, 112)
	b = strconv.AppendUint(b, key, 16)
	b = append(b, '0')
	b = append(b, []byte(hex.EncodeToString([]byte(strconv.FormatUint(seq, 10))))...)
	for len(b) < 112 {
		b = append(b, '0')
	}
	return string(b[:112])
}
