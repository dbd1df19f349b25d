package firehose

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/klauspost/compress/snappy"
)

// checkpoint is a stream's delivery position, stored under ckptKey.
type checkpoint struct {
	Next uint64 // first record not yet delivered (or backed up)
	// DeliveredTs is the arrival time (ms) of the last record delivered:
	// everything older is delivered, so the log may drop it.
	DeliveredTs int64
}

// runner keeps one delivery worker per live delivery stream.
type runner struct {
	s       *Service
	mu      sync.Mutex // guards workers
	workers map[string]*worker
	kick    chan struct{}
}

type worker struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func newRunner(s *Service) *runner {
	return &runner{s: s, workers: map[string]*worker{}, kick: make(chan struct{}, 1)}
}

func (r *runner) wake() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run keeps the delivery workers in step with the delivery streams until ctx
// ends (a daemon of the server).
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	defer s.run.stopAll()
	for {
		if err := s.run.reconcile(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("firehose: reconciling workers", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.run.kick:
		}
	}
}

func (r *runner) stopAll() {
	r.mu.Lock()
	ws := r.workers
	r.workers = map[string]*worker{}
	r.mu.Unlock()
	for _, w := range ws {
		w.cancel()
		<-w.done
	}
}

// reconcile starts a worker for each active stream (restarting it when its
// configuration version changed) and stops those of streams gone.
func (r *runner) reconcile(ctx context.Context) error {
	live, err := r.s.loadRetention(ctx)
	if err != nil {
		return err
	}
	now := r.s.cfg.Now()
	want := map[string]*streamMeta{}
	for _, m := range live {
		if m.effectiveStatus(now) == StatusActive {
			// A new configuration version or a new data key restarts the
			// worker with the stream as it now is.
			want[streamKey(Scope{Account: m.Account, Region: m.Region}, m.Name)+"#"+strconv.Itoa(m.VersionID)+"#"+strconv.Itoa(len(m.DataKeys))] = m
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, w := range r.workers {
		if want[id] == nil {
			w.cancel()
			<-w.done
			delete(r.workers, id)
		}
	}
	for id, m := range want {
		if r.workers[id] != nil {
			continue
		}
		wctx, cancel := context.WithCancel(ctx)
		w := &worker{cancel: cancel, done: make(chan struct{})}
		r.workers[id] = w
		go func() {
			defer close(w.done)
			if m.Type == "KinesisStreamAsSource" {
				pumped := make(chan struct{})
				go func() { defer close(pumped); r.s.pumpLoop(wctx, m) }()
				defer func() { <-pumped }()
			}
			if m.DestKind == DestExtendedS3 && dynamicPartitioning(m.Dest) {
				r.s.deliverPartitioned(wctx, m)
				return
			}
			r.s.deliverLoop(wctx, m, w)
		}()
	}
	return nil
}

// retention is what the log's sweep may drop of each delivery stream's
// buffer: for every stream that exists (whatever its status), the arrival
// time of the last record delivered. It is loaded from the metadata on
// first use, refreshed by every reconcile, and moved forward by the workers
// as their checkpoints advance, so that a sweep never takes a buffer for
// unowned (a key missing here is dropped by the sweep).
type retention struct {
	mu     sync.Mutex
	loaded bool
	byKey  map[uint64]int64
}

// RetainedFrom tells the log's sweep, for a key a delivery stream owns, the
// arrival time of the oldest record still needed (the composed retention of
// the shared log); ok=false for a key no delivery stream owns.
func (s *Service) RetainedFrom(key uint64) (int64, bool) {
	s.ret.mu.Lock()
	loaded := s.ret.loaded
	s.ret.mu.Unlock()
	if !loaded {
		if _, err := s.loadRetention(context.Background()); err != nil {
			s.cfg.Logger.Warn("firehose: loading buffer retention", "err", err)
			return 0, true // keep everything rather than guess
		}
	}
	s.ret.mu.Lock()
	defer s.ret.mu.Unlock()
	ts, ok := s.ret.byKey[key]
	return ts, ok
}

// loadRetention rebuilds the retention table from the metadata and returns
// the streams that exist (one scan serves the sweep's table and reconcile).
func (s *Service) loadRetention(ctx context.Context) ([]*streamMeta, error) {
	now := s.cfg.Now()
	var live []*streamMeta
	err := s.meta.Scan(ctx, prefixStream, func(_ string, v []byte, _ uint64) error {
		var m streamMeta
		if json.Unmarshal(v, &m) == nil && m.effectiveStatus(now) != "" {
			live = append(live, &m)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	byKey := map[uint64]int64{}
	for _, m := range live {
		ck, _, err := s.loadCheckpoint(ctx, Scope{Account: m.Account, Region: m.Region}, m.Name)
		if err != nil {
			return nil, err
		}
		byKey[m.LogKey] = ck.DeliveredTs
	}
	s.ret.mu.Lock()
	defer s.ret.mu.Unlock()
	// A worker may have moved a key forward meanwhile: keep the later time.
	for k, ts := range byKey {
		if cur, ok := s.ret.byKey[k]; ok && cur > ts {
			byKey[k] = cur
		}
	}
	s.ret.byKey, s.ret.loaded = byKey, true
	return live, nil
}

// retain records a key's delivered time (a new stream: 0, everything kept).
func (s *Service) retain(key uint64, deliveredTs int64) {
	s.ret.mu.Lock()
	defer s.ret.mu.Unlock()
	if s.ret.byKey == nil {
		s.ret.byKey = map[uint64]int64{}
	}
	s.ret.byKey[key] = max(s.ret.byKey[key], deliveredTs)
}

// batch is a run of buffered records on their way to a destination.
type batch struct {
	records []LogRecord
	bytes   int
}

func (b *batch) oldest() time.Time { return time.UnixMilli(b.records[0].Timestamp).UTC() }

// deliverLoop delivers a stream's buffer from its checkpoint, batch by
// batch, until ctx ends.
func (s *Service) deliverLoop(ctx context.Context, m *streamMeta, w *worker) {
	sc := Scope{Account: m.Account, Region: m.Region}
	ck, rev, err := s.loadCheckpoint(ctx, sc, m.Name)
	if err != nil {
		s.cfg.Logger.Warn("firehose: checkpoint", "stream", m.Name, "err", err)
		return
	}
	hints := bufferingHints(m)
	var b batch
	next := ck.Next
	for ctx.Err() == nil {
		changed := s.log.Changed()
		progressed := false
		if b.bytes < hints.size {
			recs, err := s.log.Read(m.LogKey, next, 10000, hints.size-b.bytes)
			if err != nil {
				s.cfg.Logger.Warn("firehose: reading the buffer", "stream", m.Name, "err", err)
			}
			for _, r := range s.openRecords(ctx, m, recs) {
				b.records = append(b.records, r)
				b.bytes += len(r.Data)
				next = r.Seq + 1
				progressed = true
			}
		}
		due := len(b.records) > 0 && (b.bytes >= hints.size || !s.cfg.Now().Before(b.oldest().Add(hints.interval)))
		if !due && progressed {
			continue // a read stops at its record or byte bound: read on before waiting
		}
		if !due {
			wait := time.Hour
			if len(b.records) > 0 {
				wait = b.oldest().Add(hints.interval).Sub(s.cfg.Now())
			}
			timer := time.NewTimer(wait)
			select {
			case <-ctx.Done():
			case <-changed:
			case <-timer.C:
			}
			timer.Stop()
			continue
		}
		if err := s.deliverBatch(ctx, m, &b); err != nil {
			continue // ctx ended: the checkpoint stays, the batch is delivered again
		}
		last := b.records[len(b.records)-1]
		ck = checkpoint{Next: last.Seq + 1, DeliveredTs: last.Timestamp}
		if rev, err = s.saveCheckpoint(ctx, sc, m.Name, ck, rev); err != nil {
			s.cfg.Logger.Warn("firehose: saving the checkpoint", "stream", m.Name, "err", err)
			return
		}
		s.retain(m.LogKey, ck.DeliveredTs)
		b = batch{}
	}
}

type hints struct {
	size     int
	interval time.Duration
}

func bufferingHints(m *streamMeta) hints {
	bh := mapOf(m.Dest, "BufferingHints")
	return hints{size: int(intOf(bh, "SizeInMBs")) << 20, interval: time.Duration(intOf(bh, "IntervalInSeconds")) * time.Second}
}

func (s *Service) loadCheckpoint(ctx context.Context, sc Scope, name string) (checkpoint, uint64, error) {
	b, rev, err := s.meta.Get(ctx, ckptKey(sc, name))
	if err != nil || b == nil {
		return checkpoint{}, rev, err
	}
	var ck checkpoint
	err = json.Unmarshal(b, &ck)
	return ck, rev, err
}

func (s *Service) saveCheckpoint(ctx context.Context, sc Scope, name string, ck checkpoint, rev uint64) (uint64, error) {
	b, _ := json.Marshal(ck)
	ok, nrev, err := s.meta.Commit(ctx, map[string]uint64{ckptKey(sc, name): rev}, map[string][]byte{ckptKey(sc, name): b}, nil)
	if err == nil && !ok {
		err = fmt.Errorf("checkpoint of %s changed concurrently", name)
	}
	return nrev, err
}

// deliverBatch delivers one batch, retrying until it is delivered or
// backed up; it returns an error only when ctx ends first.
func (s *Service) deliverBatch(ctx context.Context, m *streamMeta, b *batch) error {
	errConf := m.Dest // where processing failures and the source backup go
	if m.DestKind != DestExtendedS3 {
		errConf = mapOf(m.Dest, "S3Configuration")
	}
	if m.DestKind == DestExtendedS3 && str(m.Dest, "S3BackupMode") == "Enabled" {
		// Source-record backup: the records as they came, before processing.
		bc := mapOf(m.Dest, "S3BackupConfiguration")
		raw := make([][]byte, len(b.records))
		for i, r := range b.records {
			raw[i] = r.Data
		}
		if err := s.retryS3(ctx, m, b.oldest(), func() error { return s.putS3Object(ctx, m, bc, b.oldest(), raw) }); err != nil {
			return err
		}
	}
	recs, failed := builtinProcessors(m).apply(b.records)
	keyed, lfailed := s.transformKeyed(ctx, m, recs)
	failed = append(failed, lfailed...)
	if len(failed) > 0 {
		lines := s.failedLines(lambdaProcessor(m), failed)
		s.cfg.Observer.Failed(m.Name, "processing-failed", len(failed))
		prefix := errorObjectPrefix(str(errConf, "Prefix"), errConf["ErrorOutputPrefix"], s.inZone(errConf, b.oldest()), "processing-failed")
		if err := s.retryS3(ctx, m, b.oldest(), func() error { return s.putS3ObjectAt(ctx, m, errConf, prefix, b.oldest(), lines) }); err != nil {
			return err
		}
	}
	if len(keyed) == 0 {
		return nil
	}
	if d, ok := destinations[m.DestKind]; ok && d.deliverKeyed != nil {
		return d.deliverKeyed(ctx, s, m, b, keyed)
	}
	transformed := make([][]byte, len(keyed))
	for i, k := range keyed {
		transformed[i] = k.data
	}
	data := appendDelimiters(m, transformed)
	if m.DestKind == DestExtendedS3 && conversionEnabled(m.Dest) && formatConverter != nil {
		return s.deliverConverted(ctx, m, b, data)
	}
	switch m.DestKind {
	case DestExtendedS3:
		return s.retryS3(ctx, m, b.oldest(), func() error {
			err := s.putS3Object(ctx, m, m.Dest, b.oldest(), data)
			s.observeDelivery(m, "S3", err == nil, data, b.oldest())
			return err
		})
	case DestHTTPEndpoint:
		return s.deliverHTTP(ctx, m, b, data)
	}
	if d, ok := destinations[m.DestKind]; ok {
		return d.deliver(ctx, s, m, b, data)
	}
	return nil
}

func (s *Service) observeDelivery(m *streamMeta, dest string, ok bool, data [][]byte, oldest time.Time) {
	n := 0
	for _, d := range data {
		n += len(d)
	}
	s.cfg.Observer.Delivery(m.Name, dest, ok, len(data), n, s.cfg.Now().Sub(oldest).Seconds())
}

// retryS3 retries an S3 write with backoff while the records stay in the
// durable buffer, as AWS retries S3 writes: until the batch's oldest record
// is older than the retention (24 h); then the batch is counted as failed
// (retention-expired) and given up, so that one dead bucket does not hold
// the buffer forever.
func (s *Service) retryS3(ctx context.Context, m *streamMeta, oldest time.Time, put func() error) error {
	backoff := time.Second
	for {
		err := put()
		if err == nil {
			return nil
		}
		if s.cfg.Now().Sub(oldest) > s.cfg.Retention {
			s.cfg.Logger.Error("firehose: records older than the retention could not be written to S3: given up",
				"stream", m.Name, "oldest", oldest, "err", err)
			s.cfg.Observer.Failed(m.Name, "retention-expired", 1)
			return nil
		}
		s.cfg.Logger.Warn("firehose: S3 delivery failed; retrying", "stream", m.Name, "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, time.Minute)
	}
}

// appendDelimiters applies AppendDelimiterToRecord, after any Lambda
// processor, as AWS orders them.
func appendDelimiters(m *streamMeta, recs [][]byte) [][]byte {
	out := make([][]byte, len(recs))
	delim := false
	if pc := mapOf(m.Dest, "ProcessingConfiguration"); pc["Enabled"] == true {
		for _, p := range listOf(pc, "Processors") {
			if pm, _ := p.(map[string]any); str(pm, "Type") == "AppendDelimiterToRecord" {
				delim = true
			}
		}
	}
	for i, r := range recs {
		if delim {
			out[i] = append(append(make([]byte, 0, len(r)+1), r...), '\n')
		} else {
			out[i] = r
		}
	}
	return out
}

func listOf(m map[string]any, k string) []any { l, _ := m[k].([]any); return l }

// checkProcessors refuses processors this endpoint does not run yet.
func checkProcessors(pc map[string]any) error {
	for _, p := range listOf(pc, "Processors") {
		pm, _ := p.(map[string]any)
		params := processorParams(pm)
		switch t := str(pm, "Type"); t {
		case "AppendDelimiterToRecord":
		case "Decompression", "CloudWatchLogProcessing", "RecordDeAggregation":
			if err := checkBuiltin(t, params); err != nil {
				return err
			}
		case "MetadataExtraction":
			// Checked with the destination (checkDynamicPartitioning).
		case "Lambda":
			if params["LambdaArn"] == "" {
				return errorf(KindInvalidArgument, "The Lambda processor requires the parameter LambdaArn.")
			}
		default:
			return errorf(KindInvalidArgument, "Unknown processor type %s.", t)
		}
	}
	return nil
}

// putS3Object writes records as one object of an S3 configuration (the
// destination's, or an HTTP endpoint's backup), named as AWS names them:
// <evaluated prefix><stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid><ext>.
func (s *Service) putS3Object(ctx context.Context, m *streamMeta, conf map[string]any, oldest time.Time, records [][]byte) error {
	return s.putS3ObjectAt(ctx, m, conf, objectPrefix(str(conf, "Prefix"), s.inZone(conf, oldest)), oldest, records)
}

func (s *Service) putS3ObjectAt(ctx context.Context, m *streamMeta, conf map[string]any, prefix string, oldest time.Time, records [][]byte) error {
	bucket, err := bucketOf(str(conf, "BucketARN"))
	if err != nil {
		return err
	}
	body, ext, ctype, err := compress(str(conf, "CompressionFormat"), records)
	if err != nil {
		return err
	}
	if fe := str(conf, "FileExtension"); fe != "" {
		ext = fe
	}
	key := prefix + m.Name + "-" + strconv.Itoa(m.VersionID) + "-" + s.inZone(conf, oldest).Format("2006-01-02-15-04-05") + "-" + uuid.NewString() + ext
	if s.cfg.Objects == nil {
		return fmt.Errorf("no object store is configured for S3 destinations")
	}
	return s.cfg.Objects.PutObject(ctx, m.Account, bucket, key, body, ctype)
}

// deliverConverted converts a batch to the configured columnar format and
// writes it as one object (the failures to format-conversion-failed).
func (s *Service) deliverConverted(ctx context.Context, m *streamMeta, b *batch, data [][]byte) error {
	body, ext, failed, err := formatConverter.convert(ctx, s, m, b.records, data)
	if err != nil {
		// The schema cannot be read (Glue down, table gone): every record
		// fails conversion, as on AWS.
		failed = failed[:0]
		for _, r := range b.records {
			failed = append(failed, failure{rec: r, code: "DataFormatConversion.SchemaUnavailable", msg: err.Error(), attempts: 1})
		}
		body = nil
	}
	if len(failed) > 0 {
		lines := s.conversionFailedLines(m, failed)
		s.cfg.Observer.Failed(m.Name, "format-conversion-failed", len(failed))
		prefix := errorObjectPrefix(str(m.Dest, "Prefix"), m.Dest["ErrorOutputPrefix"], s.inZone(m.Dest, b.oldest()), "format-conversion-failed")
		if err := s.retryS3(ctx, m, b.oldest(), func() error { return s.putS3ObjectAt(ctx, m, m.Dest, prefix, b.oldest(), lines) }); err != nil {
			return err
		}
	}
	if len(body) == 0 {
		return nil
	}
	conf := map[string]any{}
	for k, v := range m.Dest {
		conf[k] = v
	}
	conf["CompressionFormat"] = "UNCOMPRESSED" // the serializer compresses
	if str(conf, "FileExtension") == "" {
		conf["FileExtension"] = ext
	}
	return s.retryS3(ctx, m, b.oldest(), func() error {
		err := s.putS3ObjectAt(ctx, m, conf, objectPrefix(str(m.Dest, "Prefix"), s.inZone(m.Dest, b.oldest())), b.oldest(), [][]byte{body})
		s.observeDelivery(m, "S3", err == nil, data, b.oldest())
		return err
	})
}

// inZone converts t to the destination's CustomTimeZone (default UTC).
func (s *Service) inZone(conf map[string]any, t time.Time) time.Time {
	if tz := str(conf, "CustomTimeZone"); tz != "" {
		if loc, err := time.LoadLocation(tz); err == nil {
			return t.In(loc)
		}
	}
	return t.UTC()
}

// compress concatenates records and compresses them as CompressionFormat
// says, returning the body, the file extension AWS gives and a content type.
func compress(format string, records [][]byte) ([]byte, string, string, error) {
	var raw bytes.Buffer
	for _, r := range records {
		raw.Write(r)
	}
	switch format {
	case "", "UNCOMPRESSED":
		return raw.Bytes(), "", "application/octet-stream", nil
	case "GZIP":
		var out bytes.Buffer
		zw := gzip.NewWriter(&out)
		zw.Write(raw.Bytes())
		if err := zw.Close(); err != nil {
			return nil, "", "", err
		}
		return out.Bytes(), ".gz", "application/gzip", nil
	case "ZIP":
		var out bytes.Buffer
		zw := zip.NewWriter(&out)
		f, err := zw.Create("data")
		if err != nil {
			return nil, "", "", err
		}
		f.Write(raw.Bytes())
		if err := zw.Close(); err != nil {
			return nil, "", "", err
		}
		return out.Bytes(), ".zip", "application/zip", nil
	case "Snappy":
		var out bytes.Buffer
		sw := snappy.NewBufferedWriter(&out)
		sw.Write(raw.Bytes())
		if err := sw.Close(); err != nil {
			return nil, "", "", err
		}
		return out.Bytes(), ".snappy", "application/octet-stream", nil
	case "HADOOP_SNAPPY":
		return hadoopSnappy(raw.Bytes()), ".snappy", "application/octet-stream", nil
	}
	return nil, "", "", fmt.Errorf("unsupported compression %s", format)
}

// hadoopSnappy frames data as Hadoop's BlockCompressorStream does with the
// Snappy codec: per block, the uncompressed length (4 bytes, big endian),
// then each compressed chunk as its length (4 bytes) and bytes.
func hadoopSnappy(data []byte) []byte {
	const block = 256 << 10
	var out bytes.Buffer
	be := func(n int) { out.Write([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}) }
	for len(data) > 0 {
		n := min(block, len(data))
		c := snappy.Encode(nil, data[:n])
		be(n)
		be(len(c))
		out.Write(c)
		data = data[n:]
	}
	return out.Bytes()
}

// HTTPDoer sends HTTP requests (http.Client satisfies it).
type HTTPDoer interface {
	Do(*http.Request) (*http.Response, error)
}

func defaultHTTPClient() *http.Client {
	return &http.Client{
		Timeout: 3 * time.Minute, // AWS's response timeout
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // no redirects are followed
		},
	}
}

// deliverHTTP posts a batch to an HTTP endpoint with AWS's request
// contract, retrying with backoff (1 s, ×2, ±15 % jitter, 2 min cap) for the
// destination's retry duration; then the records go to the S3 backup under
// the http-endpoint-failed error prefix. A 413 is permanent: not retried.
func (s *Service) deliverHTTP(ctx context.Context, m *streamMeta, b *batch, data [][]byte) error {
	ep := mapOf(m.Dest, "EndpointConfiguration")
	rc := mapOf(m.Dest, "RequestConfiguration")
	retry := time.Duration(intOf(mapOf(m.Dest, "RetryOptions"), "DurationInSeconds")) * time.Second
	requestID := uuid.NewString()
	body := httpBody(requestID, s.cfg.Now(), data)
	start := s.cfg.Now()
	backoff := time.Second
	attempts := 0
	var lastErr string
	for {
		attempts++
		status, errMsg := s.postHTTP(ctx, m, ep, rc, requestID, body)
		s.observeDelivery(m, "HttpEndpoint", status == 200 && errMsg == "", data, b.oldest())
		if status == 200 && errMsg == "" {
			if str(m.Dest, "S3BackupMode") == "AllData" {
				s3 := mapOf(m.Dest, "S3Configuration")
				if err := s.retryS3(ctx, m, b.oldest(), func() error { return s.putS3Object(ctx, m, s3, b.oldest(), data) }); err != nil {
					return err
				}
			}
			return nil
		}
		lastErr = errMsg
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if status == 413 || s.cfg.Now().Add(backoff).Sub(start) > retry {
			break
		}
		if _, err := waitJitter(ctx, backoff); err != nil {
			return err
		}
		backoff = min(backoff*2, 2*time.Minute)
	}
	// Back the failed records up, as AWS does, one JSON line each.
	lines := make([][]byte, len(b.records))
	now := s.cfg.Now().UnixMilli()
	for i, r := range b.records {
		line, _ := json.Marshal(map[string]any{
			"attemptsMade": attempts, "arrivalTimestamp": r.Timestamp, "errorCode": "HttpEndpoint.DestinationException",
			"errorMessage": lastErr, "attemptEndingTimestamp": now, "rawData": base64.StdEncoding.EncodeToString(r.Data),
		})
		lines[i] = append(line, '\n')
	}
	return s.backupFailed(ctx, m, b, "http-endpoint-failed", lines)
}

// waitJitter waits backoff ±15 % (AWS's retry jitter) or until ctx ends,
// and returns how long it waited.
func waitJitter(ctx context.Context, backoff time.Duration) (time.Duration, error) {
	d := time.Duration(float64(backoff) * (0.85 + 0.3*randFloat()))
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(d):
		return d, nil
	}
}

func randFloat() float64 {
	var b [2]byte
	rand.Read(b[:])
	return float64(int(b[0])<<8|int(b[1])) / 65535
}

// httpBody is the request body of AWS's HTTP endpoint delivery.
func httpBody(requestID string, now time.Time, data [][]byte) []byte {
	var b bytes.Buffer
	b.WriteString(`{"requestId":"` + requestID + `","timestamp":` + strconv.FormatInt(now.UnixMilli(), 10) + `,"records":[`)
	for i, d := range data {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"data":"`)
		b.WriteString(base64.StdEncoding.EncodeToString(d))
		b.WriteString(`"}`)
	}
	b.WriteString("]}")
	return b.Bytes()
}

// postHTTP sends one attempt and returns the status (500 for a response
// that breaks the contract, 0 for a transport error) and an error message.
func (s *Service) postHTTP(ctx context.Context, m *streamMeta, ep, rc map[string]any, requestID string, body []byte) (int, string) {
	payload := body
	gz := str(rc, "ContentEncoding") == "GZIP"
	if gz {
		var out bytes.Buffer
		zw := gzip.NewWriter(&out)
		zw.Write(body)
		zw.Close()
		payload = out.Bytes()
	}
	req, err := http.NewRequestWithContext(ctx, "POST", str(ep, "Url"), bytes.NewReader(payload))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Firehose-Protocol-Version", "1.0")
	req.Header.Set("X-Amz-Firehose-Request-Id", requestID)
	req.Header.Set("X-Amz-Firehose-Source-Arn", m.arn())
	if ak := str(ep, "AccessKey"); ak != "" {
		req.Header.Set("X-Amz-Firehose-Access-Key", ak)
	}
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if attrs := listOf(rc, "CommonAttributes"); len(attrs) > 0 {
		common := map[string]string{}
		for _, a := range attrs {
			am, _ := a.(map[string]any)
			common[str(am, "AttributeName")] = str(am, "AttributeValue")
		}
		b, _ := json.Marshal(map[string]any{"commonAttributes": common})
		req.Header.Set("X-Amz-Firehose-Common-Attributes", string(b))
	}
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20+1))
	if resp.StatusCode != 200 {
		return resp.StatusCode, fmt.Sprintf("The endpoint answered %d: %s", resp.StatusCode, strings.TrimSpace(string(raw[:min(len(raw), 512)])))
	}
	var ans struct {
		RequestID string `json:"requestId"`
		Timestamp int64  `json:"timestamp"`
	}
	if len(raw) > 1<<20 || json.Unmarshal(raw, &ans) != nil || ans.RequestID != requestID {
		return 500, "The response received from the endpoint is invalid: it must be JSON echoing the requestId."
	}
	return 200, ""
}
