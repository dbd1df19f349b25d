package streamlog

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rheos/rheos/internal/vfs"
)

// Replaying a crash run: go test ./internal/streamlog -run TestCrashRandomized -seed=N
// (or STREAMLOG_SEED=N). The seed fixes the workload, the crash points and
// what a torn write keeps; goroutine interleavings still vary, so a failure
// that depends on them may need -count=20 to reappear.
var (
	flagSeed   = flag.Uint64("seed", 0, "seed for TestCrashRandomized; 0 picks a random one (also $STREAMLOG_SEED)")
	flagRounds = flag.Int("crash.rounds", 0, "crash/recover rounds for TestCrashRandomized; 0 means the default")
)

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// memRead returns the whole content of a file.
func memRead(tb testing.TB, fs vfs.FS, name string) []byte {
	tb.Helper()
	size, err := fs.Stat(name)
	if err != nil {
		tb.Fatalf("stat %s: %v", name, err)
	}
	f, err := fs.Open(name)
	if err != nil {
		tb.Fatalf("open %s: %v", name, err)
	}
	defer f.Close()
	b := make([]byte, size)
	if n, err := f.ReadAt(b, 0); n != len(b) {
		tb.Fatalf("read %s: %d of %d bytes: %v", name, n, len(b), err)
	}
	return b
}

// memWrite durably replaces the content of a file (creating it if needed).
func memWrite(tb testing.TB, fs vfs.FS, name string, b []byte) {
	tb.Helper()
	f, err := fs.Create(name)
	if err == nil {
		_, err = f.Write(b)
	}
	if err == nil {
		err = f.Sync()
	}
	if f != nil {
		f.Close()
	}
	if err == nil {
		err = fs.SyncDir(filepath.Dir(name))
	}
	if err != nil {
		tb.Fatalf("write %s: %v", name, err)
	}
}

// readAll pages through a shard from its start.
func readAll(l *Log, shard uint64, maxRecords, maxBytes int) ([]Record, error) {
	var out []Record
	from := uint64(0)
	for {
		recs, err := l.Read(shard, from, ReadOptions{MaxRecords: maxRecords, MaxBytes: maxBytes})
		out = append(out, recs...)
		if err != nil || len(recs) == 0 {
			return out, err
		}
		last := recs[len(recs)-1].Seq
		if last < from || last == ^uint64(0) {
			return out, nil
		}
		from = last + 1
	}
}

// validFrame returns the bytes of one frame, as the real writer encodes it,
// holding entries. Embedded in record data, it is the worst case for recovery:
// bytes that pass every checksum but were never appended as records.
func validFrame(tb testing.TB, entries ...Entry) []byte {
	tb.Helper()
	fs := vfs.NewMemFS()
	clk := &fakeClock{t: time.UnixMilli(1_600_000_000_000)}
	l, err := Open(Options{FS: fs, Dir: "/scratch", Now: clk.Now, Logger: quietLogger()})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := l.Append(context.Background(), 0, entries); err != nil {
		tb.Fatal(err)
	}
	l.Close()
	return memRead(tb, fs, segName("/scratch", 1, "seg"))[segHeaderSize:]
}

// ---------------------------------------------------------------------------
// Randomized crash test

// crashTrace records the namespace operations (create, remove, rename,
// directory sync) and their outcome, so a failure can show how a file came
// to exist or vanish.
type crashTrace struct {
	mu  sync.Mutex
	ops []string
}

func (c *crashTrace) note(round int, op, name string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := fmt.Sprintf("round %d: %s %s", round, op, filepath.Base(name))
	if err != nil {
		s += " failed: " + err.Error()
	}
	c.ops = append(c.ops, s)
}

// processFS is the filesystem as one process (one Log instance) sees it.
// MemFS.Crash invalidates open file handles, but would let the dead process
// go on creating, removing and renaming files in the recovered directory;
// real power loss stops it. crash fences the process off atomically with the
// crash: every operation after it fails with vfs.ErrCrashed.
type processFS struct {
	fs    *vfs.MemFS
	trace *crashTrace
	round int

	gate sync.RWMutex // held shared by every operation, exclusively by crash
	dead bool         // guarded by gate
}

func (p *processFS) crash(crash func()) {
	p.gate.Lock()
	defer p.gate.Unlock()
	p.dead = true
	crash()
}

// do runs op unless the process is dead.
func (p *processFS) do(op string, name string, f func() error) error {
	p.gate.RLock()
	defer p.gate.RUnlock()
	if p.dead {
		return &os.PathError{Op: op, Path: name, Err: vfs.ErrCrashed}
	}
	err := f()
	switch op {
	case "create", "remove", "rename", "syncdir":
		p.trace.note(p.round, op, name, err)
	}
	return err
}

func (p *processFS) Create(name string) (f vfs.File, err error) {
	err = p.do("create", name, func() (err error) { f, err = p.fs.Create(name); return err })
	return f, err
}

func (p *processFS) OpenAppend(name string) (f vfs.File, err error) {
	err = p.do("open", name, func() (err error) { f, err = p.fs.OpenAppend(name); return err })
	return f, err
}

func (p *processFS) Open(name string) (f vfs.File, err error) {
	err = p.do("open", name, func() (err error) { f, err = p.fs.Open(name); return err })
	return f, err
}

func (p *processFS) Remove(name string) error {
	return p.do("remove", name, func() error { return p.fs.Remove(name) })
}

func (p *processFS) Rename(o, n string) error {
	return p.do("rename", o+" -> "+filepath.Base(n), func() error { return p.fs.Rename(o, n) })
}

func (p *processFS) MkdirAll(dir string) error {
	return p.do("mkdir", dir, func() error { return p.fs.MkdirAll(dir) })
}

func (p *processFS) ReadDir(dir string) (names []string, err error) {
	err = p.do("readdir", dir, func() (err error) { names, err = p.fs.ReadDir(dir); return err })
	return names, err
}

func (p *processFS) SyncDir(dir string) error {
	return p.do("syncdir", dir, func() error { return p.fs.SyncDir(dir) })
}

func (p *processFS) Stat(name string) (size int64, err error) {
	err = p.do("stat", name, func() (err error) { size, err = p.fs.Stat(name); return err })
	return size, err
}

// crashEntry is what the test appended under one id (the id is encoded in the
// partition key, so every record read back identifies itself).
type crashEntry struct {
	shard uint64
	data  []byte
	flags uint8
}

// crashPos is where an acknowledged (or recovered) record lives.
type crashPos struct {
	seq uint64
	ts  int64
}

// crashHarness is the model of what the log must hold. Between rounds it is
// owned by the test goroutine; during a round mu guards every field below it.
type crashHarness struct {
	t     *testing.T
	seed  uint64
	rng   *rand.Rand // test goroutine only
	fs    *vfs.MemFS
	trace *crashTrace
	proc  *processFS // the current Log's view of fs
	clk   *fakeClock
	fakes [][]byte // valid frames embedded in some records' data

	mu        sync.Mutex
	nextID    uint64
	entries   map[uint64]crashEntry // every id that may legitimately be read back
	known     map[uint64]crashPos   // acknowledged, or observed after a recovery: must survive
	pending   map[uint64]bool       // appended in the last round, neither acknowledged nor observed yet
	byShard   map[uint64][]uint64   // shard -> ids in known
	maxSeq    map[uint64]uint64     // shard -> highest counter ever acknowledged or observed
	roundMax  map[uint64]uint64     // maxSeq when the current round started
	roundSeqs map[[2]uint64]uint64  // (shard, seq) -> id acknowledged this round
	cutoff    int64                 // highest retention cutoff any sweep was given
	events    []string              // what the log reported in the current round and recovery
	live      []uint64              // shards appended to
	retired   map[uint64]bool       // shards dropped by retention; never appended to again
	everUsed  map[uint64]bool

	// Totals for the final report (docs/RELIABILITY.md).
	nAcked    int    // records acknowledged
	nVerified int    // records read back and checked by verify, over all recoveries
	nModes    [6]int // rounds ended by each crash mode of run
	nCompact  int    // segments compacted (events), over all rounds
	nDeleted  int    // segments deleted (events), over all rounds
}

const crashDir = "/data/streamlog"

func crashSeed(t *testing.T) uint64 {
	if *flagSeed != 0 {
		return *flagSeed
	}
	if s := os.Getenv("STREAMLOG_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("STREAMLOG_SEED=%q: %v", s, err)
		}
		return v
	}
	return rand.Uint64()
}

// TestCrashRandomized appends concurrently to many shards with small segments
// and occasional retention sweeps, crashes the filesystem at a random point
// (plain power loss, a torn write, or a fault followed by power loss), reopens
// and checks the recovered log against a model:
//
//   - every acknowledged record is present exactly once, with its counter,
//     timestamp, partition key, data and flags, unless retention may have
//     deleted it (its timestamp is below a cutoff some sweep was given);
//   - per shard, counters are contiguous from the first record present and
//     timestamps never decrease;
//   - an unacknowledged record may appear, but only intact and only from the
//     round just crashed; once seen it must stay (it is on disk now);
//   - no record or shard the test did not write ever appears (in particular
//     frames embedded in record data are never mistaken for records);
//   - counters are never reused: Bounds.Next exceeds every counter ever
//     acknowledged or seen, and new appends get higher counters;
//   - reads during the run return only intact records and never ErrCorrupt.
func TestCrashRandomized(t *testing.T) {
	seed := crashSeed(t)
	rounds := 25
	if testing.Short() {
		rounds = 6
	}
	if *flagRounds > 0 {
		rounds = *flagRounds
	}
	t.Logf("seed %d, %d rounds (replay with -seed=%d)", seed, rounds, seed)
	h := &crashHarness{
		t:         t,
		seed:      seed,
		rng:       rand.New(rand.NewPCG(seed, 0x5eed)),
		fs:        vfs.NewMemFS(),
		clk:       &fakeClock{t: time.UnixMilli(1_700_000_000_000)},
		entries:   map[uint64]crashEntry{},
		known:     map[uint64]crashPos{},
		pending:   map[uint64]bool{},
		byShard:   map[uint64][]uint64{},
		maxSeq:    map[uint64]uint64{},
		roundMax:  map[uint64]uint64{},
		roundSeqs: map[[2]uint64]uint64{},
		retired:   map[uint64]bool{},
		everUsed:  map[uint64]bool{},
	}
	h.trace = &crashTrace{}
	// Shard keys are opaque: include 0 and the extremes.
	for _, k := range []uint64{0, 1, 2, 3, 1 << 32, 1<<63 + 7, ^uint64(0)} {
		h.addShard(k)
	}
	for i := 0; i < 8; i++ {
		h.addShard(h.rng.Uint64())
	}
	h.fakes = [][]byte{
		validFrame(t, Entry{Shard: h.live[1], PartitionKey: "FAKE", Data: []byte("never appended")}),
		validFrame(t, Entry{Shard: 0xdeadbeef, PartitionKey: "FAKE", Data: nil},
			Entry{Shard: h.live[2], PartitionKey: "FAKE", Data: []byte("never appended either")}),
	}
	for r := 0; r < rounds; r++ {
		l := h.open(r)
		h.verify(l, fmt.Sprintf("recovery before round %d", r))
		h.reshard()
		h.run(r, l)
		if t.Failed() {
			t.Fatalf("round %d failed (-seed=%d)", r, seed)
		}
	}
	l := h.open(rounds)
	h.verify(l, "final recovery")
	l.Close()
	faults := 0
	for _, n := range h.nModes[2:] {
		faults += n
	}
	t.Logf("RESULT %d rounds: %d records acknowledged, %d record reads verified after %d recoveries; crashes: %d power loss, %d torn write, %d fsync fault then torn write, %d other injected faults then power loss; %d segments compacted, %d deleted; 0 lost (seed %d)",
		rounds, h.nAcked, h.nVerified, rounds+1, h.nModes[0], h.nModes[1], h.nModes[2], faults-h.nModes[2], h.nCompact, h.nDeleted, seed)
	if rounds >= 25 && h.nCompact == 0 {
		t.Errorf("no segment was compacted in %d rounds: the test no longer exercises compaction (-seed=%d)", rounds, seed)
	}
}

func (h *crashHarness) fatalf(format string, args ...any) {
	h.t.Helper()
	names, _ := h.fs.ReadDir(crashDir)
	h.t.Logf("directory: %v", names)
	for _, e := range h.events[max(0, len(h.events)-40):] {
		h.t.Log(e)
	}
	h.trace.mu.Lock()
	for i, op := range h.trace.ops {
		if i >= len(h.trace.ops)-60 || strings.Contains(op, "failed") || strings.Contains(op, "crash") {
			h.t.Log(op)
		}
	}
	h.trace.mu.Unlock()
	h.t.Fatalf(format+" (-seed=%d)", append(args, h.seed)...)
}

func (h *crashHarness) errorf(format string, args ...any) {
	h.t.Helper()
	h.t.Errorf(format+" (-seed=%d)", append(args, h.seed)...)
}

func (h *crashHarness) addShard(k uint64) {
	if h.everUsed[k] {
		return
	}
	h.everUsed[k] = true
	h.live = append(h.live, k)
}

// reshard occasionally retires a shard (retention drops it from then on) or
// starts a new one.
func (h *crashHarness) reshard() {
	if len(h.live) > 4 && h.rng.IntN(5) == 0 {
		i := h.rng.IntN(len(h.live))
		h.retired[h.live[i]] = true
		h.live = slices.Delete(h.live, i, i+1)
	}
	if h.rng.IntN(3) == 0 {
		h.addShard(h.rng.Uint64())
	}
}

func (h *crashHarness) open(round int) *Log {
	rng := h.rng
	h.proc = &processFS{fs: h.fs, trace: h.trace, round: round}
	opts := Options{
		FS:            h.proc,
		Dir:           crashDir,
		SegmentBytes:  int64(512 + rng.IntN(6<<10)),
		SegmentAge:    time.Duration(20+rng.IntN(200)) * time.Millisecond,
		MaxGroupBytes: []int{0, 1 << 10, 8 << 10}[rng.IntN(3)],
		Now:           h.clk.Now,
		Logger:        quietLogger(),
		// Compaction: the default, one that rewrites a segment as soon as
		// anything in it is dead, and none.
		CompactBelow: []float64{0, 1, -1}[rng.IntN(3)],
		OnEvent: func(e Event) {
			h.mu.Lock()
			h.events = append(h.events, fmt.Sprintf("round %d: %s %d %s", round, e.Kind, e.Segment, e.Detail))
			switch e.Kind {
			case "segment-compacted":
				h.nCompact++
			case "segment-deleted":
				h.nDeleted++
			}
			h.mu.Unlock()
		},
	}
	l, err := Open(opts)
	if err != nil {
		h.fatalf("round %d: Open after crash: %v", round, err)
	}
	return l
}

func parseID(key string) (uint64, bool) {
	s, ok := strings.CutPrefix(key, "k")
	if !ok {
		return 0, false
	}
	s, _, _ = strings.Cut(s, ".")
	id, err := strconv.ParseUint(s, 10, 64)
	return id, err == nil
}

func fillRandom(rng *rand.Rand, b []byte) {
	for i := 0; i < len(b); i += 8 {
		var w [8]byte
		le.PutUint64(w[:], rng.Uint64())
		copy(b[i:], w[:])
	}
}

func (h *crashHarness) makeData(rng *rand.Rand) []byte {
	switch x := rng.IntN(20); {
	case x < 3:
		return nil // empty records are legal
	case x < 5:
		// A valid frame inside the data, with random bytes around it.
		fake := h.fakes[rng.IntN(len(h.fakes))]
		b := make([]byte, rng.IntN(40), rng.IntN(40)+len(fake)+40)
		fillRandom(rng, b)
		b = append(b, fake...)
		tail := make([]byte, rng.IntN(40))
		fillRandom(rng, tail)
		return append(b, tail...)
	case x < 6:
		b := make([]byte, 2<<10+rng.IntN(14<<10))
		fillRandom(rng, b)
		return b
	default:
		b := make([]byte, 1+rng.IntN(300))
		fillRandom(rng, b)
		return b
	}
}

// makeBatch builds one Append's entries and registers them as pending.
func (h *crashHarness) makeBatch(rng *rand.Rand, live []uint64) []Entry {
	n := 1 + rng.IntN(8)
	if rng.IntN(12) == 0 {
		n = 40 + rng.IntN(80)
	}
	es := make([]Entry, n)
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range es {
		id := h.nextID
		h.nextID++
		key := "k" + strconv.FormatUint(id, 10)
		if rng.IntN(4) == 0 {
			key += "." + strings.Repeat("p", rng.IntN(200))
		}
		e := Entry{Shard: live[rng.IntN(len(live))], PartitionKey: key, Data: h.makeData(rng), Flags: uint8(rng.IntN(2))}
		h.entries[id] = crashEntry{shard: e.Shard, data: e.Data, flags: e.Flags}
		h.pending[id] = true
		es[i] = e
	}
	return es
}

// acked records the positions an Append acknowledged.
func (h *crashHarness) acked(es []Entry, res []Appended) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(res) != len(es) {
		h.errorf("Append of %d entries returned %d positions", len(es), len(res))
		return
	}
	lastInBatch := map[uint64]uint64{}
	for i, e := range es {
		id, _ := parseID(e.PartitionKey)
		a := res[i]
		if a.Seq <= h.roundMax[e.Shard] {
			h.errorf("shard %d: new record got counter %d, but %d was acknowledged or recovered before", e.Shard, a.Seq, h.roundMax[e.Shard])
		}
		if prev, ok := lastInBatch[e.Shard]; ok && a.Seq != prev+1 {
			h.errorf("shard %d: one Append got counters %d then %d", e.Shard, prev, a.Seq)
		}
		lastInBatch[e.Shard] = a.Seq
		k := [2]uint64{e.Shard, a.Seq}
		if other, dup := h.roundSeqs[k]; dup {
			h.errorf("shard %d: counter %d acknowledged twice (ids %d and %d)", e.Shard, a.Seq, other, id)
		}
		h.roundSeqs[k] = id
		h.known[id] = crashPos{seq: a.Seq, ts: a.Timestamp}
		h.byShard[e.Shard] = append(h.byShard[e.Shard], id)
		delete(h.pending, id)
		h.maxSeq[e.Shard] = max(h.maxSeq[e.Shard], a.Seq)
		h.nAcked++
	}
}

// checkIntact reports a record read during the run that is not exactly what
// the test appended to that shard.
func (h *crashHarness) checkIntact(shard uint64, r Record) {
	id, ok := parseID(r.PartitionKey)
	h.mu.Lock()
	e, isEntry := h.entries[id]
	pos, isKnown := h.known[id]
	h.mu.Unlock()
	switch {
	case !ok || !isEntry:
		h.errorf("shard %d: read a record the test never appended: key %.40q seq %d", shard, r.PartitionKey, r.Seq)
	case e.shard != shard || e.flags != r.Flags || !bytes.Equal(e.data, r.Data):
		h.errorf("shard %d seq %d: record %d read back damaged", shard, r.Seq, id)
	case isKnown && (pos.seq != r.Seq || pos.ts != r.Timestamp):
		h.errorf("shard %d: record %d acknowledged at (%d, %d), read at (%d, %d)", shard, id, pos.seq, pos.ts, r.Seq, r.Timestamp)
	}
}

// run is one round: concurrent appends, sweeps, rolls and reads, then a crash.
func (h *crashHarness) run(round int, l *Log) {
	rng := h.rng
	ctx := context.Background()
	nApp := 2 + rng.IntN(3)
	perApp := 5 + rng.IntN(30)
	crashAt := int64(rng.IntN(nApp*perApp + 1))
	window := int64(150 + rng.IntN(300)) // retention, in fake milliseconds
	live := slices.Clone(h.live)
	retired := maps.Clone(h.retired)
	h.roundSeqs = map[[2]uint64]uint64{}

	var crashed, faulted atomic.Bool
	expectErrors := func() bool { return crashed.Load() || faulted.Load() }
	var nAcked atomic.Int64
	trigger := make(chan struct{})
	var once sync.Once
	fire := func() { once.Do(func() { close(trigger) }) }
	if crashAt == 0 {
		fire()
	}

	var wg sync.WaitGroup
	for g := 0; g < nApp; g++ {
		grng := rand.New(rand.NewPCG(h.seed, uint64(round)<<16|uint64(g)))
		wg.Go(func() {
			for i := 0; i < perApp; i++ {
				if g == 0 && grng.IntN(5) == 0 {
					// Maintenance runs beside the appends, as in the server.
					if grng.IntN(3) == 0 {
						if err := l.Roll(ctx); err != nil && !expectErrors() {
							h.errorf("Roll: %v", err)
						}
					} else {
						cut := h.clk.Now().UnixMilli() - window
						h.mu.Lock()
						h.cutoff = max(h.cutoff, cut)
						h.mu.Unlock()
						_, err := l.Sweep(ctx, func(s uint64) (int64, bool) { return cut, retired[s] })
						if err != nil && !expectErrors() {
							h.errorf("Sweep: %v", err)
						}
					}
				}
				es := h.makeBatch(grng, live)
				res, err := l.Append(ctx, 0, es)
				if err != nil {
					if !errors.Is(err, ErrFailed) && !errors.Is(err, ErrClosed) {
						h.errorf("Append error %v wraps neither ErrFailed nor ErrClosed", err)
					}
					if !expectErrors() {
						h.errorf("Append failed with no crash or fault: %v", err)
					}
					return
				}
				h.acked(es, res)
				if nAcked.Add(1) == crashAt {
					fire()
				}
				h.clk.Advance(time.Duration(grng.IntN(4)) * time.Millisecond)
			}
		})
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()

	// A reader follows the commits and checks everything it is served.
	stopReader := make(chan struct{})
	var readerWG sync.WaitGroup
	rrng := rand.New(rand.NewPCG(h.seed, uint64(round)<<16|0xffff))
	readerWG.Go(func() {
		for {
			select {
			case <-stopReader:
				return
			case <-l.Changed():
			}
			s := live[rrng.IntN(len(live))]
			from := uint64(0)
			if b := l.Bounds(s); b.Next > 5 && rrng.IntN(2) == 0 {
				from = b.Next - 5 // a tail read
			}
			if rrng.IntN(3) == 0 {
				// Stream one record, with a pause halfway so that sweeps
				// (deleting, compacting) run under the open stream.
				h.streamOne(l, s, from, expectErrors)
				continue
			}
			recs, err := l.Read(s, from, ReadOptions{MaxRecords: 1 + rrng.IntN(100)})
			if err != nil {
				if errors.Is(err, ErrCorrupt) {
					h.errorf("Read of shard %d returned ErrCorrupt with nothing corrupt on disk: %v", s, err)
				} else if !expectErrors() {
					h.errorf("Read of shard %d: %v", s, err)
				}
			}
			for _, r := range recs {
				h.checkIntact(s, r)
			}
		}
	})

	select {
	case <-trigger:
	case <-allDone:
	}
	mode := rng.IntN(6)
	h.nModes[mode]++
	defer func() { h.trace.note(round, fmt.Sprintf("crash (mode %d)", mode), "", nil) }()
	crash := func() { h.proc.crash(h.fs.Crash) }
	// A torn write keeps a prefix of the unsynced bytes, or (a filesystem
	// whose size update reached the disk before the data, as with reserved
	// blocks) a prefix of them followed by zeros.
	crashKeepingSome := func() {
		if rng.IntN(2) == 0 {
			h.proc.crash(func() { h.fs.CrashKeepingSome(rng) })
		} else {
			h.proc.crash(func() { h.fs.CrashZeroingSome(rng) })
		}
	}
	switch mode {
	case 0:
		crashed.Store(true)
		crash()
	case 1:
		crashed.Store(true)
		crashKeepingSome()
	case 2:
		// A torn last frame: its write reached the file, its fsync failed,
		// then power was lost with some of it on disk.
		faulted.Store(true)
		h.fs.Inject(vfs.Fault{Op: vfs.OpSync, PathContains: ".seg", Sticky: true})
		<-allDone
		crashed.Store(true)
		crashKeepingSome()
	default:
		faulted.Store(true)
		ops := []vfs.Op{vfs.OpWrite, vfs.OpSync, vfs.OpCreate, vfs.OpOpen, vfs.OpRename, vfs.OpRemove, vfs.OpSyncDir, vfs.OpRead, vfs.OpAllocate, vfs.OpAdvise}
		h.fs.Inject(vfs.Fault{
			Op:           ops[rng.IntN(len(ops))],
			PathContains: []string{"", ".seg", ".idx", ".ckpt"}[rng.IntN(4)],
			After:        rng.IntN(4),
			Sticky:       rng.IntN(2) == 0,
		})
		<-allDone
		crashed.Store(true)
		if rng.IntN(2) == 0 {
			crash()
		} else {
			crashKeepingSome()
		}
	}
	<-allDone
	close(stopReader)
	readerWG.Wait()
	l.Close()
	h.fs.ClearFaults()
}

// streamOne reads one record of shard s at or after from through ReadStream
// and checks it like a Read.
func (h *crashHarness) streamOne(l *Log, s, from uint64, expectErrors func() bool) {
	rs, err := l.ReadStream(s, from, 0)
	if errors.Is(err, ErrNoRecord) {
		return
	}
	if err != nil {
		if errors.Is(err, ErrCorrupt) {
			h.errorf("ReadStream of shard %d returned ErrCorrupt with nothing corrupt on disk: %v", s, err)
		} else if !expectErrors() {
			h.errorf("ReadStream of shard %d: %v", s, err)
		}
		return
	}
	defer rs.Close()
	head := make([]byte, rs.Size/2)
	_, err = io.ReadFull(rs, head)
	if err == nil {
		runtime.Gosched()
		var rest []byte
		rest, err = io.ReadAll(rs)
		head = append(head, rest...)
	}
	if err != nil {
		if errors.Is(err, ErrCorrupt) {
			h.errorf("streaming shard %d record %d: ErrCorrupt with nothing corrupt on disk: %v", s, rs.Seq, err)
		} else if !expectErrors() {
			h.errorf("streaming shard %d record %d: %v", s, rs.Seq, err)
		}
		return
	}
	h.checkIntact(s, Record{Seq: rs.Seq, Timestamp: rs.Timestamp, Flags: rs.Flags, PartitionKey: rs.PartitionKey, Data: head})
}

// verify reads every shard of a freshly recovered log and checks it against
// the model, then adopts the unacknowledged records that survived.
func (h *crashHarness) verify(l *Log, when string) {
	l.mu.RLock()
	for k := range l.shards {
		if !h.everUsed[k] {
			l.mu.RUnlock()
			h.fatalf("%s: shard %d, which the test never wrote, exists", when, k)
		}
	}
	l.mu.RUnlock()
	seen := map[uint64]bool{}
	for _, s := range slices.Sorted(maps.Keys(h.everUsed)) {
		recs, err := readAll(l, s, 1+h.rng.IntN(64), 1+h.rng.IntN(64<<10))
		if err != nil {
			h.fatalf("%s: reading shard %d: %v", when, s, err)
		}
		h.nVerified += len(recs)
		for i, r := range recs {
			if i > 0 && r.Seq != recs[i-1].Seq+1 {
				for id, pos := range h.known {
					if e := h.entries[id]; e.shard == s && pos.seq > recs[i-1].Seq && pos.seq < r.Seq {
						h.t.Logf("missing record %d: counter %d ts %d", id, pos.seq, pos.ts)
					}
				}
				h.fatalf("%s: shard %d: counter %d follows %d", when, s, r.Seq, recs[i-1].Seq)
			}
			if i > 0 && r.Timestamp < recs[i-1].Timestamp {
				h.fatalf("%s: shard %d: timestamp goes back at counter %d", when, s, r.Seq)
			}
			id, ok := parseID(r.PartitionKey)
			e, isEntry := h.entries[id]
			if !ok || !isEntry {
				h.fatalf("%s: shard %d counter %d: record %.40q was never appended, or was lost and came back", when, s, r.Seq, r.PartitionKey)
			}
			if seen[id] {
				h.fatalf("%s: record %d read twice", when, id)
			}
			seen[id] = true
			if e.shard != s || e.flags != r.Flags || !bytes.Equal(e.data, r.Data) {
				h.fatalf("%s: shard %d counter %d: record %d is damaged", when, s, r.Seq, id)
			}
			if pos, ok := h.known[id]; ok {
				if pos.seq != r.Seq || pos.ts != r.Timestamp {
					h.fatalf("%s: record %d acknowledged at (%d, %d), recovered at (%d, %d)", when, id, pos.seq, pos.ts, r.Seq, r.Timestamp)
				}
				continue
			}
			if !h.pending[id] {
				h.fatalf("%s: record %d reappeared", when, id)
			}
			// An unacknowledged record that survived: it is on disk now and
			// must stay.
			delete(h.pending, id)
			h.known[id] = crashPos{seq: r.Seq, ts: r.Timestamp}
			h.byShard[s] = append(h.byShard[s], id)
			h.maxSeq[s] = max(h.maxSeq[s], r.Seq)
		}
		first := ^uint64(0)
		if len(recs) > 0 {
			first = recs[0].Seq
		}
		kept := h.byShard[s][:0]
		for _, id := range h.byShard[s] {
			if seen[id] {
				kept = append(kept, id)
				continue
			}
			pos := h.known[id]
			switch {
			case h.retired[s]:
			case pos.seq >= first:
				h.fatalf("%s: shard %d: acknowledged record %d (counter %d) lost; records %d..%d present", when, s, id, pos.seq, first, recs[len(recs)-1].Seq)
			case pos.ts >= h.cutoff:
				h.fatalf("%s: shard %d: acknowledged record %d (counter %d, ts %d) lost before it expired (cutoff %d)", when, s, id, pos.seq, pos.ts, h.cutoff)
			}
			// Expired and deleted: it may never come back.
			delete(h.known, id)
			delete(h.entries, id)
		}
		h.byShard[s] = kept
		if h.retired[s] {
			continue
		}
		b := l.Bounds(s)
		if len(recs) > 0 && b.Next != recs[len(recs)-1].Seq+1 {
			h.fatalf("%s: shard %d: Bounds.Next = %d after last record %d", when, s, b.Next, recs[len(recs)-1].Seq)
		}
		if b.Next <= h.maxSeq[s] {
			h.fatalf("%s: shard %d: Bounds.Next = %d would reuse counter %d", when, s, b.Next, h.maxSeq[s])
		}
		seq, err := l.SeekTime(s, 0)
		if want := min(first, b.Next); err != nil || seq != want {
			h.fatalf("%s: shard %d: SeekTime(0) = %d, %v; want %d", when, s, seq, err, want)
		}
		if h.cutoff > 0 {
			recs, err := l.Read(s, 0, ReadOptions{MaxRecords: 5, MinTimestamp: h.cutoff})
			if err != nil {
				h.fatalf("%s: shard %d: Read with MinTimestamp: %v", when, s, err)
			}
			for _, r := range recs {
				if r.Timestamp < h.cutoff {
					h.fatalf("%s: shard %d: Read with MinTimestamp %d returned ts %d", when, s, h.cutoff, r.Timestamp)
				}
			}
		}
	}
	// Unacknowledged records that did not survive are gone for good.
	for id := range h.pending {
		delete(h.entries, id)
	}
	clear(h.pending)
	h.roundMax = maps.Clone(h.maxSeq)
}

// ---------------------------------------------------------------------------
// Fault injection

type faultModel struct {
	recs map[uint64][]Record // shard -> acknowledged records, in counter order
	rng  *rand.Rand
	n    int
}

func (m *faultModel) batch(shards int) []Entry {
	es := make([]Entry, 1+m.rng.IntN(6))
	for i := range es {
		m.n++
		data := make([]byte, m.rng.IntN(200))
		fillRandom(m.rng, data)
		es[i] = Entry{Shard: uint64(m.rng.IntN(shards)), PartitionKey: fmt.Sprintf("key-%d", m.n), Data: data}
	}
	return es
}

func (m *faultModel) ack(es []Entry, res []Appended) {
	for i, e := range es {
		m.recs[e.Shard] = append(m.recs[e.Shard], Record{Seq: res[i].Seq, Timestamp: res[i].Timestamp, PartitionKey: e.PartitionKey, Data: e.Data})
	}
}

// check verifies that the log holds every acknowledged record; records in
// extra (appended but not acknowledged) may follow them, intact.
func (m *faultModel) check(t *testing.T, l *Log, extra []Entry) {
	t.Helper()
	for shard, want := range m.recs {
		got, err := readAll(l, shard, 7, 1<<20)
		if err != nil {
			t.Fatalf("shard %d: %v", shard, err)
		}
		if len(got) < len(want) {
			t.Fatalf("shard %d: %d records, want at least %d", shard, len(got), len(want))
		}
		for i, w := range want {
			g := got[i]
			if g.Seq != w.Seq || g.Timestamp != w.Timestamp || g.PartitionKey != w.PartitionKey || !bytes.Equal(g.Data, w.Data) {
				t.Fatalf("shard %d record %d: got %d %q, want %d %q", shard, i, g.Seq, g.PartitionKey, w.Seq, w.PartitionKey)
			}
		}
		for _, g := range got[len(want):] {
			if !slices.ContainsFunc(extra, func(e Entry) bool {
				return e.Shard == shard && e.PartitionKey == g.PartitionKey && bytes.Equal(e.Data, g.Data)
			}) {
				t.Fatalf("shard %d: unexpected record %d %q", shard, g.Seq, g.PartitionKey)
			}
		}
	}
}

// TestFaultMakesLogFail injects a write or fsync error at each step of the
// append and seal paths. The failing Append must return an error wrapping
// ErrFailed and acknowledge nothing; the failure is sticky (later appends and
// rolls are refused without touching the disk, even once the disk is healthy
// again); reads keep serving exactly the acknowledged records; and after
// Close, ClearFaults and reopen (with or without power loss in between),
// every acknowledged record is there and counters continue above them.
func TestFaultMakesLogFail(t *testing.T) {
	faults := []struct {
		name  string
		fault vfs.Fault
	}{
		{"segment-write", vfs.Fault{Op: vfs.OpWrite, PathContains: ".seg", Sticky: true}},
		{"segment-fsync", vfs.Fault{Op: vfs.OpSync, PathContains: ".seg", Sticky: true}},
		{"segment-fsync-once", vfs.Fault{Op: vfs.OpSync, PathContains: ".seg"}},
		{"index-create", vfs.Fault{Op: vfs.OpCreate, PathContains: ".idx", Sticky: true}},
		{"index-write", vfs.Fault{Op: vfs.OpWrite, PathContains: ".idx", Sticky: true}},
		{"index-fsync", vfs.Fault{Op: vfs.OpSync, PathContains: ".idx", Sticky: true}},
		{"new-segment-create", vfs.Fault{Op: vfs.OpCreate, PathContains: ".seg", Sticky: true}},
		{"dir-fsync", vfs.Fault{Op: vfs.OpSyncDir, Sticky: true}},
	}
	for _, tc := range faults {
		for _, crash := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/crash=%v", tc.name, crash), func(t *testing.T) {
				ctx := context.Background()
				fs := vfs.NewMemFS()
				clk := &fakeClock{t: time.UnixMilli(1_700_000_000_000)}
				opts := Options{FS: fs, Dir: "/d", SegmentBytes: 1024, Now: clk.Now, Logger: quietLogger()}
				l, err := Open(opts)
				if err != nil {
					t.Fatal(err)
				}
				m := &faultModel{recs: map[uint64][]Record{}, rng: rand.New(rand.NewPCG(1, 2))}
				for i := 0; i < 20; i++ {
					es := m.batch(4)
					res, err := l.Append(ctx, 0, es)
					if err != nil {
						t.Fatal(err)
					}
					m.ack(es, res)
					clk.Advance(time.Millisecond)
				}
				bounds := map[uint64]ShardBounds{}
				for s := range m.recs {
					bounds[s] = l.Bounds(s)
				}

				fs.Inject(tc.fault)
				var failed []Entry
				for i := 0; ; i++ {
					if i == 200 {
						t.Fatal("no Append failed")
					}
					es := m.batch(4)
					res, err := l.Append(ctx, 0, es)
					if err == nil {
						m.ack(es, res)
						for s := range m.recs {
							bounds[s] = l.Bounds(s)
						}
						continue
					}
					if !errors.Is(err, ErrFailed) || !errors.Is(err, vfs.ErrInjected) {
						t.Fatalf("Append error %v: want ErrFailed wrapping the injected fault", err)
					}
					if res != nil {
						t.Fatalf("failed Append returned positions %v", res)
					}
					failed = es
					break
				}
				if !errors.Is(l.Failed(), ErrFailed) {
					t.Fatalf("Failed() = %v", l.Failed())
				}
				fs.ClearFaults()
				writes := fs.Ops(vfs.OpWrite)
				if _, err := l.Append(ctx, 0, m.batch(4)); !errors.Is(err, ErrFailed) {
					t.Fatalf("Append after failure: %v, want ErrFailed", err)
				}
				if err := l.Roll(ctx); !errors.Is(err, ErrFailed) {
					t.Fatalf("Roll after failure: %v, want ErrFailed", err)
				}
				if n := fs.Ops(vfs.OpWrite); n != writes {
					t.Fatalf("a failed log wrote %d times", n-writes)
				}
				// Reads serve exactly the acknowledged records; the failed
				// batch is invisible.
				m.check(t, l, nil)
				for s, b := range bounds {
					if got := l.Bounds(s); got != b {
						t.Fatalf("shard %d: Bounds %+v after the failure, %+v before", s, got, b)
					}
				}
				l.Close()

				extra := failed
				if crash {
					fs.Crash()
					if tc.fault.Op == vfs.OpSync && strings.Contains(tc.fault.PathContains, "seg") {
						extra = nil // its write was never synced
					}
				}
				l, err = Open(opts)
				if err != nil {
					t.Fatalf("reopen: %v", err)
				}
				defer l.Close()
				m.check(t, l, extra)
				// New appends work and never reuse a counter.
				for s, recs := range m.recs {
					res, err := l.Append(ctx, 0, []Entry{{Shard: s, PartitionKey: "after", Data: []byte("x")}})
					if err != nil {
						t.Fatal(err)
					}
					if last := recs[len(recs)-1].Seq; res[0].Seq <= last {
						t.Fatalf("shard %d: new counter %d after acknowledged %d", s, res[0].Seq, last)
					}
				}
			})
		}
	}
}

// TestReadIOErrorIsNotCorruption: a failing read is an I/O error, reported
// as such (wrapping the cause), not as ErrCorrupt, and the log recovers from
// it without a restart.
func TestReadIOErrorIsNotCorruption(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMemFS()
	l, err := Open(Options{FS: fs, Dir: "/d", SegmentBytes: 512, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := 0; i < 40; i++ {
		if _, err := l.Append(ctx, 0, []Entry{{Shard: 1, PartitionKey: "k", Data: bytes.Repeat([]byte{byte(i)}, 50)}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, path := range []string{".seg", ".idx"} {
		fs.Inject(vfs.Fault{Op: vfs.OpRead, PathContains: path, Sticky: true})
		recs, err := l.Read(1, 0, ReadOptions{})
		if err == nil || !errors.Is(err, vfs.ErrInjected) || errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s read fault: Read = %d records, %v; want the I/O error, not ErrCorrupt", path, len(recs), err)
		}
		fs.ClearFaults()
		if recs, err := l.Read(1, 0, ReadOptions{}); err != nil || len(recs) != 40 {
			t.Fatalf("after the fault: %d records, %v", len(recs), err)
		}
	}
}

// TestAppendRejectsOversizedKey: the format stores a partition key length in
// 16 bits. A longer key must be refused, not acknowledged and then found
// unreadable (which also took the other records of its frame with it).
func TestAppendRejectsOversizedKey(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMemFS()
	l, err := Open(Options{FS: fs, Dir: "/d", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	key := strings.Repeat("k", 1<<16+10)
	_, err = l.Append(ctx, 0, []Entry{{Shard: 1, PartitionKey: "ok", Data: []byte("a")}, {Shard: 2, PartitionKey: key, Data: []byte("b")}})
	if err == nil {
		for _, s := range []uint64{1, 2} {
			if recs, err := l.Read(s, 0, ReadOptions{}); err != nil || len(recs) != 1 {
				t.Fatalf("acknowledged append: shard %d reads %d records, %v", s, len(recs), err)
			}
		}
		return
	}
	if errors.Is(err, ErrFailed) || l.Failed() != nil {
		t.Fatalf("an invalid entry failed the log: %v", err)
	}
	if b := l.Bounds(1); b.Next != FirstSeq {
		t.Fatalf("a rejected Append assigned counters: %+v", b)
	}
	if _, err := l.Append(ctx, 0, []Entry{{Shard: 1, PartitionKey: "ok", Data: []byte("a")}}); err != nil {
		t.Fatal(err)
	}
}

// ---------------------------------------------------------------------------
// Torn tails and corruption

type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (e *eventLog) add(ev Event) { e.mu.Lock(); e.events = append(e.events, ev); e.mu.Unlock() }
func (e *eventLog) has(kind string, seg uint64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.ContainsFunc(e.events, func(ev Event) bool { return ev.Kind == kind && ev.Segment == seg })
}

// TestTornTail damages the end of the active segment as a crash mid-write
// would (the last frame cut short at various points, garbage after the last
// frame, the last frame's bytes scrambled) and reopens: the damaged frame and
// everything after it is cut (and the cut is durable), the earlier records
// are intact, and appends continue. A last frame that is complete but fails
// its checksums may have been acknowledged (a bit flip on disk), so none of
// the counters it held is assigned again.
func TestTornTail(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		damage func(seg []byte, lastFrame int) []byte
		torn   bool // the last frame is lost
		// reserved: the last frame is complete with an intact header, so it
		// may have been acknowledged; its counters are never reused.
		reserved bool
	}{
		{"cut-1", func(b []byte, _ int) []byte { return b[:len(b)-1] }, true, false},
		{"cut-in-section", func(b []byte, lf int) []byte { return b[:lf+frameHeaderLen+5] }, true, false},
		{"cut-after-frame-header", func(b []byte, lf int) []byte { return b[:lf+frameHeaderLen] }, true, false},
		{"cut-in-frame-header", func(b []byte, lf int) []byte { return b[:lf+7] }, true, false},
		{"zeros-after", func(b []byte, _ int) []byte { return append(b, make([]byte, 100)...) }, false, false},
		{"garbage-after", func(b []byte, _ int) []byte { return append(b, []byte("RHSF not really a frame header")...) }, false, false},
		{"zeroed-last-frame", func(b []byte, lf int) []byte { clear(b[lf+frameHeaderLen:]); return b }, true, true},
		{"bit-flip-last-record", func(b []byte, _ int) []byte { b[len(b)-3] ^= 0x10; return b }, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := vfs.NewMemFS()
			opts := Options{FS: fs, Dir: "/d", Logger: quietLogger()}
			l, err := Open(opts)
			if err != nil {
				t.Fatal(err)
			}
			m := &faultModel{recs: map[uint64][]Record{}, rng: rand.New(rand.NewPCG(3, 4))}
			var last []Entry
			var lastRes []Appended
			var lastFrame int64
			for i := 0; i < 10; i++ {
				if i == 9 {
					lastFrame, _ = fs.Stat(segName("/d", 1, "seg"))
				}
				es := m.batch(3)
				res, err := l.Append(ctx, 0, es)
				if err != nil {
					t.Fatal(err)
				}
				if i < 9 {
					m.ack(es, res)
				} else {
					last, lastRes = es, res
				}
			}
			l.Close()
			name := segName("/d", 1, "seg")
			orig := memRead(t, fs, name)
			memWrite(t, fs, name, tc.damage(bytes.Clone(orig), int(lastFrame)))

			var ev eventLog
			opts.OnEvent = ev.add
			l, err = Open(opts)
			if err != nil {
				t.Fatal(err)
			}
			if tc.torn {
				m.check(t, l, nil)
				for s, recs := range m.recs {
					if b := l.Bounds(s); !tc.reserved && b.Next != recs[len(recs)-1].Seq+1 {
						t.Fatalf("shard %d: Next = %d", s, b.Next)
					}
				}
				for i, e := range last {
					if b := l.Bounds(e.Shard); tc.reserved && b.Next <= lastRes[i].Seq {
						t.Fatalf("shard %d: Next = %d would reuse counter %d of the damaged frame", e.Shard, b.Next, lastRes[i].Seq)
					}
				}
			} else {
				m.check(t, l, last)
			}
			l.Close()
			if !ev.has("torn-tail", 1) {
				t.Errorf("no torn-tail event: %+v", ev.events)
			}
			want := orig
			if tc.torn {
				want = orig[:lastFrame]
			}
			// The cut is durable: it survives power loss.
			fs.Crash()
			if got := memRead(t, fs, name); !bytes.Equal(got, want) {
				t.Fatalf("segment after recovery: %d bytes, want the first %d", len(got), len(want))
			}
			l, err = Open(opts)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if !tc.torn {
				// All ten batches are intact.
				for _, e := range last {
					recs, _ := readAll(l, e.Shard, 100, 1<<20)
					if !slices.ContainsFunc(recs, func(r Record) bool { return r.PartitionKey == e.PartitionKey }) {
						t.Fatalf("record %q of the last frame lost", e.PartitionKey)
					}
				}
				return
			}
			m.check(t, l, nil)
			// The reservation is durable: the damaged frame is cut, but its
			// counters stay reserved after power loss.
			for i, e := range last {
				if b := l.Bounds(e.Shard); tc.reserved && b.Next <= lastRes[i].Seq {
					t.Fatalf("after power loss: shard %d: Next = %d would reuse counter %d of the damaged frame", e.Shard, b.Next, lastRes[i].Seq)
				}
			}
			if _, err := l.Append(ctx, 0, m.batch(3)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestTornTailEmbeddedFrame: a torn frame whose record data holds a complete,
// valid frame. Recovery must cut the torn frame, not skip to the embedded one
// and serve its made-up records (another shard, another key, any counter).
func TestTornTailEmbeddedFrame(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMemFS()
	opts := Options{FS: fs, Dir: "/d", Logger: quietLogger()}
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, 0, []Entry{{Shard: 1, PartitionKey: "a", Data: []byte("acknowledged")}}); err != nil {
		t.Fatal(err)
	}
	fake := validFrame(t, Entry{Shard: 666, PartitionKey: "FAKE", Data: []byte("forged")},
		Entry{Shard: 1, PartitionKey: "FAKE", Data: []byte("forged")})
	carrier := append(append([]byte("prefix"), fake...), bytes.Repeat([]byte("z"), 100)...)
	good, _ := fs.Stat(segName("/d", 1, "seg"))
	fs.Inject(vfs.Fault{Op: vfs.OpSync, PathContains: ".seg", Sticky: true})
	if _, err := l.Append(ctx, 0, []Entry{{Shard: 1, PartitionKey: "b", Data: carrier}}); !errors.Is(err, ErrFailed) {
		t.Fatalf("Append: %v", err)
	}
	l.Close()
	fs.ClearFaults()
	// Power loss keeps the torn frame up to a little past the embedded one.
	name := segName("/d", 1, "seg")
	b := memRead(t, fs, name)
	i := bytes.Index(b, fake)
	if i < 0 {
		t.Fatal("embedded frame not found")
	}
	memWrite(t, fs, name, b[:i+len(fake)+10])

	l, err = Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, s := range []uint64{1, 666} {
		recs, err := readAll(l, s, 100, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.PartitionKey == "FAKE" {
				t.Fatalf("shard %d: record from inside another record's data served as a record: seq %d %q", s, r.Seq, r.Data)
			}
		}
		if s == 1 && (len(recs) != 1 || string(recs[0].Data) != "acknowledged") {
			t.Fatalf("shard 1: %d records", len(recs))
		}
	}
	if b := l.Bounds(666); b.Next != FirstSeq {
		t.Fatalf("shard 666 never written, Bounds = %+v", b)
	}
	if got, _ := fs.Stat(name); got != good {
		t.Fatalf("torn frame not cut: segment is %d bytes, want %d", got, good)
	}
}

// TestCorruptSealedSegment flips a bit in a record inside a sealed segment.
// Reading through its index reports ErrCorrupt at that section and never
// returns the damaged record; records before and after stay readable. With
// the index lost too, reopening rebuilds it: the damaged frame is skipped and
// reported as corruption, everything else is served.
func TestCorruptSealedSegment(t *testing.T) {
	for _, rebuild := range []bool{false, true} {
		t.Run(fmt.Sprintf("rebuild-index=%v", rebuild), func(t *testing.T) {
			ctx := context.Background()
			fs := vfs.NewMemFS()
			clk := &fakeClock{t: time.UnixMilli(1_700_000_000_000)}
			opts := Options{FS: fs, Dir: "/d", SegmentBytes: 1024, Now: clk.Now, Logger: quietLogger()}
			l, err := Open(opts)
			if err != nil {
				t.Fatal(err)
			}
			const n = 100
			for i := 0; i < n; i++ {
				es := []Entry{{Shard: 7, PartitionKey: "p", Data: payload(7, i)}, {Shard: 8, PartitionKey: "q", Data: payload(8, i)}}
				if _, err := l.Append(ctx, 0, es); err != nil {
					t.Fatal(err)
				}
				clk.Advance(time.Millisecond)
			}
			l.Close()
			// Damage a record of shard 7 in the middle of sealed segment 2.
			name := segName("/d", 2, "seg")
			seg := memRead(t, fs, name)
			var victim int
			for i := 0; i < n; i++ {
				if j := bytes.Index(seg, payload(7, i)); j > 0 {
					victim = i
					if j > len(seg)/2 {
						seg[j+5] ^= 0x01
						break
					}
				}
			}
			memWrite(t, fs, name, seg)
			if rebuild {
				if err := fs.Remove(segName("/d", 2, "idx")); err != nil {
					t.Fatal(err)
				}
			}
			var ev eventLog
			opts.OnEvent = ev.add
			l, err = Open(opts)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			check := func(recs []Record) {
				t.Helper()
				for _, r := range recs {
					i := int(r.Seq - FirstSeq)
					if !bytes.Equal(r.Data, payload(7, i)) || r.PartitionKey != "p" {
						t.Fatalf("record %d served damaged: %q", r.Seq, r.Data)
					}
				}
			}
			recs, err := readAll(l, 7, 1000, 1<<20)
			check(recs)
			if !rebuild {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("reading across the damage: %d records, err %v; want ErrCorrupt", len(recs), err)
				}
				if len(recs) != victim {
					t.Fatalf("%d records before the damaged one (%d)", len(recs), victim)
				}
				// Past the damage, reading resumes.
				rest, err := l.Read(7, FirstSeq+uint64(victim)+1, ReadOptions{})
				if err != nil || len(rest) == 0 {
					t.Fatalf("reading after the damage: %d records, %v", len(rest), err)
				}
				check(rest)
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if !ev.has("corruption", 2) {
					t.Fatalf("damaged frame not reported: %+v", ev.events)
				}
				if len(recs) != n-1 || slices.ContainsFunc(recs, func(r Record) bool { return r.Seq == FirstSeq+uint64(victim) }) {
					t.Fatalf("%d records served; the damaged one must be the only one missing", len(recs))
				}
			}
			// Shard 8 shared the damaged frame, not the damaged section.
			recs8, err := readAll(l, 8, 1000, 1<<20)
			if !rebuild && (err != nil || len(recs8) != n) {
				t.Fatalf("shard 8: %d records, %v", len(recs8), err)
			}
			for _, r := range recs8 {
				if !bytes.Equal(r.Data, payload(8, int(r.Seq-FirstSeq))) {
					t.Fatalf("shard 8 record %d damaged", r.Seq)
				}
			}
		})
	}
}

// TestCloseWhileAppending closes the log while appends race it. Every Append
// must return (acknowledged, or ErrClosed); none may block forever. Runs in a
// synctest bubble so a stuck Append is detected at once.
func TestCloseWhileAppending(t *testing.T) {
	iters := 2000
	if testing.Short() {
		iters = 300
	}
	for i := 0; i < iters && !t.Failed(); i++ {
		synctest.Test(t, func(t *testing.T) {
			l, err := Open(Options{FS: vfs.NewMemFS(), Dir: "/d", Logger: quietLogger()})
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var n atomic.Int64
			ready := make(chan struct{})
			var once sync.Once
			for g := 0; g < 4; g++ {
				wg.Go(func() {
					for range 1000 {
						_, err := l.Append(context.Background(), 0, []Entry{{Shard: uint64(g), PartitionKey: "k", Data: []byte("x")}})
						if err != nil {
							if !errors.Is(err, ErrClosed) {
								t.Errorf("Append: %v", err)
							}
							return
						}
						if n.Add(1) == 20 {
							once.Do(func() { close(ready) })
						}
					}
				})
			}
			<-ready
			l.Close()
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(time.Hour): // fake time: fires as soon as everything is stuck
				t.Fatalf("iteration %d: an Append never returned after Close", i)
			}
		})
	}
}

// TestSweepRemoveFailure: when removing an expired segment fails, the sweep
// reports the error and keeps that segment and every later one; it must not
// forget them while their files stay on disk (a later sweep would then
// delete newer segments and leave a hole in the counters), and the next
// sweep retries.
func TestSweepRemoveFailure(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMemFS()
	clk := &fakeClock{t: time.UnixMilli(1_700_000_000_000)}
	opts := Options{FS: fs, Dir: "/d", SegmentBytes: 512, Now: clk.Now, Logger: quietLogger()}
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	const n = 120
	for i := 0; i < n; i++ {
		if _, err := l.Append(ctx, 0, []Entry{{Shard: 5, PartitionKey: "p", Data: payload(5, i)}}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
	}
	policy := func(cutoff int64) RetentionPolicy {
		return func(uint64) (int64, bool) { return cutoff, false }
	}
	// The second segment's removal fails.
	fs.Inject(vfs.Fault{Op: vfs.OpRemove, PathContains: ".seg", After: 1})
	first := clk.Now().Add(-80 * time.Second).UnixMilli()
	if _, err := l.Sweep(ctx, policy(first)); !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("Sweep: %v, want the injected error", err)
	}
	// A later sweep with a later cutoff succeeds.
	res, err := l.Sweep(ctx, policy(clk.Now().Add(-40*time.Second).UnixMilli()))
	if err != nil || res.SegmentsDeleted == 0 {
		t.Fatalf("second Sweep: %+v, %v", res, err)
	}
	check := func(l *Log, when string) {
		t.Helper()
		recs, err := readAll(l, 5, 1000, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(recs); i++ {
			if recs[i].Seq != recs[i-1].Seq+1 {
				t.Fatalf("%s: counter %d follows %d: a hole in the log", when, recs[i].Seq, recs[i-1].Seq)
			}
		}
		if len(recs) == 0 || recs[len(recs)-1].Seq != FirstSeq+n-1 {
			t.Fatalf("%s: newest records lost", when)
		}
	}
	check(l, "before restart")
	l.Close()
	if l, err = Open(opts); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	check(l, "after restart")
}

// TestSectionShardKeyBitFlip flips one bit of a section's shard key in the
// active segment and reopens. The records must not silently move to another
// shard: the section checksum covers the shard key.
func TestSectionShardKeyBitFlip(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMemFS()
	opts := Options{FS: fs, Dir: "/d", Logger: quietLogger()}
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, 0, []Entry{{Shard: 1, PartitionKey: "a", Data: []byte("one")}}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	name := segName("/d", 1, "seg")
	seg := memRead(t, fs, name)
	seg[segHeaderSize+frameHeaderLen] ^= 0x02 // shard 1 -> shard 3
	memWrite(t, fs, name, seg)
	if l, err = Open(opts); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if recs, _ := l.Read(3, 0, ReadOptions{}); len(recs) != 0 {
		t.Fatalf("shard 1's record served as shard 3's: %q", recs[0].Data)
	}
}
