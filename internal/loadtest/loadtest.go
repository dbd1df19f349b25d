// Package loadtest owns the load generator behind `rheos bench` and its
// measurements: producers that write a stream through the AWS SDK for Go v2
// or through pre-encoded raw HTTP bodies, consumers that poll every shard
// with GetRecords, and the figures they yield — throughput, put latency,
// put→get latency, failed, lost and duplicated records, and the server
// process's CPU time and memory read from /proc.
//
// It imports no server code: it is a client and talks to the server only over
// the network, as any Kinesis application would.
//
// Every record's payload starts with a 24-byte header, big-endian:
//
//	 0        2                  8                 16                24
//	+--------+------------------+-----------------+-----------------+
//	|producer|  counter (u48)   | send time, unix | run tag (u64)   |
//	|  u16   |                  | nanoseconds i64 |                 |
//	+--------+------------------+-----------------+-----------------+
//
// producer<<48|counter is the record's unique id within a run; the run tag
// (the header's reserved word, random per run) tells this run's records from
// any other's. 24 bytes encode to exactly 32 base64 characters, so the lean
// client patches those characters of each record's pre-encoded Data in place
// before each request instead of encoding the payload again.
//
// Producers keep the ids the server acknowledged, consumers the ids they
// read, each in one bitset per producer; after the load stops and the
// consumers have caught up (or the drain time ran out), lost is acknowledged
// but never read, and duplicated counts reads of an id already read.
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/rheos/rheos/internal/sdktest"
)

// Config describes one load run. Start from DefaultConfig.
type Config struct {
	// Endpoint is the server's URL. Default "http://127.0.0.1:4566".
	Endpoint string
	// Stream is the stream written and read. Default "bench".
	Stream string
	// Shards is the shard count of the stream when the run creates it (an
	// existing stream is used as it is). Default 4.
	Shards int
	// Client is "lean" (pre-encoded bodies over net/http) or "sdk" (the AWS
	// SDK for Go v2, retries off). Default "lean".
	Client string
	// Op is "putrecords" or "putrecord". Default "putrecords".
	Op string
	// RecordSize is each record's payload in bytes, 24 (the header) to
	// 1 MiB. Default 1024.
	RecordSize int
	// Batch is the number of records per PutRecords request, 1 to 500.
	// Default 500.
	Batch int
	// Producers is the number of concurrent producers, each with one request
	// in flight, 1 to 65536. Default 4.
	Producers int
	// Rate is the total records per second over all producers; 0 sends as
	// fast as possible. Default 0.
	Rate float64
	// Duration is how long the producers send. Default 10s.
	Duration time.Duration
	// Consumers runs one GetRecords poller per open shard, from LATEST taken
	// before the producers start; without them put→get, lost and duplicated
	// are not measured. Default true.
	Consumers bool
	// EFO makes the consumers enhanced fan-out subscribers (SubscribeToShard,
	// records pushed) instead of GetRecords pollers. Default false.
	EFO bool
	// Keep leaves a stream the run created in place; by default it is
	// deleted (with its consumers) when the run ends. A stream that existed
	// before the run is never deleted.
	Keep bool
	// ProgressLines writes the progress as a plain line every 5 s (for logs
	// and pipes) instead of one live line rewritten every second (for a
	// terminal).
	ProgressLines bool
	// PollInterval is the wait after a GetRecords that returned nothing.
	// Default 200ms.
	PollInterval time.Duration
	// Drain bounds the wait, after the producers stop, for the consumers to
	// read every acknowledged record. Default 5s.
	Drain time.Duration
	// ServerPID, when not 0, is the server process whose CPU time and memory
	// are read from /proc. Default 0.
	ServerPID int
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Endpoint: "http://127.0.0.1:4566", Stream: "bench", Shards: 4, Client: "lean", Op: "putrecords",
		RecordSize: 1024, Batch: 500, Producers: 4, Duration: 10 * time.Second, Consumers: true,
		PollInterval: 200 * time.Millisecond, Drain: 5 * time.Second,
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	u, err := url.Parse(c.Endpoint)
	check(err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "", "endpoint %q: want http://host:port", c.Endpoint)
	check(c.Stream != "", "stream: empty")
	check(c.Shards >= 1, "shards %d: want at least 1", c.Shards)
	check(c.Client == "lean" || c.Client == "sdk", "client %q: want lean or sdk", c.Client)
	check(c.Op == "putrecords" || c.Op == "putrecord", "op %q: want putrecords or putrecord", c.Op)
	check(c.RecordSize >= headerSize && c.RecordSize <= 1<<20, "record size %d: want %d to 1048576 bytes", c.RecordSize, headerSize)
	check(c.Batch >= 1 && c.Batch <= 500, "batch %d: want 1 to 500", c.Batch)
	check(c.Producers >= 1 && c.Producers <= maxProducers, "producers %d: want 1 to %d", c.Producers, maxProducers)
	check(c.Rate >= 0, "rate %g: want 0 (unlimited) or more", c.Rate)
	check(c.Duration > 0, "duration %v: want more than 0", c.Duration)
	check(c.PollInterval > 0, "poll interval %v: want more than 0", c.PollInterval)
	check(c.Drain >= 0, "drain %v: want 0 or more", c.Drain)
	check(c.ServerPID >= 0, "server pid %d: want a process id", c.ServerPID)
	return errors.Join(errs...)
}

// keysPerProducer is how many partition keys a PutRecord producer cycles
// through, so that single-record requests too spread over the shards.
const keysPerProducer = 64

// drainCheck is how often the drain looks for records not yet read.
const drainCheck = 20 * time.Millisecond

// Run performs one load run against a running server: it creates the stream
// if needed, starts the consumers, runs the producers for cfg.Duration, waits
// up to cfg.Drain for the consumers to catch up, and returns the figures. If
// progress is not nil, a live status line is written to it every second
// (carriage return, no newline) and erased at the end. Cancelling ctx stops
// the run early; the figures gathered so far are returned, marked
// Interrupted.
func Run(ctx context.Context, cfg Config, progress io.Writer) (res *Result, _ error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	endpoint, _ := url.Parse(cfg.Endpoint)
	if endpoint.Path == "" {
		endpoint.Path = "/"
	}
	var cpu0 time.Duration
	if cfg.ServerPID != 0 {
		var err error
		if cpu0, err = procCPU(cfg.ServerPID); err != nil {
			return nil, fmt.Errorf("server pid: %w", err)
		}
	}

	conns := cfg.Producers + 2
	sdk := kinesis.New(kinesis.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(cfg.Endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		RetryMaxAttempts: 1,
		// Bodies are copied for the transport: without retries the SDK's
		// early close of request bodies (aws/aws-sdk-go-v2#2737) would fail
		// puts the server acknowledged and miscount them as failed.
		HTTPClient: sdktest.HTTPClient(sdkTransport(conns)),
	})
	shards, created, err := ensureStream(ctx, sdk, cfg.Stream, cfg.Shards)
	if err != nil {
		return nil, err
	}
	if created && !cfg.Keep {
		defer func() { // also on an interrupted run: ctx may be done
			dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := sdk.DeleteStream(dctx, &kinesis.DeleteStreamInput{StreamName: &cfg.Stream, EnforceConsumerDeletion: aws.Bool(true)}); err == nil && res != nil {
				res.StreamDeleted = true
			}
		}()
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DisableCompression = true
	tr.MaxIdleConns = cfg.Producers + len(shards) + 2
	tr.MaxIdleConnsPerHost = tr.MaxIdleConns
	lean := &leanClient{hc: &http.Client{Transport: tr}, url: endpoint.String()}
	defer tr.CloseIdleConnections()

	seed := rand.Uint64()
	tag := rand.Uint64()
	lv := &live{}
	producers := make([]*producer, cfg.Producers)
	var lim *limiter
	if cfg.Rate > 0 {
		lim = newLimiter(cfg.Rate)
	}
	for i := range producers {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		producers[i] = &producer{id: uint16(i), tag: tag, lim: lim, live: lv,
			snd: newSender(cfg, rng, lean, sdk)}
	}

	tracker := newTracker(tag, cfg.Producers)
	var consumers []*consumer
	if cfg.Consumers && cfg.EFO {
		consumerARN, err := registerConsumer(ctx, sdk, cfg.Stream, fmt.Sprintf("bench-%x", tag))
		if err != nil {
			return nil, err
		}
		for _, sh := range shards {
			// One client per subscription: smithy-go's event-stream codec is
			// shared by a client's concurrent streams and races (seen with
			// -race in smithy-go v1.28.9).
			k := &consumer{sdk: kinesis.New(sdk.Options()), consumerARN: consumerARN, shard: sh, dataLen: cfg.RecordSize, poll: cfg.PollInterval, tr: tracker, live: lv}
			if err := k.subscribe(ctx, &types.StartingPosition{Type: types.ShardIteratorTypeLatest}); err != nil {
				return nil, fmt.Errorf("shard %s: %w", sh, err)
			}
			consumers = append(consumers, k)
		}
	} else if cfg.Consumers {
		for _, sh := range shards {
			it, err := lean.latestIterator(ctx, cfg.Stream, sh)
			if err != nil {
				return nil, fmt.Errorf("shard %s: %w", sh, err)
			}
			consumers = append(consumers, &consumer{c: lean, iter: it, dataLen: encodedLen(cfg.RecordSize),
				poll: cfg.PollInterval, tr: tracker, live: lv})
		}
	}

	var rss *rssSampler
	if cfg.ServerPID != 0 {
		rss = &rssSampler{pid: cfg.ServerPID}
		rss.start()
	}
	ccpu0, cerr := procCPU(os.Getpid())

	cctx, stopConsumers := context.WithCancel(ctx)
	defer stopConsumers()
	var cwg sync.WaitGroup
	for _, k := range consumers {
		cwg.Go(func() { k.run(cctx) })
	}

	start := time.Now()
	var phase atomicString
	phase.set("load")
	stopProgress := startProgress(progress, cfg.ProgressLines, lv, cfg.RecordSize, start, &phase)
	defer stopProgress()

	stopAt := start.Add(cfg.Duration)
	var pwg sync.WaitGroup
	for _, p := range producers {
		pwg.Go(func() { p.run(ctx, stopAt) })
	}
	pwg.Wait()
	loadEnd := time.Now()
	var cpu1 time.Duration
	if cfg.ServerPID != 0 {
		cpu1, _ = procCPU(cfg.ServerPID)
	}
	ccpu1, cerr2 := procCPU(os.Getpid())

	acked := make([]*bitset, len(producers))
	for i, p := range producers {
		acked[i] = &p.acked
	}
	catchUp := time.Duration(-1)
	if len(consumers) > 0 {
		phase.set("drain")
		deadline := loadEnd.Add(cfg.Drain)
		for {
			if tracker.missing(acked) == 0 {
				catchUp = time.Since(loadEnd)
				break
			}
			next := time.Now().Add(drainCheck)
			if next.After(deadline) {
				next = deadline
			}
			if !time.Now().Before(deadline) || !sleepUntil(ctx, next) {
				break
			}
		}
	}
	stopConsumers()
	cwg.Wait()
	stopProgress()

	res = &Result{
		Client: cfg.Client, Op: cfg.Op, RecordSize: cfg.RecordSize, Batch: producers[0].snd.records(),
		Producers: cfg.Producers, Shards: len(shards), Rate: cfg.Rate,
		Seconds:     loadEnd.Sub(start).Seconds(),
		Interrupted: ctx.Err() != nil,
	}
	var put histogram
	for _, p := range producers {
		put.merge(&p.lat)
		res.Requests += p.requests
		res.FailedRequests += p.failedRequests
		res.Failed += p.failed
		res.Records += p.acked.count()
		if p.firstErr != nil && res.FirstError == "" {
			res.FirstError = p.firstErr.Error()
		}
	}
	res.PutLatency = latencyOf(&put)
	if res.Seconds > 0 {
		res.RecordsPerSecond = float64(res.Records) / res.Seconds
		res.MiBPerSecond = float64(res.Records) * float64(cfg.RecordSize) / (1 << 20) / res.Seconds
	}
	if cfg.Consumers {
		a := tracker.account(acked)
		cr := &ConsumerResult{
			Consumers: len(consumers), Read: a.Unique, Lost: a.Lost, Duplicated: a.Duplicated,
			UnackedRead: a.UnackedDelivered, Foreign: a.Foreign, CaughtUp: catchUp >= 0,
		}
		if catchUp >= 0 {
			cr.CatchUpSeconds = catchUp.Seconds()
		}
		var pg histogram
		for _, k := range consumers {
			pg.merge(&k.lat)
			cr.Requests += k.requests
			cr.Errors += k.errs
			cr.Corrupt += k.corrupt
			if k.firstErr != nil && cr.FirstError == "" {
				cr.FirstError = k.firstErr.Error()
			}
		}
		cr.PutGet = latencyOf(&pg)
		res.Consumers = cr
	}
	if cfg.ServerPID != 0 {
		sr := &ServerResult{PID: cfg.ServerPID, CPUSeconds: (cpu1 - cpu0).Seconds(), PeakRSSMiB: float64(rss.stop()) / 1024}
		if hwm, err := procStatusKiB(cfg.ServerPID, "VmHWM"); err == nil {
			sr.VmHWMMiB = float64(hwm) / 1024
		}
		if gib := float64(res.Records) * float64(cfg.RecordSize) / (1 << 30); gib > 0 {
			sr.CPUSecondsPerGiB = sr.CPUSeconds / gib
			sr.CPUMicrosPerRecord = sr.CPUSeconds * 1e6 / float64(res.Records)
		}
		res.Server = sr
	}
	if cerr == nil && cerr2 == nil {
		res.ClientCPUSeconds = (ccpu1 - ccpu0).Seconds()
	}
	return res, nil
}

// newSender builds a producer's sender: its payload and partition keys are
// random, drawn from rng, and fixed for the run.
func newSender(cfg Config, rng *rand.Rand, lean *leanClient, sdk *kinesis.Client) sender {
	payload := randomPayload(rng, cfg.RecordSize)
	if cfg.Op == "putrecord" {
		keys := randomKeys(rng, keysPerProducer)
		if cfg.Client == "lean" {
			return &leanSender{c: lean, target: targetPutRecord, t: putRecordTemplate(cfg.Stream, payload, keys[0]), keys: keys}
		}
		s := &sdkSender{c: sdk, stream: aws.String(cfg.Stream), data: payload}
		for _, k := range keys {
			s.keys = append(s.keys, aws.String(k))
		}
		return s
	}
	keys := randomKeys(rng, cfg.Batch)
	if cfg.Client == "lean" {
		return &leanSender{c: lean, target: targetPutRecords, t: putRecordsTemplate(cfg.Stream, payload, keys)}
	}
	s := &sdkSender{c: sdk, stream: aws.String(cfg.Stream)}
	for _, k := range keys {
		s.entries = append(s.entries, types.PutRecordsRequestEntry{PartitionKey: aws.String(k), Data: slices.Clone(payload)})
	}
	return s
}

// ensureStream creates the stream with the given shard count unless it
// exists, waits for it to be ACTIVE and returns its open shards' ids and
// whether this call created it.
func ensureStream(ctx context.Context, c *kinesis.Client, name string, shards int) (ids []string, created bool, _ error) {
	_, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: &name})
	var nf *types.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		_, err = c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: &name, ShardCount: aws.Int32(int32(shards))})
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) {
			return nil, false, fmt.Errorf("create stream %s: %w", name, err)
		}
		created = err == nil
	case err != nil:
		return nil, false, fmt.Errorf("describe stream %s: %w", name, err)
	}
	w := kinesis.NewStreamExistsWaiter(c, func(o *kinesis.StreamExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, time.Second
	})
	if err := w.Wait(ctx, &kinesis.DescribeStreamInput{StreamName: &name}, time.Minute); err != nil {
		return nil, created, fmt.Errorf("stream %s: waiting for ACTIVE: %w", name, err)
	}
	in := &kinesis.ListShardsInput{StreamName: &name}
	for {
		out, err := c.ListShards(ctx, in)
		if err != nil {
			return nil, created, fmt.Errorf("list shards of %s: %w", name, err)
		}
		for _, s := range out.Shards {
			if s.SequenceNumberRange == nil || s.SequenceNumberRange.EndingSequenceNumber == nil {
				ids = append(ids, aws.ToString(s.ShardId))
			}
		}
		if out.NextToken == nil {
			return ids, created, nil
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
}

// atomicString is a string read by the progress line and set by Run.
type atomicString struct {
	mu sync.Mutex
	s  string
}

func (a *atomicString) set(s string) { a.mu.Lock(); a.s = s; a.mu.Unlock() }
func (a *atomicString) get() string  { a.mu.Lock(); defer a.mu.Unlock(); return a.s }

// startProgress writes a status line to w once a second (rewriting it in
// place; with lines, a new line every 5 s) until the returned function is
// called; that function erases a live line and may be called more than
// once. With a nil w it does nothing.
func startProgress(w io.Writer, lines bool, lv *live, size int, start time.Time, phase *atomicString) (stop func()) {
	if w == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	width := 0
	wg.Go(func() {
		every := time.Second
		if lines {
			every = 5 * time.Second
		}
		t := time.NewTicker(every)
		defer t.Stop()
		var last uint64
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				acked := lv.acked.Load()
				d := acked - last
				last = acked
				line := fmt.Sprintf("%5.0fs %s  %s rec/s  %.1f MiB/s  acked %s  failed %s  read %s",
					now.Sub(start).Seconds(), phase.get(), group(uint64(float64(d)/every.Seconds())), float64(d)*float64(size)/(1<<20)/every.Seconds(),
					group(acked), group(lv.failed.Load()), group(lv.read.Load()))
				if lines {
					fmt.Fprintln(w, "bench: "+line)
					continue
				}
				fmt.Fprintf(w, "\r%-*s", width, line)
				width = max(width, len(line))
			}
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			wg.Wait()
			if width > 0 {
				fmt.Fprintf(w, "\r%s\r", strings.Repeat(" ", width))
			}
		})
	}
}

func sdkTransport(conns int) *http.Transport {
	t := awshttp.NewBuildableClient().GetTransport()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = conns, conns
	return t
}
