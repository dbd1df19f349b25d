package streamlog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rheos/rheos/internal/blob"
	bloblocal "github.com/rheos/rheos/internal/blob/local"
)

// flakyStore wraps a store; while down, every call fails; while putsDown,
// puts fail.
type flakyStore struct {
	blob.Store
	down     atomic.Bool
	putsDown atomic.Bool
	puts     atomic.Int64
}

var errDown = errors.New("store down")

func (s *flakyStore) PutIfAbsent(ctx context.Context, key string, body io.Reader, size int64, sum []byte) error {
	if s.down.Load() || s.putsDown.Load() {
		return errDown
	}
	s.puts.Add(1)
	return s.Store.PutIfAbsent(ctx, key, body, size, sum)
}
func (s *flakyStore) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if s.down.Load() {
		return nil, errDown
	}
	return s.Store.Get(ctx, key, off, n)
}
func (s *flakyStore) List(ctx context.Context, prefix, after string, limit int) ([]blob.Info, bool, error) {
	if s.down.Load() {
		return nil, false, errDown
	}
	return s.Store.List(ctx, prefix, after, limit)
}

type tierEnv struct {
	t     *testing.T
	dir   string
	store *flakyStore
	clk   *fakeClock
	opts  TierOptions
}

func newTierEnv(t *testing.T) *tierEnv {
	st, err := bloblocal.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fs := &flakyStore{Store: st}
	return &tierEnv{t: t, dir: t.TempDir(), store: fs, clk: &fakeClock{t: time.UnixMilli(1_700_000_000_000)},
		opts: TierOptions{Store: fs, ChunkBytes: 4096, CacheBytes: 16 << 10, RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond}}
}

func (e *tierEnv) open() *Log {
	e.t.Helper()
	opts := e.opts
	l, err := Open(Options{Dir: e.dir, SegmentBytes: 16 << 10, Now: e.clk.Now, Tier: &opts})
	if err != nil {
		e.t.Fatalf("Open: %v", err)
	}
	return l
}

// fill appends n records to each of shards 1..3, rolling at the end.
func (e *tierEnv) fill(l *Log, from, n int) {
	e.t.Helper()
	for i := from; i < from+n; i++ {
		var es []Entry
		for shard := uint64(1); shard <= 3; shard++ {
			es = append(es, Entry{Shard: shard, PartitionKey: "k", Data: payload(shard, i)})
		}
		if _, err := l.Append(context.Background(), 0, es); err != nil {
			e.t.Fatalf("append %d: %v", i, err)
		}
		e.clk.Advance(time.Millisecond)
	}
	if err := l.Roll(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// waitTiered waits until no sealed segment waits for upload.
func waitTiered(t *testing.T, l *Log) TierStats {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := *l.Stats().Tier
		if st.BacklogSegments == 0 && st.TieredSegments > 0 {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("uploads did not catch up: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func checkShards(t *testing.T, l *Log, n int) {
	t.Helper()
	for shard := uint64(1); shard <= 3; shard++ {
		recs, err := l.Read(shard, FirstSeq, ReadOptions{MaxRecords: n + 1})
		if err != nil {
			t.Fatalf("shard %d: %v", shard, err)
		}
		if len(recs) != n {
			t.Fatalf("shard %d: %d records, want %d", shard, len(recs), n)
		}
		for i, r := range recs {
			if r.Seq != FirstSeq+uint64(i) || !bytes.Equal(r.Data, payload(shard, i)) {
				t.Fatalf("shard %d record %d: seq %d data %q", shard, i, r.Seq, r.Data)
			}
		}
	}
}

func localFiles(t *testing.T, dir, ext string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*."+ext))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func storeKeys(t *testing.T, s blob.Store) []string {
	t.Helper()
	var keys []string
	after := ""
	for {
		infos, more, err := s.List(context.Background(), "", after, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range infos {
			keys = append(keys, i.Key)
			after = i.Key
		}
		if !more {
			return keys
		}
	}
}

// The log uploads sealed segments with their indexes, drops the local
// copies, serves every record back through the cache, and after a restart
// (cold cache) still does.
func TestTierUploadReadReopen(t *testing.T) {
	e := newTierEnv(t)
	l := e.open()
	e.fill(l, 0, 600)
	st := waitTiered(t, l)
	if segs := localFiles(t, e.dir, "seg"); len(segs) != 1 {
		t.Fatalf("local segments %v, want only the active one", segs)
	}
	if tiers := localFiles(t, e.dir, "tier"); len(tiers) != st.TieredSegments {
		t.Fatalf("%d markers for %d tiered segments", len(tiers), st.TieredSegments)
	}
	if keys := storeKeys(t, e.store); len(keys) != 2*st.TieredSegments {
		t.Fatalf("store holds %d objects for %d segments: %v", len(keys), st.TieredSegments, keys)
	}
	checkShards(t, l, 600)
	st = *l.Stats().Tier
	if st.CacheMisses == 0 || st.CacheHits == 0 || st.CacheBytes > e.opts.CacheBytes {
		t.Fatalf("cache: %+v", st)
	}
	// Appends continue after tiering, numbering on.
	e.fill(l, 600, 50)
	waitTiered(t, l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = e.open()
	defer l.Close()
	checkShards(t, l, 650)
	if got := l.Stats().Tier.CacheMisses; got == 0 {
		t.Fatal("a reopened log served tiered records without fetching")
	}
	// SeekTime and ReadStream work on tiered segments too.
	seq, err := l.SeekTime(2, e.clk.Now().Add(-640*time.Millisecond).UnixMilli())
	if err != nil || seq < 2 || seq > 20 {
		t.Fatalf("SeekTime = %d, %v", seq, err)
	}
	rs, err := l.ReadStream(1, 5, 0)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(rs)
	rs.Close()
	if err != nil || !bytes.Equal(data, payload(1, 4)) {
		t.Fatalf("ReadStream: %q, %v", data, err)
	}
}

// A crash after the marker was written and before the local copy was
// removed leaves both: Open keeps the store's copy and removes the local
// one. A marker older than the local segment's generation is stale: Open
// removes it and the segment is uploaded again.
func TestTierRecoverLeftovers(t *testing.T) {
	e := newTierEnv(t)
	l := e.open()
	e.fill(l, 0, 300)
	waitTiered(t, l)
	l.Close()
	markers := localFiles(t, e.dir, "tier")
	// Put the first segment's bytes back beside its marker.
	first := strings.TrimSuffix(markers[0], ".tier")
	m, err := decodeTierMarker(mustRead(t, markers[0]))
	if err != nil {
		t.Fatal(err)
	}
	id := segIDOf(t, first)
	rc, err := e.store.Get(context.Background(), keyFor(t, e.dir, id, m.gen, "seg"), 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(rc)
	rc.Close()
	if err := os.WriteFile(first+".seg", body, 0o600); err != nil {
		t.Fatal(err)
	}
	// A stale marker beside the second: claim generation 7.
	second := markers[1]
	m2, _ := decodeTierMarker(mustRead(t, second))
	m2.gen = 7
	// ...with its segment back locally at its real generation.
	id2 := segIDOf(t, strings.TrimSuffix(second, ".tier"))
	rc, err = e.store.Get(context.Background(), keyFor(t, e.dir, id2, 0, "seg"), 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	body2, _ := io.ReadAll(rc)
	rc.Close()
	os.WriteFile(strings.TrimSuffix(second, ".tier")+".seg", body2, 0o600)
	os.WriteFile(second, encodeTierMarker(m2), 0o600)
	// And lose the third's local index: it comes back from the store.
	os.Remove(strings.TrimSuffix(markers[2], ".tier") + ".idx")

	l = e.open()
	defer l.Close()
	if _, err := os.Stat(first + ".seg"); !os.IsNotExist(err) {
		t.Fatalf("local copy of a tiered segment kept: %v", err)
	}
	checkShards(t, l, 300)
	waitTiered(t, l)
	if b := mustRead(t, second); bytes.Equal(b, encodeTierMarker(m2)) {
		t.Fatal("stale marker kept")
	}
	if _, err := os.Stat(strings.TrimSuffix(markers[2], ".tier") + ".idx"); err != nil {
		t.Fatalf("index not restored: %v", err)
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func segIDOf(t *testing.T, base string) uint64 {
	t.Helper()
	var id uint64
	for _, c := range filepath.Base(base) {
		id = id*10 + uint64(c-'0')
	}
	return id
}

func keyFor(t *testing.T, dir string, id uint64, gen uint16, ext string) string {
	t.Helper()
	logID := strings.TrimSpace(string(mustRead(t, filepath.Join(dir, logIDFile))))
	tt := &tierer{prefix: logID + tierKeyInfix}
	return tt.key(segGen{id, gen}, ext)
}

// Retention deletes tiered segments with their objects; compaction of a
// tiered segment uploads the new generation, and the old one's objects go
// with the orphan sweep, as do objects left by an interrupted upload.
func TestTierRetentionCompactionOrphans(t *testing.T) {
	e := newTierEnv(t)
	l := e.open()
	defer l.Close()
	e.fill(l, 0, 300)
	waitTiered(t, l)
	ctx := context.Background()
	// An object of a segment this log never had, and one of an unknown
	// generation: what a crash during an upload leaves.
	for _, k := range []string{keyFor(t, e.dir, 999, 0, "seg"), keyFor(t, e.dir, 1, 9, "idx")} {
		body := []byte("orphan")
		sum := sha256.Sum256(body)
		if err := e.store.PutIfAbsent(ctx, k, bytes.NewReader(body), int64(len(body)), sum[:]); err != nil {
			t.Fatal(err)
		}
	}
	// Objects of another log under the same bucket are never touched.
	foreign := "0123456789abcdef0123456789abcdef/seg/00000000000000000999-00000.seg"
	sum := sha256.Sum256([]byte("x"))
	e.store.PutIfAbsent(ctx, foreign, bytes.NewReader([]byte("x")), 1, sum[:])
	n, err := l.SweepOrphans(ctx)
	if err != nil || n != 2 {
		t.Fatalf("SweepOrphans = %d, %v; want 2", n, err)
	}
	// Drop shard 2: every segment falls below the compaction threshold
	// (shards 1 and 3 keep two thirds), so keep only shard 1 of three.
	res, err := l.Sweep(ctx, func(shard uint64) (int64, bool) { return 0, shard != 1 })
	if err != nil {
		t.Fatal(err)
	}
	if res.SegmentsCompacted == 0 {
		t.Fatalf("nothing compacted: %+v", res)
	}
	waitTiered(t, l)
	if _, err := l.SweepOrphans(ctx); err != nil {
		t.Fatal(err)
	}
	st := *l.Stats().Tier
	keys := storeKeys(t, e.store)
	ours := 0
	for _, k := range keys {
		if !strings.HasPrefix(k, "0123456789abcdef") {
			ours++
		}
	}
	if ours != 2*st.TieredSegments {
		t.Fatalf("%d objects for %d tiered segments after compaction: %v", ours, st.TieredSegments, keys)
	}
	recs, err := l.Read(1, FirstSeq, ReadOptions{MaxRecords: 1000})
	if err != nil || len(recs) != 300 {
		t.Fatalf("shard 1 after compaction: %d records, %v", len(recs), err)
	}
	// Now drop everything: segments and objects go.
	e.clk.Advance(time.Hour)
	if err := l.Roll(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Sweep(ctx, func(uint64) (int64, bool) { return 0, true }); err != nil {
		t.Fatal(err)
	}
	if _, err := l.SweepOrphans(ctx); err != nil {
		t.Fatal(err)
	}
	for _, k := range storeKeys(t, e.store) {
		if k != foreign {
			t.Fatalf("object %s left after every segment was deleted", k)
		}
	}
	if m := localFiles(t, e.dir, "tier"); len(m) != 0 {
		t.Fatalf("markers left: %v", m)
	}
}

// While the store is down, appends go on until the local limit, then fail
// with ErrLocalFull; reads of tiered segments fail and recover; once the
// store is back, uploads catch up and appends are accepted again. Nothing
// acknowledged is lost.
func TestTierStoreDownLocalLimit(t *testing.T) {
	e := newTierEnv(t)
	e.opts.LocalLimitBytes = 4 * (16 << 10)
	l := e.open()
	defer l.Close()
	e.fill(l, 0, 100)
	waitTiered(t, l)
	e.store.down.Store(true)
	acked := 100
	var full error
	for i := 100; i < 5000 && full == nil; i++ {
		var es []Entry
		for shard := uint64(1); shard <= 3; shard++ {
			es = append(es, Entry{Shard: shard, PartitionKey: "k", Data: payload(shard, i)})
		}
		if _, err := l.Append(context.Background(), 0, es); err != nil {
			full = err
			break
		}
		acked++
	}
	if !errors.Is(full, ErrLocalFull) {
		t.Fatalf("appends while the store is down: %v after %d", full, acked)
	}
	st := *l.Stats().Tier
	if st.LocalBytes > e.opts.LocalLimitBytes+(16<<10) || st.UploadFailures == 0 || st.LastError == "" {
		t.Fatalf("while down: %+v", st)
	}
	e.store.down.Store(false)
	deadline := time.Now().Add(20 * time.Second)
	for l.Stats().Tier.BacklogSegments > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("backlog stuck: %+v", *l.Stats().Tier)
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.fill(l, acked, 10)
	checkShards(t, l, acked+10)
	if st := l.Stats().Tier; st.LastError != "" {
		t.Fatalf("last error kept after recovery: %q", st.LastError)
	}
}

// A log with tiered segments refuses to open without its store rather than
// lose them.
func TestTierRequiredToOpen(t *testing.T) {
	e := newTierEnv(t)
	l := e.open()
	e.fill(l, 0, 200)
	waitTiered(t, l)
	l.Close()
	if _, err := Open(Options{Dir: e.dir, SegmentBytes: 16 << 10}); err == nil || !strings.Contains(err.Error(), "blob store") {
		t.Fatalf("Open without the store: %v", err)
	}
}

// Paced uploads take about size/rate and still tier everything.
func TestTierPacedUpload(t *testing.T) {
	e := newTierEnv(t)
	e.opts.UploadBytesPerSec = 256 << 10
	l := e.open()
	defer l.Close()
	start := time.Now()
	e.fill(l, 0, 300)
	st := waitTiered(t, l)
	if min := time.Duration(float64(st.TieredBytes) / float64(e.opts.UploadBytesPerSec) * 0.8 * float64(time.Second)); time.Since(start) < min {
		t.Fatalf("%d bytes uploaded in %v at %d bytes/s", st.TieredBytes, time.Since(start), e.opts.UploadBytesPerSec)
	}
	checkShards(t, l, 300)
}

// A reader holding a tiered segment keeps its objects: a sweep that
// deletes the segment, and the orphan sweep after it, leave them until the
// reader closes; then they go.
func TestTierHeldSegmentKeepsObjects(t *testing.T) {
	e := newTierEnv(t)
	l := e.open()
	defer l.Close()
	e.fill(l, 0, 300)
	waitTiered(t, l)
	ctx := context.Background()
	rs, err := l.ReadStream(1, FirstSeq, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !rs.seg.remote {
		t.Fatal("the first record's segment is not tiered")
	}
	segKey := keyFor(t, e.dir, rs.seg.id, rs.seg.gen, "seg")
	e.clk.Advance(time.Hour)
	if err := l.Roll(ctx); err != nil {
		t.Fatal(err)
	}
	if res, err := l.Sweep(ctx, func(uint64) (int64, bool) { return 0, true }); err != nil || res.SegmentsDeleted == 0 {
		t.Fatalf("Sweep = %+v, %v", res, err)
	}
	if _, err := l.SweepOrphans(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(storeKeys(t, e.store), segKey) {
		t.Fatalf("%s deleted while a reader holds its segment", segKey)
	}
	data, err := io.ReadAll(rs)
	if err != nil || !bytes.Equal(data, payload(1, 0)) {
		t.Fatalf("held record: %q, %v", data, err)
	}
	rs.Close()
	deadline := time.Now().Add(10 * time.Second)
	for slices.Contains(storeKeys(t, e.store), segKey) {
		if time.Now().After(deadline) {
			t.Fatalf("%s kept after the reader closed", segKey)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Compacting a tiered segment removes its marker before its objects go,
// and deleting the compacted generation before its upload leaves nothing
// that names objects: the log reopens with what is left.
func TestTierCompactedThenDeletedBeforeUpload(t *testing.T) {
	e := newTierEnv(t)
	l := e.open()
	e.fill(l, 0, 300)
	waitTiered(t, l)
	ctx := context.Background()
	tiered := len(localFiles(t, e.dir, "tier"))
	e.store.putsDown.Store(true) // the compacted generations cannot be uploaded
	res, err := l.Sweep(ctx, func(shard uint64) (int64, bool) { return 0, shard != 1 })
	if err != nil || res.SegmentsCompacted == 0 {
		t.Fatalf("Sweep = %+v, %v", res, err)
	}
	if n := len(localFiles(t, e.dir, "tier")); n > tiered-res.SegmentsCompacted {
		t.Fatalf("%d markers after compacting %d of %d tiered segments", n, res.SegmentsCompacted, tiered)
	}
	for _, m := range localFiles(t, e.dir, "tier") {
		if _, err := os.Stat(strings.TrimSuffix(m, ".tier") + ".seg"); err == nil {
			t.Fatalf("marker %s beside a local (compacted) segment", m)
		}
	}
	// Now everything expires, the compacted local segments included.
	e.clk.Advance(time.Hour)
	if err := l.Roll(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Sweep(ctx, func(uint64) (int64, bool) { return 0, true }); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l = e.open()
	defer l.Close()
	for shard := uint64(1); shard <= 3; shard++ {
		if recs, err := l.Read(shard, FirstSeq, ReadOptions{MaxRecords: 10}); err != nil || len(recs) != 0 {
			t.Fatalf("shard %d after everything expired: %d records, %v", shard, len(recs), err)
		}
	}
}

// A log directory whose log.id is gone while tiered segments name objects
// under it is refused, not given a new ID (which would orphan them).
func TestTierLostLogID(t *testing.T) {
	e := newTierEnv(t)
	l := e.open()
	e.fill(l, 0, 200)
	waitTiered(t, l)
	l.Close()
	os.Remove(filepath.Join(e.dir, logIDFile))
	opts := e.opts
	if _, err := Open(Options{Dir: e.dir, SegmentBytes: 16 << 10, Tier: &opts}); err == nil || !strings.Contains(err.Error(), logIDFile) {
		t.Fatalf("Open without log.id: %v", err)
	}
}

// A tier marker beside a local copy whose header cannot be read: the copy
// is kept (it may be the only one of a compacted generation) and Open says
// why it stops.
func TestTierUnreadableLocalCopyKept(t *testing.T) {
	e := newTierEnv(t)
	l := e.open()
	e.fill(l, 0, 200)
	waitTiered(t, l)
	l.Close()
	seg := strings.TrimSuffix(localFiles(t, e.dir, "tier")[0], ".tier") + ".seg"
	if err := os.WriteFile(seg, []byte("not a segment header"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := e.opts
	if _, err := Open(Options{Dir: e.dir, SegmentBytes: 16 << 10, Tier: &opts}); err == nil || !strings.Contains(err.Error(), "generation cannot be read") {
		t.Fatalf("Open: %v", err)
	}
	if _, err := os.Stat(seg); err != nil {
		t.Fatalf("local copy removed: %v", err)
	}
}
