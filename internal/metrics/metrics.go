// Package metrics owns Rheos's Prometheus metrics: the Kinesis stream
// metrics users alert on in CloudWatch (IncomingBytes/Records,
// OutgoingBytes/Records, GetRecords.IteratorAgeMilliseconds,
// Write/ReadProvisionedThroughputExceeded, per-operation latency and
// success), and the storage internals (fsync latency, bytes committed,
// corruption and failure events, disk free). A Metrics value is created by
// the composition root and passed in; nothing here is global.
package metrics

import (
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics holds the collectors, registered on their own registry.
type Metrics struct {
	Registry *prometheus.Registry

	incomingBytes, incomingRecords *prometheus.CounterVec
	outgoingBytes, outgoingRecords *prometheus.CounterVec
	iteratorAge                    *prometheus.GaugeVec
	writeThrottled, readThrottled  *prometheus.CounterVec
	requests                       *prometheus.HistogramVec
	fsync                          prometheus.Histogram
	committedBytes                 prometheus.Counter
	logEvents                      *prometheus.CounterVec

	shardIncomingBytes, shardIncomingRecords *prometheus.CounterVec
	shardOutgoingBytes, shardOutgoingRecords *prometheus.CounterVec
	shardIteratorAge                         *prometheus.GaugeVec

	consumerLag *prometheus.GaugeVec
}

// New creates the metrics and registers them on r (the composition root's
// one registry, which it serves on /metrics); dataDir is watched for free
// space.
func New(r *prometheus.Registry, dataDir string) *Metrics {
	m := &Metrics{Registry: r}
	stream, shard := []string{"stream"}, []string{"stream", "shard"}
	counters := func(subsystem string, labels []string) func(name, help string) *prometheus.CounterVec {
		return func(name, help string) *prometheus.CounterVec {
			c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "rheos", Subsystem: subsystem, Name: name, Help: help}, labels)
			r.MustRegister(c)
			return c
		}
	}
	cv, scv := counters("kinesis", stream), counters("kinesis_shard", shard)
	m.incomingBytes = cv("incoming_bytes_total", "Bytes put into the stream (CloudWatch: IncomingBytes).")
	m.incomingRecords = cv("incoming_records_total", "Records put into the stream (CloudWatch: IncomingRecords).")
	m.outgoingBytes = cv("outgoing_bytes_total", "Bytes read from the stream by GetRecords and SubscribeToShard (CloudWatch: GetRecords.Bytes / OutgoingBytes).")
	m.outgoingRecords = cv("outgoing_records_total", "Records read from the stream (CloudWatch: GetRecords.Records / OutgoingRecords).")
	m.writeThrottled = cv("write_provisioned_throughput_exceeded_total", "Records refused by per-shard write limits (CloudWatch: WriteProvisionedThroughputExceeded).")
	m.readThrottled = cv("read_provisioned_throughput_exceeded_total", "GetRecords calls refused by per-shard read limits (CloudWatch: ReadProvisionedThroughputExceeded).")
	m.iteratorAge = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "rheos", Subsystem: "kinesis", Name: "get_records_iterator_age_milliseconds",
		Help: "Age of the last record returned by the latest read, behind the tip (CloudWatch: GetRecords.IteratorAgeMilliseconds)."}, stream)
	r.MustRegister(m.iteratorAge)
	m.shardIncomingBytes = scv("incoming_bytes_total", "Shard-level IncomingBytes (streams with enhanced monitoring).")
	m.shardIncomingRecords = scv("incoming_records_total", "Shard-level IncomingRecords (streams with enhanced monitoring).")
	m.shardOutgoingBytes = scv("outgoing_bytes_total", "Shard-level OutgoingBytes (streams with enhanced monitoring).")
	m.shardOutgoingRecords = scv("outgoing_records_total", "Shard-level OutgoingRecords (streams with enhanced monitoring).")
	m.shardIteratorAge = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "rheos", Subsystem: "kinesis_shard", Name: "iterator_age_milliseconds",
		Help: "Shard-level IteratorAgeMilliseconds (streams with enhanced monitoring)."}, shard)
	r.MustRegister(m.shardIteratorAge)
	m.consumerLag = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "rheos", Subsystem: "kinesis_consumer", Name: "millis_behind_latest",
		Help: "An enhanced fan-out consumer's MillisBehindLatest on a shard, at the latest SubscribeToShard event; the series goes when the subscription ends or the consumer is deregistered."},
		[]string{"stream", "consumer", "shard"})
	r.MustRegister(m.consumerLag)
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "rheos", Name: "request_duration_seconds",
		Help:    "API request latency by service, operation and outcome (CloudWatch: PutRecord.Latency, PutRecords.Latency, GetRecords.Latency, and .Success from the outcome label).",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}}, []string{"service", "operation", "outcome"})
	r.MustRegister(m.requests)
	m.fsync = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "rheos", Subsystem: "log", Name: "fsync_duration_seconds",
		Help: "Duration of the group-commit fsync.", Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .5}})
	m.committedBytes = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "rheos", Subsystem: "log", Name: "committed_bytes_total", Help: "Bytes written and fsynced by group commits."})
	m.logEvents = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "rheos", Subsystem: "log", Name: "events_total",
		Help: "Notable log events: segment-sealed, segment-deleted, corruption, torn-tail, write-failed, recovered."}, []string{"kind"})
	r.MustRegister(m.fsync, m.committedBytes, m.logEvents)
	r.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "rheos", Subsystem: "log", Name: "disk_free_bytes", Help: "Free bytes on the data directory's filesystem."},
		func() float64 {
			var st syscall.Statfs_t
			if syscall.Statfs(dataDir, &st) != nil {
				return -1
			}
			return float64(st.Bavail) * float64(st.Bsize)
		}))
	r.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// WatchLog exports the record log's segment count and the bytes appended
// but not yet durable, read from stats at scrape time.
func (m *Metrics) WatchLog(stats func() (segments int, pendingBytes int64)) {
	m.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "rheos", Subsystem: "log", Name: "segments", Help: "Log segments on disk (sealed plus active)."},
			func() float64 { n, _ := stats(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "rheos", Subsystem: "log", Name: "unsynced_bytes", Help: "Bytes of appends waiting for their group commit (written or queued, not yet fsynced)."},
			func() float64 { _, p := stats(); return float64(p) }))
}

// TierSample is the state of tiered storage WatchTier exports.
type TierSample struct {
	TieredSegments, BacklogSegments           int64
	TieredBytes, BacklogBytes, CacheBytes     int64
	CacheHits, CacheMisses, Uploads, Failures int64
}

// WatchTier exports tiered storage (segments in the blob store, the upload
// backlog, the read cache) read from stats at every scrape.
func (m *Metrics) WatchTier(stats func() TierSample) {
	gauge := func(name, help string, v func(TierSample) int64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "rheos", Subsystem: "tier", Name: name, Help: help},
			func() float64 { return float64(v(stats())) })
	}
	counter := func(name, help string, v func(TierSample) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "rheos", Subsystem: "tier", Name: name, Help: help},
			func() float64 { return float64(v(stats())) })
	}
	m.Registry.MustRegister(
		gauge("segments", "Sealed segments held only in the blob store.", func(s TierSample) int64 { return s.TieredSegments }),
		gauge("bytes", "Bytes of the segments held only in the blob store.", func(s TierSample) int64 { return s.TieredBytes }),
		gauge("backlog_segments", "Sealed segments waiting for upload.", func(s TierSample) int64 { return s.BacklogSegments }),
		gauge("backlog_bytes", "Bytes of the sealed segments waiting for upload.", func(s TierSample) int64 { return s.BacklogBytes }),
		gauge("cache_bytes", "Bytes in the read cache of tiered segments.", func(s TierSample) int64 { return s.CacheBytes }),
		counter("cache_hits_total", "Chunk reads served by the read cache.", func(s TierSample) int64 { return s.CacheHits }),
		counter("cache_misses_total", "Chunk reads fetched from the blob store.", func(s TierSample) int64 { return s.CacheMisses }),
		counter("uploads_total", "Segments uploaded.", func(s TierSample) int64 { return s.Uploads }),
		counter("upload_failures_total", "Failed segment upload attempts.", func(s TierSample) int64 { return s.Failures }),
	)
}

// ShardRecordsIn counts records stored in one shard (enhanced monitoring).
func (m *Metrics) ShardRecordsIn(stream, shard string, records, bytes int) {
	m.shardIncomingRecords.WithLabelValues(stream, shard).Add(float64(records))
	m.shardIncomingBytes.WithLabelValues(stream, shard).Add(float64(bytes))
}

// ShardRecordsOut counts records read from one shard (enhanced monitoring).
func (m *Metrics) ShardRecordsOut(stream, shard string, records, bytes int, iteratorAgeMs int64) {
	m.shardOutgoingRecords.WithLabelValues(stream, shard).Add(float64(records))
	m.shardOutgoingBytes.WithLabelValues(stream, shard).Add(float64(bytes))
	m.shardIteratorAge.WithLabelValues(stream, shard).Set(float64(iteratorAgeMs))
}

// ConsumerLag records an enhanced fan-out consumer's MillisBehindLatest on
// one shard.
func (m *Metrics) ConsumerLag(stream, consumer, shard string, millisBehind int64) {
	m.consumerLag.WithLabelValues(stream, consumer, shard).Set(float64(millisBehind))
}

// ConsumerGone removes a consumer's lag series: one shard's, or with shard
// "" all of them. The series stay bounded by the live subscriptions.
func (m *Metrics) ConsumerGone(stream, consumer, shard string) {
	if shard == "" {
		m.consumerLag.DeletePartialMatch(prometheus.Labels{"stream": stream, "consumer": consumer})
		return
	}
	m.consumerLag.DeleteLabelValues(stream, consumer, shard)
}

// RecordsIn counts records stored in a stream.
func (m *Metrics) RecordsIn(stream string, records, bytes int) {
	m.incomingRecords.WithLabelValues(stream).Add(float64(records))
	m.incomingBytes.WithLabelValues(stream).Add(float64(bytes))
}

// RecordsOut counts records read and the reader's distance from the tip.
func (m *Metrics) RecordsOut(stream string, records, bytes int, iteratorAgeMs int64) {
	m.outgoingRecords.WithLabelValues(stream).Add(float64(records))
	m.outgoingBytes.WithLabelValues(stream).Add(float64(bytes))
	m.iteratorAge.WithLabelValues(stream).Set(float64(iteratorAgeMs))
}

// Throttled counts refusals by throughput limits.
func (m *Metrics) Throttled(stream string, write bool, n int) {
	if write {
		m.writeThrottled.WithLabelValues(stream).Add(float64(n))
	} else {
		m.readThrottled.WithLabelValues(stream).Add(float64(n))
	}
}

// Request records one API call of a service (its signing name).
func (m *Metrics) Request(service, op string, ok bool, d time.Duration) {
	outcome := "success"
	if !ok {
		outcome = "error"
	}
	m.requests.WithLabelValues(service, op, outcome).Observe(d.Seconds())
}

// Commit records one group commit.
func (m *Metrics) Commit(bytes, records int, fsync time.Duration) {
	m.committedBytes.Add(float64(bytes))
	m.fsync.Observe(fsync.Seconds())
}

// LogEvent counts a notable log event.
func (m *Metrics) LogEvent(kind string) { m.logEvents.WithLabelValues(kind).Inc() }
