package datastream

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/rheos/rheos/internal/arn"
	"github.com/rheos/rheos/internal/hashkey"
	"github.com/rheos/rheos/internal/seqnum"
)

// Stream statuses.
const (
	StatusCreating = "CREATING"
	StatusActive   = "ACTIVE"
	StatusUpdating = "UPDATING"
	StatusDeleting = "DELETING"
)

// Stream modes.
const (
	ModeProvisioned = "PROVISIONED"
	ModeOnDemand    = "ON_DEMAND"
)

// Limits and defaults from the AWS documentation.
const (
	DefaultRetentionHours   = 24
	MinRetentionHours       = 24
	MaxRetentionHours       = 8760
	DefaultMaxRecordSizeKiB = 1024
	MinMaxRecordSizeKiB     = 1024
	MaxMaxRecordSizeKiB     = 10240
	MaxTagsPerStream        = 50
	OnDemandShardCount      = 4
)

// Scope is the account and region a request acts in.
type Scope struct {
	Account string
	Region  string
}

// streamMeta is the durable description of a stream, stored as JSON in the
// metadata store under streamKey(scope, name).
type streamMeta struct {
	Name             string            `json:"name"`
	Account          string            `json:"account"`
	Region           string            `json:"region"`
	Status           string            `json:"status"`
	TransitionAt     int64             `json:"transitionAt,omitempty"` // unix ms when CREATING/UPDATING/DELETING completes
	CreatedMs        int64             `json:"createdMs"`
	RetentionHours   int               `json:"retentionHours"`
	ExpiredBeforeMs  int64             `json:"expiredBeforeMs,omitempty"` // records that arrived before this (unix ms) stay expired whatever the retention
	Mode             string            `json:"mode"`
	MaxRecordSizeKiB int               `json:"maxRecordSizeKiB"`
	EncryptionType   string            `json:"encryptionType"`
	KeyID            string            `json:"keyId,omitempty"`
	Tags             map[string]string `json:"tags,omitempty"`
	ShardMetrics     []string          `json:"shardMetrics,omitempty"`
	NextShardIndex   int               `json:"nextShardIndex"`
	ScalingOps       []int64           `json:"scalingOps,omitempty"` // UpdateShardCount times (unix ms), last 24 h
	Consumers        []consumerMeta    `json:"consumers,omitempty"`
	WarmMiBps        int               `json:"warmMiBps,omitempty"`
	DataKeys         []dataKeyMeta     `json:"dataKeys,omitempty"`     // wrapped data keys, oldest first
	Distribution     string            `json:"distribution,omitempty"` // USER_PARTITION_KEY (default) or AUTO
	Shards           []shardMeta       `json:"shards"`
}

// shardMeta is the durable description of a shard.
type shardMeta struct {
	Index          int    `json:"index"`
	Key            uint64 `json:"key"` // log key, unique for the life of the server
	Parent         string `json:"parent,omitempty"`
	AdjacentParent string `json:"adjacentParent,omitempty"`
	HashStart      string `json:"hashStart"`
	HashEnd        string `json:"hashEnd"`
	CreatedMs      int64  `json:"createdMs"`
	EndCounter     uint64 `json:"endCounter,omitempty"` // last counter of a closed shard
	ClosedMs       int64  `json:"closedMs,omitempty"`
	Closed         bool   `json:"closed,omitempty"`

	idStr string // cached shardID(Index), set by newStreamState
}

func shardID(index int) string { return fmt.Sprintf("shardId-%012d", index) }

func (s *shardMeta) id() string {
	if s.idStr != "" {
		return s.idStr
	}
	return shardID(s.Index)
}

func (s *shardMeta) seq(counter uint64, recordMs int64) string {
	return seqnum.Format(seqnum.Parts{
		ShardCreateSecs: s.CreatedMs / 1000,
		ShardIndex:      uint32(s.Index),
		Counter:         counter,
		RecordSecs:      recordMs / 1000,
	})
}

func (s *shardMeta) startingSeq() string { return s.seq(0, s.CreatedMs) }

// streamState is the in-memory, immutable snapshot of one stream used by the
// request path. A change builds a new snapshot.
type streamState struct {
	meta   *streamMeta
	rev    uint64
	open   []openShard // open shards sorted by hash range start
	byIdx  map[int]*shardMeta
	byKey  map[uint64]*shardMeta
	arn    string
	status string // stored status (effective status may differ by time)

	// gate is the stream's put gate: puts hold it shared across routing
	// and append, a reshard holds it exclusively. Every snapshot of the
	// stream at one key shares it (installLocked carries it over), and it
	// disappears with the stream, so only existing streams have one.
	gate *sync.RWMutex
}

type openShard struct {
	rng   hashkey.Range
	shard *shardMeta
}

func newStreamState(m *streamMeta, rev uint64) (*streamState, error) {
	st := &streamState{meta: m, rev: rev, byIdx: map[int]*shardMeta{}, byKey: map[uint64]*shardMeta{}}
	for i := range m.Shards {
		sh := &m.Shards[i]
		sh.idStr = shardID(sh.Index)
		st.byIdx[sh.Index] = sh
		st.byKey[sh.Key] = sh
		if sh.Closed {
			continue
		}
		start, err := hashkey.Parse(sh.HashStart)
		if err != nil {
			return nil, fmt.Errorf("datastream: shard %s start key: %w", sh.id(), err)
		}
		end, err := hashkey.Parse(sh.HashEnd)
		if err != nil {
			return nil, fmt.Errorf("datastream: shard %s end key: %w", sh.id(), err)
		}
		st.open = append(st.open, openShard{hashkey.Range{Start: start, End: end}, sh})
	}
	sort.Slice(st.open, func(i, j int) bool { return st.open[i].rng.Start.Cmp(st.open[j].rng.Start) < 0 })
	st.arn = streamARN(m.Region, m.Account, m.Name)
	return st, nil
}

// shardFor returns the open shard whose range holds k.
func (st *streamState) shardFor(k hashkey.Key) *shardMeta {
	lo, hi := 0, len(st.open)
	for lo < hi {
		m := (lo + hi) / 2
		if st.open[m].rng.End.Cmp(k) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(st.open) && st.open[lo].rng.Contains(k) {
		return st.open[lo].shard
	}
	return nil
}

// retainedFrom returns the arrival time (unix ms) of the oldest record still
// retained at now: retention counts back from now, but never below
// ExpiredBeforeMs, so raising the retention period does not bring back
// records that had already expired (as on AWS).
func (m *streamMeta) retainedFrom(now time.Time) int64 {
	return max(now.Add(-time.Duration(m.RetentionHours)*time.Hour).UnixMilli(), m.ExpiredBeforeMs)
}

// effectiveStatus applies pending time-based transitions.
func (m *streamMeta) effectiveStatus(now time.Time) string {
	if m.TransitionAt != 0 && now.UnixMilli() >= m.TransitionAt {
		switch m.Status {
		case StatusCreating, StatusUpdating:
			return StatusActive
		case StatusDeleting:
			return "" // gone
		}
	}
	return m.Status
}

func streamARN(region, account, name string) string {
	return arn.New("kinesis", arn.Scope{Account: account, Region: region}, "stream/"+name).String()
}

// StreamInfo is a read-only description of a stream for the API layer.
type StreamInfo struct {
	Name              string
	ARN               string
	Status            string
	Mode              string
	CreatedAt         time.Time
	RetentionHours    int
	MaxRecordSizeKiB  int
	EncryptionType    string
	KeyID             string
	ShardLevelMetrics []string
	Shards            []ShardInfo
	OpenShardCount    int
	ConsumerCount     int
	WarmMiBps         int
}

// ShardInfo describes a shard.
type ShardInfo struct {
	ShardID                string
	ParentShardID          string
	AdjacentParentShardID  string
	StartingHashKey        string
	EndingHashKey          string
	StartingSequenceNumber string
	EndingSequenceNumber   string // empty while open
	CreatedAt              time.Time
	ClosedAt               time.Time // zero while open
}

// Tag is a stream tag.
type Tag struct{ Key, Value string }
