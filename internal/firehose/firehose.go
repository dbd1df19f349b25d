// Package firehose owns Rheos's delivery streams (Amazon Data Firehose):
// their configuration and lifecycle in the metadata store (under
// "firehose/"), the durable buffer (records appended to the shared record
// log under one log key per delivery stream and fsynced before a put is
// acknowledged), and delivery: one worker per stream reads the buffer from
// its checkpoint, batches by the destination's buffering hints, and writes
// the batch to its destination (an S3 object store, or an HTTP endpoint with
// AWS's request contract), retrying, backing failed data up to the error
// prefix, and advancing the durable checkpoint only after a batch is
// delivered or backed up: delivery is at least once across crashes.
//
// It knows no HTTP API and no AWS error envelope: it returns domain errors
// with a Kind that internal/firehoseapi maps in one table. Object stores and
// the record log come in through small interfaces the composition root
// (internal/server/firehose.go) supplies.
package firehose

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/rheos/rheos/internal/envelope"
	"github.com/rheos/rheos/internal/quota"
)

// Scope is where a delivery stream lives.
type Scope struct {
	Account, Region string
}

// MetaStore is the durable metadata the service needs (metastore.Store
// satisfies it). Scan callbacks must not call the store.
type MetaStore interface {
	Get(ctx context.Context, key string) ([]byte, uint64, error)
	Scan(ctx context.Context, prefix string, fn func(key string, value []byte, rev uint64) error) error
	Commit(ctx context.Context, compare map[string]uint64, puts map[string][]byte, deletes []string) (ok bool, rev uint64, err error)
}

// LogRecord is a buffered record as read back from the record log.
type LogRecord struct {
	Seq       uint64
	Timestamp int64 // arrival, unix ms
	Flags     uint8 // FlagEncrypted
	Data      []byte
}

// RecordLog is the shared record log as the buffer uses it: one key per
// delivery stream.
type RecordLog interface {
	// Append stores records under key, durably (fsynced) before it returns,
	// and returns each record's position and arrival time.
	Append(ctx context.Context, key uint64, data [][]byte, flags uint8) ([]LogRecord, error)
	// Read returns records of key from position from on, at most
	// maxRecords and about maxBytes.
	Read(key, from uint64, maxRecords, maxBytes int) ([]LogRecord, error)
	// Changed is closed when something was appended (then replaced).
	Changed() <-chan struct{}
}

// LogKeys allocates keys of the shared record log.
type LogKeys interface {
	Allocate(ctx context.Context, n int) (uint64, error)
}

// ObjectStore is where S3 destinations write: the built-in S3 endpoint or an
// external S3-compatible server. PutObject must be durable when it returns.
type ObjectStore interface {
	PutObject(ctx context.Context, account, bucket, key string, body []byte, contentType string) error
}

// Config configures the service.
type Config struct {
	Account string // default account
	Region  string // default region
	// CreateDelay is how long a new delivery stream stays CREATING.
	CreateDelay time.Duration
	// DeleteDelay is how long a deleted stream stays DELETING.
	DeleteDelay time.Duration
	// StreamLimit is the number of delivery streams per account and region
	// (AWS: 5,000 in the big regions; older docs 50).
	StreamLimit int
	// Retention is how long undeliverable records are kept before they are
	// counted as failed and backed up (AWS: 24 h).
	Retention time.Duration
	// Throughput is "off" (no limits), "aws" (AWS's DirectPut limits per
	// delivery stream: 2,000 requests, 500,000 records and 5 MiB per
	// second) or "scaled" (those times ThroughputScale).
	Throughput      string
	ThroughputScale float64
	// Keys wraps the data keys of encrypted delivery streams (the key
	// provider Data Streams uses: the local keyring or a KMS).
	Keys envelope.KeyProvider
	// Objects is where S3 destinations and backups write.
	Objects ObjectStore
	// Streams is the Data Streams source of KinesisStreamAsSource streams.
	Streams StreamSource
	// Schemas reads Glue table schemas for record format conversion.
	Schemas SchemaSource
	// Iceberg is the Glue Data Catalog Iceberg destinations commit to
	// (nil: their writes fail and are backed up).
	Iceberg IcebergCatalogs
	// Functions runs Lambda processors (nil: they fail every record).
	Functions Invoker
	// HTTPClient sends HTTP endpoint deliveries (default: a client with
	// AWS's 3-minute response timeout, no redirects).
	HTTPClient HTTPDoer
	// Observer receives the delivery metrics (nil: none).
	Observer Observer
	Now      func() time.Time
	Logger   *slog.Logger
}

// Observer is told what the service ingests and delivers (internal/metrics
// implements it with CloudWatch's names).
type Observer interface {
	Incoming(stream string, records, bytes int)
	Throttled(stream string, records int)
	Delivery(stream, destination string, ok bool, records, bytes int, freshnessSeconds float64)
	Failed(stream, errorType string, records int)
}

type noObserver struct{}

func (noObserver) Incoming(string, int, int)                        {}
func (noObserver) Throttled(string, int)                            {}
func (noObserver) Delivery(string, string, bool, int, int, float64) {}
func (noObserver) Failed(string, string, int)                       {}

// Service is the Firehose domain.
type Service struct {
	cfg  Config
	meta MetaStore
	log  RecordLog
	keys LogKeys
	run  *runner
	// quotas hold the DirectPut token buckets per stream ("<key>/calls",
	// "<key>/records").
	quotas *quota.Set[string]
	dks    dataKeyCache
	ret    retention
}

// New returns the service over the stores.
func New(cfg Config, meta MetaStore, log RecordLog, keys LogKeys) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.StreamLimit == 0 {
		cfg.StreamLimit = 5000
	}
	if cfg.Retention == 0 {
		cfg.Retention = 24 * time.Hour
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = defaultHTTPClient()
	}
	s := &Service{cfg: cfg, meta: meta, log: log, keys: keys, quotas: quota.NewSet[string](cfg.Now)}
	s.run = newRunner(s)
	return s
}

func (s *Service) scope(sc Scope) Scope {
	if sc.Account == "" {
		sc.Account = s.cfg.Account
	}
	if sc.Region == "" {
		sc.Region = s.cfg.Region
	}
	return sc
}

// Kind classifies a domain error.
type Kind int

// Error kinds (firehoseapi maps them to AWS's exceptions).
const (
	KindInvalidArgument Kind = iota + 1
	KindNotFound
	KindInUse
	KindLimitExceeded
	KindConcurrentModification
	KindUnavailable // throttled or not accepting records: ServiceUnavailableException
	KindInternal
)

// Error is a domain error.
type Error struct {
	Kind Kind
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

func errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

func internal(msg string, err error) *Error { return &Error{Kind: KindInternal, Msg: msg, Err: err} }

// IsKind reports whether err is a domain error of kind k.
func IsKind(err error, k Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}
