package server

import (
	"context"
	"io"

	"github.com/rheos/rheos/internal/streamlog"
	"github.com/rheos/rheos/internal/video"
)

// videoLog presents the shared record log as video fragments' store:
// appends share the group commit (and its fsync) with every other
// service; a fragment's cluster is read back as a stream from its segment.
type videoLog struct {
	l     *streamlog.Log
	fence uint64
}

func (v videoLog) Append(ctx context.Context, key uint64, data []byte) (uint64, int64, error) {
	res, err := v.l.Append(ctx, v.fence, []streamlog.Entry{{Shard: key, Data: data}})
	if err != nil {
		return 0, 0, err
	}
	return res[0].Seq, res[0].Timestamp, nil
}

func (v videoLog) Read(key, from uint64, max int, minTs int64) ([]video.LogRecord, error) {
	recs, err := v.l.Read(key, from, streamlog.ReadOptions{MaxRecords: max, MaxBytes: 4 << 20, MinTimestamp: minTs})
	if err == streamlog.ErrNoRecord {
		err = nil
	}
	out := make([]video.LogRecord, len(recs))
	for i, r := range recs {
		out[i] = video.LogRecord{Seq: r.Seq, Timestamp: r.Timestamp, Data: r.Data}
	}
	return out, err
}

func (v videoLog) ReadData(key, seq uint64) ([]byte, bool, error) {
	rs, err := v.l.ReadStream(key, seq, 0)
	if err == streamlog.ErrNoRecord {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer rs.Close()
	if rs.Seq != seq {
		return nil, false, nil
	}
	b := make([]byte, rs.Size)
	if _, err := io.ReadFull(rs, b); err != nil {
		return nil, false, err
	}
	// The checksum is confirmed by the read that reaches the end.
	if n, err := rs.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, false, err
	}
	return b, true, nil
}

func (v videoLog) Next(key uint64) uint64 { return v.l.Bounds(key).Next }

func (v videoLog) Changed() <-chan struct{} { return v.l.Changed() }
