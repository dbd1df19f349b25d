// Package streamlog owns the durable record log of Rheos: one append-only,
// multi-shard write-ahead log split into segments, with per-shard indexes for
// sequence and time lookups, group commit, crash recovery and retention.
//
// A put is acknowledged only after the frame holding its records has been
// written and fsynced. All appends that arrive while a commit is in flight are
// written together as one frame and made durable by one fsync (group commit),
// whatever the number of shards they touch. Record payloads are written to
// disk once; the per-segment index (.idx) adds 32 bytes per shard section and
// is written when a segment is sealed.
//
// The kernel's side of writing is kept flat on long runs (docs/PERFORMANCE.md):
// the active segment's disk blocks are reserved when it is created
// (vfs.Allocate, which leaves the file's size at the end of its last frame,
// so the format and recovery are unchanged), a commit is made durable with
// fdatasync (vfs.Datasync), and the pages of sealed segments outside a small
// cached window (Options.CachedSegments) and of compacted segments are
// dropped from the page cache (vfs.DontNeed) once they are durable, so the
// page cache does not grow by every byte written.
//
// Reading: Read returns whole records, copied into memory; ReadStream opens
// one record and streams its data from the segment file (large records such
// as video fragments), checking the section checksum as it goes.
//
// Files (FORMAT.md draws them): <id>.seg segments, the highest one active
// and the others sealed, each sealed one with its <id>.idx; shards.ckpt, every
// shard's next counter and trim; *.tmp files being written, removed on open.
//
// Space follows retention: Sweep deletes sealed segments with nothing live
// and compacts those whose live fraction fell below Options.CompactBelow,
// rewriting them with only their live sections under the same id and the
// next generation (compact.go). Before any section leaves the disk the
// shard's trim is raised past it and checkpointed, so a shard's counters stay
// contiguous and never go back; the switch to the rewritten segment is two
// renames, and a crash between them is detected by the generation stamped in
// both the segment and its index, so recovery sees the old segment or the
// new one, never both and never neither.
//
// Tiered storage (Options.Tier, tier.go and tiercache.go): sealed segments
// and their indexes are uploaded to a blob.Store, their local copies
// dropped once the upload is durable and marked (<id>.tier), and tiered
// segments read back through a bounded read-through cache of chunks on
// local disk. A crash at any point loses nothing, and objects no segment
// accounts for are deleted by the orphan sweep.
//
// The package knows shards only as opaque uint64 keys and sequence numbers as
// per-shard uint64 counters. It must not know about streams, AWS or HTTP, and
// it does all file I/O through vfs.FS so crash and fault tests can replace the
// filesystem. The format is documented in FORMAT.md.
//
// Concurrency. One writer goroutine (owned by Log: started by Open, stopped
// and waited for by Close) performs every append, seal, roll and Recover of
// the active segment. Sweep runs on its caller's goroutine, one at a time;
// readers (Read, ReadStream, SeekTime, Bounds) on theirs, copying index
// references under Log.mu and doing their I/O without it, holding references
// on the segments they read so that a sweep cannot close them.
//
// Locks, in the order they are taken (holding one, a goroutine may take only
// those below it):
//
//	Log.sweepMu  serializes Sweep (the only code that deletes or replaces
//	             sealed segments) with itself and with Close's closing of the
//	             files. Sweep holds it while it waits for the writer (Roll);
//	             the writer never takes it.
//	Log.mu       RWMutex over the shard map, every shardState, the segment
//	             list, the active segment and its size, the fence, the sticky
//	             failure, closed and the counter floor. Held for in-memory
//	             work only, never across file I/O or a wait for the writer.
//	segment.mu   a segment's reference count and deleted flag.
//
// The vfs implementation's own locks come after all of these. Callbacks
// (Options.OnEvent, OnCommit) run with no Log.mu held, but some on the writer
// goroutine and some with sweepMu held: they must not call Append, Roll,
// Recover, Sweep or Close. In the structs, the fields a lock guards sit under
// it, with a comment; a function whose name ends in Locked must be called
// with the lock it names (Log.mu unless it says otherwise) held.
package streamlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rheos/rheos/internal/vfs"
)

// Options configures a Log. Zero values take the stated defaults.
type Options struct {
	// FS is the filesystem. Default: vfs.OS{}.
	FS vfs.FS
	// Dir is the directory holding the segments. Required.
	Dir string
	// SegmentBytes is the size at which the active segment is sealed and a new
	// one started. Default 64 MiB.
	SegmentBytes int64
	// SegmentAge is the age at which a non-empty active segment is sealed, so
	// that retention can reclaim it. Default 1 hour.
	SegmentAge time.Duration
	// MaxGroupBytes bounds the payload bytes of one group commit. Default 16 MiB.
	MaxGroupBytes int
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives notable events. Default: slog.Default().
	Logger *slog.Logger
	// OnEvent, if set, is called for notable events (segment roll, deletion,
	// corruption, fsync failure).
	OnEvent func(Event)
	// OnCommit, if set, is called by the writer after every group commit
	// with the bytes written, the records in it and the fsync's duration.
	OnCommit func(bytes, records int, fsync time.Duration)
	// CompactBelow is the live fraction of a sealed segment (bytes of its
	// sections that retention keeps, over its size) below which Sweep
	// rewrites the segment with only its live sections, so that a deleted
	// shard or a short retention beside a long one frees its space within
	// one sweep. Default 0.5; a negative value disables compaction (segments
	// with nothing live are still deleted).
	CompactBelow float64
	// CachedSegments is how many of the newest segments, the active one
	// included, keep their pages in the OS page cache. When a segment is
	// sealed, the one that falls out of this window has its cached pages
	// dropped (vfs.DontNeed): they are synced, and left to the kernel they
	// grow the page cache by every byte written, whose allocation, LRU
	// upkeep and reclaim cost the writer more kernel CPU the longer it runs.
	// Readers within the window read from the cache; older records are read
	// from disk. Default 2 (the active segment and the newest sealed one);
	// a negative value never drops pages.
	CachedSegments int
	// Tier, if set, uploads sealed segments to a blob store and reads them
	// back through a bounded cache (tier.go). A log that has tiered
	// segments cannot be opened without it.
	Tier *TierOptions
}

// Event is a notable occurrence in the log.
type Event struct {
	// Kind is one of "segment-sealed", "segment-deleted",
	// "segment-compacted", "index-stale" (an index of another generation
	// than its segment, left by a crash during compaction, rebuilt),
	// "corruption", "torn-tail", "write-failed", "recovered".
	Kind    string
	Segment uint64
	Detail  string
}

// Entry is one record to append.
type Entry struct {
	Shard        uint64
	PartitionKey string
	Data         []byte
	Flags        uint8
}

// Appended is the position assigned to an appended entry.
type Appended struct {
	Seq       uint64
	Timestamp int64 // unix milliseconds
}

// Record is a stored record as read back.
type Record struct {
	Seq          uint64
	Timestamp    int64 // unix milliseconds
	Flags        uint8
	PartitionKey string
	Data         []byte
}

// Errors callers branch on.
var (
	// ErrFenced means the append carried a fence token other than the log's.
	ErrFenced = errors.New("streamlog: stale fence token")
	// ErrClosed means the log is closed.
	ErrClosed = errors.New("streamlog: closed")
	// ErrFailed wraps the sticky write or fsync error after which the log
	// refuses appends until Recover succeeds or the log is reopened.
	ErrFailed = errors.New("streamlog: log failed, writes refused until recovery")
)

// FirstSeq is the first sequence counter a shard assigns.
const FirstSeq uint64 = 1

// segment is one segment file and, once sealed, its index. Its fields above
// mu are set before the segment is published in Log.segments or Log.active
// and never change after (a sealed segment's are set by seal under Log.mu,
// while only the writer knows of it).
type segment struct {
	id      uint64
	created int64
	gen     uint16   // compaction generation (segment and index headers)
	f       vfs.File // data file (the append handle for the active segment)
	idx     vfs.File // index file, nil for the active segment
	ndir    int      // directory entries in idx
	size    int64    // file size once sealed
	remote  bool     // tiered: f reads from the blob store (remoteFile)

	mu       sync.Mutex // guards refs, deleted, onClosed
	refs     int
	deleted  bool
	onClosed func() // run once a retired segment's files are closed
}

func (s *segment) acquire() { s.mu.Lock(); s.refs++; s.mu.Unlock() }
func (s *segment) release() {
	s.mu.Lock()
	s.refs--
	closeNow := s.deleted && s.refs == 0
	s.mu.Unlock()
	if closeNow {
		s.closed()
	}
}

// retire marks a segment that was removed from the log (deleted or replaced
// by its compacted version): its files close once no reader holds it.
func (s *segment) retire() { s.retireThen(nil) }

// retireThen is retire, running then (if not nil) after the files close.
func (s *segment) retireThen(then func()) {
	s.mu.Lock()
	s.deleted = true
	s.onClosed = then
	closeNow := s.refs == 0
	s.mu.Unlock()
	if closeNow {
		s.closed()
	}
}

// closed closes a retired segment's files once no reader holds it.
func (s *segment) closed() {
	s.closeFiles()
	s.mu.Lock()
	then := s.onClosed
	s.onClosed = nil
	s.mu.Unlock()
	if then != nil {
		then()
	}
}

func (s *segment) closeFiles() {
	if s.f != nil {
		s.f.Close()
	}
	if s.idx != nil {
		s.idx.Close()
	}
}

// sealedRef summarizes one shard's entries inside a sealed segment.
type sealedRef struct {
	seg               *segment
	first, count      uint32
	firstSeq, lastSeq uint64
	minTs, maxTs      int64
}

// shardState is one shard's in-memory state. Every field is guarded by
// Log.mu. next, lastTs and active are written only by the writer (under mu),
// so the writer reads them without it; trim and sealed are written by the
// writer (seal) and by Sweep, both under mu.
type shardState struct {
	next   uint64      // next counter to assign
	trim   uint64      // counters below trim are gone, even if still on disk
	lastTs int64       // timestamp of the newest record
	sealed []sealedRef // in sealed segments, by segment id
	active []indexEntry
}

// Log is the durable multi-shard record log. It is safe for concurrent use.
//
// Open's recovery runs before the writer starts and before the Log is
// returned, so nothing else can see the Log: it sets the fields guarded by mu
// without taking it, except where it calls a *Locked function.
type Log struct {
	// Set by Open, never changed.
	opts Options
	fs   vfs.FS
	log  *slog.Logger
	reqs chan *appendReq // appends, rolls and recoveries, for the writer
	stop chan struct{}   // closed by Close: the writer fails what is queued and exits
	done chan struct{}   // closed by the writer when it exits

	pending atomic.Int64 // bytes of appends submitted and not yet answered (not yet durable)

	// sweepMu serializes Sweep, the only code that deletes or replaces
	// sealed segments, with itself and with Close's closing of the files.
	// Sweep holds it while waiting for the writer (Roll); the writer never
	// takes it.
	sweepMu sync.Mutex

	// mu guards the fields below, every shardState, and the sealed-segment
	// fields (idx, ndir, size) that seal fills in. No file I/O is done with
	// mu held: readers hold it shared only to copy index references and
	// take segment references (segment.mu, after mu).
	mu       sync.RWMutex
	shards   map[uint64]*shardState
	segments []*segment // sealed, by id; the active one is l.active
	// active and actSize are written only by the writer (under mu), so the
	// writer reads them without it.
	active  *segment
	actSize int64         // bytes in the active segment
	fence   uint64        // token appends must carry
	failed  error         // sticky write failure, nil when healthy
	closed  bool          // set by Close
	changed chan struct{} // closed and replaced after every commit
	// floor: no shard assigns a counter below it, because a damaged frame
	// may have held any counter below it (persisted in shards.ckpt).
	floor uint64

	// Owned by the writer goroutine.
	buf []byte // encode buffer

	// tier uploads sealed segments when Options.Tier is set; nil otherwise.
	tier *tierer

	// Recovery state, used by Open only, before the writer starts.
	lost uint64   // how many records the damaged frames found may have held
	cut  *tailCut // a torn tail of the active segment, cut once the floor is durable
}

// tailCut is a torn tail found by the scan of the active segment.
type tailCut struct {
	seg      *segment
	at, size int64
}

type appendReq struct {
	fence   uint64
	entries []Entry
	roll    bool // seal the active segment if it is non-empty
	recover bool // try to clear a failure (Recover)
	res     []Appended
	err     error
	done    chan struct{}
}

// Open opens (creating if needed) the log in opts.Dir, recovers it and
// starts its writer.
func Open(opts Options) (*Log, error) {
	if opts.FS == nil {
		opts.FS = vfs.OS{}
	}
	if opts.Dir == "" {
		return nil, errors.New("streamlog: Dir is required")
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = 64 << 20
	}
	if opts.SegmentAge <= 0 {
		opts.SegmentAge = time.Hour
	}
	if opts.MaxGroupBytes <= 0 {
		opts.MaxGroupBytes = 16 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.CompactBelow == 0 {
		opts.CompactBelow = 0.5
	}
	if opts.CachedSegments == 0 {
		opts.CachedSegments = 2
	}
	l := &Log{
		opts:    opts,
		fs:      opts.FS,
		log:     opts.Logger,
		shards:  make(map[uint64]*shardState),
		changed: make(chan struct{}),
		reqs:    make(chan *appendReq, 1024),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	if opts.Tier != nil {
		if err := l.fs.MkdirAll(opts.Dir); err != nil {
			return nil, err
		}
		t, err := newTierer(l, *opts.Tier)
		if err != nil {
			return nil, err
		}
		l.tier = t
	}
	if err := l.recover(); err != nil {
		l.closeAll()
		if l.tier != nil {
			l.tier.cancel()
		}
		return nil, err
	}
	go l.writer()
	if l.tier != nil {
		l.tier.start()
	}
	return l, nil
}

func (l *Log) event(e Event) {
	lvl := slog.LevelInfo
	if e.Kind == "corruption" || e.Kind == "write-failed" || e.Kind == "torn-tail" {
		lvl = slog.LevelWarn
	}
	l.log.Log(context.Background(), lvl, "streamlog "+e.Kind, "segment", e.Segment, "detail", e.Detail)
	if l.opts.OnEvent != nil {
		l.opts.OnEvent(e)
	}
}

func segName(dir string, id uint64, ext string) string {
	return filepath.Join(dir, fmt.Sprintf("%020d.%s", id, ext))
}

// shardLocked returns the state of shard key, creating it. l.mu must be held
// for writing.
func (l *Log) shardLocked(key uint64) *shardState {
	s := l.shards[key]
	if s == nil {
		s = &shardState{next: max(FirstSeq, l.floor)}
		l.shards[key] = s
	}
	return s
}

// recover loads sealed segments' directories, scans the active segment,
// truncates a torn tail and applies the checkpoint.
func (l *Log) recover() error {
	if err := l.fs.MkdirAll(l.opts.Dir); err != nil {
		return err
	}
	names, err := l.fs.ReadDir(l.opts.Dir)
	if err != nil {
		return err
	}
	var ids []uint64
	hasIdx, hasSeg, hasTier := map[uint64]bool{}, map[uint64]bool{}, map[uint64]bool{}
	for _, n := range names {
		if strings.HasSuffix(n, vfs.TempSuffix) {
			// A file being written when the process stopped (a compacted
			// segment or its index, a checkpoint): never renamed into
			// place, so nothing depends on it.
			if err := l.fs.Remove(filepath.Join(l.opts.Dir, n)); err != nil && !vfs.IsNotExist(err) {
				return err
			}
			continue
		}
		base, ext, ok := strings.Cut(n, ".")
		if !ok {
			continue
		}
		id, err := strconv.ParseUint(base, 10, 64)
		if err != nil {
			continue
		}
		switch ext {
		case "seg":
			ids = append(ids, id)
			hasSeg[id] = true
		case "idx":
			hasIdx[id] = true
		case "tier":
			if !hasSeg[id] {
				ids = append(ids, id)
			}
			hasTier[id] = true
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	ids = slices.Compact(ids)
	for id := range hasIdx {
		if !hasSeg[id] && !hasTier[id] {
			// The index of a segment whose deletion a crash interrupted.
			if err := l.fs.Remove(segName(l.opts.Dir, id, "idx")); err != nil && !vfs.IsNotExist(err) {
				return err
			}
		}
	}
	for i, id := range ids {
		last := i == len(ids)-1
		if hasTier[id] {
			tiered, err := l.openTiered(id, hasSeg[id])
			if err != nil {
				return err
			}
			if tiered {
				continue
			}
		}
		if last && !hasIdx[id] {
			if err := l.openActive(id); err != nil {
				return err
			}
			continue
		}
		if err := l.openSealed(id, hasIdx[id]); err != nil {
			return err
		}
	}
	if err := l.loadCheckpoint(); err != nil {
		return err
	}
	if l.lost > 0 {
		if err := l.reserveDamagedCounters(); err != nil {
			return err
		}
	}
	l.mu.Lock()
	for _, s := range l.shards {
		s.next = max(s.next, l.floor)
	}
	l.mu.Unlock()
	if c := l.cut; c != nil {
		// Cut only now: had a damaged frame been cut before the floor it
		// implies was durable, a crash here would forget its counters.
		l.cut = nil
		l.event(Event{Kind: "torn-tail", Segment: c.seg.id, Detail: fmt.Sprintf("truncating %d bytes at offset %d", c.size-c.at, c.at)})
		if err := c.seg.f.Truncate(c.at); err != nil {
			return err
		}
		if err := c.seg.f.Sync(); err != nil {
			return err
		}
	}
	if l.active == nil {
		next := uint64(1)
		if len(ids) > 0 {
			next = ids[len(ids)-1] + 1
		}
		if err := l.createActive(next); err != nil {
			return err
		}
	} else {
		if err := l.active.f.Sync(); err != nil {
			// The active segment may hold frames whose fsync failed before
			// the restart (the page cache kept them): they are served now,
			// so they must be durable before anything that depends on them
			// (a seal's index, later acknowledged frames) is.
			return fmt.Errorf("streamlog: syncing the active segment: %w", err)
		}
		// After a cut (a truncation releases the reservation past the new
		// end) or a crash (a reservation need not survive one).
		l.preallocate(l.active)
	}
	return nil
}

// reserveDamagedCounters makes sure no counter a damaged frame may have held
// is ever assigned again. A frame that fails its checksums cannot say which
// shards and counters it held, and it may have been acknowledged (a bit flip
// on disk) or not (a torn write); its records are gone either way, but
// their sequence numbers may be in clients' hands. Every record takes at
// least recordHdrLen bytes, so the damaged bytes held at most l.lost
// records, and every counter in them, of any shard, known or not, lies below
// (the highest next counter of any shard, or the floor already set) +
// l.lost. That becomes the floor of every shard, made durable in the
// checkpoint before appends start.
func (l *Log) reserveDamagedCounters() error {
	l.mu.Lock()
	top := max(FirstSeq, l.floor)
	for _, s := range l.shards {
		top = max(top, s.next)
	}
	l.floor = max(l.floor, top+l.lost)
	l.mu.Unlock()
	l.event(Event{Kind: "corruption", Detail: fmt.Sprintf("damaged frames may have held up to %d records: counters below %d are never assigned", l.lost, l.floor)})
	l.lost = 0
	return l.writeCheckpoint()
}

// damagedRecords is the most records n damaged bytes may have held.
func damagedRecords(n int) uint64 { return uint64(max(n, 0) / recordHdrLen) }

func (l *Log) openSealed(id uint64, hasIdx bool) error {
	f, err := l.fs.Open(segName(l.opts.Dir, id, "seg"))
	if err != nil {
		return err
	}
	seg := &segment{id: id, f: f}
	if seg.size, err = f.Size(); err != nil {
		f.Close()
		return err
	}
	var hdr [segHeaderSize]byte
	headerOK := false
	if _, err := f.ReadAt(hdr[:], 0); err == nil {
		if h, err := decodeSegHeader(hdr[:]); err == nil {
			seg.created, seg.gen, headerOK = h.created, h.gen, true
		}
	}
	var dir []dirEntry
	if hasIdx {
		idx, err := l.fs.Open(segName(l.opts.Dir, id, "idx"))
		if err == nil {
			var gen uint16
			dir, gen, err = readIndexDir(idx, id)
			switch {
			case err == nil && headerOK && gen != seg.gen:
				// A crash while compaction renamed the new segment and
				// its index into place left one of each generation: the
				// index is rebuilt from the segment, whichever it is.
				idx.Close()
				l.event(Event{Kind: "index-stale", Segment: id, Detail: fmt.Sprintf("index of generation %d beside segment of generation %d, rebuilding", gen, seg.gen)})
			case err == nil:
				seg.idx, seg.ndir, seg.gen = idx, len(dir), gen
			default:
				idx.Close()
				l.event(Event{Kind: "corruption", Segment: id, Detail: "index unreadable, rebuilding: " + err.Error()})
			}
		}
	}
	if seg.idx == nil {
		entries, err := l.scanSegment(seg, false)
		if err != nil {
			return err
		}
		if err := l.writeIndex(id, seg.gen, entries); err != nil {
			return err
		}
		idx, err := l.fs.Open(segName(l.opts.Dir, id, "idx"))
		if err != nil {
			return err
		}
		seg.idx = idx
		if dir, _, err = readIndexDir(idx, id); err != nil {
			return err
		}
		seg.ndir = len(dir)
	}
	l.installSealed(seg, dir)
	return nil
}

// shardEntries is the per-shard list of sections of one segment.
type shardEntries map[uint64][]indexEntry

// scanSegment reads a whole segment and returns its valid sections. For the
// active segment (truncate=true) the first invalid frame starts a torn tail,
// unless a valid frame follows it (then the damage is corruption, reported and
// skipped, and nothing is truncated).
func (l *Log) scanSegment(seg *segment, truncate bool) (shardEntries, error) {
	size, err := seg.f.Size()
	if err != nil {
		return nil, err
	}
	data := make([]byte, size)
	if n, err := seg.f.ReadAt(data, 0); n != len(data) {
		return nil, fmt.Errorf("streamlog: reading segment %d: %w", seg.id, err)
	}
	entries := shardEntries{}
	if len(data) < segHeaderSize {
		if truncate {
			return entries, l.resetActiveHeader(seg)
		}
		l.event(Event{Kind: "corruption", Segment: seg.id, Detail: "short segment header"})
		l.lost += damagedRecords(len(data))
		return entries, nil
	}
	if h, err := decodeSegHeader(data); err == nil {
		seg.created, seg.gen = h.created, h.gen
	} else if findNextFrame(data, segHeaderSize) >= 0 {
		// Frames follow the damaged header, so the header was durable once
		// (a new segment's header is fsynced before any frame is appended):
		// this is damage on disk, not a torn creation. The frames carry
		// their own checksums; keep them.
		l.event(Event{Kind: "corruption", Segment: seg.id, Detail: "segment header damaged (" + err.Error() + "); its frames are scanned"})
		seg.created = l.opts.Now().UnixMilli()
	} else if truncate {
		return entries, l.resetActiveHeader(seg)
	} else {
		l.event(Event{Kind: "corruption", Segment: seg.id, Detail: err.Error()})
		l.lost += damagedRecords(len(data))
		return entries, nil
	}
	p := segHeaderSize
	validEnd := p
	for p < len(data) {
		n, _, secs, err := parseFrame(data[p:], uint32(p))
		if err == nil {
			for _, s := range secs {
				entries[s.shard] = append(entries[s.shard], indexEntry{firstSeq: s.firstSeq, ts: s.firstTs, off: s.off, length: s.length, count: s.count})
			}
			p += n
			validEnd = p
			continue
		}
		if end, ok := frameEnd(data, p); ok {
			// The frame header passed its checksum, so its length is
			// trustworthy, and the bytes it covers are that frame's payload:
			// record data there may look like frames and must never be
			// searched for them.
			if end > len(data) {
				// The file ends inside the frame: a torn write, the last
				// thing ever written to this segment.
				break
			}
			l.event(Event{Kind: "corruption", Segment: seg.id, Detail: fmt.Sprintf("invalid frame at %d skipped (%v)", p, err)})
			l.lost += damagedRecords(end - p)
			p = end
			continue
		}
		// The header itself is damaged: look for a later valid frame. If
		// there is one, this is corruption in the middle, not a torn tail.
		next := findNextFrame(data, p+1)
		if next < 0 {
			break
		}
		l.event(Event{Kind: "corruption", Segment: seg.id, Detail: fmt.Sprintf("invalid frame at %d skipped (%v)", p, err)})
		l.lost += damagedRecords(next - p)
		p = next
	}
	if truncate && validEnd < len(data) {
		// Cut by recover, once the counters of any damaged frame in the cut
		// are reserved durably.
		l.cut = &tailCut{seg: seg, at: int64(validEnd), size: int64(len(data))}
	} else if !truncate && validEnd < len(data) {
		l.event(Event{Kind: "corruption", Segment: seg.id, Detail: fmt.Sprintf("invalid data at offset %d of sealed segment", validEnd)})
		l.lost += damagedRecords(len(data) - validEnd)
	}
	l.actSize = int64(validEnd)
	return entries, nil
}

func (l *Log) resetActiveHeader(seg *segment) error {
	if err := seg.f.Truncate(0); err != nil {
		return err
	}
	seg.created, seg.gen = l.opts.Now().UnixMilli(), 0
	if _, err := seg.f.Write(encodeSegHeader(segHeader{id: seg.id, created: seg.created})); err != nil {
		return err
	}
	l.actSize = segHeaderSize
	return seg.f.Sync()
}

func (l *Log) openActive(id uint64) error {
	f, err := l.fs.OpenAppend(segName(l.opts.Dir, id, "seg"))
	if err != nil {
		return err
	}
	seg := &segment{id: id, f: f}
	entries, err := l.scanSegment(seg, true)
	if err != nil {
		f.Close()
		return err
	}
	// The last timestamp of each shard needs the last record's time; read it
	// from the last section.
	lastTs := make(map[uint64]int64, len(entries))
	for shard, es := range entries {
		last := es[len(es)-1]
		b := make([]byte, last.length)
		if _, err := f.ReadAt(b, int64(last.off)); err == nil {
			if si, err := parseSection(b, last.off); err == nil {
				lastTs[shard] = si.lastTs
			}
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for shard, es := range entries {
		s := l.shardLocked(shard)
		s.active = es
		last := es[len(es)-1]
		if last.lastSeq()+1 > s.next {
			s.next = last.lastSeq() + 1
		}
		if ts, ok := lastTs[shard]; ok && ts > s.lastTs {
			s.lastTs = ts
		}
	}
	l.active = seg
	return nil
}

func (l *Log) createActive(id uint64) error {
	seg, err := l.newSegment(id)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.active = seg
	l.actSize = segHeaderSize
	l.mu.Unlock()
	return nil
}

// newSegment creates segment id with its header, durably, without
// installing it.
func (l *Log) newSegment(id uint64) (*segment, error) {
	name := segName(l.opts.Dir, id, "seg")
	f, err := l.fs.Create(name)
	if err != nil {
		return nil, err
	}
	created := l.opts.Now().UnixMilli()
	if _, err := f.Write(encodeSegHeader(segHeader{id: id, created: created})); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	if err := l.fs.SyncDir(l.opts.Dir); err != nil {
		f.Close()
		return nil, err
	}
	// Appends go through an O_APPEND handle, so that after Recover truncates
	// a failed write away the next frame lands at the new end.
	if err := f.Close(); err != nil {
		return nil, err
	}
	if f, err = l.fs.OpenAppend(name); err != nil {
		return nil, err
	}
	seg := &segment{id: id, f: f, created: created}
	l.preallocate(seg)
	return seg, nil
}

// preallocate reserves the disk blocks of the active segment up to
// SegmentBytes without changing its size (vfs.Allocate, FORMAT.md): the
// filesystem then allocates no blocks as frames are appended and written
// back, which is kernel CPU on every commit. The file's size stays the end
// of its last frame, so nothing else changes. It is a hint: a filesystem
// that cannot reserve is logged and otherwise ignored.
func (l *Log) preallocate(seg *segment) {
	if err := vfs.Allocate(seg.f, 0, l.opts.SegmentBytes); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		l.log.Debug("streamlog: preallocating the active segment", "segment", seg.id, "err", err)
	}
}

// SetFence sets the fence token appends must carry. Appends with another
// token fail with ErrFenced.
func (l *Log) SetFence(fence uint64) {
	l.mu.Lock()
	l.fence = fence
	l.mu.Unlock()
}

// Append durably appends entries and returns their positions, in order. It
// returns only after the records are fsynced (or an error: then none of them
// is acknowledged, though they may survive a crash and reappear).
func (l *Log) Append(ctx context.Context, fence uint64, entries []Entry) ([]Appended, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	for i := range entries {
		// The record header stores these lengths in 16 and 32 bits; a longer
		// field would be acknowledged and then be unreadable.
		if kl, dl := len(entries[i].PartitionKey), uint64(len(entries[i].Data)); kl > math.MaxUint16 || dl > math.MaxUint32 {
			return nil, fmt.Errorf("streamlog: entry %d: partition key of %d bytes or data of %d bytes exceeds the format's limit", i, kl, dl)
		}
	}
	r := &appendReq{fence: fence, entries: entries, done: make(chan struct{})}
	if err := l.submit(ctx, r); err != nil {
		return nil, err
	}
	return r.res, r.err
}

func (l *Log) submit(ctx context.Context, r *appendReq) error {
	l.mu.RLock()
	closed, failed := l.closed, l.failed
	l.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	if failed != nil {
		return failed
	}
	if l.tier != nil && len(r.entries) > 0 && l.tier.full() {
		return ErrLocalFull
	}
	n := int64(reqBytes(r))
	l.pending.Add(n)
	select {
	case l.reqs <- r:
	case <-l.stop:
		l.pending.Add(-n)
		return ErrClosed
	case <-ctx.Done():
		l.pending.Add(-n)
		return ctx.Err()
	}
	defer l.pending.Add(-n)
	// Once submitted, wait for the outcome regardless of ctx: the commit is
	// short and the caller must learn whether it was acknowledged. If Close
	// won the race (the send landed in the buffer after the writer drained it
	// and exited), nobody will ever complete r: report ErrClosed.
	select {
	case <-r.done:
	case <-l.done:
		select {
		case <-r.done:
		default:
			return ErrClosed
		}
	}
	return nil
}

// Roll seals the active segment if it holds any record.
func (l *Log) Roll(ctx context.Context) error {
	r := &appendReq{roll: true, done: make(chan struct{})}
	if err := l.submit(ctx, r); err != nil {
		return err
	}
	return r.err
}

func (l *Log) writer() {
	defer close(l.done)
	var group []*appendReq
	for {
		select {
		case r := <-l.reqs:
			group = append(group[:0], r)
		case <-l.stop:
			// Drain what was submitted before Close and fail it cleanly.
			for {
				select {
				case r := <-l.reqs:
					r.err = ErrClosed
					close(r.done)
				default:
					return
				}
			}
		}
		bytes := reqBytes(group[0])
	drain:
		for bytes < l.opts.MaxGroupBytes {
			select {
			case r := <-l.reqs:
				group = append(group, r)
				bytes += reqBytes(r)
			default:
				break drain
			}
		}
		l.commit(group)
		for _, r := range group {
			close(r.done)
		}
	}
}

func reqBytes(r *appendReq) int {
	n := 0
	for i := range r.entries {
		n += len(r.entries[i].Data) + len(r.entries[i].PartitionKey) + recordHdrLen
	}
	return n
}

// commit writes one group: one frame, one fsync.
func (l *Log) commit(group []*appendReq) {
	for _, r := range group {
		if r.recover {
			r.err = l.tryRecover()
		}
	}
	l.mu.RLock()
	failed, fence := l.failed, l.fence
	l.mu.RUnlock()
	if failed != nil {
		for _, r := range group {
			r.err = failed
		}
		return
	}
	var live []*appendReq
	roll := false
	for _, r := range group {
		switch {
		case r.roll:
			roll = true
		case r.recover:
			// Answered above; it carries no records and no fence.
		case r.fence != fence:
			r.err = ErrFenced
		default:
			live = append(live, r)
		}
	}
	now := l.opts.Now()
	if l.actSize >= l.opts.SegmentBytes || (roll || now.Sub(time.UnixMilli(l.active.created)) >= l.opts.SegmentAge) && l.actSize > segHeaderSize {
		if err := l.seal(); err != nil {
			l.fail(err)
			for _, r := range group {
				r.err = l.failed
			}
			return
		}
	}
	if len(live) == 0 {
		return
	}

	// Group entries by shard, keeping per-shard order: section order is the
	// order in which shards first appear.
	type pending struct {
		shard uint64
		state *shardState
		reqs  []int // indexes into flat
	}
	type ref struct {
		r *appendReq
		i int
	}
	var order []*pending
	byShard := make(map[uint64]*pending)
	var flat []ref
	l.mu.Lock()
	for _, r := range live {
		r.res = make([]Appended, len(r.entries))
		for i := range r.entries {
			sh := r.entries[i].Shard
			p := byShard[sh]
			if p == nil {
				p = &pending{shard: sh, state: l.shardLocked(sh)}
				byShard[sh] = p
				order = append(order, p)
			}
			p.reqs = append(p.reqs, len(flat))
			flat = append(flat, ref{r, i})
		}
	}
	l.mu.Unlock()

	ms := now.UnixMilli()
	buf := appendFrameHeader(l.buf[:0])
	frameStart := l.actSize
	type secOut struct {
		p     *pending
		e     indexEntry
		endTs int64
	}
	secs := make([]secOut, 0, len(order))
	for _, p := range order {
		secStart := len(buf)
		buf = appendSectionHeader(buf)
		seq := p.state.next
		ts := ms
		if ts < p.state.lastTs {
			ts = p.state.lastTs // timestamps never go back within a shard
		}
		first := seq
		for _, fi := range p.reqs {
			rf := flat[fi]
			e := &rf.r.entries[rf.i]
			buf = appendRecord(buf, seq, ts, e.Flags, e.PartitionKey, e.Data)
			rf.r.res[rf.i] = Appended{Seq: seq, Timestamp: ts}
			seq++
		}
		encodeSectionHeader(buf[secStart:], p.shard, len(p.reqs))
		secs = append(secs, secOut{p: p, e: indexEntry{
			firstSeq: first, ts: ts, off: uint32(frameStart) + uint32(secStart),
			length: uint32(len(buf) - secStart), count: uint32(len(p.reqs)),
		}, endTs: ts})
	}
	encodeFrameHeader(buf, fence, len(order))
	l.buf = buf

	if _, err := l.active.f.Write(buf); err != nil {
		l.fail(fmt.Errorf("write segment %d: %w", l.active.id, err))
	} else {
		t0 := time.Now()
		if err := vfs.Datasync(l.active.f); err != nil {
			l.fail(fmt.Errorf("fsync segment %d: %w", l.active.id, err))
		} else if l.opts.OnCommit != nil {
			l.opts.OnCommit(len(buf), len(flat), time.Since(t0))
		}
	}
	if l.failed != nil {
		for _, r := range live {
			r.res, r.err = nil, l.failed
		}
		return
	}

	l.mu.Lock()
	for _, s := range secs {
		st := s.p.state
		st.active = append(st.active, s.e)
		st.next = s.e.lastSeq() + 1
		st.lastTs = s.endTs
	}
	l.actSize += int64(len(buf))
	ch := l.changed
	l.changed = make(chan struct{})
	l.mu.Unlock()
	close(ch)
	if cap(l.buf) > 4*l.opts.MaxGroupBytes {
		l.buf = nil // do not pin a huge buffer
	}
}

func (l *Log) fail(err error) {
	l.mu.Lock()
	if l.failed == nil {
		l.failed = fmt.Errorf("%w: %w", ErrFailed, err)
	}
	l.mu.Unlock()
	l.event(Event{Kind: "write-failed", Segment: l.active.id, Detail: err.Error()})
}

// Recover tries to clear a failure once its cause has gone (space freed, a
// disk error cleared): it cuts the active segment back to the end of the last
// acknowledged frame, removes an index a failed seal may have left, and
// fsyncs both. Everything acknowledged was fsynced before the failure, so
// nothing acknowledged is touched; the failed, unacknowledged frame is
// discarded rather than trusted (after a failed fsync the page cache may hold
// bytes the disk never got). It returns nil once appends are accepted again.
func (l *Log) Recover(ctx context.Context) error {
	if l.Failed() == nil {
		return nil
	}
	r := &appendReq{recover: true, done: make(chan struct{})}
	select {
	case l.reqs <- r:
	case <-l.stop:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-r.done:
		return r.err
	case <-l.done:
		select {
		case <-r.done:
			return r.err
		default:
			return ErrClosed
		}
	}
}

// tryRecover runs in the writer.
func (l *Log) tryRecover() error {
	l.mu.RLock()
	failed, seg, size, fence := l.failed, l.active, l.actSize, l.fence
	l.mu.RUnlock()
	if failed == nil {
		return nil
	}
	idx := segName(l.opts.Dir, seg.id, "idx")
	if _, err := l.fs.Stat(idx); err == nil {
		if err := l.fs.Remove(idx); err != nil {
			return fmt.Errorf("streamlog: recover: %w", err)
		}
	}
	if err := seg.f.Truncate(size); err != nil {
		return fmt.Errorf("streamlog: recover: %w", err)
	}
	// Probe the write path with an empty frame (no sections: valid, holds
	// no records), so a persisting write fault keeps the log failed.
	probe := encodeFrame(fence)
	if _, err := seg.f.Write(probe); err != nil {
		seg.f.Truncate(size)
		return fmt.Errorf("streamlog: recover: %w", err)
	}
	if err := seg.f.Sync(); err != nil {
		return fmt.Errorf("streamlog: recover: %w", err)
	}
	l.mu.Lock()
	l.actSize = size + frameHeaderLen
	l.mu.Unlock()
	l.preallocate(seg) // the truncation released the reservation
	if err := l.fs.SyncDir(l.opts.Dir); err != nil {
		return fmt.Errorf("streamlog: recover: %w", err)
	}
	l.mu.Lock()
	l.failed = nil
	l.mu.Unlock()
	l.event(Event{Kind: "recovered", Segment: seg.id, Detail: "appends accepted again after: " + failed.Error()})
	return nil
}

// Stats describes the log for monitoring.
type Stats struct {
	Segments     int   // sealed segments plus the active one
	PendingBytes int64 // appended but not yet fsynced and answered
	// Tier describes tiered storage; nil without Options.Tier.
	Tier *TierStats
}

// Stats returns the log's current statistics.
func (l *Log) Stats() Stats {
	l.mu.RLock()
	n := len(l.segments) + 1
	l.mu.RUnlock()
	st := Stats{Segments: n, PendingBytes: l.pending.Load()}
	if l.tier != nil {
		ts := l.tier.stats()
		st.Tier = &ts
	}
	return st
}

// Failed returns the sticky error that stopped appends, or nil.
func (l *Log) Failed() error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.failed
}

// Changed returns a channel closed at the next commit. Readers waiting for
// new records select on it.
func (l *Log) Changed() <-chan struct{} {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.changed
}

// seal writes the active segment's index, then starts a new active segment.
// Called by the writer only.
func (l *Log) seal() error {
	old := l.active
	if l.actSize < l.opts.SegmentBytes {
		// Sealed before it was full (by age or Roll): release the blocks
		// reserved past its end (preallocate). Truncating to the size it
		// has changes no byte. A failure costs only disk space.
		if err := old.f.Truncate(l.actSize); err != nil {
			l.log.Debug("streamlog: releasing the reservation of a sealed segment", "segment", old.id, "err", err)
		}
	}
	l.mu.RLock()
	entries := shardEntries{}
	for key, s := range l.shards {
		if len(s.active) > 0 {
			entries[key] = s.active
		}
	}
	l.mu.RUnlock()
	if err := l.writeIndex(old.id, old.gen, entries); err != nil {
		return err
	}
	idx, err := l.fs.Open(segName(l.opts.Dir, old.id, "idx"))
	if err != nil {
		return err
	}
	dir, _, err := readIndexDir(idx, old.id)
	if err != nil {
		idx.Close()
		return err
	}
	next, err := l.newSegment(old.id + 1)
	if err != nil {
		idx.Close()
		return err
	}
	// The old append handle keeps serving reads (ReadAt) as the sealed file.
	// Installing the new active segment and moving the old one's entries to
	// the sealed lists is one step under mu: a reader must never pair the
	// new active file with the old one's offsets.
	l.mu.Lock()
	old.idx, old.ndir, old.size = idx, len(dir), l.actSize
	for _, d := range dir {
		s := l.shards[d.shard]
		s.sealed = append(s.sealed, sealedRef{seg: old, first: d.first, count: d.count,
			firstSeq: d.firstSeq, lastSeq: d.lastSeq, minTs: d.minTs, maxTs: d.maxTs})
		s.active = nil
	}
	l.segments = append(l.segments, old)
	l.active = next
	l.actSize = segHeaderSize
	// The sealed segment that falls out of the cached window, held so that
	// a sweep cannot close it while its pages are dropped.
	var drop *segment
	if keep := l.opts.CachedSegments - 1; l.opts.CachedSegments > 0 && len(l.segments) > keep {
		drop = l.segments[len(l.segments)-1-keep]
		drop.acquire()
	}
	l.mu.Unlock()
	l.event(Event{Kind: "segment-sealed", Segment: old.id})
	if l.tier != nil {
		l.tier.sealed()
	}
	if drop != nil {
		l.dropPages(drop.f, drop.id)
		drop.release()
	}
	return nil
}

// dropPages drops the cached pages of a segment file whose bytes are all
// durable (see Options.CachedSegments). It is a hint: a failure is logged
// and otherwise ignored.
func (l *Log) dropPages(f vfs.File, id uint64) {
	if err := vfs.DontNeed(f, 0, 0); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		l.log.Debug("streamlog: dropping cached pages", "segment", id, "err", err)
	}
}

// Close stops the writer (failing queued appends with ErrClosed) and closes
// every file. Appends already being committed finish first.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	close(l.stop)
	<-l.done
	if l.tier != nil {
		l.tier.stop()
	}
	// A sweep in progress reads and rewrites sealed segments through their
	// files: let it finish (it stops early once it sees closed) first.
	l.sweepMu.Lock()
	defer l.sweepMu.Unlock()
	l.closeAll()
	return nil
}

func (l *Log) closeAll() {
	l.mu.Lock()
	segs, active := append([]*segment(nil), l.segments...), l.active
	l.mu.Unlock()
	for _, s := range segs {
		s.closeFiles()
	}
	if active != nil {
		active.closeFiles()
	}
}
