// Package datastream owns the Kinesis Data Streams domain: streams, the shard
// map and hash ranges, the mapping of records to shards, sequence numbers,
// shard iterators, stream status transitions and retention.
//
// It reaches storage only through the small interfaces declared here
// (MetaStore for durable metadata with compare-and-swap commits, RecordLog for
// records); the composition root (internal/server) supplies them. It returns
// domain errors (*Error), never AWS envelopes, and must not import HTTP or AWS
// protocol packages.
//
// # Concurrency
//
// A stream is an immutable snapshot (streamState) swapped in whole on every
// change; the data path holds a lock only to fetch the pointer. The locks:
//
//   - Service.ctl serializes control-plane changes. Every commit of a
//     stream's metadata, and so every snapshot swap, holds it; functions that
//     need it held say so ("Called with ctl held").
//   - streamState.gate, the stream's put gate (one per existing stream,
//     shared by its successive snapshots): Put holds it shared from routing
//     to append, a reshard holds it exclusively while it reads the parents'
//     last counters and commits, so a closed shard never receives a record.
//   - Service.mu guards the snapshot maps (streams, shards), never the
//     snapshots themselves. Functions ending in Locked are called with it
//     held.
//   - Leaf locks, under which no other lock is taken: Service.dkMu (the data
//     key cache), subscriptions.mu, ingest.mu, and the quota sets' own.
//
// Lock order: ctl → gate → mu → leaf. Put takes a gate (shared) with ctl not
// held; mu is released before a gate is taken (lookupGated), and never held
// across MetaStore, RecordLog or KeyProvider calls. A reshard does its
// MetaStore commit with ctl and the gate held; Put appends to the RecordLog
// and may unwrap a data key (KeyProvider) with the gate held shared.
package datastream

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rheos/rheos/internal/arn"
	"github.com/rheos/rheos/internal/envelope"
	"github.com/rheos/rheos/internal/hashkey"
	"github.com/rheos/rheos/internal/quota"
)

// MetaStore is durable metadata with revisions (see internal/metastore).
type MetaStore interface {
	// Get returns a value and its revision, or (nil, 0, nil) when absent.
	Get(ctx context.Context, key string) ([]byte, uint64, error)
	// Scan visits every key with the prefix in key order.
	Scan(ctx context.Context, prefix string, fn func(key string, value []byte, rev uint64) error) error
	// Commit applies puts and deletes iff every compared key has the given
	// revision (0 = absent); ok=false means a comparison failed.
	Commit(ctx context.Context, compare map[string]uint64, puts map[string][]byte, deletes []string) (ok bool, rev uint64, err error)
}

// LogKeys allocates keys of the shared record log (see metastore.LogKeys):
// every service storing records in the log takes its keys from the one
// allocator, so no key is ever held by two owners.
type LogKeys interface {
	// Allocate reserves n (≥ 1) consecutive keys and returns the first.
	// Keys it returned are never returned again, even after a crash; a
	// key reserved by a failed change is simply never used.
	Allocate(ctx context.Context, n int) (first uint64, err error)
}

// LogEntry is a record handed to the RecordLog.
type LogEntry struct {
	Shard        uint64
	PartitionKey string
	Data         []byte
	Flags        uint8 // FlagEncrypted when Data is sealed
}

// FlagEncrypted marks a stored record whose data is sealed (envelope).
const FlagEncrypted uint8 = 1

// LogPosition is where the RecordLog put an entry.
type LogPosition struct {
	Counter   uint64
	Timestamp int64 // unix ms
}

// LogRecord is a record read back from the RecordLog.
type LogRecord struct {
	Counter      uint64
	Timestamp    int64
	PartitionKey string
	Data         []byte
	Flags        uint8
}

// RecordLog is the durable record storage (see internal/streamlog). Counters
// start at 1 for every shard and increase by one per record.
type RecordLog interface {
	// Append durably stores entries (fsynced before it returns) under the
	// fence token and returns their positions in order.
	Append(ctx context.Context, fence uint64, entries []LogEntry) ([]LogPosition, error)
	// Read returns up to maxRecords records (and about maxBytes) of shard
	// with counter >= from and timestamp >= minTs.
	Read(shard uint64, from uint64, maxRecords, maxBytes int, minTs int64) ([]LogRecord, error)
	// SeekTime returns the counter of the first record at or after ts.
	SeekTime(shard uint64, ts int64) (uint64, error)
	// Next returns the counter the next record of shard will get.
	Next(shard uint64) uint64
	// Changed returns a channel closed at the next commit of any record.
	Changed() <-chan struct{}
	// Sweep deletes storage of expired records and dropped shards.
	Sweep(ctx context.Context, policy func(shard uint64) (minTs int64, drop bool)) error
}

// Observer receives per-stream metrics (see internal/metrics). Calls are
// made on the request path and must be cheap and safe for concurrent use.
type Observer interface {
	RecordsIn(stream string, records, bytes int)
	RecordsOut(stream string, records, bytes int, iteratorAgeMs int64)
	Throttled(stream string, write bool, n int)
	// The shard-level calls are made only for streams with enhanced
	// monitoring enabled.
	ShardRecordsIn(stream, shard string, records, bytes int)
	ShardRecordsOut(stream, shard string, records, bytes int, iteratorAgeMs int64)
	// ConsumerLag is an enhanced fan-out consumer's MillisBehindLatest on
	// a shard, at each event pushed to it.
	ConsumerLag(stream, consumer, shard string, millisBehind int64)
	// ConsumerGone forgets a consumer's lag: on one shard when its
	// subscription ends, on every shard (shard "") when it is deregistered.
	ConsumerGone(stream, consumer, shard string)
}

type noObserver struct{}

func (noObserver) RecordsIn(string, int, int)                      {}
func (noObserver) RecordsOut(string, int, int, int64)              {}
func (noObserver) Throttled(string, bool, int)                     {}
func (noObserver) ShardRecordsIn(string, string, int, int)         {}
func (noObserver) ShardRecordsOut(string, string, int, int, int64) {}
func (noObserver) ConsumerLag(string, string, string, int64)       {}
func (noObserver) ConsumerGone(string, string, string)             {}

// Config configures the service. Zero values take the stated defaults.
type Config struct {
	// Account is the account id used when a request names none. Default "000000000000".
	Account string
	// CreateDelay, DeleteDelay and UpdateDelay are how long a stream stays
	// CREATING, DELETING or UPDATING. Default 500 ms each.
	CreateDelay, DeleteDelay, UpdateDelay time.Duration
	// ShardLimit is the open shard limit per account and region. Default 500 (AWS us-east-1).
	ShardLimit int
	// OnDemandStreamLimit is the on-demand stream limit. Default 50.
	OnDemandStreamLimit int
	// IteratorTTL is how long a shard iterator stays valid. Default 5 minutes.
	IteratorTTL time.Duration
	// Fence is the token passed to every append. Default 0.
	Fence uint64
	// ThroughputMode is "off" (no per-shard limits: the default, as local
	// development expects), "aws" (AWS's limits: writes 1 MiB/s and 1,000
	// records/s per shard, GetRecords 5 calls/s and 2 MiB/s per shard) or
	// "scaled" (AWS's limits times ThroughputScale, for self-hosting). A
	// stream tag "rheos.throughput" with one of these values overrides it.
	ThroughputMode string
	// ThroughputScale multiplies AWS's limits in "scaled" mode. Default 10.
	ThroughputScale float64
	// Observer receives the stream metrics. Default: none.
	Observer Observer
	// Keys wraps and unwraps the data keys of encrypted streams
	// (StartStreamEncryption). Default: none (encryption refused).
	Keys envelope.KeyProvider
	// LogKeys allocates the record log keys of new shards; pass the
	// server-wide allocator (metastore.LogKeys) when the log is shared.
	// Default: an allocator over the MetaStore with metastore.Sequence's
	// protocol on its key (defaultLogKeySeq), so the two never hand out the
	// same key.
	LogKeys LogKeys
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger. Default slog.Default().
	Logger *slog.Logger
}

// Service implements the Data Streams operations. It is safe for
// concurrent use; the package comment gives its locks and their order.
type Service struct {
	// Set by New, read-only afterwards.
	cfg  Config
	meta MetaStore
	log  RecordLog
	iter *iteratorCodec

	// ctl serializes control-plane changes: every commit of stream
	// metadata holds it. First in the lock order.
	ctl sync.Mutex

	// mu guards the maps below; the snapshots they point to are immutable.
	// Taken after ctl and a gate, never held across I/O.
	mu      sync.RWMutex
	streams map[string]*streamState // by streamKey, every stream in metadata (DELETING ones until swept)
	shards  map[uint64]*streamState // shard log key → owning stream, for every shard of streams

	// dkMu guards dataKeys. A leaf lock.
	dkMu     sync.Mutex
	dataKeys map[string][]byte // "streamARN/created/id" → plaintext data key; dropped with the stream

	// Synchronized by their own (leaf) locks.
	subs       subscriptions      // active SubscribeToShard calls
	writeQuota *quota.Set[uint64] // per shard log key
	readQuota  *quota.Set[uint64] // per shard log key
	callQuota  *quota.Set[string] // control-plane calls per account (and stream)
	efoQuota   *quota.Set[string] // bytes pushed per consumer and shard
	load       ingest             // per-shard write counts of ON_DEMAND streams, for Autoscale
}

// New loads every stream from meta and returns a ready service.
func New(ctx context.Context, cfg Config, meta MetaStore, log RecordLog) (*Service, error) {
	if cfg.Account == "" {
		cfg.Account = "000000000000"
	}
	if cfg.CreateDelay == 0 {
		cfg.CreateDelay = 500 * time.Millisecond
	}
	if cfg.DeleteDelay == 0 {
		cfg.DeleteDelay = 500 * time.Millisecond
	}
	if cfg.UpdateDelay == 0 {
		cfg.UpdateDelay = 500 * time.Millisecond
	}
	if cfg.ShardLimit == 0 {
		cfg.ShardLimit = 500
	}
	if cfg.OnDemandStreamLimit == 0 {
		cfg.OnDemandStreamLimit = 50
	}
	if cfg.IteratorTTL == 0 {
		cfg.IteratorTTL = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ThroughputMode == "" {
		cfg.ThroughputMode = "off"
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	if cfg.ThroughputScale == 0 {
		cfg.ThroughputScale = 10
	}
	if cfg.LogKeys == nil {
		cfg.LogKeys = metaLogKeys{meta}
	}
	if err := migrateLayout(ctx, meta); err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, meta: meta, log: log, streams: map[string]*streamState{}, shards: map[uint64]*streamState{},
		writeQuota: quota.NewSet[uint64](cfg.Now), readQuota: quota.NewSet[uint64](cfg.Now),
		callQuota: quota.NewSet[string](cfg.Now), efoQuota: quota.NewSet[string](cfg.Now)}
	key, err := s.iteratorKey(ctx)
	if err != nil {
		return nil, err
	}
	if s.iter, err = newIteratorCodec(key); err != nil {
		return nil, err
	}
	err = meta.Scan(ctx, prefixStream, func(k string, v []byte, rev uint64) error {
		var m streamMeta
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("datastream: stream %s: %w", k, err)
		}
		st, err := newStreamState(&m, rev)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.installLocked(k, st)
		s.mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// iteratorKey loads or creates the secret that seals shard iterators.
func (s *Service) iteratorKey(ctx context.Context) ([]byte, error) {
	v, _, err := s.meta.Get(ctx, keyIteratorKey)
	if err != nil {
		return nil, err
	}
	if len(v) == 32 {
		return v, nil
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	ok, _, err := s.meta.Commit(ctx, map[string]uint64{keyIteratorKey: 0}, map[string][]byte{keyIteratorKey: key}, nil)
	if err != nil {
		return nil, err
	}
	if !ok {
		return s.iteratorKey(ctx)
	}
	return key, nil
}

// installLocked puts a snapshot in place (or removes it when st is nil).
// The new snapshot inherits the put gate of the one it replaces, so a put
// and a reshard of the stream at key always meet on one gate; a removed
// stream's gate goes with it.
func (s *Service) installLocked(key string, st *streamState) {
	old := s.streams[key]
	if old != nil {
		for k := range old.byKey {
			delete(s.shards, k)
		}
	}
	if st == nil {
		delete(s.streams, key)
		return
	}
	if old != nil {
		st.gate = old.gate
	} else {
		st.gate = new(sync.RWMutex)
	}
	s.streams[key] = st
	for k := range st.byKey {
		s.shards[k] = st
	}
}

func (s *Service) now() time.Time { return s.cfg.Now() }

// scope fills in the default account.
func (s *Service) scope(sc Scope) Scope {
	if sc.Account == "" {
		sc.Account = s.cfg.Account
	}
	if sc.Region == "" {
		sc.Region = "us-east-1"
	}
	return sc
}

// DefaultAccount returns the configured account id.
func (s *Service) DefaultAccount() string { return s.cfg.Account }

// lookup returns the live snapshot of a stream and its effective status.
func (s *Service) lookup(sc Scope, name string) (*streamState, string) {
	s.mu.RLock()
	st := s.streams[streamKey(sc, name)]
	s.mu.RUnlock()
	if st == nil {
		return nil, ""
	}
	status := st.meta.effectiveStatus(s.now())
	if status == "" {
		return nil, ""
	}
	return st, status
}

// lookupGated is lookup with the stream's put gate held shared: it returns
// the snapshot read under the gate, which no reshard can replace until the
// caller calls st.gate.RUnlock. A missing stream (nil) holds no gate and
// leaves nothing behind.
func (s *Service) lookupGated(sc Scope, name string) (*streamState, string) {
	for {
		st, _ := s.lookup(sc, name)
		if st == nil {
			return nil, ""
		}
		st.gate.RLock()
		cur, status := s.lookup(sc, name)
		if cur != nil && cur.gate == st.gate {
			return cur, status
		}
		// Deleted, or deleted and created again, in between: the gate
		// held is no longer the stream's.
		st.gate.RUnlock()
		if cur == nil {
			return nil, ""
		}
	}
}

// commit stores m (new revision) with a compare on the old revision and
// installs the new snapshot. extraCmp/extraPuts join the same transaction.
// Called with ctl held.
func (s *Service) commit(ctx context.Context, key string, oldRev uint64, m *streamMeta, extraCmp map[string]uint64, extraPuts map[string][]byte, deletes ...string) (*streamState, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	cmp := map[string]uint64{key: oldRev}
	for k, v := range extraCmp {
		cmp[k] = v
	}
	puts := map[string][]byte{key: b}
	for k, v := range extraPuts {
		puts[k] = v
	}
	ok, rev, err := s.meta.Commit(ctx, cmp, puts, deletes)
	if err != nil {
		return nil, &Error{Kind: KindInternal, Msg: "metadata commit failed", Err: err}
	}
	if !ok {
		return nil, &Error{Kind: KindInternal, Msg: "concurrent metadata change", Err: errors.New("compare failed")}
	}
	st, err := newStreamState(m, rev)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.installLocked(key, st)
	s.mu.Unlock()
	return st, nil
}

// cloneMeta deep-copies a stream description for modification.
func cloneMeta(m *streamMeta) *streamMeta {
	c := *m
	c.Shards = append([]shardMeta(nil), m.Shards...)
	c.ShardMetrics = append([]string(nil), m.ShardMetrics...)
	c.ScalingOps = append([]int64(nil), m.ScalingOps...)
	c.Consumers = append([]consumerMeta(nil), m.Consumers...)
	c.DataKeys = append([]dataKeyMeta(nil), m.DataKeys...)
	if m.Tags != nil {
		c.Tags = make(map[string]string, len(m.Tags))
		for k, v := range m.Tags {
			c.Tags[k] = v
		}
	}
	return &c
}

// settle applies to m, a copy about to be committed, the time-based
// transitions that have come due, so later changes start from the
// effective status.
func (s *Service) settle(m *streamMeta) {
	if st := m.effectiveStatus(s.now()); st != m.Status && st != "" {
		m.Status, m.TransitionAt = st, 0
	}
}

// CreateStreamInput holds CreateStream's parameters.
type CreateStreamInput struct {
	Name             string
	ShardCount       *int
	Mode             string // "" = PROVISIONED
	Tags             map[string]string
	MaxRecordSizeKiB int // 0 = default
}

// openShards counts open shards of the account in the region.
func (s *Service) openShards(sc Scope) (shards, onDemand int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	prefix := prefixStream + sc.Account + "/" + sc.Region + "/"
	now := s.now()
	for k, st := range s.streams {
		if !strings.HasPrefix(k, prefix) || st.meta.effectiveStatus(now) == "" {
			continue
		}
		shards += len(st.open)
		if st.meta.Mode == ModeOnDemand {
			onDemand++
		}
	}
	return shards, onDemand
}

// CreateStream creates a stream in CREATING state; it becomes ACTIVE after
// the configured delay.
func (s *Service) CreateStream(ctx context.Context, sc Scope, in CreateStreamInput) error {
	sc = s.scope(sc)
	if len(in.Tags) > 0 {
		strs := make([]string, 0, 2*len(in.Tags))
		for k, v := range in.Tags {
			strs = append(strs, k, v)
		}
		if err := checkTagChars(strs, "create", in.Name, s.scope(sc).Account); err != nil {
			return err
		}
	}
	mode := in.Mode
	if mode == "" {
		mode = ModeProvisioned
	}
	var n int
	switch mode {
	case ModeOnDemand:
		n = OnDemandShardCount
		if in.ShardCount != nil {
			n = *in.ShardCount
		}
	default:
		if in.ShardCount == nil {
			return errorf(KindInvalidArgument, "ShardCount is required for a PROVISIONED stream.")
		}
		n = *in.ShardCount
	}
	if in.MaxRecordSizeKiB != 0 && (in.MaxRecordSizeKiB < MinMaxRecordSizeKiB || in.MaxRecordSizeKiB > MaxMaxRecordSizeKiB) {
		return errorf(KindInvalidArgument, "MaxRecordSizeInKiB must be between %d and %d.", MinMaxRecordSizeKiB, MaxMaxRecordSizeKiB)
	}
	if len(in.Tags) > MaxTagsPerStream {
		return errorf(KindInvalidArgument, "Failed to create stream %s under account %s because a given stream cannot have more than %d tags associated with it.", in.Name, sc.Account, MaxTagsPerStream)
	}
	s.ctl.Lock()
	defer s.ctl.Unlock()
	key := streamKey(sc, in.Name)
	_, rev, err := s.meta.Get(ctx, key)
	if err != nil {
		return &Error{Kind: KindInternal, Msg: "metadata read failed", Err: err}
	}
	if rev != 0 {
		// A stream whose deletion completed but was not yet swept from
		// metadata may be replaced.
		s.mu.RLock()
		cached := s.streams[key]
		s.mu.RUnlock()
		if st, _ := s.lookup(sc, in.Name); st != nil || cached == nil {
			return errorf(KindInUse, "Stream %s under account %s already exists.", in.Name, sc.Account)
		}
	}
	cur, onDemand := s.openShards(sc)
	if cur+n > s.cfg.ShardLimit {
		return errorf(KindLimitExceeded, "This request would exceed the shard limit for the account %s in %s. Current shard count for the account: %d. Limit: %d. Number of additional shards that would have resulted from this request: %d. Refer to the AWS Service Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits.", sc.Account, sc.Region, cur, s.cfg.ShardLimit, n)
	}
	if mode == ModeOnDemand && onDemand+1 > s.cfg.OnDemandStreamLimit {
		return errorf(KindLimitExceeded, "This request would exceed the on-demand stream count limit for the account %s in %s. Current on-demand stream count for the account: %d. Limit: %d.", sc.Account, sc.Region, onDemand, s.cfg.OnDemandStreamLimit)
	}
	// Keys of a stream whose commit then fails are never used: a gap.
	var firstKey uint64
	if n > 0 {
		if firstKey, err = s.allocateLogKeys(ctx, n); err != nil {
			return err
		}
	}
	now := s.now()
	created := now.UnixMilli()
	m := &streamMeta{
		Name: in.Name, Account: sc.Account, Region: sc.Region,
		Status: StatusCreating, TransitionAt: now.Add(s.cfg.CreateDelay).UnixMilli(),
		CreatedMs: created, RetentionHours: DefaultRetentionHours, Mode: mode,
		MaxRecordSizeKiB: DefaultMaxRecordSizeKiB, EncryptionType: "NONE",
		NextShardIndex: n,
	}
	if in.MaxRecordSizeKiB != 0 {
		m.MaxRecordSizeKiB = in.MaxRecordSizeKiB
	}
	if len(in.Tags) > 0 {
		m.Tags = in.Tags
	}
	for i, r := range hashkey.Split(n) {
		m.Shards = append(m.Shards, shardMeta{
			Index: i, Key: firstKey + uint64(i),
			HashStart: r.Start.String(), HashEnd: r.End.String(),
			CreatedMs: created,
		})
	}
	// A resource policy belongs to the stream it was put on: one left by a
	// deleted stream of the same name never applies to this one.
	stale, err := s.policyKeys(ctx, streamARN(sc.Region, sc.Account, in.Name))
	if err != nil {
		return err
	}
	_, err = s.commit(ctx, key, rev, m, nil, nil, stale...)
	return err
}

// policyKeys returns the metadata keys of the resource policies of a stream
// ARN and of its consumers.
func (s *Service) policyKeys(ctx context.Context, streamARN string) ([]string, error) {
	var keys []string
	own := prefixPolicy + streamARN
	err := s.meta.Scan(ctx, own, func(k string, _ []byte, _ uint64) error {
		if k == own || strings.HasPrefix(k, own+"/consumer/") {
			keys = append(keys, k)
		}
		return nil
	})
	if err != nil {
		return nil, &Error{Kind: KindInternal, Msg: "metadata read failed", Err: err}
	}
	return keys, nil
}

// DeleteStream moves a stream to DELETING; it disappears after the delay and
// its records are reclaimed by the next sweep. A stream with registered
// consumers is refused (KindInUse) unless enforceConsumerDeletion is set,
// when its consumers go with it.
func (s *Service) DeleteStream(ctx context.Context, sc Scope, name string, enforceConsumerDeletion bool) error {
	sc = s.scope(sc)
	s.ctl.Lock()
	defer s.ctl.Unlock()
	st, status := s.lookup(sc, name)
	if st == nil {
		return notFound(name, sc.Account)
	}
	if status == StatusDeleting {
		return nil
	}
	if !enforceConsumerDeletion && len(liveConsumers(st.meta, s.now())) > 0 {
		// AWS's text, as its users quote it (aws/aws-cli#3580,
		// rebuy-de/aws-nuke#497, hashicorp/terraform-provider-aws#8420),
		// with its typographic apostrophe.
		return errorf(KindInUse, "DeleteStream can’t delete %s:%s because there are consumers associated with this data stream. "+
			"To delete %s anyway, set the EnforceConsumerDeletion parameter to true to force the deletion of all the consumers that are associated with it.",
			sc.Account, name, name)
	}
	m := cloneMeta(st.meta)
	m.Status, m.TransitionAt = StatusDeleting, s.now().Add(s.cfg.DeleteDelay).UnixMilli()
	// The stream's resource policies and its consumers' go with it.
	policies, err := s.policyKeys(ctx, st.arn)
	if err != nil {
		return err
	}
	_, err = s.commit(ctx, streamKey(sc, name), st.rev, m, nil, nil, policies...)
	return err
}

// Describe returns a stream's description.
func (s *Service) Describe(sc Scope, name string) (StreamInfo, error) {
	sc = s.scope(sc)
	st, status := s.lookup(sc, name)
	if st == nil {
		return StreamInfo{}, notFound(name, sc.Account)
	}
	return s.info(st, status), nil
}

func (s *Service) info(st *streamState, status string) StreamInfo {
	m := st.meta
	in := StreamInfo{
		Name: m.Name, ARN: st.arn, Status: status, Mode: m.Mode,
		CreatedAt: time.UnixMilli(m.CreatedMs), RetentionHours: m.RetentionHours,
		MaxRecordSizeKiB: m.MaxRecordSizeKiB, EncryptionType: m.EncryptionType, KeyID: m.KeyID,
		ShardLevelMetrics: m.ShardMetrics, OpenShardCount: len(st.open),
		ConsumerCount: len(liveConsumers(m, s.now())), WarmMiBps: m.WarmMiBps,
	}
	if status == StatusCreating {
		// A creating stream shows no shards yet, as on AWS.
		return in
	}
	for i := range m.Shards {
		sh := &m.Shards[i]
		si := ShardInfo{
			ShardID: sh.id(), ParentShardID: sh.Parent, AdjacentParentShardID: sh.AdjacentParent,
			StartingHashKey: sh.HashStart, EndingHashKey: sh.HashEnd,
			StartingSequenceNumber: sh.startingSeq(), CreatedAt: time.UnixMilli(sh.CreatedMs),
		}
		if sh.Closed {
			si.EndingSequenceNumber = sh.seq(sh.EndCounter, sh.ClosedMs)
			si.ClosedAt = time.UnixMilli(sh.ClosedMs)
		}
		in.Shards = append(in.Shards, si)
	}
	return in
}

// StreamSummary is a ListStreams entry.
type StreamSummary struct {
	Name, ARN, Status, Mode string
	CreatedAt               time.Time
}

// ListStreams lists the streams of the scope in name order, after the
// exclusive start name.
func (s *Service) ListStreams(sc Scope, exclusiveStart string, limit int) (out []StreamSummary, more bool) {
	sc = s.scope(sc)
	prefix := prefixStream + sc.Account + "/" + sc.Region + "/"
	now := s.now()
	s.mu.RLock()
	var all []*streamState
	for k, st := range s.streams {
		if strings.HasPrefix(k, prefix) && st.meta.effectiveStatus(now) != "" && st.meta.Name > exclusiveStart {
			all = append(all, st)
		}
	}
	s.mu.RUnlock()
	sort.Slice(all, func(i, j int) bool { return all[i].meta.Name < all[j].meta.Name })
	if len(all) > limit {
		all, more = all[:limit], true
	}
	for _, st := range all {
		out = append(out, StreamSummary{Name: st.meta.Name, ARN: st.arn, Status: st.meta.effectiveStatus(now), Mode: st.meta.Mode, CreatedAt: time.UnixMilli(st.meta.CreatedMs)})
	}
	return out, more
}

// mutate applies fn to a copy of an existing stream's metadata and commits it.
// fn sees the settled status and may return a domain error.
func (s *Service) mutate(ctx context.Context, sc Scope, name string, fn func(m *streamMeta, status string) error, deletes ...string) error {
	sc = s.scope(sc)
	s.ctl.Lock()
	defer s.ctl.Unlock()
	st, status := s.lookup(sc, name)
	if st == nil {
		return notFound(name, sc.Account)
	}
	m := cloneMeta(st.meta)
	s.settle(m)
	if err := fn(m, status); err != nil {
		if errors.Is(err, errNoChange) {
			return nil
		}
		return err
	}
	_, err := s.commit(ctx, streamKey(sc, name), st.rev, m, nil, nil, deletes...)
	return err
}

var errNoChange = errors.New("no change")

// checkRetentionChange applies the checks both retention changes share: the
// 24–8760 h range, then an ACTIVE stream.
func checkRetentionChange(hours int, name, account, status string) error {
	if hours < MinRetentionHours {
		return errorf(KindInvalidArgument, "Minimum allowed retention period is %d hours. Requested retention period (%d hours) is too short.", MinRetentionHours, hours)
	}
	if hours > MaxRetentionHours {
		return errorf(KindInvalidArgument, "Maximum allowed retention period is %d hours. Requested retention period (%d hours) is too long.", MaxRetentionHours, hours)
	}
	if status != StatusActive {
		return notActive(name, account, status)
	}
	return nil
}

// IncreaseRetention raises the retention period.
func (s *Service) IncreaseRetention(ctx context.Context, sc Scope, name string, hours int) error {
	sc = s.scope(sc)
	return s.mutate(ctx, sc, name, func(m *streamMeta, status string) error {
		if err := checkRetentionChange(hours, name, sc.Account, status); err != nil {
			return err
		}
		if m.RetentionHours > hours {
			return errorf(KindInvalidArgument, "Requested retention period (%d hours) for stream %s can not be shorter than existing retention period (%d hours). Use DecreaseRetentionPeriod API.", hours, name, m.RetentionHours)
		}
		// What has expired stays expired: reads filter by arrival time and
		// segments are reclaimed lazily, so without this floor a longer
		// period would serve expired records again until the next sweep.
		m.ExpiredBeforeMs = m.retainedFrom(s.now())
		m.RetentionHours = hours
		return nil
	})
}

// DecreaseRetention lowers the retention period.
func (s *Service) DecreaseRetention(ctx context.Context, sc Scope, name string, hours int) error {
	sc = s.scope(sc)
	return s.mutate(ctx, sc, name, func(m *streamMeta, status string) error {
		if err := checkRetentionChange(hours, name, sc.Account, status); err != nil {
			return err
		}
		if m.RetentionHours < hours {
			return errorf(KindInvalidArgument, "Requested retention period (%d hours) for stream %s can not be longer than existing retention period (%d hours). Use IncreaseRetentionPeriod API.", hours, name, m.RetentionHours)
		}
		m.RetentionHours = hours
		return nil
	})
}

// UpdateMaxRecordSize sets the stream's maximum record size.
func (s *Service) UpdateMaxRecordSize(ctx context.Context, sc Scope, name string, kib int) error {
	sc = s.scope(sc)
	return s.mutate(ctx, sc, name, func(m *streamMeta, status string) error {
		if status != StatusActive {
			return notActive(name, sc.Account, status)
		}
		m.MaxRecordSizeKiB = kib
		return nil
	})
}

// AddTags adds or replaces tags.
func (s *Service) AddTags(ctx context.Context, sc Scope, name string, tags map[string]string) error {
	sc = s.scope(sc)
	strs := make([]string, 0, 2*len(tags))
	for k, v := range tags {
		strs = append(strs, k, v)
	}
	return s.mutate(ctx, sc, name, func(m *streamMeta, status string) error {
		// The stream is looked up before the tags are checked (kinesalite).
		if err := checkTagChars(strs, "add tags to", name, sc.Account); err != nil {
			return err
		}
		n := len(m.Tags)
		for k := range tags {
			if _, ok := m.Tags[k]; !ok {
				n++
			}
		}
		if n > MaxTagsPerStream {
			return errorf(KindInvalidArgument, "Failed to add tags to stream %s under account %s because a given stream cannot have more than %d tags associated with it.", name, sc.Account, MaxTagsPerStream)
		}
		if m.Tags == nil {
			m.Tags = map[string]string{}
		}
		for k, v := range tags {
			m.Tags[k] = v
		}
		return nil
	})
}

// RemoveTags removes tags by key.
func (s *Service) RemoveTags(ctx context.Context, sc Scope, name string, keys []string) error {
	sc = s.scope(sc)
	return s.mutate(ctx, sc, name, func(m *streamMeta, status string) error {
		if err := checkTagChars(keys, "remove tags from", name, sc.Account); err != nil {
			return err
		}
		for _, k := range keys {
			delete(m.Tags, k)
		}
		return nil
	})
}

// ListTags returns tags sorted by key after exclusiveStart, up to limit.
func (s *Service) ListTags(sc Scope, name, exclusiveStart string, limit int) ([]Tag, bool, error) {
	sc = s.scope(sc)
	st, _ := s.lookup(sc, name)
	if st == nil {
		return nil, false, notFound(name, sc.Account)
	}
	keys := make([]string, 0, len(st.meta.Tags))
	for k := range st.meta.Tags {
		if exclusiveStart == "" || k > exclusiveStart {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	more := false
	if limit > 0 && len(keys) > limit {
		keys, more = keys[:limit], true
	}
	out := make([]Tag, len(keys))
	for i, k := range keys {
		out[i] = Tag{k, st.meta.Tags[k]}
	}
	return out, more, nil
}

// checkTagChars applies AWS's tag character rules to tag keys and values
// (recorded by kinesalite): characters outside the set, then '%', which the
// first message lists as valid but AWS refuses with a message of its own.
// verb is "add tags to" or "remove tags from".
func checkTagChars(strs []string, verb, name, account string) error {
	for _, s := range strs {
		for _, r := range s {
			ok := r >= 0xC0 && r <= 0x1FFF || r >= 0x2C00 && r <= 0xD7FF ||
				r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
				strings.ContainsRune("_./-=+ @%", r)
			if !ok {
				return errorf(KindInvalidArgument, "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - %% @.")
			}
		}
	}
	for _, s := range strs {
		if strings.ContainsRune(s, '%') {
			return errorf(KindInvalidArgument, "Failed to %s stream %s under account %s because some tags contained illegal characters. The allowed characters are Unicode letters, white-spaces, '_',',','/','=','+','-','@'.", verb, name, account)
		}
	}
	return nil
}

// Limits reports the account's shard usage.
type Limits struct {
	ShardLimit, OpenShardCount, OnDemandStreamCount, OnDemandStreamCountLimit int
}

// DescribeLimits returns the account limits and usage.
func (s *Service) DescribeLimits(sc Scope) Limits {
	sc = s.scope(sc)
	shards, od := s.openShards(sc)
	return Limits{ShardLimit: s.cfg.ShardLimit, OpenShardCount: shards, OnDemandStreamCount: od, OnDemandStreamCountLimit: s.cfg.OnDemandStreamLimit}
}

// ResolveARN splits a stream ARN into scope and name.
func ResolveARN(s string) (Scope, string, bool) {
	a, ok := arn.Parse(s)
	if !ok {
		return Scope{}, "", false
	}
	name, ok := a.CutResource("kinesis", "stream/")
	if !ok || strings.Contains(name, "/") {
		return Scope{}, "", false
	}
	return Scope{Account: a.Account, Region: a.Region}, name, true
}
