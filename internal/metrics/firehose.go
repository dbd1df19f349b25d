package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Firehose holds the delivery stream metrics (CloudWatch's AWS/Firehose
// namespace, dimension DeliveryStreamName): IncomingRecords/Bytes,
// ThrottledRecords, DeliveryTo<Destination>.Records/Bytes/Success and
// DataFreshness, BackupToS3.*, processing outcomes.
type Firehose struct {
	incomingRecords *prometheus.CounterVec
	incomingBytes   *prometheus.CounterVec
	throttled       *prometheus.CounterVec
	deliveries      *prometheus.CounterVec
	deliveredRecs   *prometheus.CounterVec
	deliveredBytes  *prometheus.CounterVec
	freshness       *prometheus.GaugeVec
	failedRecords   *prometheus.CounterVec
}

// NewFirehose creates the Firehose metrics on r.
func NewFirehose(r *prometheus.Registry) *Firehose {
	vec := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "rheos", Subsystem: "firehose", Name: name, Help: help}, labels)
	}
	f := &Firehose{
		incomingRecords: vec("incoming_records_total", "Records accepted by PutRecord/PutRecordBatch or read from the source stream (CloudWatch: IncomingRecords).", "stream"),
		incomingBytes:   vec("incoming_bytes_total", "Bytes accepted (CloudWatch: IncomingBytes).", "stream"),
		throttled:       vec("throttled_records_total", "Records refused by the stream's throughput limits (CloudWatch: ThrottledRecords).", "stream"),
		deliveries: vec("deliveries_total", "Delivery attempts by destination (S3, HttpEndpoint, BackupToS3) and outcome (CloudWatch: DeliveryTo<Destination>.Success is ok/(ok+error)).",
			"stream", "destination", "outcome"),
		deliveredRecs:  vec("delivered_records_total", "Records delivered by destination (CloudWatch: DeliveryTo<Destination>.Records).", "stream", "destination"),
		deliveredBytes: vec("delivered_bytes_total", "Bytes delivered by destination (CloudWatch: DeliveryTo<Destination>.Bytes).", "stream", "destination"),
		freshness: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "rheos", Subsystem: "firehose", Name: "data_freshness_seconds",
			Help: "Age of the oldest record not yet delivered, as of the last delivery (CloudWatch: DeliveryTo<Destination>.DataFreshness)."}, []string{"stream", "destination"}),
		failedRecords: vec("failed_records_total", "Records written to the error prefix, by error output type (processing-failed, http-endpoint-failed).", "stream", "type"),
	}
	r.MustRegister(f.incomingRecords, f.incomingBytes, f.throttled, f.deliveries, f.deliveredRecs, f.deliveredBytes, f.freshness, f.failedRecords)
	return f
}

// Incoming records records accepted into a stream's buffer.
func (f *Firehose) Incoming(stream string, records, bytes int) {
	f.incomingRecords.WithLabelValues(stream).Add(float64(records))
	f.incomingBytes.WithLabelValues(stream).Add(float64(bytes))
}

// Throttled records records refused by the throughput limits.
func (f *Firehose) Throttled(stream string, records int) {
	f.throttled.WithLabelValues(stream).Add(float64(records))
}

// Delivery records one delivery attempt; on success, what it delivered and
// the age of its oldest record.
func (f *Firehose) Delivery(stream, destination string, ok bool, records, bytes int, freshnessSeconds float64) {
	outcome := "ok"
	if !ok {
		outcome = "error"
	}
	f.deliveries.WithLabelValues(stream, destination, outcome).Inc()
	if ok {
		f.deliveredRecs.WithLabelValues(stream, destination).Add(float64(records))
		f.deliveredBytes.WithLabelValues(stream, destination).Add(float64(bytes))
		f.freshness.WithLabelValues(stream, destination).Set(freshnessSeconds)
	}
}

// Failed records records written to the error prefix.
func (f *Firehose) Failed(stream, errorType string, records int) {
	f.failedRecords.WithLabelValues(stream, errorType).Add(float64(records))
}
