package server

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rheos/rheos/internal/analytics"
	"github.com/rheos/rheos/internal/analytics/apprun"
	"github.com/rheos/rheos/internal/datastream"
	"github.com/rheos/rheos/internal/firehose"
)

// This file attaches the SQL engine to the analytics control plane: the
// runner (internal/analytics/apprun) reading Data Streams, writing Data
// Streams and Firehose delivery streams in process, reading reference data
// from S3; the engine's compiler as the code validator; and the
// applications a previous process left RUNNING started again from where
// they stopped.

func init() { registerWiring("analytics-runner", 26, (*Server).wireAnalyticsRunner) }

func (s *Server) wireAnalyticsRunner(ctx context.Context) error {
	if s.analytics == nil {
		return nil
	}
	r := apprun.New(apprun.Config{
		Source:    analyticsSource{kinesisSource{svc: s.kinesis, changed: s.store.log.Changed}},
		Sinks:     analyticsSinks{kinesis: s.kinesis, firehose: s.firehose},
		Objects:   analyticsRefObjects{s.objects()},
		Positions: s.analytics,
		Functions: firehoseInvoker{s.functions},
		Now:       s.now,
		Logger:    s.log,
	})
	s.analytics.SetRunner(r)
	s.analytics.SetCodeValidator(apprun.Validate)
	running, err := s.analytics.Recover(ctx)
	if err != nil {
		return err
	}
	for _, app := range running {
		pos := map[string]string{}
		for _, in := range app.Inputs {
			pos[in.InputID] = analytics.PositionLastStoppedPoint
		}
		if err := r.Start(ctx, app, pos); err != nil {
			s.log.Warn("analytics: restarting application", "app", app.Name, "err", err)
		}
	}
	s.closers = append(s.closers, func() error { r.Close(context.Background()); return nil })
	return nil
}

// analyticsSource reads an application's input stream.
type analyticsSource struct{ k kinesisSource }

func (a analyticsSource) Shards(ctx context.Context, arn string) ([]string, error) {
	shards, err := a.k.Shards(ctx, arn)
	out := make([]string, len(shards))
	for i, sh := range shards {
		out[i] = sh.ID
	}
	return out, err
}

func (a analyticsSource) Iterator(ctx context.Context, arn, shard, typ, seq string) (string, error) {
	return a.k.Iterator(ctx, arn, shard, typ, seq, time.Time{})
}

func (a analyticsSource) Changed() <-chan struct{} { return a.k.changed() }

func (a analyticsSource) Read(ctx context.Context, it string, limit int) ([]apprun.Record, string, error) {
	recs, next, err := a.k.Read(ctx, it, limit)
	out := make([]apprun.Record, len(recs))
	for i, r := range recs {
		out[i] = apprun.Record{SequenceNumber: r.SequenceNumber, PartitionKey: r.PartitionKey, Data: r.Data, ArrivalTime: r.ArrivalTime}
	}
	return out, next, err
}

// analyticsSinks writes outputs in process.
type analyticsSinks struct {
	kinesis  *datastream.Service
	firehose *firehose.Service
}

// outputKey spreads output records over the stream's shards.
var outputKey atomic.Uint64

func (a analyticsSinks) PutRecords(ctx context.Context, arn string, records [][]byte) error {
	sc, name, ok := datastream.ResolveARN(arn)
	if !ok {
		return fmt.Errorf("not a stream ARN: %s", arn)
	}
	for len(records) > 0 {
		n := min(len(records), 500)
		entries := make([]datastream.PutEntry, n)
		for i := range entries {
			entries[i] = datastream.PutEntry{PartitionKey: strconv.FormatUint(outputKey.Add(1), 36), Data: records[i]}
		}
		res, err := a.kinesis.Put(ctx, sc, name, entries, datastream.PutOptions{})
		if err != nil {
			return err
		}
		var failed [][]byte
		for i, r := range res {
			if r.Err != nil {
				failed = append(failed, records[i])
			}
		}
		records = append(failed, records[n:]...)
		if len(failed) > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

func (a analyticsSinks) PutRecordBatch(ctx context.Context, arn string, records [][]byte) error {
	if a.firehose == nil {
		return errors.New("no Firehose on this server")
	}
	rest, ok := strings.CutPrefix(arn, "arn:aws:firehose:")
	parts := strings.SplitN(rest, ":", 3)
	if !ok || len(parts) != 3 || !strings.HasPrefix(parts[2], "deliverystream/") {
		return fmt.Errorf("not a delivery stream ARN: %s", arn)
	}
	sc := firehose.Scope{Region: parts[0], Account: parts[1]}
	name := strings.TrimPrefix(parts[2], "deliverystream/")
	for len(records) > 0 {
		n := min(len(records), 500)
		res, _, err := a.firehose.Put(ctx, sc, name, records[:n])
		if err != nil {
			return err
		}
		var failed [][]byte
		for i, r := range res {
			if r.ErrorCode != "" {
				failed = append(failed, records[i])
			}
		}
		records = append(failed, records[n:]...)
	}
	return nil
}

// analyticsRefObjects reads reference data through the objects Firehose
// writes to.
type analyticsRefObjects struct{ o firehose.ObjectStore }

func (a analyticsRefObjects) GetObject(ctx context.Context, account, bucket, key string) ([]byte, error) {
	r, ok := a.o.(firehose.ObjectReader)
	if !ok {
		return nil, errors.New("no S3 to read reference data from")
	}
	return r.GetObject(ctx, account, bucket, key)
}
