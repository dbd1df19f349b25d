package datastream

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/rheos/rheos/internal/hashkey"
	"github.com/rheos/rheos/internal/quota"
	"github.com/rheos/rheos/internal/seqnum"
)

// PutEntry is one record of a put.
type PutEntry struct {
	PartitionKey    string
	ExplicitHashKey string // decimal, optional
	Data            []byte
}

// PutResult is the outcome of one record.
type PutResult struct {
	ShardID        string
	SequenceNumber string
	// Err is set when this record failed alone (PutRecords): KindThroughput
	// when its shard's write limit was exceeded, KindUnavailable when the
	// record log refused the write. The API maps the kind to an exception.
	Err       *Error
	Encrypted bool // stored encrypted
}

// PutOptions carries PutRecord's extra parameters.
type PutOptions struct {
	SequenceNumberForOrdering string
	// Single is true for PutRecord: storage failures become request errors.
	Single bool
	// DryRun checks the call and answers KindDryRun instead of storing.
	DryRun bool
}

// Put stores records into a stream. For PutRecords, throttled records and
// storage failures are reported per record (PutResult.Err); argument errors
// fail the request.
func (s *Service) Put(ctx context.Context, sc Scope, name string, entries []PutEntry, opts PutOptions) ([]PutResult, error) {
	sc = s.scope(sc)
	// The gate keeps a reshard from closing a shard between the routing
	// below and the append: a closed shard never receives a record.
	st, status := s.lookupGated(sc, name)
	if st == nil {
		return nil, notFound(name, sc.Account)
	}
	defer st.gate.RUnlock()
	if status != StatusActive && status != StatusUpdating {
		return nil, notFound(name, sc.Account)
	}
	maxSize := st.meta.MaxRecordSizeKiB * 1024
	shards := make([]*shardMeta, len(entries))
	logEntries := make([]LogEntry, len(entries))
	for i := range entries {
		e := &entries[i]
		var k hashkey.Key
		if e.ExplicitHashKey != "" {
			var err error
			if k, err = hashkey.Parse(e.ExplicitHashKey); err != nil {
				return nil, errorf(KindInvalidArgument, "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was %s", e.ExplicitHashKey)
			}
		} else {
			k = hashkey.FromPartitionKey(e.PartitionKey)
		}
		if len(e.Data)+len(e.PartitionKey) > maxSize {
			return nil, errorf(KindInvalidArgument, "Record size (data plus partition key) of %d bytes exceeds the maximum record size of %d KiB for stream %s under account %s.", len(e.Data)+len(e.PartitionKey), st.meta.MaxRecordSizeKiB, name, sc.Account)
		}
		sh := st.shardFor(k)
		if sh == nil {
			return nil, &Error{Kind: KindInternal, Msg: "no open shard covers hash key " + k.String()}
		}
		shards[i] = sh
		logEntries[i] = LogEntry{Shard: sh.Key, PartitionKey: e.PartitionKey, Data: e.Data}
	}
	if opts.SequenceNumberForOrdering != "" {
		// Any version AWS decodes is accepted (kinesalite's putRecord.js:
		// version 1 all zeros works, all f is refused), unless it carries a
		// record time in the future.
		n, err := seqnum.Decode(opts.SequenceNumberForOrdering)
		if err != nil || n.RecordSecs*1000 > s.now().UnixMilli() {
			return nil, errorf(KindInvalidArgument, "ExclusiveMinimumSequenceNumber %s used in PutRecord on stream %s under account %s is invalid.", opts.SequenceNumberForOrdering, name, sc.Account)
		}
	}
	if opts.DryRun {
		return nil, dryRun()
	}
	// Throughput limits: records over their shard's limit fail one by one
	// (PutRecords) or fail the request (PutRecord); the rest are stored.
	var throttled []bool
	if f := s.throughputFactor(st.meta); f > 0 {
		kept := logEntries[:0:0]
		throttled = make([]bool, len(entries))
		for i := range logEntries {
			size := float64(len(logEntries[i].Data) + len(logEntries[i].PartitionKey))
			if s.writeQuota.Allow(shards[i].Key, writeLimit(f), 1, size) {
				kept = append(kept, logEntries[i])
				continue
			}
			if opts.Single {
				s.cfg.Observer.Throttled(name, true, 1)
				return nil, rateExceeded(shards[i].id(), name, sc.Account)
			}
			throttled[i] = true
		}
		logEntries = kept
	}
	if len(logEntries) == 0 {
		s.cfg.Observer.Throttled(name, true, len(entries))
		out := make([]PutResult, len(entries))
		for i := range out {
			out[i] = PutResult{Err: rateExceeded(shards[i].id(), name, sc.Account)}
		}
		return out, nil
	}
	sizes := make([]int, len(logEntries)) // plaintext sizes, for the metrics
	for i := range logEntries {
		sizes[i] = len(logEntries[i].Data) + len(logEntries[i].PartitionKey)
	}
	if err := s.seal(ctx, st, logEntries); err != nil {
		return nil, err
	}
	pos, err := s.log.Append(ctx, s.cfg.Fence, logEntries)
	if err != nil {
		if opts.Single {
			return nil, &Error{Kind: KindUnavailable, Msg: "", Err: err}
		}
		out := make([]PutResult, len(entries))
		failed := &Error{Kind: KindUnavailable, Msg: "the record log refused the write", Err: err}
		for i := range out {
			out[i] = PutResult{Err: failed}
		}
		s.cfg.Logger.Warn("put failed", "stream", name, "err", err)
		return out, nil
	}
	stored := 0
	for _, n := range sizes {
		stored += n
	}
	s.cfg.Observer.RecordsIn(name, len(logEntries), stored)
	if len(st.meta.ShardMetrics) > 0 {
		type agg struct{ n, b int }
		per := map[*shardMeta]*agg{}
		for i := range entries {
			if throttled != nil && throttled[i] {
				continue
			}
			a := per[shards[i]]
			if a == nil {
				a = &agg{}
				per[shards[i]] = a
			}
			a.n++
			a.b += len(entries[i].Data) + len(entries[i].PartitionKey)
		}
		for sh, a := range per {
			s.cfg.Observer.ShardRecordsIn(name, sh.id(), a.n, a.b)
		}
	}
	if st.meta.Mode == ModeOnDemand {
		for i := range logEntries {
			s.load.add(logEntries[i].Shard, 1, sizes[i])
		}
	}
	if n := len(entries) - len(logEntries); n > 0 {
		s.cfg.Observer.Throttled(name, true, n)
	}
	out := make([]PutResult, len(entries))
	j := 0
	for i := range entries {
		sh := shards[i]
		if throttled != nil && throttled[i] {
			out[i] = PutResult{Err: rateExceeded(sh.id(), name, sc.Account)}
			continue
		}
		p := pos[j]
		j++
		out[i] = PutResult{ShardID: sh.id(), SequenceNumber: sh.seq(p.Counter, p.Timestamp), Encrypted: logEntries[j-1].Flags&FlagEncrypted != 0}
	}
	return out, nil
}

// parseShardID resolves AWS's lenient shard ids: the text after the first
// '-' (or the whole id) must be a non-negative decimal integer.
func parseShardID(id string) (int, bool) {
	s := id
	if i := strings.IndexByte(id, '-'); i >= 0 {
		s = id[i+1:]
		if j := strings.IndexByte(s, '-'); j >= 0 {
			s = s[:j]
		}
		if s == "" {
			s = id
		}
	}
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > 2147483647 {
		return 0, false
	}
	return int(n), true
}

// IteratorInput holds GetShardIterator's parameters.
type IteratorInput struct {
	Stream       string
	ShardID      string
	Type         string
	StartingSeq  string
	Timestamp    *time.Time
	HasTimestamp bool
	DryRun       bool // check, then answer KindDryRun instead of an iterator
}

// GetShardIterator returns a new shard iterator.
func (s *Service) GetShardIterator(ctx context.Context, sc Scope, in IteratorInput) (string, error) {
	sc = s.scope(sc)
	idx, ok := parseShardID(in.ShardID)
	if !ok {
		return "", errorf(KindNotFound, "Could not find shard %s in stream %s under account %s.", in.ShardID, in.Stream, sc.Account)
	}
	sid := shardID(idx)
	st, status := s.lookup(sc, in.Stream)
	if st == nil {
		return "", errorf(KindNotFound, "Shard %s in stream %s under account %s does not exist", sid, in.Stream, sc.Account)
	}
	sh := st.byIdx[idx]
	// A CREATING stream shows no shards yet (kinesalite adds them on ACTIVE).
	if sh == nil || status == StatusCreating {
		return "", errorf(KindNotFound, "Shard %s in stream %s under account %s does not exist", sid, in.Stream, sc.Account)
	}
	now := s.now()
	var pos uint64
	switch in.Type {
	case "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER":
		if in.StartingSeq == "" {
			return "", errorf(KindInvalidArgument, "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified %s and no StartingSequenceNumber.", in.Type)
		}
		n, err := seqnum.Decode(in.StartingSeq)
		if err != nil {
			return "", errorf(KindInvalidArgument, "StartingSequenceNumber %s used in GetShardIterator on shard %s in stream %s under account %s is invalid.", in.StartingSeq, sid, in.Stream, sc.Account)
		}
		if n.ShardIndex != int64(idx) {
			// AWS reads a version-2 index as a signed 32-bit number:
			// kinesalite recorded "It encodes shardId--02147483648".
			return "", errorf(KindInvalidArgument, "Invalid StartingSequenceNumber. It encodes %s, while it was used in a call to a shard with %s", shardID(int(n.ShardIndex)), sid)
		}
		if n.Version != 2 || n.ShardCreateSecs != sh.CreatedMs/1000 {
			if n.Version == 0 {
				// AWS answers a bare 500 InternalFailure to a version-0
				// number of the right shard (kinesalite's "should return
				// InternalFailure if using small (old?) sequence number").
				return "", &Error{Kind: KindInternal, Msg: "version-0 sequence number " + in.StartingSeq}
			}
			return "", errorf(KindInvalidArgument, "StartingSequenceNumber %s used in GetShardIterator on shard %s in stream %s under account %s is invalid because it did not come from this stream.", in.StartingSeq, sid, in.Stream, sc.Account)
		}
		pos = n.Counter
		if in.Type == "AFTER_SEQUENCE_NUMBER" {
			pos++
		}
	case "TRIM_HORIZON", "LATEST":
		if in.StartingSeq != "" {
			return "", errorf(KindInvalidArgument, "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified %s and also a StartingSequenceNumber.", in.Type)
		}
		if in.Type == "LATEST" {
			pos = s.log.Next(sh.Key)
			if sh.Closed {
				pos = sh.EndCounter + 1
			}
		}
	case "AT_TIMESTAMP":
		if in.Timestamp == nil {
			return "", errorf(KindInvalidArgument, "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.")
		}
		ts := in.Timestamp.UnixMilli()
		if ts > now.UnixMilli() {
			return "", errorf(KindInvalidArgument, "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: %d, currentTimestampInMillis: %d", ts, now.UnixMilli())
		}
		p, err := s.log.SeekTime(sh.Key, ts)
		if err != nil {
			return "", &Error{Kind: KindInternal, Msg: "seek failed", Err: err}
		}
		pos = p
	default:
		return "", errorf(KindInvalidArgument, "Invalid ShardIteratorType %s.", in.Type)
	}
	if in.DryRun {
		return "", dryRun()
	}
	return s.iter.encode(iterator{
		IssuedMs: now.UnixMilli(), StreamCreatedMs: st.meta.CreatedMs, ShardIndex: idx, Position: pos,
		Account: sc.Account, Region: sc.Region, Stream: in.Stream,
	}), nil
}

// Record is a record returned by GetRecords.
type Record struct {
	SequenceNumber string
	PartitionKey   string
	Data           []byte
	ArrivalTime    time.Time
	Encrypted      bool // stored encrypted (EncryptionType KMS)
}

// ChildShard is returned when a closed shard is read to its end.
type ChildShard struct {
	ShardID      string
	ParentShards []string
	HashKeyStart string
	HashKeyEnd   string
}

// GetRecordsResult is GetRecords' output.
type GetRecordsResult struct {
	Records            []Record
	NextShardIterator  string // empty when the closed shard is exhausted
	MillisBehindLatest int64
	ChildShards        []ChildShard
}

// amzTime formats like AWS's iterator-expiry message ("Thu Jan 22 01:22:02 UTC 2015").
func amzTime(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("Mon Jan 02 15:04:05 UTC 2006")
}

// openIterator decodes a shard iterator and finds its stream and shard.
func (s *Service) openIterator(iterStr string, now time.Time) (iterator, *streamState, *shardMeta, error) {
	it, err := s.iter.decode(iterStr)
	if err != nil {
		return it, nil, nil, errorf(KindInvalidArgument, "Invalid ShardIterator.")
	}
	if now.UnixMilli()-it.IssuedMs > s.cfg.IteratorTTL.Milliseconds() {
		return it, nil, nil, errorf(KindExpiredIterator, "Iterator expired. The iterator was created at time %s while right now it is %s which is further in the future than the tolerated delay of %d milliseconds.", amzTime(it.IssuedMs), amzTime(now.UnixMilli()), s.cfg.IteratorTTL.Milliseconds())
	}
	sid := shardID(it.ShardIndex)
	st, _ := s.lookup(Scope{Account: it.Account, Region: it.Region}, it.Stream)
	if st == nil || st.meta.CreatedMs != it.StreamCreatedMs {
		return it, nil, nil, errorf(KindNotFound, "Shard %s in stream %s under account %s does not exist", sid, it.Stream, it.Account)
	}
	sh := st.byIdx[it.ShardIndex]
	if sh == nil {
		return it, nil, nil, errorf(KindNotFound, "Shard %s in stream %s under account %s does not exist", sid, it.Stream, it.Account)
	}
	return it, st, sh, nil
}

// CheckRecords is GetRecords with DryRun: it checks the iterator and its
// shard and answers KindDryRun when a read would be served.
func (s *Service) CheckRecords(ctx context.Context, iterStr string) error {
	if _, _, _, err := s.openIterator(iterStr, s.now()); err != nil {
		return err
	}
	return dryRun()
}

// GetRecords reads from a shard iterator, charged to the shard's shared
// read throughput.
func (s *Service) GetRecords(ctx context.Context, iterStr string, limit int) (GetRecordsResult, error) {
	return s.getRecords(ctx, iterStr, limit, "")
}

// ConsumerRecords reads from a shard iterator on behalf of an enhanced
// fan-out consumer (an event source mapping reading through one): the
// consumer must be ACTIVE and registered on the iterator's stream, and the
// bytes read count against the consumer's own 2 MiB/s on the shard, shared
// with its SubscribeToShard pushes, not against the shard's shared 5
// reads and 2 MiB per second. Over its rate a read returns no records and
// an iterator at the same position: like a subscription, it waits rather
// than fails.
func (s *Service) ConsumerRecords(ctx context.Context, consumerARNStr, iterStr string, limit int) (GetRecordsResult, error) {
	return s.getRecords(ctx, iterStr, limit, consumerARNStr)
}

// getRecords serves GetRecords, and ConsumerRecords when consumer is set.
func (s *Service) getRecords(ctx context.Context, iterStr string, limit int, consumer string) (GetRecordsResult, error) {
	now := s.now()
	it, st, sh, err := s.openIterator(iterStr, now)
	if err != nil {
		return GetRecordsResult{}, err
	}
	sid := sh.id()
	if limit == 0 {
		limit = 10000
	}
	f := s.throughputFactor(st.meta)
	lim, key := readLimit(f), sh.Key
	efoKey := ""
	if consumer != "" {
		if err := activeConsumer(st, consumer, now); err != nil {
			return GetRecordsResult{}, err
		}
		lim, efoKey = quota.Limit{BytesPerSecond: awsReadBytes * f}, consumer+"|"+sid // the key of its subscriptions
		if f > 0 && !s.efoQuota.Allow(efoKey, lim, 0, 0) {
			it.IssuedMs = now.UnixMilli()
			return GetRecordsResult{NextShardIterator: s.iter.encode(it)}, nil
		}
	} else if f > 0 && !s.readQuota.Allow(key, lim, 1, 0) {
		s.cfg.Observer.Throttled(it.Stream, false, 1)
		return GetRecordsResult{}, rateExceeded(sid, it.Stream, it.Account)
	}
	minTs := st.meta.retainedFrom(now)
	recs, err := s.log.Read(sh.Key, it.Position, limit, 10<<20, minTs)
	if err != nil {
		return GetRecordsResult{}, &Error{Kind: KindInternal, Msg: "read failed", Err: err}
	}
	if f > 0 {
		n := 0
		for _, r := range recs {
			n += len(r.Data) + len(r.PartitionKey)
		}
		if efoKey != "" {
			s.efoQuota.Charge(efoKey, lim, float64(n))
		} else {
			s.readQuota.Charge(key, lim, float64(n))
		}
	}
	res := GetRecordsResult{Records: make([]Record, len(recs))}
	next := it.Position
	for i, r := range recs {
		data, enc, err := s.open(ctx, st, r)
		if err != nil {
			return GetRecordsResult{}, err
		}
		res.Records[i] = Record{SequenceNumber: sh.seq(r.Counter, r.Timestamp), PartitionKey: r.PartitionKey, Data: data, ArrivalTime: time.UnixMilli(r.Timestamp), Encrypted: enc}
		next = r.Counter + 1
	}
	tip := s.log.Next(sh.Key)
	if len(recs) > 0 && next < tip {
		res.MillisBehindLatest = max(0, now.UnixMilli()-recs[len(recs)-1].Timestamp)
	}
	outBytes := 0
	for _, r := range recs {
		outBytes += len(r.Data) + len(r.PartitionKey)
	}
	s.cfg.Observer.RecordsOut(it.Stream, len(recs), outBytes, res.MillisBehindLatest)
	if len(st.meta.ShardMetrics) > 0 {
		s.cfg.Observer.ShardRecordsOut(it.Stream, sid, len(recs), outBytes, res.MillisBehindLatest)
	}
	if sh.Closed && max(next, 1) > sh.EndCounter {
		// The closed shard is exhausted: no next iterator, report children.
		res.ChildShards = childrenOf(st, sh)
		return res, nil
	}
	if len(recs) == 0 && next < tip && it.Position < tip {
		// Everything between the position and the tip has expired: move on
		// so the consumer is not stuck.
		if p, err := s.log.SeekTime(sh.Key, minTs); err == nil && p > next {
			next = p
		}
	}
	it.Position, it.IssuedMs = next, now.UnixMilli()
	res.NextShardIterator = s.iter.encode(it)
	return res, nil
}

// ShardInfoFor looks up a stream for ListShards.
func (s *Service) ShardInfoFor(sc Scope, name string) (StreamInfo, error) {
	return s.Describe(sc, name)
}

// Sweep finishes deletions (FinishDeletions), then applies this service's
// retention to its RecordLog, dropping every key it does not hold. Use it
// only when the service owns the log alone (tests); a server whose log is
// shared by several services composes their RetainedFrom instead.
func (s *Service) Sweep(ctx context.Context) error {
	if err := s.FinishDeletions(ctx); err != nil {
		return err
	}
	return s.log.Sweep(ctx, func(key uint64) (int64, bool) {
		ts, ok := s.RetainedFrom(key)
		return ts, !ok
	})
}

// RetainedFrom returns, for a log key of one of this service's shards, the
// oldest record timestamp (ms) its stream still retains; ok=false for a key
// the service does not hold (its stream was deleted, or another owner's).
func (s *Service) RetainedFrom(key uint64) (minTs int64, ok bool) {
	s.mu.RLock()
	st := s.shards[key]
	s.mu.RUnlock()
	if st == nil {
		return 0, false
	}
	return st.meta.retainedFrom(s.now()), true
}

// FinishDeletions removes from metadata the streams whose DELETING delay
// has passed; their log keys are then held by no one and the next log
// sweep reclaims them.
func (s *Service) FinishDeletions(ctx context.Context) error {
	now := s.now()
	s.ctl.Lock()
	s.mu.RLock()
	var gone []*streamState
	for _, st := range s.streams {
		if st.meta.effectiveStatus(now) == "" {
			gone = append(gone, st)
		}
	}
	s.mu.RUnlock()
	for _, st := range gone {
		key := streamKey(Scope{st.meta.Account, st.meta.Region}, st.meta.Name)
		ok, _, err := s.meta.Commit(ctx, map[string]uint64{key: st.rev}, nil, []string{key})
		if err != nil {
			s.ctl.Unlock()
			return err
		}
		if ok {
			s.mu.Lock()
			s.installLocked(key, nil)
			s.mu.Unlock()
			s.forgetDataKeys(st)
		}
	}
	s.ctl.Unlock()
	return nil
}

// IsUnavailable reports whether err means storage refused the write.
func IsUnavailable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == KindUnavailable
}

// CanonicalShardID returns the canonical form (shardId-000000000007) of a
// shard id in any of the lenient forms AWS accepts, or the id unchanged when
// it has none.
func CanonicalShardID(id string) string {
	if idx, ok := parseShardID(id); ok {
		return shardID(idx)
	}
	return id
}

// childrenOf lists the shards whose parent or adjacent parent is sh.
func childrenOf(st *streamState, sh *shardMeta) []ChildShard {
	var out []ChildShard
	for i := range st.meta.Shards {
		c := &st.meta.Shards[i]
		if c.Parent == sh.id() || c.AdjacentParent == sh.id() {
			parents := []string{c.Parent}
			if c.AdjacentParent != "" {
				parents = append(parents, c.AdjacentParent)
			}
			out = append(out, ChildShard{ShardID: c.id(), ParentShards: parents, HashKeyStart: c.HashStart, HashKeyEnd: c.HashEnd})
		}
	}
	return out
}
