package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rheos/rheos/internal/firehose"
	"github.com/rheos/rheos/internal/firehoseapi"
	"github.com/rheos/rheos/internal/functions"
	"github.com/rheos/rheos/internal/glue"
	"github.com/rheos/rheos/internal/icebergsink"
	"github.com/rheos/rheos/internal/metrics"
	"github.com/rheos/rheos/internal/streamlog"
)

// This file wires Firehose into the server: the delivery stream service
// over the shared metadata store and record log (its buffers are log keys
// of its own, whose retention it reports to the sweep), its API on the
// router, and its delivery workers as a daemon.

func init() { registerWiring("firehose", 20, (*Server).wireFirehose) }

// wireFirehose builds the Firehose service and plugs it in.
func (s *Server) wireFirehose(context.Context) error {
	svc := firehose.New(firehose.Config{
		Account: s.cfg.Account, Region: s.cfg.Region, Now: s.now, Logger: s.log,
		CreateDelay: time.Duration(s.cfg.CreateDelay), DeleteDelay: time.Duration(s.cfg.DeleteDelay),
		Keys: s.store.keys, Throughput: s.cfg.ThroughputMode, ThroughputScale: s.cfg.ThroughputScale,
		Objects: s.objects(), Functions: firehoseInvoker{s.functions}, Observer: metrics.NewFirehose(s.registry),
		Schemas: glueSchemas{s.glue}, Iceberg: glueIceberg{s.glue},
		Streams: firehoseSource{kinesisSource{svc: s.kinesis, changed: s.store.log.Changed}},
	}, s.store.meta, firehoseLog{l: s.store.log, fence: s.store.fence}, s.store.logKeys)
	api, err := firehoseapi.New(svc, s.cfg.Account)
	if err != nil {
		return err
	}
	s.router.Register(api.Endpoint())
	s.firehose = svc
	s.store.own(logOwner{name: firehoseapi.SigningName, retainedFrom: svc.RetainedFrom})
	s.daemons = append(s.daemons, daemon{name: "firehose-delivery", run: svc.Run})
	return nil
}

// objects is where Firehose's S3 destinations write: the external server
// configured, or the built-in S3.
func (s *Server) objects() firehose.ObjectStore {
	if c := s.cfg.Firehose; c.FirehoseS3Endpoint != "" {
		region := c.FirehoseS3Region
		if region == "" {
			region = s.cfg.Region
		}
		pathStyle := c.FirehoseS3PathStyle == nil || *c.FirehoseS3PathStyle
		return newExternalObjects(c.FirehoseS3Endpoint, region, c.FirehoseS3AccessKeyID, c.FirehoseS3SecretAccessKey, pathStyle)
	}
	if s.s3 != nil {
		return builtinObjects{s.s3}
	}
	return noObjects{}
}

// firehoseSource reads Data Streams for KinesisStreamAsSource delivery
// streams, through the adapter event source mappings use.
type firehoseSource struct{ k kinesisSource }

func (f firehoseSource) Shards(ctx context.Context, arn string) ([]firehose.SourceShard, error) {
	shards, err := f.k.Shards(ctx, arn)
	out := make([]firehose.SourceShard, len(shards))
	for i, sh := range shards {
		out[i] = firehose.SourceShard{ID: sh.ID, Parent: sh.Parent, AdjacentParent: sh.AdjacentParent}
	}
	return out, err
}

func (f firehoseSource) Iterator(ctx context.Context, arn, shard, typ, seq string, at time.Time) (string, error) {
	return f.k.Iterator(ctx, arn, shard, typ, seq, at)
}

func (f firehoseSource) Read(ctx context.Context, it string, limit int) ([]firehose.SourceRecord, string, error) {
	recs, next, err := f.k.Read(ctx, it, limit)
	out := make([]firehose.SourceRecord, len(recs))
	for i, r := range recs {
		out[i] = firehose.SourceRecord{SequenceNumber: r.SequenceNumber, Data: r.Data}
	}
	return out, next, err
}

func (f firehoseSource) Changed() <-chan struct{} { return f.k.Changed() }

// glueSchemas reads table schemas from the Glue catalog for Firehose's
// record format conversion.
type glueSchemas struct{ g *glue.Service }

func (g glueSchemas) Columns(ctx context.Context, account, region, database, table string) ([]firehose.Column, error) {
	if g.g == nil {
		return nil, fmt.Errorf("no Glue catalog on this server")
	}
	t, err := g.g.GetTable(ctx, glue.Scope{Account: account, Region: region}, database, table)
	if err != nil {
		return nil, err
	}
	sd, _ := t.Input["StorageDescriptor"].(map[string]any)
	cols, _ := sd["Columns"].([]any)
	out := make([]firehose.Column, 0, len(cols))
	for _, c := range cols {
		cm, _ := c.(map[string]any)
		name, _ := cm["Name"].(string)
		typ, _ := cm["Type"].(string)
		out = append(out, firehose.Column{Name: name, Type: typ})
	}
	return out, nil
}

// firehoseInvoker runs Firehose's Lambda processors through the functions
// service's invoker.
type firehoseInvoker struct{ fn *functions.Service }

func (f firehoseInvoker) Invoke(ctx context.Context, account, region, function string, payload []byte) ([]byte, string, error) {
	res, err := f.fn.Invoke(ctx, functions.Scope{Account: account, Region: region}, function, payload, functions.InvokeOptions{})
	if err != nil {
		return nil, "", err
	}
	return res.Payload, res.FunctionError, nil
}

// firehoseLog presents the shared record log as Firehose's buffer.
type firehoseLog struct {
	l     *streamlog.Log
	fence uint64
}

func (f firehoseLog) Append(ctx context.Context, key uint64, data [][]byte, flags uint8) ([]firehose.LogRecord, error) {
	es := make([]streamlog.Entry, len(data))
	for i, d := range data {
		es[i] = streamlog.Entry{Shard: key, Data: d, Flags: flags}
	}
	res, err := f.l.Append(ctx, f.fence, es)
	if err != nil {
		return nil, err
	}
	out := make([]firehose.LogRecord, len(res))
	for i, r := range res {
		out[i] = firehose.LogRecord{Seq: r.Seq, Timestamp: r.Timestamp}
	}
	return out, nil
}

func (f firehoseLog) Read(key, from uint64, maxRecords, maxBytes int) ([]firehose.LogRecord, error) {
	recs, err := f.l.Read(key, from, streamlog.ReadOptions{MaxRecords: maxRecords, MaxBytes: maxBytes})
	out := make([]firehose.LogRecord, len(recs))
	for i, r := range recs {
		out[i] = firehose.LogRecord{Seq: r.Seq, Timestamp: r.Timestamp, Flags: r.Flags, Data: r.Data}
	}
	if err == streamlog.ErrNoRecord {
		err = nil
	}
	return out, err
}

func (f firehoseLog) Changed() <-chan struct{} { return f.l.Changed() }

// glueIceberg is the Glue catalog as Firehose's Iceberg tables see it: a
// table's metadata_location (table_type ICEBERG), swapped under Glue's
// VersionId as Iceberg's Glue catalog commits.
type glueIceberg struct{ g *glue.Service }

func (g glueIceberg) Catalog(account, region string) icebergsink.Catalog {
	return glueTables{g: g.g, sc: glue.Scope{Account: account, Region: region}}
}

type glueTables struct {
	g  *glue.Service
	sc glue.Scope
}

func (t glueTables) table(ctx context.Context, db, name string) (glue.Table, string, error) {
	if t.g == nil {
		return glue.Table{}, "", errors.New("no Glue catalog on this server")
	}
	tbl, err := t.g.GetTable(ctx, t.sc, db, name)
	var ge *glue.Error
	if errors.As(err, &ge) && ge.Kind == glue.KindNotFound {
		return glue.Table{}, "", icebergsink.ErrNoSuchTable
	}
	if err != nil {
		return glue.Table{}, "", err
	}
	params, _ := tbl.Input["Parameters"].(map[string]any)
	typ, _ := params["table_type"].(string)
	loc, _ := params["metadata_location"].(string)
	if !strings.EqualFold(typ, "ICEBERG") || loc == "" {
		return glue.Table{}, "", icebergsink.ErrNoSuchTable
	}
	return tbl, loc, nil
}

func (t glueTables) Current(ctx context.Context, db, name string) (string, string, error) {
	tbl, loc, err := t.table(ctx, db, name)
	return loc, tbl.VersionID(), err
}

func (t glueTables) Swap(ctx context.Context, db, name, version, location string) error {
	tbl, old, err := t.table(ctx, db, name)
	if err != nil {
		return err
	}
	in := make(map[string]any, len(tbl.Input))
	for k, v := range tbl.Input {
		in[k] = v
	}
	params := map[string]any{}
	if p, ok := tbl.Input["Parameters"].(map[string]any); ok {
		for k, v := range p {
			params[k] = v
		}
	}
	params["previous_metadata_location"], params["metadata_location"] = old, location
	in["Parameters"] = params
	err = t.g.UpdateTable(ctx, t.sc, db, in, version)
	var ge *glue.Error
	if errors.As(err, &ge) && ge.Kind == glue.KindConcurrentModification {
		return icebergsink.ErrConflict
	}
	return err
}
