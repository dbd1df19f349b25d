package streamlog

import (
	"context"
	"path/filepath"
	"sort"

	"github.com/rheos/rheos/internal/vfs"
)

// RetentionPolicy tells the sweeper, for one shard, the oldest timestamp
// (unix ms) still retained, or drop=true when the shard is gone (its stream
// was deleted) and all its records are garbage.
type RetentionPolicy func(shard uint64) (minTimestamp int64, drop bool)

// SweepResult reports what a sweep did.
type SweepResult struct {
	SegmentsDeleted int
	BytesReclaimed  int64
}

// Sweep applies retention: it seals an old active segment, then deletes every
// sealed segment all of whose records are expired or belong to dropped
// shards. Space is reclaimed a whole segment at a time; records that are
// expired but still on disk are never served (Read filters them).
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

	l.mu.RLock()
	segs := append([]*segment(nil), l.segments...)
	// Which shards appear in which segment, with their max timestamp.
	type use struct {
		shard uint64
		maxTs int64
	}
	uses := map[*segment][]use{}
	for key, s := range l.shards {
		for _, r := range s.sealed {
			uses[r.seg] = append(uses[r.seg], use{key, r.maxTs})
		}
	}
	l.mu.RUnlock()

	policyCache := map[uint64][2]int64{}
	eval := func(shard uint64) (int64, bool) {
		if v, ok := policyCache[shard]; ok {
			return v[0], v[1] == 1
		}
		min, drop := policy(shard)
		d := int64(0)
		if drop {
			d = 1
		}
		policyCache[shard] = [2]int64{min, d}
		return min, drop
	}
	var doomed []*segment
	for _, seg := range segs {
		dead := true
		for _, u := range uses[seg] {
			min, drop := eval(u.shard)
			if !drop && u.maxTs >= min {
				dead = false
				break
			}
		}
		if !dead {
			// Segments are deleted oldest first only, so counters and
			// timestamps stay contiguous per shard.
			break
		}
		doomed = append(doomed, seg)
	}
	if len(doomed) == 0 {
		l.dropShards(eval)
		return res, nil
	}
	// Persist the high-water marks before the records that imply them go.
	if err := l.writeCheckpoint(); err != nil {
		return res, err
	}
	// Remove the files oldest first and stop at the first failure, then
	// forget exactly the segments that are gone: what remains on disk (and
	// in memory) is always a suffix, so counters stay contiguous, and a
	// segment that could not be removed stays known and is retried by the
	// next sweep. Readers holding a removed segment keep reading it through
	// its open handles.
	var removeErr error
	removed := 0
	for _, seg := range doomed {
		size, statErr := l.fs.Stat(segName(l.opts.Dir, seg.id, "seg"))
		if err := l.fs.Remove(segName(l.opts.Dir, seg.id, "idx")); err != nil && !vfs.IsNotExist(err) {
			removeErr = err
			break
		}
		if err := l.fs.Remove(segName(l.opts.Dir, seg.id, "seg")); err != nil {
			removeErr = err
			break
		}
		if statErr == nil {
			res.BytesReclaimed += size
		}
		removed++
	}
	doomed = doomed[:removed]
	dead := map[*segment]bool{}
	for _, s := range doomed {
		dead[s] = true
	}
	l.mu.Lock()
	for _, s := range l.shards {
		kept := s.sealed[:0]
		for _, r := range s.sealed {
			if !dead[r.seg] {
				kept = append(kept, r)
			} else if r.lastSeq+1 > s.trim {
				s.trim = r.lastSeq + 1
			}
		}
		s.sealed = kept
	}
	l.segments = l.segments[len(doomed):]
	l.mu.Unlock()
	for _, seg := range doomed {
		seg.mu.Lock()
		seg.deleted = true
		closeNow := seg.refs == 0
		seg.mu.Unlock()
		if closeNow {
			seg.closeFiles()
		}
		res.SegmentsDeleted++
		l.event(Event{Kind: "segment-deleted", Segment: seg.id})
	}
	if err := l.fs.SyncDir(l.opts.Dir); err != nil {
		return res, err
	}
	if removeErr != nil {
		return res, removeErr
	}
	l.dropShards(eval)
	return res, nil
}

// dropShards forgets dropped shards that no longer have records on disk.
func (l *Log) dropShards(eval func(uint64) (int64, bool)) {
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
	name := filepath.Join(l.opts.Dir, "shards.ckpt")
	tmp := name + ".tmp"
	f, err := l.fs.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	f.Close()
	if err := l.fs.Rename(tmp, name); err != nil {
		return err
	}
	return l.fs.SyncDir(l.opts.Dir)
}

func (l *Log) loadCheckpoint() error {
	name := filepath.Join(l.opts.Dir, "shards.ckpt")
	size, err := l.fs.Stat(name)
	if err != nil {
		return nil // none yet
	}
	f, err := l.fs.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	b := make([]byte, size)
	if n, _ := f.ReadAt(b, 0); int64(n) != size || size < 20 {
		return corruptf("checkpoint: short read")
	}
	if string(b[:8]) != ckptMagic || crc(b[:len(b)-4]) != le.Uint32(b[len(b)-4:]) {
		return corruptf("checkpoint checksum")
	}
	n := int(le.Uint32(b[12:]))
	floor := 0 // bytes of the optional floor after the entries
	if le.Uint16(b[10:])&ckptFlagFloor != 0 {
		floor = 8
	}
	if 16+24*n+floor+4 != len(b) {
		return corruptf("checkpoint length")
	}
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
