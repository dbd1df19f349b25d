package firehose

import (
	"context"
	"encoding/json"
	"time"
)

// StreamSource is what a KinesisStreamAsSource delivery stream reads: Rheos's
// Data Streams, through their own reader (the composition root adapts it).
type StreamSource interface {
	// Shards lists a stream's shards, closed ones included, with lineage.
	Shards(ctx context.Context, streamARN string) ([]SourceShard, error)
	// Iterator opens a shard: AT_TIMESTAMP (at) or AFTER_SEQUENCE_NUMBER (seq).
	Iterator(ctx context.Context, streamARN, shardID, typ, seq string, at time.Time) (string, error)
	// Read returns up to limit records and the next iterator ("" once a
	// closed shard is read to its end).
	Read(ctx context.Context, iterator string, limit int) ([]SourceRecord, string, error)
	// Changed is closed at the next append to any stream.
	Changed() <-chan struct{}
}

// SourceShard is a shard and its parents.
type SourceShard struct{ ID, Parent, AdjacentParent string }

// SourceRecord is a record of the source stream.
type SourceRecord struct {
	SequenceNumber string
	Data           []byte
}

// The source's checkpoints (part of the metadata format):
//
//	firehose/source/<account>/<region>/<name>          sourceStart as JSON
//	firehose/source/<account>/<region>/<name>/<shard>  shardCheckpoint as JSON
const prefixSource = "firehose/source/"

type sourceStart struct{ StartMs int64 }

type shardCheckpoint struct {
	Seq  string // last sequence number copied into the buffer
	Done bool   // a closed shard read to its end
}

// pumpLoop copies a Kinesis source into the delivery stream's durable
// buffer, shard by shard in lineage order (a child only after its parents
// are read to their end, so per-key order holds across resharding), each
// shard from its checkpoint; a new delivery stream starts at the time it
// first ran (AWS's LATEST), so shards created later are read from their
// start. A record is in the buffer before its shard's checkpoint moves:
// at least once across crashes.
func (s *Service) pumpLoop(ctx context.Context, m *streamMeta) {
	src := str(m.Source, "KinesisStreamARN")
	if s.cfg.Streams == nil || src == "" {
		return
	}
	base := prefixSource + m.Account + "/" + m.Region + "/" + m.Name
	start, err := s.sourceStart(ctx, base)
	if err != nil {
		s.cfg.Logger.Warn("firehose: source start", "stream", m.Name, "err", err)
		return
	}
	for ctx.Err() == nil {
		changed := s.cfg.Streams.Changed()
		progressed, err := s.pumpOnce(ctx, m, src, base, start)
		if err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("firehose: reading the source stream", "stream", m.Name, "source", src, "err", err)
		}
		if progressed {
			continue
		}
		select {
		case <-ctx.Done():
		case <-changed:
		case <-time.After(time.Second):
		}
	}
}

func (s *Service) sourceStart(ctx context.Context, base string) (time.Time, error) {
	b, _, err := s.meta.Get(ctx, base)
	if err != nil {
		return time.Time{}, err
	}
	var st sourceStart
	if b != nil && json.Unmarshal(b, &st) == nil {
		return time.UnixMilli(st.StartMs), nil
	}
	st.StartMs = s.cfg.Now().UnixMilli()
	nb, _ := json.Marshal(st)
	if _, _, err := s.meta.Commit(ctx, map[string]uint64{base: 0}, map[string][]byte{base: nb}, nil); err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(st.StartMs), nil
}

// pumpOnce copies what is available from every readable shard once.
func (s *Service) pumpOnce(ctx context.Context, m *streamMeta, src, base string, start time.Time) (bool, error) {
	shards, err := s.cfg.Streams.Shards(ctx, src)
	if err != nil {
		return false, err
	}
	cks := map[string]shardCheckpoint{}
	revs := map[string]uint64{}
	for _, sh := range shards {
		b, rev, err := s.meta.Get(ctx, base+"/"+sh.ID)
		if err != nil {
			return false, err
		}
		var ck shardCheckpoint
		if b != nil {
			json.Unmarshal(b, &ck)
		}
		cks[sh.ID], revs[sh.ID] = ck, rev
	}
	known := map[string]bool{}
	for _, sh := range shards {
		known[sh.ID] = true
	}
	parentDone := func(id string) bool { return id == "" || !known[id] || cks[id].Done }
	progressed := false
	for _, sh := range shards {
		ck := cks[sh.ID]
		if ck.Done || !parentDone(sh.Parent) || !parentDone(sh.AdjacentParent) {
			continue
		}
		typ := "AT_TIMESTAMP"
		if ck.Seq != "" {
			typ = "AFTER_SEQUENCE_NUMBER"
		}
		it, err := s.cfg.Streams.Iterator(ctx, src, sh.ID, typ, ck.Seq, start)
		if err != nil {
			return progressed, err
		}
		recs, next, err := s.cfg.Streams.Read(ctx, it, 10000)
		if err != nil {
			return progressed, err
		}
		if len(recs) > 0 {
			data := make([][]byte, len(recs))
			for i, r := range recs {
				data[i] = r.Data
			}
			if _, err := s.log.Append(ctx, m.LogKey, data, 0); err != nil {
				return progressed, err
			}
			ck.Seq = recs[len(recs)-1].SequenceNumber
			n := 0
			for _, d := range data {
				n += len(d)
			}
			s.cfg.Observer.Incoming(m.Name, len(data), n)
			progressed = true
			s.run.wake()
		}
		if next == "" {
			ck.Done = true
			progressed = true
		}
		if ck != cks[sh.ID] {
			b, _ := json.Marshal(ck)
			if _, _, err := s.meta.Commit(ctx, map[string]uint64{base + "/" + sh.ID: revs[sh.ID]}, map[string][]byte{base + "/" + sh.ID: b}, nil); err != nil {
				return progressed, err
			}
		}
	}
	return progressed, nil
}
