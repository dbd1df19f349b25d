package streamlog

import (
	"fmt"
	"io"
	"time"
)

// ReadOptions bounds a Read.
type ReadOptions struct {
	// MaxRecords is the most records returned. Default 10000.
	MaxRecords int
	// MaxBytes bounds the data plus partition key bytes returned; at least
	// one record is returned if any matches. Default 10 MiB.
	MaxBytes int
	// MinTimestamp skips records older than this (unix ms): used for
	// retention, so expired records are never served even before their
	// segment is deleted.
	MinTimestamp int64
}

// ShardBounds describes what a shard holds.
type ShardBounds struct {
	// Next is the counter the next appended record will get.
	Next uint64
	// LastTimestamp is the timestamp of the newest record (unix ms), 0 if none.
	LastTimestamp int64
}

// Bounds returns the shard's bounds. Unknown shards report Next = FirstSeq.
func (l *Log) Bounds(shard uint64) ShardBounds {
	l.mu.RLock()
	defer l.mu.RUnlock()
	s := l.shards[shard]
	if s == nil {
		return ShardBounds{Next: max(FirstSeq, l.floor)}
	}
	return ShardBounds{Next: s.next, LastTimestamp: s.lastTs}
}

// view is a reader's copy of one shard's index references. It holds a
// reference on every segment in it until release.
type view struct {
	sealed []sealedRef
	active []indexEntry
	actSeg *segment
	next   uint64
	trim   uint64 // counters below trim are gone, even if still on disk
}

func (l *Log) view(shard uint64) (view, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	s := l.shards[shard]
	if s == nil {
		return view{}, false
	}
	v := view{active: s.active, actSeg: l.active, next: s.next, trim: s.trim}
	for _, r := range s.sealed {
		// Sections below the trim may linger on disk (in segments not yet
		// compacted) but are gone.
		if r.lastSeq >= s.trim {
			v.sealed = append(v.sealed, r)
		}
	}
	for _, r := range v.sealed {
		r.seg.acquire()
	}
	v.actSeg.acquire()
	return v, true
}

func (v view) release() {
	for _, r := range v.sealed {
		r.seg.release()
	}
	v.actSeg.release()
}

// Read returns records of shard with counters >= from, in order, within the
// bounds of opts. The returned records own their memory.
func (l *Log) Read(shard uint64, from uint64, opts ReadOptions) ([]Record, error) {
	if opts.MaxRecords <= 0 {
		opts.MaxRecords = 10000
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 10 << 20
	}
	v, ok := l.view(shard)
	if !ok {
		return nil, nil
	}
	defer v.release()
	from = max(from, v.trim)
	if opts.MinTimestamp > 0 {
		// Skip straight past expired records.
		if seq, err := v.seekTime(opts.MinTimestamp); err == nil && seq > from {
			from = seq
		}
	}
	var out []Record
	bytes := 0
	full := false
	for _, r := range v.sealed {
		if full {
			break
		}
		if r.lastSeq < from {
			continue
		}
		se := sealedEntries{ref: r, ndir: r.seg.ndir}
		i, err := se.search(func(e indexEntry) bool { return e.lastSeq() >= from })
		if err != nil {
			return out, err
		}
		for ; i < int(r.count) && !full; i++ {
			e, err := se.at(i)
			if err != nil {
				return out, err
			}
			out, full, err = readSection(r.seg, e, from, opts, out, &bytes)
			if err != nil {
				return out, err
			}
		}
	}
	if !full {
		// Binary search the in-memory active entries.
		lo, hi := 0, len(v.active)
		for lo < hi {
			m := (lo + hi) / 2
			if v.active[m].lastSeq() >= from {
				hi = m
			} else {
				lo = m + 1
			}
		}
		for i := lo; i < len(v.active) && !full; i++ {
			var err error
			out, full, err = readSection(v.actSeg, v.active[i], from, opts, out, &bytes)
			if err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

func readSection(seg *segment, e indexEntry, from uint64, opts ReadOptions, out []Record, bytes *int) ([]Record, bool, error) {
	b := make([]byte, e.length)
	if n, err := seg.f.ReadAt(b, int64(e.off)); n != len(b) {
		if err != nil && err != io.EOF {
			// An I/O error, not corruption: the caller may retry.
			return out, false, fmt.Errorf("streamlog: reading segment %d offset %d: %w", seg.id, e.off, err)
		}
		return out, false, corruptf("segment %d offset %d: %v", seg.id, e.off, io.ErrUnexpectedEOF)
	}
	si, err := parseSection(b, e.off)
	if err != nil {
		return out, false, corruptf("segment %d offset %d: %v", seg.id, e.off, err)
	}
	if si.firstSeq != e.firstSeq || si.count != e.count {
		return out, false, corruptf("segment %d offset %d: index mismatch", seg.id, e.off)
	}
	out, full := decodeSection(b, from, opts.MinTimestamp, out, opts.MaxRecords, opts.MaxBytes, bytes)
	return out, full, nil
}

// SeekTime returns the counter of the first record of shard with a timestamp
// >= ts (unix ms), or the shard's next counter if there is none.
func (l *Log) SeekTime(shard uint64, ts int64) (uint64, error) {
	v, ok := l.view(shard)
	if !ok {
		return FirstSeq, nil
	}
	defer v.release()
	return v.seekTime(ts)
}

func (v view) seekTime(ts int64) (uint64, error) {
	seq, err := v.seekTimeAll(ts)
	// Timestamps do not decrease, so if the answer lies below the trim, the
	// first record at or above it is the first one that is not gone.
	return max(seq, v.trim), err
}

func (v view) seekTimeAll(ts int64) (uint64, error) {
	// Timestamps are non-decreasing within a shard, so the first section
	// whose successor starts at or after ts holds the answer.
	for _, r := range v.sealed {
		if r.maxTs < ts {
			// The last section may still contain later records than its first
			// timestamp; check it below only if it is the candidate.
			se := sealedEntries{ref: r, ndir: r.seg.ndir}
			e, err := se.at(int(r.count) - 1)
			if err != nil {
				return 0, err
			}
			if seq, ok, err := seekInSection(r.seg, e, ts); err != nil || ok {
				return seq, err
			}
			continue
		}
		se := sealedEntries{ref: r, ndir: r.seg.ndir}
		i, err := se.search(func(e indexEntry) bool { return e.ts >= ts })
		if err != nil {
			return 0, err
		}
		if i > 0 {
			e, err := se.at(i - 1)
			if err != nil {
				return 0, err
			}
			if seq, ok, err := seekInSection(r.seg, e, ts); err != nil || ok {
				return seq, err
			}
		}
		if i < int(r.count) {
			e, err := se.at(i)
			if err != nil {
				return 0, err
			}
			return e.firstSeq, nil
		}
	}
	lo, hi := 0, len(v.active)
	for lo < hi {
		m := (lo + hi) / 2
		if v.active[m].ts >= ts {
			hi = m
		} else {
			lo = m + 1
		}
	}
	if lo > 0 {
		if seq, ok, err := seekInSection(v.actSeg, v.active[lo-1], ts); err != nil || ok {
			return seq, err
		}
	}
	if lo < len(v.active) {
		return v.active[lo].firstSeq, nil
	}
	return v.next, nil
}

// seekInSection finds the first record with timestamp >= ts in a section.
func seekInSection(seg *segment, e indexEntry, ts int64) (uint64, bool, error) {
	var bytes int
	recs, _, err := readSection(seg, e, 0, ReadOptions{MaxRecords: int(e.count), MaxBytes: 1 << 62, MinTimestamp: ts}, nil, &bytes)
	if err != nil {
		return 0, false, err
	}
	if len(recs) > 0 {
		return recs[0].Seq, true, nil
	}
	return 0, false, nil
}

func timeMs(ms int64) time.Time { return time.UnixMilli(ms) }
