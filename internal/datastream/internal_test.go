package datastream

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rheos/rheos/internal/metastore"
)

// memLog is an in-memory RecordLog for the package's internal tests.
type memLog struct {
	mu     sync.Mutex
	shards map[uint64][]LogRecord
	ch     chan struct{}
	fail   error // returned by Append when set
}

// setFail makes Append fail with err (nil: succeed).
func (l *memLog) setFail(err error) {
	l.mu.Lock()
	l.fail = err
	l.mu.Unlock()
}

func newMemLog() *memLog { return &memLog{shards: map[uint64][]LogRecord{}, ch: make(chan struct{})} }

func (l *memLog) Append(_ context.Context, _ uint64, entries []LogEntry) ([]LogPosition, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return nil, l.fail
	}
	now := time.Now().UnixMilli()
	out := make([]LogPosition, len(entries))
	for i, e := range entries {
		c := uint64(len(l.shards[e.Shard]) + 1)
		l.shards[e.Shard] = append(l.shards[e.Shard], LogRecord{Counter: c, Timestamp: now, PartitionKey: e.PartitionKey, Data: e.Data, Flags: e.Flags})
		out[i] = LogPosition{Counter: c, Timestamp: now}
	}
	close(l.ch)
	l.ch = make(chan struct{})
	return out, nil
}

func (l *memLog) Read(shard, from uint64, maxRecords, _ int, minTs int64) ([]LogRecord, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []LogRecord
	for _, r := range l.shards[shard] {
		if r.Counter >= from && r.Timestamp >= minTs && len(out) < maxRecords {
			out = append(out, r)
		}
	}
	return out, nil
}

func (l *memLog) SeekTime(shard uint64, ts int64) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.shards[shard] {
		if r.Timestamp >= ts {
			return r.Counter, nil
		}
	}
	return uint64(len(l.shards[shard]) + 1), nil
}

func (l *memLog) Next(shard uint64) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return uint64(len(l.shards[shard]) + 1)
}

func (l *memLog) Changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ch
}

func (l *memLog) Sweep(context.Context, func(uint64) (int64, bool)) error { return nil }

// openTestMeta opens a metastore in a temporary directory.
func openTestMeta(t *testing.T) *metastore.Store {
	t.Helper()
	meta, err := metastore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	return meta
}

// newTestService returns a service over a fresh metastore and a memLog.
func newTestService(t *testing.T, cfg Config) (*Service, *metastore.Store) {
	t.Helper()
	meta := openTestMeta(t)
	s, err := New(context.Background(), cfg, meta, newMemLog())
	if err != nil {
		t.Fatal(err)
	}
	return s, meta
}

// testClock is an injected clock tests advance by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock { return &testClock{now: time.UnixMilli(1_700_000_000_000)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// createActive creates a stream and lets it become ACTIVE.
func createActive(t *testing.T, s *Service, clk *testClock, sc Scope, name string, shards int) {
	t.Helper()
	if err := s.CreateStream(context.Background(), sc, CreateStreamInput{Name: name, ShardCount: &shards}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
}
