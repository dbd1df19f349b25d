package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"os"
	"path/filepath"

	"github.com/rheos/rheos/internal/datastream"
	"github.com/rheos/rheos/internal/metrics"

	"github.com/rheos/rheos/internal/functions"
	"github.com/rheos/rheos/internal/lambdaapi"
)

// This file wires functions into the server: the registry and invoker over
// the shared metadata store, and the Lambda API on the router. It is the
// whole of what adding the service took outside its own packages.

func init() { registerWiring("functions", 10, (*Server).wireFunctions) }

// wireFunctions builds the functions service and plugs in the Lambda API.
func (s *Server) wireFunctions(context.Context) error {
	var objects functions.ObjectWriter // S3 OnFailure destinations: the built-in S3 (wired before, at order 5)
	if s.s3 != nil {
		objects = builtinObjects{s.s3}
	}
	svc := functions.New(functions.Config{Account: s.cfg.Account, Now: s.now, Logger: s.log,
		Exec: s.cfg.FunctionsExec, CodeDir: filepath.Join(s.cfg.DataDir, "functions"), MaxProcesses: s.cfg.MaxProcesses,
		Endpoint: func() string {
			switch {
			case s.ln != nil:
				return "http://" + s.ln.Addr().String()
			case s.tlsLn != nil: // the plain listener is off
				return "https://" + s.tlsLn.Addr().String()
			}
			return ""
		},
		AccessKeyID: s.cfg.RootAccessKeyID, SecretAccessKey: s.cfg.RootSecretAccessKey,
		Streams:  kinesisSource{svc: s.kinesis, changed: s.store.log.Changed},
		Objects:  objects,
		Observer: metrics.NewFunctions(s.registry),
	}, s.store.meta)
	if s.cfg.FunctionsExec {
		if err := os.MkdirAll(filepath.Join(s.cfg.DataDir, "functions"), 0o700); err != nil {
			return err
		}
		s.log.Warn("functions: subprocess handlers are enabled (--functions-exec): CreateFunction runs code on this machine")
	}
	s.functions = svc
	s.router.Register(lambdaapi.New(svc, s.cfg.Account).Endpoint())
	s.closers = append(s.closers, svc.Close)
	s.daemons = append(s.daemons, daemon{name: "functions-event-source-mappings", run: svc.Run},
		daemon{name: "functions-async-invocations", run: svc.RunAsync})
	return nil
}

// kinesisSource adapts Data Streams to what event source mappings read.
type kinesisSource struct {
	svc     *datastream.Service
	changed func() <-chan struct{}
}

func (k kinesisSource) stream(arn string) (datastream.Scope, string, error) {
	sc, name, ok := datastream.ResolveARN(arn)
	if !ok {
		return sc, "", fmt.Errorf("not a stream ARN: %s", arn)
	}
	return sc, name, nil
}

func (k kinesisSource) Shards(ctx context.Context, arn string) ([]functions.SourceShard, error) {
	sc, name, err := k.stream(arn)
	if err != nil {
		return nil, err
	}
	info, err := k.svc.Describe(sc, name)
	if err != nil {
		return nil, err
	}
	out := make([]functions.SourceShard, len(info.Shards))
	for i, sh := range info.Shards {
		out[i] = functions.SourceShard{ID: sh.ShardID, Parent: sh.ParentShardID, AdjacentParent: sh.AdjacentParentShardID}
	}
	return out, nil
}

func (k kinesisSource) Iterator(ctx context.Context, arn, shard, typ, seq string, at time.Time) (string, error) {
	sc, name, err := k.stream(arn)
	if err != nil {
		return "", err
	}
	in := datastream.IteratorInput{Stream: name, ShardID: shard, Type: typ, StartingSeq: seq}
	if typ == "AT_TIMESTAMP" {
		in.Timestamp, in.HasTimestamp = &at, true
	}
	return k.svc.GetShardIterator(ctx, sc, in)
}

func (k kinesisSource) Read(ctx context.Context, it string, limit int) ([]functions.SourceRecord, string, error) {
	return sourceRecords(k.svc.GetRecords(ctx, it, limit))
}

// ReadAs reads through an enhanced fan-out consumer: its own throughput.
func (k kinesisSource) ReadAs(ctx context.Context, consumerARN, it string, limit int) ([]functions.SourceRecord, string, error) {
	return sourceRecords(k.svc.ConsumerRecords(ctx, consumerARN, it, limit))
}

// Consumer resolves a consumer ARN, creation time included: a consumer
// registered again under the name is another one ("" status: none).
func (k kinesisSource) Consumer(ctx context.Context, arn string) (string, string, error) {
	sc, stream, name, ok := datastream.ResolveConsumerARN(arn)
	if !ok {
		return "", "", nil
	}
	info, err := k.svc.DescribeConsumer(sc, stream, name)
	var de *datastream.Error
	switch {
	case errors.As(err, &de) && de.Kind == datastream.KindNotFound:
		return "", "", nil
	case err != nil:
		return "", "", err
	case info.ARN != arn:
		return "", "", nil
	}
	return info.StreamARN, info.Status, nil
}

func sourceRecords(res datastream.GetRecordsResult, err error) ([]functions.SourceRecord, string, error) {
	if err != nil {
		return nil, "", err
	}
	out := make([]functions.SourceRecord, len(res.Records))
	for i, r := range res.Records {
		out[i] = functions.SourceRecord{SequenceNumber: r.SequenceNumber, PartitionKey: r.PartitionKey, Data: r.Data,
			ArrivalTime: r.ArrivalTime, Encrypted: r.Encrypted}
	}
	return out, res.NextShardIterator, nil
}

func (k kinesisSource) Changed() <-chan struct{} { return k.changed() }

func (k kinesisSource) Put(ctx context.Context, arn, partitionKey string, data []byte) error {
	sc, name, err := k.stream(arn)
	if err != nil {
		return err
	}
	_, err = k.svc.Put(ctx, sc, name, []datastream.PutEntry{{PartitionKey: partitionKey, Data: data}}, datastream.PutOptions{Single: true})
	return err
}
