package streamlog

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rheos/rheos/internal/blob"
	"github.com/rheos/rheos/internal/vfs"
)

// Tiered storage (issue 18; the cluster design's phase P1). With
// Options.Tier set, sealed segments and their indexes are uploaded to a
// blob.Store and their local copies dropped: local disk then holds the
// active segment, segments still waiting for upload, the small index files
// and a bounded read cache, so long retention costs object storage, not
// local disk. Reads of a tiered segment go through the cache (tiercache.go)
// in fixed-size chunks fetched with ranged GETs; section checksums are
// verified by the readers as for local segments.
//
// Keys: <logID>/seg/<id, 20 digits>-<generation, 5 digits>.seg and .idx.
// The log ID is random, made when the directory is first opened with
// tiering (log.id), so two logs sharing a bucket prefix never touch each
// other's objects. A compacted segment is a new generation, hence new keys:
// objects are never overwritten.
//
// Upload of segment N, generation g (by one goroutine, oldest first):
//
//  1. the segment and then its index are put (put-if-absent, with size and
//     SHA-256, which the store verifies); a key that already exists (a crash
//     after an earlier put) is accepted if its size and checksum match,
//     otherwise deleted and put again; failures are retried with backoff;
//  2. N.tier, the marker, is written (tmp file, fsync, rename, directory
//     fsync): generation, creation time, sizes and checksums;
//  3. the segment is swapped in memory for one that reads from the store
//     (readers holding the local one keep its open file), and N.seg is
//     removed.
//
// A crash before 2 leaves N.seg local and the objects unreferenced: the
// upload starts again (step 1 accepts the objects) or, had the segment been
// deleted meanwhile, the orphan sweep removes them. A crash between 2 and
// 3 leaves N.seg beside a marker of its generation: Open removes the local
// copy. A marker of another generation than N.seg (compaction rewrote a
// tiered segment locally) is stale: Open removes it and the new generation
// is uploaded. Deleting a tiered segment removes N.tier, then N.idx, then
// the objects; a crash after the first step leaves objects only the orphan
// sweep collects, which lists the log's prefix and deletes every object
// that no segment of the log (tiered, local or being uploaded) accounts for.

// TierOptions configures tiered storage. Store is required.
type TierOptions struct {
	// Store receives the sealed segments and their indexes.
	Store blob.Store
	// CacheDir holds the read cache. Default <Dir>/cache. Its files are
	// disposable: Open empties it.
	CacheDir string
	// CacheBytes bounds the read cache. Default 1 GiB.
	CacheBytes int64
	// ChunkBytes is the unit of a cache fill (one ranged GET). Default 1 MiB.
	ChunkBytes int64
	// LocalLimitBytes bounds the segment bytes on local disk: sealed
	// segments waiting for upload plus the active segment (counted at
	// SegmentBytes, the size its blocks are reserved to). Appends that
	// would start beyond it fail with ErrLocalFull until uploads catch up.
	// 0: unlimited. It must leave room for at least two segments.
	LocalLimitBytes int64
	// OrphanSweepEvery is how often Sweep lists the store for objects no
	// segment accounts for. Default 10 minutes; the first sweep after Open
	// always looks.
	OrphanSweepEvery time.Duration
	// RetryMin and RetryMax bound the backoff between failed uploads.
	// Defaults 1 s and 30 s.
	RetryMin, RetryMax time.Duration
	// UploadBytesPerSec paces segment uploads (0: as fast as the store
	// takes them). An upload is a burst of a whole segment (64 MiB) of
	// reading, hashing and sending; pacing spreads it so that it takes
	// less from the put path on a small machine. It must stay above the
	// sustained ingest rate, or the upload backlog grows.
	UploadBytesPerSec int64
}

// ErrLocalFull is returned by Append when tiered uploads have fallen so far
// behind that local segments reached TierOptions.LocalLimitBytes. It is
// temporary: appends are accepted again as uploads catch up.
var ErrLocalFull = errors.New("streamlog: local disk limit reached while sealed segments wait for upload to the blob store")

// TierStats describes tiered storage for monitoring (Stats.Tier).
type TierStats struct {
	TieredSegments  int   // sealed segments held only in the blob store
	TieredBytes     int64 // their bytes
	BacklogSegments int   // sealed segments waiting for upload
	BacklogBytes    int64 // their bytes
	LocalBytes      int64 // sealed local bytes plus the active segment's reservation
	LocalLimit      int64 // TierOptions.LocalLimitBytes (0: none)
	Uploads         int64 // segments uploaded since Open
	UploadedBytes   int64
	UploadFailures  int64
	LastError       string // the last upload failure, "" once one succeeds
	OrphansDeleted  int64
	CacheBytes      int64 // bytes in the read cache
	CacheLimit      int64
	CacheHits       int64 // chunk reads served from the cache
	CacheMisses     int64 // chunk reads that fetched from the store
}

const (
	tierMagic    = "RHEOSTIR"
	tierFileLen  = 108
	logIDFile    = "log.id"
	tierKeyInfix = "/seg/"
)

// tierMarker is the content of <id>.tier (FORMAT.md).
type tierMarker struct {
	gen     uint16
	created int64
	segSize int64
	segSHA  [32]byte
	idxSize int64
	idxSHA  [32]byte
}

func encodeTierMarker(m tierMarker) []byte {
	b := make([]byte, tierFileLen)
	copy(b, tierMagic)
	le.PutUint16(b[8:], formatVersion)
	le.PutUint16(b[10:], m.gen)
	le.PutUint64(b[16:], uint64(m.created))
	le.PutUint64(b[24:], uint64(m.segSize))
	copy(b[32:64], m.segSHA[:])
	le.PutUint64(b[64:], uint64(m.idxSize))
	copy(b[72:104], m.idxSHA[:])
	le.PutUint32(b[104:], crc(b[:104]))
	return b
}

func decodeTierMarker(b []byte) (tierMarker, error) {
	var m tierMarker
	if len(b) != tierFileLen || string(b[:8]) != tierMagic {
		return m, corruptf("tier marker: bad length or magic")
	}
	if crc(b[:104]) != le.Uint32(b[104:]) {
		return m, corruptf("tier marker checksum")
	}
	if v := le.Uint16(b[8:]); v != formatVersion {
		return m, fmt.Errorf("%w: tier marker version %d", ErrUnsupportedVersion, v)
	}
	m.gen = le.Uint16(b[10:])
	m.created = int64(le.Uint64(b[16:]))
	m.segSize = int64(le.Uint64(b[24:]))
	copy(m.segSHA[:], b[32:64])
	m.idxSize = int64(le.Uint64(b[64:]))
	copy(m.idxSHA[:], b[72:104])
	return m, nil
}

// segGen names one generation of one segment.
type segGen struct {
	id  uint64
	gen uint16
}

// tierer uploads sealed segments, serves tiered ones through the cache and
// collects orphaned objects. Its goroutine is started by Open and stopped
// by Close before the files close.
type tierer struct {
	l      *Log
	opts   TierOptions
	store  blob.Store
	prefix string // <logID>/seg/
	cache  *chunkCache
	pace   *pacer // nil: unpaced

	wake   chan struct{} // a segment was sealed (capacity 1)
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	localSealed atomic.Int64 // bytes of sealed segments not yet tiered

	deletes sync.WaitGroup // deletions of retired segments' objects (deleteWhenClosed)

	mu           sync.Mutex // guards the fields below
	inflight     map[segGen]bool
	held         map[segGen]int // retired tiered segments readers still hold (their objects stay)
	stopped      bool           // stop was called: no new deletions
	uploads      int64
	uploadBytes  int64
	failures     int64
	lastErr      string
	orphans      int64
	lastOrphanAt time.Time
}

func newTierer(l *Log, opts TierOptions) (*tierer, error) {
	if opts.Store == nil {
		return nil, errors.New("streamlog: TierOptions.Store is required")
	}
	if opts.CacheDir == "" {
		opts.CacheDir = filepath.Join(l.opts.Dir, "cache")
	}
	if opts.CacheBytes <= 0 {
		opts.CacheBytes = 1 << 30
	}
	if opts.ChunkBytes <= 0 {
		opts.ChunkBytes = 1 << 20
	}
	if opts.OrphanSweepEvery <= 0 {
		opts.OrphanSweepEvery = 10 * time.Minute
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = time.Second
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = 30 * time.Second
	}
	if opts.LocalLimitBytes > 0 && opts.LocalLimitBytes < 2*l.opts.SegmentBytes {
		return nil, fmt.Errorf("streamlog: local disk limit %d must hold at least two segments of %d bytes", opts.LocalLimitBytes, l.opts.SegmentBytes)
	}
	id, err := l.logID()
	if err != nil {
		return nil, err
	}
	cache, err := newChunkCache(l.fs, opts.CacheDir, opts.Store, opts.ChunkBytes, opts.CacheBytes)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &tierer{l: l, opts: opts, store: opts.Store, prefix: id + tierKeyInfix, cache: cache,
		wake: make(chan struct{}, 1), ctx: ctx, cancel: cancel, done: make(chan struct{}),
		inflight: map[segGen]bool{}, held: map[segGen]int{}}
	if opts.UploadBytesPerSec > 0 {
		t.pace = &pacer{rate: opts.UploadBytesPerSec}
	}
	return t, nil
}

// logID returns the directory's log ID, making one if there is none.
func (l *Log) logID() (string, error) {
	name := filepath.Join(l.opts.Dir, logIDFile)
	b, err := vfs.ReadFile(l.fs, name)
	if err == nil {
		id := strings.TrimSpace(string(b))
		if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
			return "", corruptf("%s: not a log ID", logIDFile)
		}
		return id, nil
	}
	if !vfs.IsNotExist(err) {
		return "", err
	}
	// A new ID names a new prefix: tiered segments of the old one would
	// be unreadable (and their objects never collected).
	names, err := l.fs.ReadDir(l.opts.Dir)
	if err != nil && !vfs.IsNotExist(err) {
		return "", err
	}
	for _, n := range names {
		if strings.HasSuffix(n, ".tier") {
			return "", corruptf("%s is missing but tiered segments (%s) name objects under it: restore it (the ID is the first path element of their objects' keys)", logIDFile, n)
		}
	}
	var r [16]byte
	rand.Read(r[:])
	id := hex.EncodeToString(r[:])
	if err := vfs.WriteFileAtomic(l.fs, name, []byte(id+"\n")); err != nil {
		return "", err
	}
	return id, nil
}

func (t *tierer) key(s segGen, ext string) string {
	return fmt.Sprintf("%s%020d-%05d.%s", t.prefix, s.id, s.gen, ext)
}

// parseKey is key's inverse; ok is false for a key of another shape.
func (t *tierer) parseKey(key string) (s segGen, ext string, ok bool) {
	rest, found := strings.CutPrefix(key, t.prefix)
	if !found {
		return s, "", false
	}
	base, ext, found := strings.Cut(rest, ".")
	idS, genS, found2 := strings.Cut(base, "-")
	if !found || !found2 || (ext != "seg" && ext != "idx") {
		return s, "", false
	}
	id, err1 := strconv.ParseUint(idS, 10, 64)
	gen, err2 := strconv.ParseUint(genS, 10, 16)
	if err1 != nil || err2 != nil {
		return s, "", false
	}
	return segGen{id, uint16(gen)}, ext, true
}

// remoteFile is a tiered segment: reads go through the cache; it cannot be
// written.
type remoteFile struct {
	t    *tierer
	key  string
	size int64
}

var errRemoteReadOnly = errors.New("streamlog: a tiered segment is read-only")

func (f *remoteFile) ReadAt(p []byte, off int64) (int, error) {
	return f.t.cache.readAt(f.key, f.size, p, off)
}
func (f *remoteFile) Write([]byte) (int, error) { return 0, errRemoteReadOnly }
func (f *remoteFile) Sync() error               { return errRemoteReadOnly }
func (f *remoteFile) Truncate(int64) error      { return errRemoteReadOnly }
func (f *remoteFile) Size() (int64, error)      { return f.size, nil }
func (f *remoteFile) Name() string              { return "blob:" + f.key }
func (f *remoteFile) Close() error              { return nil }

// openTiered opens segment id from its marker during recovery. hasSeg says
// a local N.seg exists too. It returns false when the marker is stale (the
// local segment is another generation): the marker is removed and the
// caller opens the local segment.
func (l *Log) openTiered(id uint64, hasSeg bool) (bool, error) {
	markerPath := segName(l.opts.Dir, id, "tier")
	b, err := vfs.ReadFile(l.fs, markerPath)
	if err != nil {
		return false, fmt.Errorf("streamlog: tier marker of segment %d: %w", id, err)
	}
	m, err := decodeTierMarker(b)
	if err != nil {
		return false, fmt.Errorf("streamlog: segment %d: %w", id, err)
	}
	segPath := segName(l.opts.Dir, id, "seg")
	if hasSeg {
		localGen, err := l.segmentGen(segPath)
		if err != nil {
			// Not knowing which generation it is, keep it: it may be the
			// only copy of a compacted generation.
			return false, fmt.Errorf("streamlog: segment %d has a tier marker and a local copy whose generation cannot be read: %w", id, err)
		}
		if localGen != m.gen {
			// Compacted after it was tiered; the crash came before the
			// new generation's upload. The local one is current.
			if err := l.fs.Remove(markerPath); err != nil {
				return false, err
			}
			return false, nil
		}
		// Uploaded, marked, not yet removed: the store holds it.
		if err := l.fs.Remove(segPath); err != nil && !vfs.IsNotExist(err) {
			return false, err
		}
	}
	t := l.tier
	if t == nil {
		return false, fmt.Errorf("streamlog: segment %d is held in a blob store (%s): open the log with that store configured", id, markerPath)
	}
	sg := segGen{id, m.gen}
	idxPath := segName(l.opts.Dir, id, "idx")
	idx, dir, err := l.openTierIndex(idxPath, id, m)
	if err != nil {
		return false, err
	}
	seg := &segment{id: id, created: m.created, gen: m.gen, size: m.segSize, remote: true,
		f: &remoteFile{t: t, key: t.key(sg, "seg"), size: m.segSize}, idx: idx, ndir: len(dir)}
	l.installSealed(seg, dir)
	return true, nil
}

// segmentGen reads the generation in a segment file's header.
func (l *Log) segmentGen(path string) (uint16, error) {
	f, err := l.fs.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var hdr [segHeaderSize]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		return 0, err
	}
	h, err := decodeSegHeader(hdr[:])
	if err != nil {
		return 0, err
	}
	return h.gen, nil
}

// openTierIndex opens a tiered segment's local index, fetching it back from
// the store when it is missing or damaged.
func (l *Log) openTierIndex(path string, id uint64, m tierMarker) (vfs.File, []dirEntry, error) {
	if idx, err := l.fs.Open(path); err == nil {
		dir, gen, err := readIndexDir(idx, id)
		if err == nil && gen == m.gen {
			return idx, dir, nil
		}
		idx.Close()
	}
	t := l.tier
	if t == nil {
		return nil, nil, fmt.Errorf("streamlog: segment %d: no usable local index and no blob store", id)
	}
	l.event(Event{Kind: "corruption", Segment: id, Detail: "local index of a tiered segment missing or unreadable, fetching it from the blob store"})
	ctx, cancel := context.WithTimeout(t.ctx, time.Minute)
	defer cancel()
	rc, err := t.store.Get(ctx, t.key(segGen{id, m.gen}, "idx"), 0, -1)
	if err != nil {
		return nil, nil, fmt.Errorf("streamlog: fetching the index of segment %d: %w", id, err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("streamlog: fetching the index of segment %d: %w", id, err)
	}
	if sum := sha256.Sum256(b); int64(len(b)) != m.idxSize || sum != m.idxSHA {
		return nil, nil, corruptf("segment %d: the stored index does not match its marker", id)
	}
	if err := vfs.WriteFileAtomic(l.fs, path, b); err != nil {
		return nil, nil, err
	}
	idx, err := l.fs.Open(path)
	if err != nil {
		return nil, nil, err
	}
	dir, _, err := readIndexDir(idx, id)
	if err != nil {
		idx.Close()
		return nil, nil, err
	}
	return idx, dir, nil
}

// installSealed publishes a sealed segment found by recovery (local or
// tiered), raising its shards' next counters and times past it.
func (l *Log) installSealed(seg *segment, dir []dirEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, d := range dir {
		s := l.shardLocked(d.shard)
		s.sealed = append(s.sealed, sealedRef{seg: seg, first: d.first, count: d.count,
			firstSeq: d.firstSeq, lastSeq: d.lastSeq, minTs: d.minTs, maxTs: d.maxTs})
		if d.lastSeq+1 > s.next {
			s.next = d.lastSeq + 1
		}
		if d.maxTs > s.lastTs {
			s.lastTs = d.maxTs
		}
	}
	l.segments = append(l.segments, seg)
}

// start launches the upload loop.
func (t *tierer) start() {
	t.refreshLocal()
	go t.run()
}

// stop cancels uploads in progress and waits for the loop to exit.
func (t *tierer) stop() {
	t.mu.Lock()
	t.stopped = true
	t.mu.Unlock()
	t.cancel()
	<-t.done
	t.deletes.Wait()
	t.cache.close()
}

// sealed wakes the upload loop (called by the writer after a seal).
func (t *tierer) sealed() {
	t.refreshLocal()
	t.wakeUp()
}

// wakeUp makes the upload loop look for work.
func (t *tierer) wakeUp() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// refreshLocal recounts the bytes of sealed segments not yet tiered.
func (t *tierer) refreshLocal() {
	var n int64
	t.l.mu.RLock()
	defer t.l.mu.RUnlock()
	for _, s := range t.l.segments {
		if !s.remote {
			n += s.size
		}
	}
	// Stored under the lock: every change to the segment list takes it
	// exclusively, so counts are stored in the order of the lists they
	// were taken from (an older, higher count cannot overwrite a newer).
	t.localSealed.Store(n)
}

// full reports whether an append must wait for uploads (ErrLocalFull).
func (t *tierer) full() bool {
	lim := t.opts.LocalLimitBytes
	return lim > 0 && t.localSealed.Load()+t.l.opts.SegmentBytes > lim
}

func (t *tierer) run() {
	defer close(t.done)
	backoff := t.opts.RetryMin
	for {
		seg := t.next()
		if seg == nil {
			select {
			case <-t.ctx.Done():
				return
			case <-t.wake:
			}
			continue
		}
		err := t.upload(seg)
		seg.release()
		if t.ctx.Err() != nil {
			return
		}
		if err != nil {
			t.mu.Lock()
			t.failures++
			t.lastErr = err.Error()
			t.mu.Unlock()
			t.l.log.Warn("streamlog: segment upload failed, retrying", "segment", seg.id, "in", backoff, "err", err)
			select {
			case <-t.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, t.opts.RetryMax)
			continue
		}
		backoff = t.opts.RetryMin
	}
}

// next returns the oldest sealed segment not yet tiered, acquired, or nil.
func (t *tierer) next() *segment {
	t.l.mu.RLock()
	defer t.l.mu.RUnlock()
	for _, s := range t.l.segments {
		if !s.remote {
			s.acquire()
			return s
		}
	}
	return nil
}

// upload tiers one sealed segment (the steps in the file comment).
func (t *tierer) upload(seg *segment) error {
	l := t.l
	sg := segGen{seg.id, seg.gen}
	t.mu.Lock()
	t.inflight[sg] = true
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		delete(t.inflight, sg)
		t.mu.Unlock()
	}()
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(seg.f, 0, seg.size)); err != nil {
		return fmt.Errorf("reading segment %d: %w", seg.id, err)
	}
	m := tierMarker{gen: seg.gen, created: seg.created, segSize: seg.size}
	h.Sum(m.segSHA[:0])
	idxBytes, err := vfs.ReadFile(l.fs, segName(l.opts.Dir, seg.id, "idx"))
	if err != nil {
		return fmt.Errorf("reading the index of segment %d: %w", seg.id, err)
	}
	m.idxSize, m.idxSHA = int64(len(idxBytes)), sha256.Sum256(idxBytes)
	var body io.ReadSeeker = io.NewSectionReader(seg.f, 0, seg.size)
	if t.opts.UploadBytesPerSec > 0 {
		body = &pacedReader{r: body, p: t.pace, ctx: t.ctx}
	}
	if err := t.put(t.key(sg, "seg"), body, seg.size, m.segSHA[:]); err != nil {
		return err
	}
	if err := t.put(t.key(sg, "idx"), bytes.NewReader(idxBytes), m.idxSize, m.idxSHA[:]); err != nil {
		return err
	}

	// Switch over, unless a sweep deleted or compacted the segment while it
	// was uploading (its objects are then orphans for the next sweep).
	l.sweepMu.Lock()
	defer l.sweepMu.Unlock()
	l.mu.RLock()
	current := !l.closed && slices.Contains(l.segments, seg)
	l.mu.RUnlock()
	if !current {
		return nil
	}
	if err := vfs.WriteFileAtomic(l.fs, segName(l.opts.Dir, seg.id, "tier"), encodeTierMarker(m)); err != nil {
		return fmt.Errorf("writing the tier marker of segment %d: %w", seg.id, err)
	}
	idx, err := l.fs.Open(segName(l.opts.Dir, seg.id, "idx"))
	if err != nil {
		return err
	}
	nseg := &segment{id: seg.id, created: seg.created, gen: seg.gen, size: seg.size, remote: true,
		f: &remoteFile{t: t, key: t.key(sg, "seg"), size: seg.size}, idx: idx, ndir: seg.ndir}
	l.mu.Lock()
	for i, s := range l.segments {
		if s == seg {
			l.segments[i] = nseg
		}
	}
	for _, st := range l.shards {
		for i := range st.sealed {
			if st.sealed[i].seg == seg {
				st.sealed[i].seg = nseg
			}
		}
	}
	l.mu.Unlock()
	seg.retire()
	if err := l.fs.Remove(segName(l.opts.Dir, seg.id, "seg")); err != nil {
		l.log.Warn("streamlog: removing the local copy of a tiered segment (Open removes it)", "segment", seg.id, "err", err)
	} else if err := l.fs.SyncDir(l.opts.Dir); err != nil {
		l.log.Warn("streamlog: syncing the log directory", "err", err)
	}
	t.mu.Lock()
	t.uploads++
	t.uploadBytes += seg.size
	t.lastErr = ""
	t.mu.Unlock()
	t.refreshLocal()
	l.event(Event{Kind: "segment-tiered", Segment: seg.id, Detail: fmt.Sprintf("generation %d, %d bytes", seg.gen, seg.size)})
	return nil
}

// put stores one object, accepting an identical one already there.
func (t *tierer) put(key string, body io.ReadSeeker, size int64, sum []byte) error {
	for attempt := 0; ; attempt++ {
		if _, err := body.Seek(0, io.SeekStart); err != nil {
			return err
		}
		err := t.store.PutIfAbsent(t.ctx, key, body, size, sum)
		if err == nil {
			return nil
		}
		if !errors.Is(err, blob.ErrExists) || attempt > 0 {
			return fmt.Errorf("uploading %s: %w", key, err)
		}
		same, err := t.matches(key, size, sum)
		if err != nil {
			return fmt.Errorf("checking %s: %w", key, err)
		}
		if same {
			return nil
		}
		// Not what this segment holds (a store that lost a write, or a
		// log ID reused by hand): replace it.
		if err := t.store.Delete(t.ctx, key); err != nil {
			return fmt.Errorf("replacing %s: %w", key, err)
		}
	}
}

// matches reports whether key's object has the given size and SHA-256,
// reading it back when the store keeps no checksum.
func (t *tierer) matches(key string, size int64, sum []byte) (bool, error) {
	info, err := t.store.Stat(t.ctx, key)
	if err != nil {
		return false, err
	}
	if info.Size != size {
		return false, nil
	}
	if info.SHA256 != nil {
		return bytes.Equal(info.SHA256, sum), nil
	}
	rc, err := t.store.Get(t.ctx, key, 0, -1)
	if err != nil {
		return false, err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return false, err
	}
	return bytes.Equal(h.Sum(nil), sum), nil
}

// retireRemote retires a tiered segment that left the log (deleted, or
// replaced by its compacted generation) and deletes its objects once no
// reader holds it: until then the orphan sweep counts them as in use.
// A deletion that fails, or is cut short by Close, is left to the orphan
// sweep (the segment's marker is gone, so its objects are orphans).
func (t *tierer) retireRemote(seg *segment) {
	sg := segGen{seg.id, seg.gen}
	t.mu.Lock()
	t.held[sg]++
	t.mu.Unlock()
	seg.retireThen(func() {
		t.mu.Lock()
		if t.held[sg]--; t.held[sg] <= 0 {
			delete(t.held, sg)
		}
		stopped := t.stopped
		if !stopped {
			t.deletes.Add(1) // under mu: stop's Wait comes after
		}
		t.mu.Unlock()
		if stopped {
			return // closed: the orphan sweep after the next Open deletes them
		}
		go func() {
			defer t.deletes.Done()
			t.deleteRemote(sg)
		}()
	})
}

// deleteRemote removes a retired tiered segment's objects. Failures are
// left to the orphan sweep.
func (t *tierer) deleteRemote(sg segGen) {
	ctx, cancel := context.WithTimeout(t.ctx, 10*time.Second)
	defer cancel()
	for _, ext := range []string{"seg", "idx"} {
		if err := t.store.Delete(ctx, t.key(sg, ext)); err != nil {
			t.l.log.Debug("streamlog: deleting a tiered segment's object (the orphan sweep retries)", "key", t.key(sg, ext), "err", err)
		}
	}
}

// sweepOrphans deletes the objects under the log's prefix that no segment
// accounts for, if OrphanSweepEvery has passed (or force). Called by Sweep
// with sweepMu held, so no segment is deleted or replaced meanwhile; an
// upload in progress is accounted for by inflight or by its local segment.
func (t *tierer) sweepOrphans(ctx context.Context, force bool) (int, error) {
	t.mu.Lock()
	due := force || t.lastOrphanAt.IsZero() || time.Since(t.lastOrphanAt) >= t.opts.OrphanSweepEvery
	t.mu.Unlock()
	if !due {
		return 0, nil
	}
	// Bounded: sweepMu is held, and a store that does not answer must not
	// hold back uploads' switch-overs, deletions or Close for long.
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	defer context.AfterFunc(t.ctx, cancel)() // and by Close
	deleted := 0
	after := ""
	for {
		infos, more, err := t.store.List(ctx, t.prefix, after, 0)
		if err != nil {
			return deleted, err
		}
		// Taken per page, after the listing: anything that started
		// uploading before the list was taken is in one of these sets.
		t.l.mu.RLock()
		known := make(map[segGen]bool, len(t.l.segments))
		for _, s := range t.l.segments {
			known[segGen{s.id, s.gen}] = true
		}
		t.l.mu.RUnlock()
		t.mu.Lock()
		for sg := range t.inflight {
			known[sg] = true
		}
		for sg := range t.held {
			known[sg] = true
		}
		t.mu.Unlock()
		for _, info := range infos {
			after = info.Key
			sg, _, ok := t.parseKey(info.Key)
			if !ok || known[sg] {
				continue
			}
			if err := t.store.Delete(ctx, info.Key); err != nil {
				return deleted, err
			}
			deleted++
		}
		if !more {
			break
		}
	}
	t.mu.Lock()
	t.lastOrphanAt = time.Now()
	t.orphans += int64(deleted)
	t.mu.Unlock()
	if deleted > 0 {
		t.l.event(Event{Kind: "orphans-deleted", Detail: fmt.Sprintf("%d objects no segment accounts for", deleted)})
	}
	return deleted, nil
}

// SweepOrphans lists the blob store now and deletes the objects no segment
// of the log accounts for (Sweep does it every TierOptions.OrphanSweepEvery).
// It returns how many it deleted; without tiering it does nothing.
func (l *Log) SweepOrphans(ctx context.Context) (int, error) {
	if l.tier == nil {
		return 0, nil
	}
	l.sweepMu.Lock()
	defer l.sweepMu.Unlock()
	if l.isClosed() {
		return 0, ErrClosed
	}
	return l.tier.sweepOrphans(ctx, true)
}

// stats fills TierStats.
func (t *tierer) stats() TierStats {
	var st TierStats
	t.l.mu.RLock()
	for _, s := range t.l.segments {
		if s.remote {
			st.TieredSegments++
			st.TieredBytes += s.size
		} else {
			st.BacklogSegments++
			st.BacklogBytes += s.size
		}
	}
	t.l.mu.RUnlock()
	st.LocalBytes = st.BacklogBytes + t.l.opts.SegmentBytes
	st.LocalLimit = t.opts.LocalLimitBytes
	t.mu.Lock()
	st.Uploads, st.UploadedBytes, st.UploadFailures = t.uploads, t.uploadBytes, t.failures
	st.LastError, st.OrphansDeleted = t.lastErr, t.orphans
	t.mu.Unlock()
	st.CacheBytes, st.CacheHits, st.CacheMisses = t.cache.usage()
	st.CacheLimit = t.opts.CacheBytes
	return st
}

// pacer spreads uploads at rate bytes per second across segments: each
// read is charged after it, and waits until the bytes read so far are due.
type pacer struct {
	rate int64
	mu   sync.Mutex
	next time.Time // when the bytes charged so far are due
}

func (p *pacer) charge(ctx context.Context, n int) error {
	p.mu.Lock()
	now := time.Now()
	if p.next.Before(now) {
		p.next = now
	}
	p.next = p.next.Add(time.Duration(float64(n) / float64(p.rate) * float64(time.Second)))
	wait := p.next.Sub(now)
	p.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	select {
	case <-time.After(wait):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pacedReader reads through a pacer, at most 256 KiB at a time.
type pacedReader struct {
	r   io.ReadSeeker
	p   *pacer
	ctx context.Context
}

func (r *pacedReader) Read(b []byte) (int, error) {
	if len(b) > 256<<10 {
		b = b[:256<<10]
	}
	n, err := r.r.Read(b)
	if n > 0 {
		if perr := r.p.charge(r.ctx, n); perr != nil && err == nil {
			err = perr
		}
	}
	return n, err
}

func (r *pacedReader) Seek(off int64, whence int) (int64, error) { return r.r.Seek(off, whence) }
