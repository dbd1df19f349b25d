package server

import (
	"context"
	"time"

	"github.com/rheos/rheos/internal/datastream"
	"github.com/rheos/rheos/internal/kinesisapi"
	"github.com/rheos/rheos/internal/streamlog"
)

// This file wires Kinesis Data Streams into the server: the domain service
// over the shared stores, its API on the router, its claim on log keys, its
// periodic work, and the resource policies authorization reads.

func init() { registerWiring("kinesis", 0, (*Server).wireKinesis) }

// wireKinesis builds the Data Streams service and plugs it in. Kinesis is
// the router's fallback: requests no rule attributes get its answers.
func (s *Server) wireKinesis(ctx context.Context) error {
	cfg := s.cfg
	svc, err := datastream.New(ctx, datastream.Config{
		Account: cfg.Account, CreateDelay: time.Duration(cfg.CreateDelay), DeleteDelay: time.Duration(cfg.DeleteDelay),
		UpdateDelay: time.Duration(cfg.UpdateDelay), ShardLimit: cfg.ShardLimit, Fence: s.store.fence, Now: s.now, Logger: s.log,
		ThroughputMode: cfg.ThroughputMode, ThroughputScale: cfg.ThroughputScale, Observer: s.metrics, Keys: s.store.keys,
		LogKeys: s.store.logKeys,
	}, s.store.meta, RecordLog(s.store.log))
	if err != nil {
		return err
	}
	s.kinesis = svc
	ep := kinesisapi.New(svc).Endpoint()
	s.router.Register(ep)
	s.router.SetFallback(ep.SigningName)
	s.finishers = append(s.finishers, svc.FinishDeletions)
	s.store.own(logOwner{name: kinesisapi.SigningName, retainedFrom: svc.RetainedFrom})
	s.tasks = append(s.tasks,
		task{name: "kinesis-deletions", interval: time.Duration(cfg.SweepInterval), run: svc.FinishDeletions},
		// On-demand streams follow their traffic.
		task{name: "kinesis-autoscale", interval: 10 * time.Second, run: func(ctx context.Context) error {
			splits, merges, err := svc.Autoscale(ctx)
			if err == nil && splits+merges > 0 {
				s.log.Info("on-demand scaling", "splits", splits, "merges", merges)
			}
			return err
		}},
	)
	s.policies[kinesisapi.SigningName] = svc.GetResourcePolicy
	return nil
}

// RecordLog presents a streamlog as the datastream domain's RecordLog (the
// adapter the composition root supplies; tests of the domain reuse it).
func RecordLog(l *streamlog.Log) datastream.RecordLog { return logAdapter{l} }

// logAdapter presents the streamlog as the datastream domain's RecordLog.
type logAdapter struct{ l *streamlog.Log }

func (a logAdapter) Append(ctx context.Context, fence uint64, entries []datastream.LogEntry) ([]datastream.LogPosition, error) {
	es := make([]streamlog.Entry, len(entries))
	for i, e := range entries {
		es[i] = streamlog.Entry{Shard: e.Shard, PartitionKey: e.PartitionKey, Data: e.Data, Flags: e.Flags}
	}
	res, err := a.l.Append(ctx, fence, es)
	if err != nil {
		return nil, err
	}
	out := make([]datastream.LogPosition, len(res))
	for i, r := range res {
		out[i] = datastream.LogPosition{Counter: r.Seq, Timestamp: r.Timestamp}
	}
	return out, nil
}

func (a logAdapter) Read(shard, from uint64, maxRecords, maxBytes int, minTs int64) ([]datastream.LogRecord, error) {
	recs, err := a.l.Read(shard, from, streamlog.ReadOptions{MaxRecords: maxRecords, MaxBytes: maxBytes, MinTimestamp: minTs})
	out := make([]datastream.LogRecord, len(recs))
	for i, r := range recs {
		out[i] = datastream.LogRecord{Counter: r.Seq, Timestamp: r.Timestamp, PartitionKey: r.PartitionKey, Data: r.Data, Flags: r.Flags}
	}
	return out, err
}

func (a logAdapter) SeekTime(shard uint64, ts int64) (uint64, error) { return a.l.SeekTime(shard, ts) }

func (a logAdapter) Next(shard uint64) uint64 { return a.l.Bounds(shard).Next }

func (a logAdapter) Changed() <-chan struct{} { return a.l.Changed() }

func (a logAdapter) Sweep(ctx context.Context, policy func(uint64) (int64, bool)) error {
	_, err := a.l.Sweep(ctx, policy)
	return err
}
