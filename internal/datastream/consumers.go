package datastream

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rheos/rheos/internal/quota"
	"github.com/rheos/rheos/internal/seqnum"
)

// Enhanced fan-out: consumers registered on a stream, and SubscribeToShard
// subscriptions that push records as soon as they are durable.

// Consumer statuses.
const (
	ConsumerCreating = "CREATING"
	ConsumerActive   = "ACTIVE"
	ConsumerDeleting = "DELETING"
)

// MaxConsumersPerStream is AWS's default limit.
const MaxConsumersPerStream = 20

// SubscriptionLifetime is how long one SubscribeToShard call streams.
const SubscriptionLifetime = 5 * time.Minute

// consumerMeta is stored inside the stream's metadata.
type consumerMeta struct {
	Name         string `json:"name"`
	CreatedMs    int64  `json:"createdMs"`
	Status       string `json:"status"`
	TransitionAt int64  `json:"transitionAt,omitempty"`
}

func (c *consumerMeta) effectiveStatus(now time.Time) string {
	if c.TransitionAt != 0 && now.UnixMilli() >= c.TransitionAt {
		switch c.Status {
		case ConsumerCreating:
			return ConsumerActive
		case ConsumerDeleting:
			return ""
		}
	}
	return c.Status
}

// consumerActive reports whether the stream still has the consumer (its
// name and creation time) and it is ACTIVE.
func consumerActive(m *streamMeta, c consumerMeta, now time.Time) bool {
	for i := range m.Consumers {
		if x := &m.Consumers[i]; x.Name == c.Name && x.CreatedMs == c.CreatedMs {
			return x.effectiveStatus(now) == ConsumerActive
		}
	}
	return false
}

func consumerARN(streamARN, name string, createdMs int64) string {
	return streamARN + "/consumer/" + name + ":" + strconv.FormatInt(createdMs/1000, 10)
}

// ConsumerInfo describes a consumer.
type ConsumerInfo struct {
	Name, ARN, Status, StreamARN string
	CreatedAt                    time.Time
}

// ResolveConsumerARN splits a consumer ARN into scope, stream and consumer name.
func ResolveConsumerARN(arn string) (sc Scope, stream, consumer string, ok bool) {
	i := strings.Index(arn, "/consumer/")
	if i < 0 {
		return sc, "", "", false
	}
	sc, stream, ok = ResolveARN(arn[:i])
	if !ok {
		return sc, "", "", false
	}
	rest := arn[i+len("/consumer/"):]
	j := strings.LastIndexByte(rest, ':')
	if j <= 0 {
		return sc, "", "", false
	}
	return sc, stream, rest[:j], true
}

func (s *Service) consumerInfo(st *streamState, c *consumerMeta, now time.Time) ConsumerInfo {
	return ConsumerInfo{Name: c.Name, ARN: consumerARN(st.arn, c.Name, c.CreatedMs), Status: c.effectiveStatus(now), StreamARN: st.arn, CreatedAt: time.UnixMilli(c.CreatedMs)}
}

// liveConsumers returns the consumers that still exist.
func liveConsumers(m *streamMeta, now time.Time) []consumerMeta {
	var out []consumerMeta
	for _, c := range m.Consumers {
		if c.effectiveStatus(now) != "" {
			out = append(out, c)
		}
	}
	return out
}

// RegisterConsumer registers an enhanced fan-out consumer (CREATING, then
// ACTIVE after the create delay).
func (s *Service) RegisterConsumer(ctx context.Context, sc Scope, stream, name string) (ConsumerInfo, error) {
	sc = s.scope(sc)
	var out ConsumerInfo
	err := s.mutate(ctx, sc, stream, func(m *streamMeta, status string) error {
		now := s.now()
		m.Consumers = liveConsumers(m, now)
		for _, c := range m.Consumers {
			if c.Name == name {
				return errorf(KindInUse, "Consumer %s under stream %s already exists for account %s.", consumerARN(streamARN(sc.Region, sc.Account, stream), name, c.CreatedMs), stream, sc.Account)
			}
		}
		if len(m.Consumers) >= MaxConsumersPerStream {
			return errorf(KindLimitExceeded, "Consumer limit of %d exceeded for stream %s under account %s.", MaxConsumersPerStream, stream, sc.Account)
		}
		if status != StatusActive && status != StatusUpdating {
			return notActive(stream, sc.Account, status)
		}
		c := consumerMeta{Name: name, CreatedMs: now.UnixMilli(), Status: ConsumerCreating, TransitionAt: now.Add(s.cfg.CreateDelay).UnixMilli()}
		m.Consumers = append(m.Consumers, c)
		arn := streamARN(sc.Region, sc.Account, stream)
		out = ConsumerInfo{Name: name, ARN: consumerARN(arn, name, c.CreatedMs), Status: ConsumerCreating, StreamARN: arn, CreatedAt: time.UnixMilli(c.CreatedMs)}
		return nil
	})
	return out, err
}

// findConsumer returns the live consumer by name.
func (s *Service) findConsumer(sc Scope, stream, name string) (*streamState, *consumerMeta, error) {
	sc = s.scope(sc)
	st, _ := s.lookup(sc, stream)
	if st == nil {
		return nil, nil, notFound(stream, sc.Account)
	}
	now := s.now()
	for i := range st.meta.Consumers {
		c := &st.meta.Consumers[i]
		if c.Name == name && c.effectiveStatus(now) != "" {
			return st, c, nil
		}
	}
	return nil, nil, errorf(KindNotFound, "Consumer %s under stream %s not found for account %s.", name, stream, sc.Account)
}

// DescribeConsumer describes a consumer.
func (s *Service) DescribeConsumer(sc Scope, stream, name string) (ConsumerInfo, error) {
	st, c, err := s.findConsumer(sc, stream, name)
	if err != nil {
		return ConsumerInfo{}, err
	}
	return s.consumerInfo(st, c, s.now()), nil
}

// ConsumerByARN resolves a consumer ARN to the consumer it names: the
// stream's scope and name and the consumer's name. The ARN must be the
// consumer's exactly, creation time included: a consumer deregistered and
// registered again under the same name is another consumer, and an ARN
// with any other timestamp names nothing (KindNotFound).
func (s *Service) ConsumerByARN(consumerARNStr string) (Scope, string, string, error) {
	sc, stream, name, ok := ResolveConsumerARN(consumerARNStr)
	if !ok {
		return sc, "", "", errorf(KindInvalidArgument, "Invalid ConsumerARN %s.", consumerARNStr)
	}
	st, c, err := s.findConsumer(sc, stream, name)
	if err != nil {
		return sc, "", "", err
	}
	if consumerARN(st.arn, c.Name, c.CreatedMs) != consumerARNStr {
		return sc, "", "", errorf(KindNotFound, "Consumer %s not found.", consumerARNStr)
	}
	return sc, stream, name, nil
}

// activeConsumer checks that the consumer ARN names an ACTIVE consumer of
// the stream, creation time included.
func activeConsumer(st *streamState, arn string, now time.Time) error {
	for i := range st.meta.Consumers {
		c := &st.meta.Consumers[i]
		if consumerARN(st.arn, c.Name, c.CreatedMs) != arn {
			continue
		}
		switch status := c.effectiveStatus(now); status {
		case ConsumerActive:
			return nil
		case "":
		default:
			return errorf(KindInUse, "Consumer %s is not ACTIVE, instead in state %s.", arn, status)
		}
	}
	return errorf(KindNotFound, "Consumer %s not found.", arn)
}

// ConsumerARN returns the ARN of a live consumer of a stream, and false
// when there is none.
func (s *Service) ConsumerARN(sc Scope, stream, name string) (string, bool) {
	st, c, err := s.findConsumer(sc, stream, name)
	if err != nil {
		return "", false
	}
	return consumerARN(st.arn, c.Name, c.CreatedMs), true
}

// DeregisterConsumer starts deleting a consumer (DELETING, then gone); its
// resource policy goes with it.
func (s *Service) DeregisterConsumer(ctx context.Context, sc Scope, stream, name string) error {
	sc = s.scope(sc)
	st, c, err := s.findConsumer(sc, stream, name)
	if err != nil {
		return err
	}
	policy := prefixPolicy + consumerARN(st.arn, c.Name, c.CreatedMs)
	err = s.mutate(ctx, sc, stream, func(m *streamMeta, status string) error {
		now := s.now()
		m.Consumers = liveConsumers(m, now)
		for i := range m.Consumers {
			c := &m.Consumers[i]
			if c.Name == name {
				if c.effectiveStatus(now) == ConsumerDeleting {
					return errNoChange
				}
				c.Status, c.TransitionAt = ConsumerDeleting, now.Add(s.cfg.DeleteDelay).UnixMilli()
				return nil
			}
		}
		return errorf(KindNotFound, "Consumer %s under stream %s not found for account %s.", name, stream, sc.Account)
	}, policy)
	if err == nil {
		// Its subscriptions stop recording lag (consumerActive) and remove
		// their series, should one have been set meanwhile.
		s.cfg.Observer.ConsumerGone(stream, name, "")
	}
	return err
}

// ListConsumers lists a stream's consumers by name after exclusiveStart.
func (s *Service) ListConsumers(sc Scope, stream, exclusiveStart string, limit int) ([]ConsumerInfo, bool, error) {
	sc = s.scope(sc)
	st, _ := s.lookup(sc, stream)
	if st == nil {
		return nil, false, notFound(stream, sc.Account)
	}
	now := s.now()
	var out []ConsumerInfo
	for i := range st.meta.Consumers {
		c := &st.meta.Consumers[i]
		if c.effectiveStatus(now) != "" && c.Name > exclusiveStart {
			out = append(out, s.consumerInfo(st, c, now))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	more := false
	if limit > 0 && len(out) > limit {
		out, more = out[:limit], true
	}
	return out, more, nil
}

// SubscribeInput holds SubscribeToShard's parameters.
type SubscribeInput struct {
	ConsumerARN string
	ShardID     string
	Type        string // AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST, AT_TIMESTAMP
	SequenceNum string
	Timestamp   *time.Time
}

// SubscribeEvent is one SubscribeToShardEvent.
type SubscribeEvent struct {
	Records                    []Record
	ContinuationSequenceNumber string // empty when the shard is closed and fully delivered
	MillisBehindLatest         int64
	ChildShards                []ChildShard
}

// Subscription streams one shard to one consumer.
type Subscription struct {
	s        *Service
	sc       Scope
	stream   string
	created  int64
	consumer consumerMeta // Name and CreatedMs: the consumer it serves
	shardIdx int
	shard    string
	pos      uint64
	key      string
	ended    bool
	deadline time.Time
}

// subscriptions tracks the active subscription per consumer+shard.
type subscriptions struct {
	mu sync.Mutex // a leaf lock; guards active
	// Guarded by mu.
	active map[string]bool // "consumerARN|shardId" of each open subscription
}

// Subscribe opens a subscription. A second subscription for the same
// consumer and shard while one is active is refused (ResourceInUse).
func (s *Service) Subscribe(ctx context.Context, sc Scope, in SubscribeInput) (*Subscription, error) {
	csc, stream, cname, ok := ResolveConsumerARN(in.ConsumerARN)
	if !ok {
		return nil, errorf(KindInvalidArgument, "Invalid ConsumerARN %s.", in.ConsumerARN)
	}
	st, c, err := s.findConsumer(csc, stream, cname)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if consumerARN(st.arn, c.Name, c.CreatedMs) != in.ConsumerARN {
		return nil, errorf(KindNotFound, "Consumer %s not found.", in.ConsumerARN)
	}
	if status := c.effectiveStatus(now); status != ConsumerActive {
		return nil, errorf(KindInUse, "Consumer %s is not ACTIVE, instead in state %s.", in.ConsumerARN, status)
	}
	idx, ok := parseShardID(in.ShardID)
	sh := st.byIdx[idx]
	if !ok || sh == nil {
		return nil, errorf(KindNotFound, "Shard %s in stream %s under account %s does not exist", in.ShardID, stream, csc.Account)
	}
	var pos uint64
	switch in.Type {
	case "TRIM_HORIZON":
	case "LATEST":
		pos = s.log.Next(sh.Key)
		if sh.Closed {
			pos = sh.EndCounter + 1
		}
	case "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER":
		n, err := seqnum.Decode(in.SequenceNum)
		if err != nil || n.Version != 2 || n.ShardIndex != int64(idx) || n.ShardCreateSecs != sh.CreatedMs/1000 {
			return nil, errorf(KindInvalidArgument, "Invalid StartingSequenceNumber %s for shard %s.", in.SequenceNum, sh.id())
		}
		pos = n.Counter
		if in.Type == "AFTER_SEQUENCE_NUMBER" {
			pos++
		}
	case "AT_TIMESTAMP":
		if in.Timestamp == nil {
			return nil, errorf(KindInvalidArgument, "Must specify timestamp for StartingPosition of type AT_TIMESTAMP.")
		}
		p, err := s.log.SeekTime(sh.Key, in.Timestamp.UnixMilli())
		if err != nil {
			return nil, &Error{Kind: KindInternal, Msg: "seek failed", Err: err}
		}
		pos = p
	default:
		return nil, errorf(KindInvalidArgument, "Invalid StartingPosition type %s.", in.Type)
	}
	key := in.ConsumerARN + "|" + sh.id()
	s.subs.mu.Lock()
	if s.subs.active == nil {
		s.subs.active = map[string]bool{}
	}
	if s.subs.active[key] {
		s.subs.mu.Unlock()
		return nil, errorf(KindInUse, "Another active subscription exists for consumer %s and shard %s.", in.ConsumerARN, sh.id())
	}
	s.subs.active[key] = true
	s.subs.mu.Unlock()
	return &Subscription{s: s, sc: csc, stream: stream, created: st.meta.CreatedMs, consumer: consumerMeta{Name: c.Name, CreatedMs: c.CreatedMs},
		shardIdx: idx, shard: sh.id(), pos: pos, key: key, deadline: now.Add(SubscriptionLifetime)}, nil
}

// Close ends the subscription, letting the consumer subscribe again. Its
// lag series goes first, so a new subscription's is never removed.
func (sub *Subscription) Close() {
	sub.s.cfg.Observer.ConsumerGone(sub.stream, sub.consumer.Name, sub.shard)
	sub.s.subs.mu.Lock()
	delete(sub.s.subs.active, sub.key)
	sub.s.subs.mu.Unlock()
}

// heartbeat is how long a subscription waits for records before sending an
// empty event.
const heartbeat = 5 * time.Second

// Next blocks until records are durable at the position (or the heartbeat
// passes) and returns the next event. done is true once the subscription's
// lifetime is over or the closed shard is fully delivered (that last event
// carries ChildShards).
func (sub *Subscription) Next(ctx context.Context) (ev SubscribeEvent, done bool, err error) {
	if sub.ended {
		return ev, true, nil
	}
	s := sub.s
	wait := time.NewTimer(heartbeat)
	defer wait.Stop()
	for {
		changed := s.log.Changed() // before reading: no wake-up is missed
		st, _ := s.lookup(sub.sc, sub.stream)
		if st == nil || st.meta.CreatedMs != sub.created {
			return ev, true, errorf(KindNotFound, "Stream %s under account %s not found.", sub.stream, sub.sc.Account)
		}
		sh := st.byIdx[sub.shardIdx]
		now := s.now()
		// Each enhanced fan-out consumer gets 2 MiB/s per shard (in the
		// aws and scaled modes): over it, delivery waits rather than fails.
		f := s.throughputFactor(st.meta)
		lim := quota.Limit{BytesPerSecond: awsReadBytes * f}
		if f > 0 && !s.efoQuota.Allow(sub.key, lim, 0, 0) {
			select {
			case <-ctx.Done():
				return ev, true, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		recs, err := s.log.Read(sh.Key, sub.pos, 1000, 2<<20, st.meta.retainedFrom(now))
		if err != nil {
			return ev, true, &Error{Kind: KindInternal, Msg: "read failed", Err: err}
		}
		if f > 0 {
			n := 0
			for _, r := range recs {
				n += len(r.Data) + len(r.PartitionKey)
			}
			s.efoQuota.Charge(sub.key, lim, float64(n))
		}
		for _, r := range recs {
			data, enc, err := s.open(ctx, st, r)
			if err != nil {
				return ev, true, err
			}
			ev.Records = append(ev.Records, Record{SequenceNumber: sh.seq(r.Counter, r.Timestamp), PartitionKey: r.PartitionKey, Data: data, ArrivalTime: time.UnixMilli(r.Timestamp), Encrypted: enc})
			sub.pos = r.Counter + 1
		}
		tip := s.log.Next(sh.Key)
		if len(recs) > 0 && sub.pos < tip {
			ev.MillisBehindLatest = max(0, now.UnixMilli()-recs[len(recs)-1].Timestamp)
		}
		if len(recs) > 0 {
			n := 0
			for _, r := range recs {
				n += len(r.Data) + len(r.PartitionKey)
			}
			s.cfg.Observer.RecordsOut(sub.stream, len(recs), n, ev.MillisBehindLatest)
		}
		if consumerActive(st.meta, sub.consumer, now) {
			s.cfg.Observer.ConsumerLag(sub.stream, sub.consumer.Name, sub.shard, ev.MillisBehindLatest)
		} else {
			// Deregistered: a lag set as it went is not left behind.
			s.cfg.Observer.ConsumerGone(sub.stream, sub.consumer.Name, sub.shard)
		}
		if sh.Closed && max(sub.pos, 1) > sh.EndCounter {
			ev.ChildShards = childrenOf(st, sh)
			sub.ended = true
			return ev, false, nil
		}
		// Continue after the last record sent (or before the position).
		last := sub.pos
		if last > 0 {
			last--
		}
		ev.ContinuationSequenceNumber = sh.seq(last, now.UnixMilli())
		if len(recs) > 0 {
			return ev, false, nil
		}
		if !now.Before(sub.deadline) {
			sub.ended = true
			return ev, false, nil
		}
		select {
		case <-ctx.Done():
			return ev, true, ctx.Err()
		case <-wait.C:
			return ev, false, nil
		case <-time.After(time.Until(sub.deadline)):
		case <-changed:
		}
	}
}

// String identifies the subscription in logs.
func (sub *Subscription) String() string { return fmt.Sprintf("%s@%d", sub.key, sub.pos) }
