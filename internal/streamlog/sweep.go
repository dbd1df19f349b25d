package streamlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"

	"github.com/rheos/rheos/internal/vfs"
)

// RetentionPolicy tells the sweeper, for one shard, the oldest timestamp
// (unix ms) still retained, or drop=true when the shard is gone (its stream
// was deleted) and all its records are garbage.
type RetentionPolicy func(shard uint64) (minTimestamp int64, drop bool)

// SweepResult reports what a sweep did.
type SweepResult struct {
	// SegmentsDeleted counts sealed segments deleted because nothing in
	// them is live.
	SegmentsDeleted int
	// SegmentsCompacted counts sealed segments rewritten with only their
	// live sections (see Options.CompactBelow).
	SegmentsCompacted int
	// BytesReclaimed is the segment bytes freed by deletion and compaction
	// (index files not counted).
	BytesReclaimed int64
}

// Sweep applies retention: it seals an old active segment, then deletes
// every sealed segment all of whose sections are dead (their records expired,
// their shard dropped, or below the shard's trim) and rewrites (compacts)
// every sealed segment whose live fraction is below Options.CompactBelow.
// Records that are expired but still on disk are never served when the
// reader passes MinTimestamp (Read filters them).
//
// Before any section leaves the disk, the shard's trim (the counter below
// which its records are gone) is raised past it and written to the
// checkpoint: a shard's older records, in other segments, are then hidden
// too, so what a shard serves stays contiguous, whatever order segments are
// deleted or compacted in, and counters never go back.
//
// Sweep runs one at a time; Close waits for a sweep in progress, which stops
// early with ErrClosed.
func (l *Log) Sweep(ctx context.Context, policy RetentionPolicy) (SweepResult, error) {
	var res SweepResult
	l.sweepMu.Lock() // one sweep at a time
	defer l.sweepMu.Unlock()
	l.mu.RLock()
	closed := l.closed
	age := l.opts.Now().Sub(timeMs(l.active.created))
	l.mu.RUnlock()
	if closed {
		return res, ErrClosed
	}
	if age >= l.opts.SegmentAge {
		if err := l.Roll(ctx); err != nil {
			return res, err
		}
	}

	eval := cachePolicy(policy)
	plans, err := l.planSweep(eval)
	if err != nil {
		return res, err
	}
	var doomed, compact []*segPlan
	trims := map[uint64]uint64{}
	for _, p := range plans {
		switch {
		case p.skip:
			continue
		case !p.live:
			doomed = append(doomed, p)
		case p.deadBytes > 0 && l.opts.CompactBelow > 0 &&
			float64(p.liveBytes) < l.opts.CompactBelow*float64(p.seg.size):
			compact = append(compact, p)
		default:
			continue
		}
		for shard, t := range p.trims {
			trims[shard] = max(trims[shard], t)
		}
	}
	if len(doomed) == 0 && len(compact) == 0 {
		l.dropShards(eval)
		return res, l.sweepTier(ctx)
	}
	// Hide the dead sections and everything of their shards before them,
	// and make that durable, before any of them leaves the disk. The
	// checkpoint also persists every shard's next counter, which the
	// records that go may be the last witnesses of.
	l.mu.Lock()
	for key, t := range trims {
		if s := l.shards[key]; s != nil && t > s.trim {
			s.trim = t
		}
	}
	l.mu.Unlock()
	if err := l.writeCheckpoint(); err != nil {
		return res, err
	}
	if err := l.deleteSegments(doomed, &res); err != nil {
		return res, err
	}
	for _, p := range compact {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if l.isClosed() {
			return res, ErrClosed
		}
		reclaimed, err := l.compact(p)
		if errors.Is(err, ErrCorrupt) {
			// A live section fails its checks: Read reports it; the segment
			// stays as it is rather than lose what else it holds.
			l.event(Event{Kind: "corruption", Segment: p.seg.id, Detail: "not compacted: " + err.Error()})
			continue
		}
		if err != nil {
			return res, fmt.Errorf("streamlog: compacting segment %d: %w", p.seg.id, err)
		}
		res.SegmentsCompacted++
		res.BytesReclaimed += reclaimed
	}
	l.dropShards(eval)
	return res, l.sweepTier(ctx)
}

// sweepTier recounts the local bytes (deletions and compactions change
// them) and runs the orphan sweep when it is due. A store that cannot be
// listed now is logged, not an error of the sweep: retention has done its
// part, and the next sweep lists again.
func (l *Log) sweepTier(ctx context.Context) error {
	if l.tier == nil {
		return nil
	}
	l.tier.refreshLocal()
	l.tier.wakeUp()
	if _, err := l.tier.sweepOrphans(ctx, false); err != nil {
		l.log.Warn("streamlog: orphan sweep of the blob store", "err", err)
	}
	return nil
}

func (l *Log) isClosed() bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.closed
}

// cachePolicy evaluates policy at most once per shard.
func cachePolicy(policy RetentionPolicy) RetentionPolicy {
	type verdict struct {
		min  int64
		drop bool
	}
	cache := map[uint64]verdict{}
	return func(shard uint64) (int64, bool) {
		v, ok := cache[shard]
		if !ok {
			v.min, v.drop = policy(shard)
			cache[shard] = v
		}
		return v.min, v.drop
	}
}

// deleteSegments removes the files of segments with nothing live and forgets
// them. It stops at the first failure; a segment that could not be removed
// stays known and is retried by the next sweep. Readers holding a removed
// segment keep reading it through its open handles.
func (l *Log) deleteSegments(doomed []*segPlan, res *SweepResult) error {
	if len(doomed) == 0 {
		return nil
	}
	var removeErr error
	dead := map[*segment]bool{}
	for _, p := range doomed {
		// A tiered segment loses a leftover local copy (its upload's
		// removal failed) and then its marker: its objects are then
		// orphans, deleted once no reader holds it (retireRemote) or by
		// the orphan sweep, and its index a leftover Open removes. A
		// local one loses a stale marker (compacted after it was tiered,
		// crash before compaction removed it) first, so that no marker
		// outlives the segment it would name.
		order := []string{"tier", "idx", "seg"}
		if p.seg.remote {
			order = []string{"seg", "tier", "idx"}
		}
		for _, ext := range order {
			if err := l.fs.Remove(segName(l.opts.Dir, p.seg.id, ext)); err != nil && !vfs.IsNotExist(err) {
				removeErr = err
				break
			}
		}
		if removeErr != nil {
			break
		}
		res.BytesReclaimed += p.seg.size
		dead[p.seg] = true
	}
	l.mu.Lock()
	for _, s := range l.shards {
		s.sealed = slices.DeleteFunc(s.sealed, func(r sealedRef) bool { return dead[r.seg] })
	}
	l.segments = slices.DeleteFunc(l.segments, func(s *segment) bool { return dead[s] })
	l.mu.Unlock()
	// The markers' removal is durable before any object goes: a marker
	// that came back after a crash must not name deleted objects.
	syncErr := l.fs.SyncDir(l.opts.Dir)
	for _, p := range doomed {
		if !dead[p.seg] {
			break
		}
		if p.seg.remote && syncErr == nil {
			l.tier.retireRemote(p.seg)
		} else {
			p.seg.retire()
		}
		res.SegmentsDeleted++
		l.event(Event{Kind: "segment-deleted", Segment: p.seg.id})
	}
	if syncErr != nil {
		return syncErr
	}
	return removeErr
}

// dropShards forgets dropped shards that no longer have records on disk.
func (l *Log) dropShards(eval RetentionPolicy) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for key, s := range l.shards {
		if len(s.sealed) == 0 && len(s.active) == 0 {
			if _, drop := eval(key); drop {
				delete(l.shards, key)
			}
		}
	}
}

// writeCheckpoint atomically persists every shard's next and trim counters.
func (l *Log) writeCheckpoint() error {
	l.mu.RLock()
	keys := make([]uint64, 0, len(l.shards))
	for k := range l.shards {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	b := make([]byte, 16, 16+24*len(keys)+12)
	copy(b, ckptMagic)
	le.PutUint16(b[8:], formatVersion)
	if l.floor > 0 {
		le.PutUint16(b[10:], ckptFlagFloor)
	}
	le.PutUint32(b[12:], uint32(len(keys)))
	for _, k := range keys {
		s := l.shards[k]
		var e [24]byte
		le.PutUint64(e[0:], k)
		le.PutUint64(e[8:], s.next)
		le.PutUint64(e[16:], s.trim)
		b = append(b, e[:]...)
	}
	if l.floor > 0 {
		b = le.AppendUint64(b, l.floor)
	}
	l.mu.RUnlock()
	b = le.AppendUint32(b, crc(b))
	return vfs.WriteFileAtomic(l.fs, filepath.Join(l.opts.Dir, "shards.ckpt"), b)
}

// loadCheckpoint applies shards.ckpt, if there is one. Only a checkpoint
// that does not exist counts as none: any other failure to read it fails
// Open, since the counters it holds may be the only record of counters
// already handed out.
func (l *Log) loadCheckpoint() error {
	name := filepath.Join(l.opts.Dir, "shards.ckpt")
	size, err := l.fs.Stat(name)
	if vfs.IsNotExist(err) {
		return nil // none yet
	}
	if err != nil {
		return fmt.Errorf("streamlog: checkpoint: %w", err)
	}
	f, err := l.fs.Open(name)
	if err != nil {
		return fmt.Errorf("streamlog: checkpoint: %w", err)
	}
	defer f.Close()
	b := make([]byte, size)
	if n, err := f.ReadAt(b, 0); n != len(b) {
		if err != nil && err != io.EOF {
			return fmt.Errorf("streamlog: reading checkpoint: %w", err)
		}
		return corruptf("checkpoint: short read")
	}
	if size < 20 {
		return corruptf("checkpoint: short file")
	}
	if string(b[:8]) != ckptMagic || crc(b[:len(b)-4]) != le.Uint32(b[len(b)-4:]) {
		return corruptf("checkpoint checksum")
	}
	if v := le.Uint16(b[8:]); v != formatVersion {
		return fmt.Errorf("%w: checkpoint version %d", ErrUnsupportedVersion, v)
	}
	n := int(le.Uint32(b[12:]))
	floor := 0 // bytes of the optional floor after the entries
	if le.Uint16(b[10:])&ckptFlagFloor != 0 {
		floor = 8
	}
	if 16+24*n+floor+4 != len(b) {
		return corruptf("checkpoint length")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if floor > 0 {
		l.floor = max(l.floor, le.Uint64(b[16+24*n:]))
	}
	for i := 0; i < n; i++ {
		e := b[16+24*i:]
		s := l.shardLocked(le.Uint64(e[0:]))
		if next := le.Uint64(e[8:]); next > s.next {
			s.next = next
		}
		if trim := le.Uint64(e[16:]); trim > s.trim {
			s.trim = trim
		}
	}
	return nil
}
