// Package apprun owns running Kinesis Data Analytics SQL applications: it
// implements analytics.Runner over the SQL engine (internal/analytics/
// engine). For each running application it reads the input Data Stream
// shard by shard from the starting position (NOW, TRIM_HORIZON,
// LAST_STOPPED_POINT), maps records to rows (mapping.go), inserts them into
// the in-application input streams with ROWTIME = the time they were read
// (monotonic), moves the engine's clock every tick, and delivers the rows of
// the in-application streams named by Outputs to Data Streams or Firehose
// delivery streams, serialised as JSON (one object per row, column names as
// keys) or CSV. Delivery is at least once (AWS documents the same): a
// failing destination is retried and holds the application back. Reference
// tables are read from S3 at start and on update. It declares the readers
// and writers it needs; the server adapts Data Streams, Firehose and S3.
package apprun

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/rheos/rheos/internal/analytics"
	"github.com/rheos/rheos/internal/analytics/engine"
	kdasql "github.com/rheos/rheos/internal/analytics/sql"
)

// Source reads Data Streams.
type Source interface {
	// Shards lists a stream's open and closed shards.
	Shards(ctx context.Context, streamARN string) ([]string, error)
	// Iterator opens a shard: TRIM_HORIZON, LATEST or AFTER_SEQUENCE_NUMBER (seq).
	Iterator(ctx context.Context, streamARN, shardID, typ, seq string) (string, error)
	// Read returns up to limit records and the next iterator ("" at the
	// end of a closed shard).
	Read(ctx context.Context, iterator string, limit int) ([]Record, string, error)
	// Changed is closed at the next append to any stream.
	Changed() <-chan struct{}
}

// Record is a record of the input stream.
type Record struct {
	SequenceNumber, PartitionKey string
	Data                         []byte
	ArrivalTime                  time.Time
}

// Invoker runs Lambda functions (the input preprocessor, Lambda outputs).
type Invoker interface {
	Invoke(ctx context.Context, account, region, functionARN string, payload []byte) (response []byte, functionError string, err error)
}

// Sinks are where outputs go.
type Sinks interface {
	// PutRecords writes records to a Data Stream (its ARN), durably.
	PutRecords(ctx context.Context, streamARN string, records [][]byte) error
	// PutRecordBatch writes records to a Firehose delivery stream (its ARN).
	PutRecordBatch(ctx context.Context, deliveryStreamARN string, records [][]byte) error
}

// Objects reads reference data from S3.
type Objects interface {
	GetObject(ctx context.Context, account, bucket, key string) ([]byte, error)
}

// Positions saves where an application stopped reading
// (analytics.Service.SavePositions).
type Positions interface {
	SavePositions(ctx context.Context, ref analytics.AppRef, inputID string, shards map[string]string) error
}

// Config configures the runner.
type Config struct {
	Source    Source
	Sinks     Sinks
	Objects   Objects
	Positions Positions
	Functions Invoker
	Now       func() time.Time
	Logger    *slog.Logger
	// Tick is how often the clock moves and outputs are flushed (100 ms).
	Tick time.Duration
}

// Runner runs applications.
type Runner struct {
	cfg  Config
	mu   sync.Mutex
	apps map[analytics.AppRef]*running
}

// New returns a runner.
func New(cfg Config) *Runner {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 100 * time.Millisecond
	}
	return &Runner{cfg: cfg, apps: map[analytics.AppRef]*running{}}
}

var _ analytics.Runner = (*Runner)(nil)

// Validate checks application code's syntax: the CodeValidator. Names are
// resolved when the application starts (an application may be created
// before the input its code reads is added), so a semantic error is
// answered by StartApplication.
func Validate(code string) error {
	_, err := kdasql.Parse(code)
	return err
}

// running is one running application.
type running struct {
	app    *analytics.Application
	cancel context.CancelFunc
	done   chan struct{}

	flushMu  sync.Mutex // one delivery at a time, so outputs keep their order
	mu       sync.Mutex // guards inst, pending, lastRow, position
	inst     *engine.Instance
	pending  map[string][]engine.Row // in-app stream → rows to deliver
	streams  map[string][]engine.Column
	lastRow  time.Time
	position map[string]string // shard → last sequence number inserted
	inputID  string
}

// Start compiles and starts an application.
func (r *Runner) Start(ctx context.Context, app *analytics.Application, positions map[string]string) error {
	cp := *app
	run := &running{app: &cp, pending: map[string][]engine.Row{}, position: map[string]string{}, done: make(chan struct{})}
	if err := r.build(ctx, run, &cp); err != nil {
		return err
	}
	var in *analytics.Input
	if len(cp.Inputs) > 0 {
		in = &cp.Inputs[0]
		run.inputID = in.InputID
		if in.KinesisStreamsInput == nil {
			return errors.New("only Kinesis Data Streams inputs are run by this endpoint (KinesisFirehoseInput is not)")
		}
		if positions[in.InputID] == analytics.PositionLastStoppedPoint {
			for shard, seq := range app.StoppedPositions[in.InputID] {
				run.position[shard] = seq
			}
		}
	}
	runCtx, cancel := context.WithCancel(context.Background())
	run.cancel = cancel
	r.mu.Lock()
	if old := r.apps[cp.Ref()]; old != nil {
		r.mu.Unlock()
		cancel()
		return fmt.Errorf("application %s is already running", cp.Name)
	}
	r.apps[cp.Ref()] = run
	r.mu.Unlock()
	var wg sync.WaitGroup
	if in != nil {
		schema, err := compileSchema(in.InputSchema)
		if err != nil {
			cancel()
			return err
		}
		start := analytics.PositionNow
		if p := positions[in.InputID]; p != "" {
			start = p
		}
		shards, err := r.cfg.Source.Shards(ctx, in.KinesisStreamsInput.ResourceARN)
		if err != nil {
			cancel()
			r.forget(cp.Ref())
			return err
		}
		names := in.InAppStreamNames
		if len(names) == 0 {
			names = []string{in.NamePrefix + "_001"}
		}
		for i, sh := range shards {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.readShard(runCtx, run, in.KinesisStreamsInput.ResourceARN, sh, start, names[i%len(names)], schema)
			}()
		}
	}
	wg.Add(1)
	go func() { defer wg.Done(); r.tick(runCtx, run) }()
	go func() { wg.Wait(); close(run.done) }()
	return nil
}

// build compiles the code against the inputs and reference tables.
func (r *Runner) build(ctx context.Context, run *running, app *analytics.Application) error {
	var inputs []engine.Stream
	for _, in := range app.Inputs {
		var cols []engine.Column
		for _, c := range in.InputSchema.RecordColumns {
			cols = append(cols, engine.Column{Name: c.Name, Type: c.SqlType})
		}
		names := in.InAppStreamNames
		if len(names) == 0 {
			names = []string{in.NamePrefix + "_001"}
		}
		for _, n := range names {
			inputs = append(inputs, engine.Stream{Name: n, Columns: cols})
		}
	}
	var tables []engine.Table
	for _, ref := range app.References {
		t, err := r.loadTable(ctx, app, ref)
		if err != nil {
			return err
		}
		tables = append(tables, t)
	}
	prog, err := engine.Compile(app.Code, inputs, tables)
	if err != nil {
		var ee *engine.Error
		if errors.As(err, &ee) {
			return &analytics.CodeError{Line: ee.Line, Column: ee.Column, Msg: ee.Msg}
		}
		return err
	}
	streams := map[string][]engine.Column{}
	for _, s := range prog.Streams() {
		streams[s.Name] = s.Columns
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	run.streams = streams
	run.inst = prog.Start(r.cfg.Now(), func(stream string, row engine.Row) {
		run.pending[stream] = append(run.pending[stream], row) // under run.mu: emit runs inside Insert/Advance
	})
	return nil
}

// loadTable reads a reference table from S3.
func (r *Runner) loadTable(ctx context.Context, app *analytics.Application, ref analytics.ReferenceDataSource) (engine.Table, error) {
	var cols []engine.Column
	for _, c := range ref.ReferenceSchema.RecordColumns {
		cols = append(cols, engine.Column{Name: c.Name, Type: c.SqlType})
	}
	t := engine.Table{Name: ref.TableName, Columns: cols}
	if r.cfg.Objects == nil {
		return t, errors.New("no S3 to read reference data from")
	}
	bucket, ok := strings.CutPrefix(ref.S3ReferenceDataSource.BucketARN, "arn:aws:s3:::")
	if !ok {
		return t, fmt.Errorf("reference data BucketARN %s is not an S3 bucket ARN", ref.S3ReferenceDataSource.BucketARN)
	}
	body, err := r.cfg.Objects.GetObject(ctx, app.Account, bucket, ref.S3ReferenceDataSource.FileKey)
	if err != nil {
		return t, fmt.Errorf("reading reference data s3://%s/%s: %w", bucket, ref.S3ReferenceDataSource.FileKey, err)
	}
	sch, err := compileSchema(ref.ReferenceSchema)
	if err != nil {
		return t, err
	}
	if sch.format == "CSV" {
		rows, err := sch.rows(body)
		if err != nil {
			return t, err
		}
		t.Rows = rows
		return t, nil
	}
	for _, line := range strings.Split(string(body), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		rows, err := sch.rows([]byte(line))
		if err != nil {
			return t, err
		}
		t.Rows = append(t.Rows, rows...)
	}
	return t, nil
}

func (r *Runner) forget(ref analytics.AppRef) {
	r.mu.Lock()
	delete(r.apps, ref)
	r.mu.Unlock()
}

// readShard feeds one shard's records to an in-app input stream.
func (r *Runner) readShard(ctx context.Context, run *running, arn, shard, start, inApp string, sch *schema) {
	var it string
	for it == "" && ctx.Err() == nil {
		var err error
		run.mu.Lock()
		seq := run.position[shard]
		run.mu.Unlock()
		switch {
		case seq != "":
			it, err = r.cfg.Source.Iterator(ctx, arn, shard, "AFTER_SEQUENCE_NUMBER", seq)
		case start == analytics.PositionTrimHorizon || start == analytics.PositionLastStoppedPoint:
			it, err = r.cfg.Source.Iterator(ctx, arn, shard, "TRIM_HORIZON", "")
		default:
			it, err = r.cfg.Source.Iterator(ctx, arn, shard, "LATEST", "")
		}
		if err != nil {
			r.cfg.Logger.Warn("analytics: opening shard", "app", run.app.Name, "shard", shard, "err", err)
			sleep(ctx, time.Second)
		}
	}
	for ctx.Err() == nil && it != "" {
		changed := r.cfg.Source.Changed()
		recs, next, err := r.cfg.Source.Read(ctx, it, 1000)
		if err != nil {
			r.cfg.Logger.Warn("analytics: reading shard", "app", run.app.Name, "shard", shard, "err", err)
			sleep(ctx, time.Second)
			continue
		}
		if len(recs) > 0 {
			lastSeq := recs[len(recs)-1].SequenceNumber
			recs, failed := r.preprocess(ctx, run, arn, shard, recs)
			run.mu.Lock()
			for _, f := range failed {
				r.errorRow(run, r.cfg.Now(), "Lambda preprocessing failed", f.msg, f.rec.Data)
			}
			for _, rec := range recs {
				rows, err := sch.rows(rec.Data)
				now := r.cfg.Now()
				if now.Before(run.lastRow) {
					now = run.lastRow
				}
				run.lastRow = now
				if err != nil {
					r.errorRow(run, now, "Unable to parse record", err.Error(), rec.Data)
				}
				for _, vals := range rows {
					run.inst.Insert(inApp, engine.Row{Rowtime: now, Values: vals})
				}
			}
			run.position[shard] = lastSeq
			run.mu.Unlock()
			// Rows a stateless pump emitted leave now, not at the next tick.
			r.flush(ctx, run)
		}
		it = next
		if len(recs) == 0 {
			select {
			case <-ctx.Done():
			case <-changed:
			case <-time.After(r.cfg.Tick):
			}
		}
	}
}

// errorRow puts an error_stream row (AWS's columns) among the outputs.
func (r *Runner) errorRow(run *running, now time.Time, name, msg string, data []byte) {
	run.pending["error_stream"] = append(run.pending["error_stream"], engine.Row{Rowtime: now, Values: []any{
		now, "ERROR", name, msg, now, fmt.Sprintf("%x", data), nil}})
}

// tick moves the clock and flushes outputs until ctx ends, then flushes
// once more.
func (r *Runner) tick(ctx context.Context, run *running) {
	t := time.NewTicker(r.cfg.Tick)
	defer t.Stop()
	var saved map[string]string
	lastSave := r.cfg.Now()
	for {
		select {
		case <-ctx.Done():
			r.flush(context.Background(), run)
			return
		case <-t.C:
		}
		run.mu.Lock()
		run.inst.Advance(r.cfg.Now())
		// Positions whose rows are emitted by now: saved once those rows
		// are delivered, so a crash resumes (LAST_STOPPED_POINT at boot)
		// from at most positionEvery back, never past undelivered rows.
		var pos map[string]string
		ref := run.app.Ref()
		if r.cfg.Now().Sub(lastSave) >= positionEvery && run.inputID != "" {
			pos = make(map[string]string, len(run.position))
			for k, v := range run.position {
				pos[k] = v
			}
		}
		run.mu.Unlock()
		r.flush(ctx, run)
		if pos != nil && !maps.Equal(pos, saved) && r.cfg.Positions != nil {
			if err := r.cfg.Positions.SavePositions(ctx, ref, run.inputID, pos); err == nil {
				saved, lastSave = pos, r.cfg.Now()
			}
		}
	}
}

// positionEvery is how often a running application's input positions are
// saved (besides at stop).
const positionEvery = 5 * time.Second

// flush delivers pending output rows, retrying a failing destination.
func (r *Runner) flush(ctx context.Context, run *running) {
	run.flushMu.Lock()
	defer run.flushMu.Unlock()
	run.mu.Lock()
	pending := run.pending
	run.pending = map[string][]engine.Row{}
	streams := run.streams
	app := run.app
	run.mu.Unlock()
	for _, out := range app.Outputs {
		rows := pending[out.Name]
		if len(rows) == 0 {
			continue
		}
		cols := streams[out.Name]
		if out.Name == "error_stream" {
			cols = errorColumns
		}
		recs := serialise(out.DestinationSchema.RecordFormatType, cols, rows)
		for attempt := 0; ; attempt++ {
			var err error
			switch {
			case out.KinesisStreamsOutput != nil:
				err = r.cfg.Sinks.PutRecords(ctx, out.KinesisStreamsOutput.ResourceARN, recs)
			case out.KinesisFirehoseOutput != nil:
				err = r.cfg.Sinks.PutRecordBatch(ctx, out.KinesisFirehoseOutput.ResourceARN, recs)
			case out.LambdaOutput != nil:
				recs, err = r.deliverLambda(ctx, app, out.LambdaOutput.ResourceARN, recs, attempt)
			default:
				err = errors.New("the output names no destination")
			}
			if err == nil {
				break
			}
			r.cfg.Logger.Warn("analytics: output failed", "app", app.Name, "output", out.Name, "attempt", attempt+1, "err", err)
			if ctx.Err() != nil || attempt >= 20 {
				break
			}
			sleep(ctx, time.Duration(attempt+1)*200*time.Millisecond)
		}
	}
}

var errorColumns = []engine.Column{{Name: "ERROR_TIME", Type: "TIMESTAMP"}, {Name: "ERROR_LEVEL", Type: "VARCHAR(10)"},
	{Name: "ERROR_NAME", Type: "VARCHAR(32)"}, {Name: "MESSAGE", Type: "VARCHAR(4096)"}, {Name: "DATA_ROWTIME", Type: "TIMESTAMP"},
	{Name: "DATA_ROW", Type: "VARCHAR(49152)"}, {Name: "PUMP_NAME", Type: "VARCHAR(128)"}}

// serialise renders rows as JSON objects (column names as keys) or CSV lines.
func serialise(format string, cols []engine.Column, rows []engine.Row) [][]byte {
	out := make([][]byte, 0, len(rows))
	for _, row := range rows {
		if strings.EqualFold(format, "CSV") {
			var sb strings.Builder
			w := csv.NewWriter(&sb)
			fields := make([]string, len(row.Values))
			for i, v := range row.Values {
				if v != nil {
					fields[i] = fmt.Sprint(formatValue(v))
				}
			}
			w.Write(fields)
			w.Flush()
			out = append(out, []byte(sb.String()))
			continue
		}
		out = append(out, appendJSON(nil, cols, row.Values))
	}
	return out
}

// Stop stops an application after delivering what it emitted, and saves
// its positions for LAST_STOPPED_POINT.
func (r *Runner) Stop(ctx context.Context, ref analytics.AppRef) error {
	r.mu.Lock()
	run := r.apps[ref]
	delete(r.apps, ref)
	r.mu.Unlock()
	if run == nil {
		return nil
	}
	run.cancel()
	<-run.done
	run.mu.Lock()
	pos := make(map[string]string, len(run.position))
	for k, v := range run.position {
		pos[k] = v
	}
	run.mu.Unlock()
	if run.inputID != "" && r.cfg.Positions != nil {
		return r.cfg.Positions.SavePositions(ctx, ref, run.inputID, pos)
	}
	return nil
}

// Update applies a changed definition live: the code is recompiled (window
// state starts anew), outputs and reference tables are replaced; the input
// keeps its place.
func (r *Runner) Update(ctx context.Context, app *analytics.Application) error {
	r.mu.Lock()
	run := r.apps[app.Ref()]
	r.mu.Unlock()
	if run == nil {
		return nil
	}
	cp := *app
	r.flush(ctx, run)
	if err := r.build(ctx, run, &cp); err != nil {
		return err
	}
	run.mu.Lock()
	run.app = &cp
	run.mu.Unlock()
	return nil
}

// Close stops every application (server shutdown), saving positions.
func (r *Runner) Close(ctx context.Context) {
	r.mu.Lock()
	var refs []analytics.AppRef
	for ref := range r.apps {
		refs = append(refs, ref)
	}
	r.mu.Unlock()
	for _, ref := range refs {
		_ = r.Stop(ctx, ref)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
