package functions

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"sync"
	"time"
)

// StreamSource is what event source mappings read: Kinesis streams, as the
// server adapts them (the functions domain imports no other domain).
type StreamSource interface {
	// Shards lists a stream's shards, closed ones included, with lineage.
	Shards(ctx context.Context, streamARN string) ([]SourceShard, error)
	// Iterator opens a shard at a position: TRIM_HORIZON, LATEST,
	// AT_TIMESTAMP (at), or AFTER_SEQUENCE_NUMBER (seq).
	Iterator(ctx context.Context, streamARN, shardID, typ, seq string, at time.Time) (string, error)
	// Read returns up to limit records from an iterator and the next
	// iterator; next is "" when a closed shard has been read to its end.
	Read(ctx context.Context, iterator string, limit int) (recs []SourceRecord, next string, err error)
	// Changed returns a channel closed at the next append to any stream.
	Changed() <-chan struct{}
	// Put appends one record to a stream (failure records of OnFailure
	// destinations).
	Put(ctx context.Context, streamARN, partitionKey string, data []byte) error
	// Consumer resolves an enhanced fan-out consumer's ARN to its stream's
	// ARN and its status (CREATING, ACTIVE, DELETING); status is "" when no
	// such consumer exists (never registered, deregistered, or its stream
	// deleted).
	Consumer(ctx context.Context, consumerARN string) (streamARN, status string, err error)
	// ReadAs is Read on behalf of an enhanced fan-out consumer: the reads
	// count against the consumer's own throughput, not the shard's shared
	// one, and fail when the consumer is not ACTIVE.
	ReadAs(ctx context.Context, consumerARN, iterator string, limit int) (recs []SourceRecord, next string, err error)
}

// SourceShard is a shard and its parents.
type SourceShard struct{ ID, Parent, AdjacentParent string }

// SourceRecord is a stream record as an event carries it.
type SourceRecord struct {
	SequenceNumber, PartitionKey string
	Data                         []byte
	ArrivalTime                  time.Time
	Encrypted                    bool
}

// Mapping is an event source mapping as stored.
type Mapping struct {
	UUID, FunctionARN, EventSourceARN, StartingPosition string
	StartingPositionTimestamp                           *time.Time
	Account, Region                                     string
	BatchSize, MaximumBatchingWindowInSeconds           int
	ParallelizationFactor                               int
	MaximumRetryAttempts, MaximumRecordAgeInSeconds     int
	BisectBatchOnFunctionError                          bool
	FunctionResponseTypes                               []string
	Enabled                                             bool
	State, StateTransitionReason, LastProcessingResult  string
	LastModified                                        time.Time
	Tags                                                map[string]string
	// OnFailure is the ARN of the destination that receives an invocation
	// record for every batch given up: an S3 bucket, or a Kinesis stream
	// of this server (a Rheos extension); onfailure.go.
	OnFailure string `json:",omitempty"`
	// FilterPatterns are the FilterCriteria patterns (filter.go).
	FilterPatterns []string `json:",omitempty"`
	// TumblingWindowInSeconds, when above 0, groups a shard's records in
	// windows of that many seconds with state carried between the
	// invocations of a window (window.go).
	TumblingWindowInSeconds int `json:",omitempty"`
	// StreamARN is set when EventSourceARN names an enhanced fan-out
	// consumer: the consumer's stream, whose shards the mapping reads
	// through the consumer (ReadAs).
	StreamARN string `json:",omitempty"`
}

// stream is the ARN of the stream the mapping reads.
func (m *Mapping) stream() string {
	if m.StreamARN != "" {
		return m.StreamARN
	}
	return m.EventSourceARN
}

// ARN is the mapping's ARN.
func (m *Mapping) ARN() string {
	return "arn:aws:lambda:" + m.Region + ":" + m.Account + ":event-source-mapping:" + m.UUID
}

// Metadata keys of mappings and their checkpoints (part of the stored
// format).
const (
	prefixESM  = "lambda/esm/"      // + uuid → Mapping JSON
	prefixCkpt = "lambda/esm-ckpt/" // + uuid/shardId → checkpoint JSON
)

// checkpoint is a shard's progress: the last sequence number whose batch
// is done, and whether the (closed) shard was read to its end. With a
// tumbling window it also holds the open window and its state, written in
// the same commit as Seq, so the state always matches the records the
// checkpoint says are done (window.go).
type checkpoint struct {
	Seq    string      `json:"seq,omitempty"`
	Done   bool        `json:"done,omitempty"`
	Window *openWindow `json:"window,omitempty"`
	// Closed is the end (Unix seconds) of the last window finished: a
	// record read after it with an earlier arrival time joins the window
	// that starts there.
	Closed int64 `json:"closed,omitempty"`
}

// MappingInput is CreateEventSourceMapping's input as the API decoded it;
// nil pointers take AWS's defaults.
type MappingInput struct {
	FunctionName, EventSourceARN, StartingPosition  string
	StartingPositionTimestamp                       *time.Time
	Enabled                                         *bool
	BatchSize, MaximumBatchingWindowInSeconds       *int
	ParallelizationFactor                           *int
	MaximumRetryAttempts, MaximumRecordAgeInSeconds *int
	BisectBatchOnFunctionError                      *bool
	FunctionResponseTypes                           []string
	Tags                                            map[string]string
	// OnFailure, when non-nil, replaces the destination ("" removes it).
	OnFailure *string
	// FilterPatterns, when non-nil, replaces the filters.
	FilterPatterns *[]string
	// TumblingWindowInSeconds, when non-nil, sets the window (0: none);
	// 0–900, checked by the model.
	TumblingWindowInSeconds *int
}

// streamARNParts checks a Kinesis stream ARN.
func streamARNParts(arn string) bool {
	p := strings.SplitN(arn, ":", 6)
	return len(p) == 6 && p[0] == "arn" && p[2] == "kinesis" && strings.HasPrefix(p[5], "stream/") && !strings.Contains(p[5], "/consumer/")
}

// consumerARNParts checks the shape of a Kinesis consumer ARN
// (arn:aws:kinesis:r:acct:stream/s/consumer/c:ts).
func consumerARNParts(arn string) bool {
	stream, consumer, ok := strings.Cut(arn, "/consumer/")
	return ok && streamARNParts(stream) && strings.Contains(consumer, ":")
}

// resolveSource checks an EventSourceArn: a Kinesis stream, or an ACTIVE
// enhanced fan-out consumer, whose stream it returns ("" for a stream).
func (s *Service) resolveSource(ctx context.Context, src string) (consumerStream string, err error) {
	switch {
	case streamARNParts(src):
		if _, err := s.cfg.Streams.Shards(ctx, src); err != nil {
			return "", errorf(KindInvalidParameter, "Stream not found: %s", src)
		}
		return "", nil
	case consumerARNParts(src):
		stream, status, err := s.cfg.Streams.Consumer(ctx, src)
		switch {
		case err != nil:
			return "", &Error{Kind: KindInternal, Err: err}
		case status == "":
			return "", errorf(KindInvalidParameter, "Stream consumer not found: %s", src)
		case status != "ACTIVE":
			return "", errorf(KindInvalidParameter, "Stream consumer %s is %s; an event source mapping reads through an ACTIVE consumer.", src, status)
		}
		return stream, nil
	}
	return "", errorf(KindInvalidParameter, "This endpoint serves event source mappings of Kinesis streams only: %s is not a Kinesis stream or stream consumer ARN.", src)
}

// CreateMapping registers a mapping and starts it.
func (s *Service) CreateMapping(ctx context.Context, sc Scope, in MappingInput) (*Mapping, error) {
	sc = s.scope(sc)
	if s.cfg.Streams == nil {
		return nil, errorf(KindUnsupported, "Event source mappings need Data Streams on this server.")
	}
	consumerStream, err := s.resolveSource(ctx, in.EventSourceARN)
	if err != nil {
		return nil, err
	}
	f, err := s.Get(ctx, sc, in.FunctionName)
	if err != nil {
		return nil, err
	}
	if f.Kind == KindJQ {
		return nil, errorf(KindInvalidParameter, "A %s function transforms records for Firehose and Analytics; it cannot be the target of an event source mapping, which exists for its side effects.", RuntimeJQ)
	}
	switch in.StartingPosition {
	case "TRIM_HORIZON", "LATEST":
	case "AT_TIMESTAMP":
		if in.StartingPositionTimestamp == nil {
			return nil, errorf(KindInvalidParameter, "StartingPositionTimestamp must be provided when StartingPosition is AT_TIMESTAMP.")
		}
	case "":
		return nil, errorf(KindInvalidParameter, "1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: Member must not be null")
	default:
		return nil, errorf(KindInvalidParameter, "Unsupported starting position for Kinesis: %s", in.StartingPosition)
	}
	m := &Mapping{UUID: newID(), FunctionARN: f.ARN(), EventSourceARN: in.EventSourceARN, StreamARN: consumerStream, StartingPosition: in.StartingPosition,
		StartingPositionTimestamp: in.StartingPositionTimestamp, Account: sc.Account, Region: sc.Region,
		BatchSize: 100, ParallelizationFactor: 1, MaximumRetryAttempts: -1, MaximumRecordAgeInSeconds: -1,
		FunctionResponseTypes: in.FunctionResponseTypes, Enabled: true, Tags: in.Tags,
		State: "Creating", StateTransitionReason: "User action", LastProcessingResult: "No records processed",
		LastModified: s.cfg.Now().UTC()}
	if err := s.checkDestination(in); err != nil {
		return nil, err
	}
	if err := m.apply(in); err != nil {
		return nil, err
	}
	if m.FunctionResponseTypes == nil {
		m.FunctionResponseTypes = []string{}
	}
	// One mapping per function and stream, as on AWS.
	var dup string
	s.meta.Scan(ctx, prefixESM, func(_ string, v []byte, _ uint64) error {
		var o Mapping
		if json.Unmarshal(v, &o) == nil && o.FunctionARN == m.FunctionARN && o.EventSourceARN == m.EventSourceARN {
			dup = o.UUID
		}
		return nil
	})
	if dup != "" {
		return nil, errorf(KindConflict, "An event source mapping with %s arn (\" %s \") and function (\" %s \") already exists. Please update or delete the existing mapping with UUID %s",
			"Kinesis", m.EventSourceARN, f.Name, dup)
	}
	b, _ := json.Marshal(m)
	if ok, _, err := s.meta.Commit(ctx, map[string]uint64{prefixESM + m.UUID: 0}, map[string][]byte{prefixESM + m.UUID: b}, nil); err != nil || !ok {
		return nil, &Error{Kind: KindInternal, Err: fmt.Errorf("storing mapping: ok=%v %v", ok, err)}
	}
	s.startMapping(m)
	return m, nil
}

// apply sets the given settings, checking AWS's ranges.
func (m *Mapping) apply(in MappingInput) error {
	if in.Enabled != nil {
		m.Enabled = *in.Enabled
	}
	if in.BatchSize != nil {
		m.BatchSize = *in.BatchSize
	}
	if in.MaximumBatchingWindowInSeconds != nil {
		m.MaximumBatchingWindowInSeconds = *in.MaximumBatchingWindowInSeconds
	}
	if in.ParallelizationFactor != nil {
		m.ParallelizationFactor = *in.ParallelizationFactor // 1..10, checked by the model
	}
	if in.MaximumRetryAttempts != nil {
		m.MaximumRetryAttempts = *in.MaximumRetryAttempts
	}
	if in.MaximumRecordAgeInSeconds != nil {
		v := *in.MaximumRecordAgeInSeconds
		if v != -1 && v < 60 {
			return errorf(KindInvalidParameter, "MaximumRecordAgeInSeconds must be -1 or between 60 and 604800.")
		}
		m.MaximumRecordAgeInSeconds = v
	}
	if in.BisectBatchOnFunctionError != nil {
		m.BisectBatchOnFunctionError = *in.BisectBatchOnFunctionError
	}
	if in.TumblingWindowInSeconds != nil {
		m.TumblingWindowInSeconds = *in.TumblingWindowInSeconds
	}
	if in.FunctionResponseTypes != nil {
		m.FunctionResponseTypes = in.FunctionResponseTypes
	}
	if in.FilterPatterns != nil {
		if _, err := parseFilters(*in.FilterPatterns); err != nil {
			return err
		}
		m.FilterPatterns = *in.FilterPatterns
	}
	if in.OnFailure != nil {
		m.OnFailure = *in.OnFailure // checked by checkDestination
	}
	return nil
}

// GetMapping returns a mapping.
func (s *Service) GetMapping(ctx context.Context, uuid string) (*Mapping, uint64, error) {
	b, rev, err := s.meta.Get(ctx, prefixESM+uuid)
	if err != nil {
		return nil, 0, &Error{Kind: KindInternal, Err: err}
	}
	if b == nil {
		return nil, 0, errorf(KindNotFound, "The resource you requested does not exist.")
	}
	var m Mapping
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, 0, &Error{Kind: KindInternal, Err: err}
	}
	s.runMu.Lock()
	if r := s.runners[uuid]; r != nil && (m.State == "Creating" || m.State == "Updating" || m.State == "Enabling") {
		m.State = "Enabled"
	}
	if res := s.lastResult[uuid]; res != "" {
		m.LastProcessingResult = res
	}
	s.runMu.Unlock()
	if !m.Enabled && m.State != "Deleting" {
		m.State = "Disabled"
	}
	return &m, rev, nil
}

// ListMappings lists mappings, filtered by stream and function.
func (s *Service) ListMappings(ctx context.Context, sc Scope, streamARN, function, marker string, max int) ([]*Mapping, string, error) {
	sc = s.scope(sc)
	fnARN := ""
	if function != "" {
		fsc, name, derr := ResolveName(sc, function)
		if derr != nil {
			return nil, "", derr
		}
		fnARN = "arn:aws:lambda:" + fsc.Region + ":" + fsc.Account + ":function:" + name
	}
	// Collect the keys first: the store's Scan holds a read transaction,
	// inside which another read (GetMapping) must not be opened.
	var uuids []string
	if err := s.meta.Scan(ctx, prefixESM, func(key string, _ []byte, _ uint64) error {
		uuids = append(uuids, strings.TrimPrefix(key, prefixESM))
		return nil
	}); err != nil {
		return nil, "", &Error{Kind: KindInternal, Err: err}
	}
	var out []*Mapping
	for _, u := range uuids {
		m, _, err := s.GetMapping(ctx, u)
		if err != nil {
			var de *Error
			if errors.As(err, &de) && de.Kind == KindNotFound {
				continue // deleted meanwhile
			}
			return nil, "", err
		}
		if m.Account != sc.Account || (streamARN != "" && m.EventSourceARN != streamARN) || (fnARN != "" && m.FunctionARN != fnARN) || m.UUID <= marker {
			continue
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UUID < out[j].UUID })
	if max <= 0 || max > 100 {
		max = 100
	}
	next := ""
	if len(out) > max {
		out, next = out[:max], out[max-1].UUID
	}
	return out, next, nil
}

// UpdateMapping changes a mapping's settings (not its source or start).
func (s *Service) UpdateMapping(ctx context.Context, uuid string, in MappingInput) (*Mapping, error) {
	s.ctlM.Lock()
	defer s.ctlM.Unlock()
	m, rev, err := s.GetMapping(ctx, uuid)
	if err != nil {
		return nil, err
	}
	if in.FunctionName != "" {
		f, err := s.Get(ctx, Scope{Account: m.Account, Region: m.Region}, in.FunctionName)
		if err != nil {
			return nil, err
		}
		m.FunctionARN = f.ARN()
	}
	if err := s.checkDestination(in); err != nil {
		return nil, err
	}
	if err := m.apply(in); err != nil {
		return nil, err
	}
	m.State, m.StateTransitionReason, m.LastModified = "Updating", "User action", s.cfg.Now().UTC()
	b, _ := json.Marshal(m)
	ok, _, cerr := s.meta.Commit(ctx, map[string]uint64{prefixESM + uuid: rev}, map[string][]byte{prefixESM + uuid: b}, nil)
	if cerr != nil || !ok {
		return nil, errorf(KindConflict, "The operation cannot be performed at this time. The event source mapping is currently being changed; retry.")
	}
	s.stopMapping(uuid)
	s.startMapping(m)
	return m, nil
}

// DeleteMapping stops and removes a mapping and its checkpoints.
func (s *Service) DeleteMapping(ctx context.Context, uuid string) (*Mapping, error) {
	s.ctlM.Lock()
	defer s.ctlM.Unlock()
	m, rev, err := s.GetMapping(ctx, uuid)
	if err != nil {
		return nil, err
	}
	s.stopMapping(uuid)
	deletes := []string{prefixESM + uuid}
	s.meta.Scan(ctx, prefixCkpt+uuid+"/", func(k string, _ []byte, _ uint64) error { deletes = append(deletes, k); return nil })
	if ok, _, err := s.meta.Commit(ctx, map[string]uint64{prefixESM + uuid: rev}, nil, deletes); err != nil || !ok {
		return nil, errorf(KindConflict, "The event source mapping is currently being changed; retry.")
	}
	m.State = "Deleting"
	return m, nil
}

// runner drives one mapping: a worker per readable shard, parents before
// children.
type runner struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Run starts every stored mapping and keeps them running until ctx ends
// (the server's run group owns it); then it stops them all.
func (s *Service) Run(ctx context.Context) error {
	s.runMu.Lock()
	s.runCtx = ctx
	s.runMu.Unlock()
	s.meta.Scan(ctx, prefixESM, func(_ string, v []byte, _ uint64) error {
		var m Mapping
		if json.Unmarshal(v, &m) == nil {
			s.startMapping(&m)
		}
		return nil
	})
	<-ctx.Done()
	s.runMu.Lock()
	uuids := make([]string, 0, len(s.runners))
	for u := range s.runners {
		uuids = append(uuids, u)
	}
	s.runMu.Unlock()
	for _, u := range uuids {
		s.stopMapping(u)
	}
	return nil
}

func (s *Service) startMapping(m *Mapping) {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if s.runCtx == nil || s.runners[m.UUID] != nil || !m.Enabled {
		return
	}
	ctx, cancel := context.WithCancel(s.runCtx)
	r := &runner{cancel: cancel, done: make(chan struct{})}
	s.runners[m.UUID] = r
	go func() { // owned by the runner: stopMapping cancels and waits
		defer close(r.done)
		s.runMapping(ctx, m)
		s.runMu.Lock()
		if s.runners[m.UUID] == r { // it ended by itself: its source is gone
			delete(s.runners, m.UUID)
		}
		s.runMu.Unlock()
	}()
}

func (s *Service) stopMapping(uuid string) {
	s.runMu.Lock()
	r := s.runners[uuid]
	delete(s.runners, uuid)
	s.runMu.Unlock()
	if r != nil {
		r.cancel()
		<-r.done
	}
}

// runMapping starts a worker for every shard whose parents are done and
// that is not itself done, until ctx ends, or until the consumer a mapping
// reads through is gone (the mapping is then disabled).
func (s *Service) runMapping(ctx context.Context, m *Mapping) {
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx) // ends the workers before the wait above
	defer cancel()
	running := map[string]bool{}
	var mu sync.Mutex // guards running
	for {
		if m.StreamARN != "" && s.consumerGone(ctx, m) {
			return
		}
		shards, err := s.cfg.Streams.Shards(ctx, m.stream())
		if err == nil {
			known := map[string]bool{}
			for _, sh := range shards {
				known[sh.ID] = true
			}
			done := func(id string) bool {
				if id == "" || !known[id] {
					return true // no parent, or expired with its records
				}
				c := s.loadCheckpoint(ctx, m.UUID, id)
				return c.Done
			}
			for _, sh := range shards {
				mu.Lock()
				busy := running[sh.ID]
				mu.Unlock()
				if busy || done(sh.ID) || !done(sh.Parent) || !done(sh.AdjacentParent) {
					continue
				}
				mu.Lock()
				running[sh.ID] = true
				mu.Unlock()
				wg.Add(1)
				go func(id string, isChild bool) { // ends with ctx or at the shard's end
					defer wg.Done()
					s.runShard(ctx, m, id, isChild)
					mu.Lock()
					delete(running, id)
					mu.Unlock()
				}(sh.ID, sh.Parent != "")
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second): // new shards (resharding), finished parents
		}
	}
}

// read reads a mapping's shard: through its consumer when it has one.
func (s *Service) read(ctx context.Context, m *Mapping, it string, limit int) ([]SourceRecord, string, error) {
	if m.StreamARN != "" {
		return s.cfg.Streams.ReadAs(ctx, m.EventSourceARN, it, limit)
	}
	return s.cfg.Streams.Read(ctx, it, limit)
}

// consumerGone reports whether the consumer a mapping reads through was
// deregistered (or its stream deleted), and then disables the mapping:
// State Disabled, StateTransitionReason "Lambda initiated" (Lambda's, not
// the user's, change) and a LastProcessingResult saying why. Enabled again
// (UpdateEventSourceMapping), it is disabled again: a consumer registered
// again under the name has another ARN, read by a new mapping.
func (s *Service) consumerGone(ctx context.Context, m *Mapping) bool {
	_, status, err := s.cfg.Streams.Consumer(ctx, m.EventSourceARN)
	if err != nil || (status != "" && status != "DELETING") {
		return false
	}
	result := "PROBLEM: Stream consumer not found: " + m.EventSourceARN
	s.cfg.Logger.Warn("event source mapping: its stream consumer is gone; the mapping is disabled", "uuid", m.UUID, "consumer", m.EventSourceARN)
	s.setResult(m, result)
	key := prefixESM + m.UUID
	for ctx.Err() == nil { // a compare-and-swap against concurrent updates
		b, rev, err := s.meta.Get(ctx, key)
		var cur Mapping
		if err != nil || b == nil || json.Unmarshal(b, &cur) != nil {
			break // deleted meanwhile, or unreadable: nothing to disable
		}
		cur.Enabled, cur.State, cur.StateTransitionReason, cur.LastProcessingResult = false, "Disabled", "Lambda initiated", result
		nb, _ := json.Marshal(cur)
		ok, _, err := s.meta.Commit(ctx, map[string]uint64{key: rev}, map[string][]byte{key: nb}, nil)
		if err != nil {
			s.cfg.Logger.Warn("event source mapping: disabling failed", "uuid", m.UUID, "err", err)
			break
		}
		if ok {
			break
		}
	}
	return true
}

func (s *Service) loadCheckpoint(ctx context.Context, uuid, shard string) checkpoint {
	var c checkpoint
	if b, _, err := s.meta.Get(ctx, prefixCkpt+uuid+"/"+shard); err == nil && b != nil {
		json.Unmarshal(b, &c)
	}
	return c
}

func (s *Service) saveCheckpoint(ctx context.Context, uuid, shard string, c checkpoint) error {
	b, _ := json.Marshal(c)
	key := prefixCkpt + uuid + "/" + shard
	for {
		_, rev, err := s.meta.Get(ctx, key)
		if err != nil {
			return err
		}
		ok, _, err := s.meta.Commit(ctx, map[string]uint64{key: rev}, map[string][]byte{key: b}, nil)
		if err != nil || ok {
			return err
		}
	}
}

// runShard delivers a shard's records in batches, in order, checkpointing
// after each batch that succeeded (or was given up), until the shard ends
// or ctx does.
func (s *Service) runShard(ctx context.Context, m *Mapping, shard string, isChild bool) {
	c := s.loadCheckpoint(ctx, m.UUID, shard)
	filters, _ := parseFilters(m.FilterPatterns) // checked at create and update
	open := func() (string, error) {
		switch {
		case c.Seq != "":
			return s.cfg.Streams.Iterator(ctx, m.stream(), shard, "AFTER_SEQUENCE_NUMBER", c.Seq, time.Time{})
		case isChild:
			return s.cfg.Streams.Iterator(ctx, m.stream(), shard, "TRIM_HORIZON", "", time.Time{}) // a child starts where its parents ended
		case m.StartingPosition == "AT_TIMESTAMP" && m.StartingPositionTimestamp != nil:
			return s.cfg.Streams.Iterator(ctx, m.stream(), shard, "AT_TIMESTAMP", "", *m.StartingPositionTimestamp)
		}
		return s.cfg.Streams.Iterator(ctx, m.stream(), shard, m.StartingPosition, "", time.Time{})
	}
	windowed := m.TumblingWindowInSeconds > 0
	if !windowed && c.Window != nil {
		c.Window = nil // the window was turned off: its state is dropped
	}
	it, err := open()
	for ctx.Err() == nil {
		if err != nil {
			s.cfg.Logger.Warn("event source mapping: opening the shard failed", "uuid", m.UUID, "shard", shard, "err", err)
			if !sleepCtx(ctx, time.Second) {
				return
			}
			it, err = open()
			continue
		}
		changed := s.cfg.Streams.Changed()
		recs, next, rerr := s.read(ctx, m, it, m.BatchSize*max(m.ParallelizationFactor, 1))
		if rerr != nil {
			err = rerr // an expired iterator reopens from the checkpoint
			continue
		}
		// Fill the batch within the batching window.
		if w := m.MaximumBatchingWindowInSeconds; w > 0 && len(recs) > 0 && len(recs) < m.BatchSize && next != "" {
			deadline := time.Now().Add(time.Duration(w) * time.Second)
			for len(recs) < m.BatchSize && next != "" && time.Now().Before(deadline) {
				select {
				case <-changed:
				case <-time.After(time.Until(deadline)):
				case <-ctx.Done():
					return
				}
				changed = s.cfg.Streams.Changed()
				more, n2, rerr := s.read(ctx, m, next, m.BatchSize-len(recs))
				if rerr != nil {
					break
				}
				recs, next = append(recs, more...), n2
			}
		}
		switch {
		case len(recs) > 0 && windowed:
			if !s.deliverWindowed(ctx, m, shard, &c, recs, filters) {
				return // ctx ended mid-retry: the checkpoint is unchanged
			}
		case len(recs) > 0:
			kept := filterRecords(filters, recs)
			if len(kept) > 0 && !s.deliverParallel(ctx, m, shard, kept) {
				return // ctx ended mid-retry: the checkpoint is unchanged
			}
			c.Seq = recs[len(recs)-1].SequenceNumber // filtered-out records are checkpointed too
			s.checkpoint(ctx, m, shard, c)
		}
		if next == "" { // the closed shard is read to its end: children may start
			// A window open at the shard's end closes there; the children
			// start their own windows with fresh state.
			if c.Window != nil && !s.finishWindow(ctx, m, shard, &c, false) {
				return
			}
			c.Done = true
			s.checkpoint(ctx, m, shard, c)
			return
		}
		it = next
		if len(recs) == 0 {
			wait := time.Second
			if c.Window != nil { // the open window's final invocation falls due
				due := time.Unix(c.Window.End, 0).Add(windowGrace)
				if !s.cfg.Now().Before(due) {
					if !s.finishWindow(ctx, m, shard, &c, false) {
						return
					}
					continue
				}
				wait = min(wait, due.Sub(s.cfg.Now()))
			}
			select {
			case <-changed:
			case <-time.After(wait):
			case <-ctx.Done():
				return
			}
		}
	}
}

// filterRecords returns the records that match the filters (all of them
// when there are none).
func filterRecords(filters []filter, recs []SourceRecord) []SourceRecord {
	if len(filters) == 0 {
		return recs
	}
	kept := make([]SourceRecord, 0, len(recs))
	for _, r := range recs {
		if matches(filters, r) {
			kept = append(kept, r)
		}
	}
	return kept
}

// checkpoint saves a shard's checkpoint, logging a failure (the batch
// is then redelivered after a restart).
func (s *Service) checkpoint(ctx context.Context, m *Mapping, shard string, c checkpoint) {
	if err := s.saveCheckpoint(ctx, m.UUID, shard, c); err != nil && ctx.Err() == nil {
		s.cfg.Logger.Warn("event source mapping: checkpoint failed", "uuid", m.UUID, "shard", shard, "err", err)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// deliverParallel spreads records over ParallelizationFactor batchers by
// partition key (so each key's records stay in order in one batcher),
// delivers the batchers' batches concurrently, each batcher's in order and
// at most BatchSize at a time, and returns when all are done: the caller
// then checkpoints past every record. It returns false when ctx ended.
func (s *Service) deliverParallel(ctx context.Context, m *Mapping, shard string, recs []SourceRecord) bool {
	pf := max(m.ParallelizationFactor, 1)
	parts := make([][]SourceRecord, pf)
	if pf == 1 {
		parts[0] = recs
	} else {
		for _, r := range recs {
			h := fnv.New32a()
			h.Write([]byte(r.PartitionKey))
			i := int(h.Sum32() % uint32(pf))
			parts[i] = append(parts[i], r)
		}
	}
	var wg sync.WaitGroup
	ok := make([]bool, pf)
	for i, part := range parts {
		ok[i] = true
		if len(part) == 0 {
			continue
		}
		wg.Add(1)
		go func() { // joined below: deliverParallel returns only after every batcher
			defer wg.Done()
			for len(part) > 0 && ok[i] {
				n := min(len(part), m.BatchSize)
				ok[i] = s.deliver(ctx, m, shard, part[:n], nil)
				part = part[n:]
			}
		}()
	}
	wg.Wait()
	for _, b := range ok {
		if !b {
			return false
		}
	}
	return true
}

// deliver invokes the function with a batch until it succeeds, honouring
// ReportBatchItemFailures, BisectBatchOnFunctionError and
// MaximumRetryAttempts (then the batch is given up and logged), and
// MaximumRecordAgeInSeconds; a throttled batch is retried without counting
// an attempt. With win (a tumbling window) every event
// carries the window's state, a response without a state property is a
// failure, and win.State becomes each successful response's state. It
// returns false only when ctx ended.
func (s *Service) deliver(ctx context.Context, m *Mapping, shard string, recs []SourceRecord, win *openWindow) bool {
	rbif := false
	for _, t := range m.FunctionResponseTypes {
		rbif = rbif || t == "ReportBatchItemFailures"
	}
	attempts, throttled := 0, 0
	role := s.executionRole(ctx, m)
	pending := [][]SourceRecord{recs} // batches still to deliver, in order
	for len(pending) > 0 {
		batch := pending[0]
		if m.MaximumRecordAgeInSeconds > 0 {
			cut := s.cfg.Now().Add(-time.Duration(m.MaximumRecordAgeInSeconds) * time.Second)
			i := 0
			for i < len(batch) && batch[i].ArrivalTime.Before(cut) {
				i++
			}
			if i > 0 {
				s.giveUp(ctx, m, shard, batch[:i], "MaximumRecordAgeExceeded", 0, "")
				batch = batch[i:]
			}
			if len(batch) == 0 {
				pending = pending[1:]
				continue
			}
		}
		event := eventOf(m, role, shard, batch)
		if win != nil {
			event = windowEventOf(m, role, shard, batch, win, false, false)
		}
		res, err := s.Invoke(ctx, Scope{Account: m.Account, Region: m.Region}, m.FunctionARN, event, InvokeOptions{})
		failedFrom := -1 // index of the first record to retry; -1: all done
		if err != nil || res.FunctionError != "" {
			failedFrom = 0
		} else {
			if rbif {
				failedFrom = firstFailure(res.Payload, batch)
			}
			if win != nil {
				if st, ok := responseState(res.Payload); ok {
					win.State = st
				} else {
					failedFrom = 0
					s.cfg.Logger.Warn("event source mapping: the function's response has no state property, which a tumbling window requires; the batch failed",
						"uuid", m.UUID, "shard", shard)
				}
			}
		}
		if ctx.Err() != nil {
			return false
		}
		if de := (*Error)(nil); errors.As(err, &de) && de.Kind == KindThrottled {
			// Lambda retries a throttled batch until its records expire,
			// counting no attempt and splitting nothing.
			s.setResult(m, "PROBLEM: Function call failed")
			throttled++
			if !sleepCtx(ctx, min(time.Duration(throttled)*100*time.Millisecond, time.Second)) {
				return false
			}
			continue
		}
		throttled = 0
		if failedFrom < 0 {
			s.setResult(m, "OK")
			s.cfg.Observer.Batch(m.UUID, len(batch), "ok", s.cfg.Now().Sub(batch[len(batch)-1].ArrivalTime).Milliseconds())
			pending = pending[1:]
			attempts = 0
			continue
		}
		s.setResult(m, "PROBLEM: Function call failed")
		retry := batch[failedFrom:]
		if m.BisectBatchOnFunctionError && len(retry) > 1 {
			half := len(retry) / 2
			pending = append([][]SourceRecord{retry[:half], retry[half:]}, pending[1:]...)
			continue // a split is not a retry
		}
		attempts++
		if m.MaximumRetryAttempts >= 0 && attempts > m.MaximumRetryAttempts {
			s.giveUp(ctx, m, shard, retry, "RetryAttemptsExhausted", attempts, res.FunctionError)
			pending = pending[1:]
			attempts = 0
			continue
		}
		pending[0] = retry
		if !sleepCtx(ctx, min(time.Duration(attempts)*100*time.Millisecond, 5*time.Second)) {
			return false
		}
	}
	return true
}

// firstFailure reads a ReportBatchItemFailures response: the index of the
// lowest reported record, 0 when the response names an unknown or empty
// identifier (the whole batch failed), -1 when nothing failed.
func firstFailure(payload []byte, batch []SourceRecord) int {
	var r struct {
		BatchItemFailures []struct {
			ItemIdentifier *string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if len(payload) == 0 || string(payload) == "null" || json.Unmarshal(payload, &r) != nil || len(r.BatchItemFailures) == 0 {
		return -1
	}
	lowest := -1
	for _, f := range r.BatchItemFailures {
		if f.ItemIdentifier == nil || *f.ItemIdentifier == "" {
			return 0
		}
		i := sort.Search(len(batch), func(i int) bool { return !seqLess(batch[i].SequenceNumber, *f.ItemIdentifier) })
		if i == len(batch) || batch[i].SequenceNumber != *f.ItemIdentifier {
			return 0
		}
		if lowest < 0 || i < lowest {
			lowest = i
		}
	}
	return lowest
}

// seqLess compares decimal sequence numbers.
func seqLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func (s *Service) setResult(m *Mapping, result string) {
	s.runMu.Lock()
	s.lastResult[m.UUID] = result
	s.runMu.Unlock()
}

// LastResult is a running mapping's LastProcessingResult.
func (s *Service) LastResult(uuid string) string {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	return s.lastResult[uuid]
}

// eventRecord is one record of the event Lambda sends for a Kinesis
// batch, its members in AWS's order.
type eventRecord struct {
	Kinesis           eventKinesis `json:"kinesis"`
	EventSource       string       `json:"eventSource"`
	EventVersion      string       `json:"eventVersion"`
	EventID           string       `json:"eventID"`
	EventName         string       `json:"eventName"`
	InvokeIdentityArn string       `json:"invokeIdentityArn"`
	AwsRegion         string       `json:"awsRegion"`
	EventSourceARN    string       `json:"eventSourceARN"`
}

type eventKinesis struct {
	KinesisSchemaVersion        string  `json:"kinesisSchemaVersion"`
	PartitionKey                string  `json:"partitionKey"`
	SequenceNumber              string  `json:"sequenceNumber"`
	Data                        string  `json:"data"`
	ApproximateArrivalTimestamp float64 `json:"approximateArrivalTimestamp"`
	EncryptionType              string  `json:"encryptionType,omitempty"`
}

// executionRole is the role of the mapping's function, which Lambda's
// events name as invokeIdentityArn ("" when the function is gone: its
// invocation fails anyway).
func (s *Service) executionRole(ctx context.Context, m *Mapping) string {
	f, err := s.Get(ctx, Scope{Account: m.Account, Region: m.Region}, m.FunctionARN)
	if err != nil {
		return ""
	}
	return f.Role
}

// eventRecords are a batch's records as the event carries them; role is
// the function's execution role.
func eventRecords(m *Mapping, role, shard string, recs []SourceRecord) []eventRecord {
	out := make([]eventRecord, len(recs))
	for i, r := range recs {
		k := eventKinesis{KinesisSchemaVersion: "1.0", PartitionKey: r.PartitionKey, SequenceNumber: r.SequenceNumber,
			Data: base64.StdEncoding.EncodeToString(r.Data), ApproximateArrivalTimestamp: float64(r.ArrivalTime.UnixMilli()) / 1000}
		if r.Encrypted {
			k.EncryptionType = "KMS"
		}
		out[i] = eventRecord{Kinesis: k, EventSource: "aws:kinesis", EventVersion: "1.0", EventID: shard + ":" + r.SequenceNumber,
			EventName: "aws:kinesis:record", InvokeIdentityArn: role, AwsRegion: m.Region,
			EventSourceARN: m.stream()}
	}
	return out
}

// eventOf builds the event Lambda sends for a Kinesis batch to a function
// whose execution role is role.
func eventOf(m *Mapping, role, shard string, recs []SourceRecord) []byte {
	b, _ := json.Marshal(struct {
		Records []eventRecord `json:"Records"`
	}{eventRecords(m, role, shard, recs)})
	return b
}
