package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Functions holds the Lambda-style metrics of functions and event source
// mappings (CloudWatch's AWS/Lambda namespace: Invocations, Errors,
// Throttles, Duration, ConcurrentExecutions, IteratorAge), registered on
// the server's registry.
type Functions struct {
	invocations *prometheus.CounterVec
	throttles   *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	concurrent  *prometheus.GaugeVec
	iteratorAge *prometheus.GaugeVec
	esmRecords  *prometheus.CounterVec
}

// NewFunctions creates the functions metrics on r.
func NewFunctions(r *prometheus.Registry) *Functions {
	f := &Functions{
		invocations: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "rheos", Subsystem: "lambda", Name: "invocations_total",
			Help: "Function invocations by outcome (CloudWatch: Invocations; Errors is outcome=\"error\")."}, []string{"function", "outcome"}),
		throttles: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "rheos", Subsystem: "lambda", Name: "throttles_total",
			Help: "Invocations refused or held back for concurrency: reserved concurrency 0, or every process busy (CloudWatch: Throttles; not counted in Invocations)."}, []string{"function"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "rheos", Subsystem: "lambda", Name: "duration_seconds",
			Help:    "Invocation duration (CloudWatch: Duration).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}}, []string{"function"}),
		concurrent: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "rheos", Subsystem: "lambda", Name: "concurrent_executions",
			Help: "Invocations in progress (CloudWatch: ConcurrentExecutions)."}, []string{"function"}),
		iteratorAge: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "rheos", Subsystem: "lambda", Name: "event_source_iterator_age_milliseconds",
			Help: "Age of the last record of the latest batch an event source mapping delivered (CloudWatch: IteratorAge)."}, []string{"mapping"}),
		esmRecords: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "rheos", Subsystem: "lambda", Name: "event_source_records_total",
			Help: "Records an event source mapping delivered, by outcome (ok, or given up after retries or by age)."}, []string{"mapping", "outcome"}),
	}
	r.MustRegister(f.invocations, f.throttles, f.duration, f.concurrent, f.iteratorAge, f.esmRecords)
	return f
}

// Invocation records one finished invocation.
func (f *Functions) Invocation(function string, failed bool, d time.Duration) {
	outcome := "success"
	if failed {
		outcome = "error"
	}
	f.invocations.WithLabelValues(function, outcome).Inc()
	f.duration.WithLabelValues(function).Observe(d.Seconds())
}

// Throttle records an invocation refused or held back for concurrency.
func (f *Functions) Throttle(function string) {
	f.throttles.WithLabelValues(function).Inc()
}

// Running adds delta to the invocations in progress of a function.
func (f *Functions) Running(function string, delta int) {
	f.concurrent.WithLabelValues(function).Add(float64(delta))
}

// Batch records a batch an event source mapping finished.
func (f *Functions) Batch(mapping string, records int, outcome string, iteratorAgeMs int64) {
	f.esmRecords.WithLabelValues(mapping, outcome).Add(float64(records))
	if outcome == "ok" {
		f.iteratorAge.WithLabelValues(mapping).Set(float64(iteratorAgeMs))
	}
}
