package streamlog

import (
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/rheos/rheos/internal/vfs"
)

// Compaction: a sealed segment is shared by every shard that appended while
// it was active, so one live shard would keep the bytes of every dead one
// (a deleted stream, a 24-hour shard beside a 365-day one) until its own
// records expire. Sweep rewrites a segment whose live fraction fell below
// Options.CompactBelow with only its live sections, under the same id and
// the next generation, and switches over atomically:
//
//  1. the shards' trims (counters below which records are gone) are raised
//     past the dead sections and written to shards.ckpt (by Sweep);
//  2. <id>.seg.tmp is written (the segment header with generation g+1, then
//     each original frame that holds a live section, re-encoded with only
//     its live sections, copied verbatim) and fsynced;
//  3. <id>.seg.tmp is renamed over <id>.seg, and the directory fsynced;
//  4. the index of generation g+1 replaces <id>.idx (vfs.WriteFileAtomic:
//     <id>.idx.tmp, fsync, rename, directory fsync);
//  5. the new segment replaces the old one in memory (its cached pages
//     dropped: they are cold); readers holding the old one keep reading its
//     open files until they release it.
//
// A crash at any point leaves the old segment or the new one under the id,
// never both and never neither: before 3 the old pair is intact; after 3
// and before 4 completes the segment's generation differs from its index's,
// and Open rebuilds the index from the segment (whichever generation it is);
// Open removes leftover *.tmp files. Dead sections that survive a crash stay
// hidden by the trims of step 1.

// segPlan is what one sweep found in one sealed segment.
type segPlan struct {
	seg       *segment
	refs      []shardPlan
	deadBytes int64             // bytes of dead sections (0 if none was looked for)
	liveBytes int64             // bytes of live sections, if deadBytes > 0
	live      bool              // some section is live
	skip      bool              // the index could not be read: leave the segment alone
	trims     map[uint64]uint64 // shard -> trim once the dead sections are gone
}

// shardPlan is one shard's part of a segPlan.
type shardPlan struct {
	shard uint64
	ref   sealedRef
	ents  []indexEntry // the shard's sections in the segment, nil if not read yet
	dead  int          // ents[:dead] are dead (a prefix: timestamps and counters only grow)
}

// planSweep finds, for every sealed segment, which sections are dead: those
// of dropped shards, below their shard's trim, or whose records are all
// older than the shard's retention. Every record of a section carries the
// same timestamp (the writer stamps a commit once), so a section is expired
// when its index entry's timestamp is. Called with sweepMu held, which keeps
// the sealed segments and their refs from changing under it.
func (l *Log) planSweep(eval RetentionPolicy) ([]*segPlan, error) {
	l.mu.RLock()
	plans := make([]*segPlan, len(l.segments))
	bySeg := make(map[*segment]*segPlan, len(l.segments))
	for i, seg := range l.segments {
		plans[i] = &segPlan{seg: seg, trims: map[uint64]uint64{}}
		bySeg[seg] = plans[i]
	}
	trim := map[uint64]uint64{}
	for key, s := range l.shards {
		trim[key] = s.trim
		for _, r := range s.sealed {
			p := bySeg[r.seg]
			p.refs = append(p.refs, shardPlan{shard: key, ref: r})
		}
	}
	l.mu.RUnlock()

	for _, p := range plans {
		// Segments where every shard is wholly live need no index reads.
		anyDead := false
		for _, sp := range p.refs {
			r, t := sp.ref, trim[sp.shard]
			min, drop := eval(sp.shard)
			if drop || r.firstSeq < t || r.minTs < min {
				anyDead = true
				break
			}
		}
		if !anyDead {
			p.live = len(p.refs) > 0
			continue
		}
		for i := range p.refs {
			sp := &p.refs[i]
			ents, err := sp.ref.entries()
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					return nil, err
				}
				l.event(Event{Kind: "corruption", Segment: p.seg.id, Detail: "index entries unreadable, segment left as it is: " + err.Error()})
				p.skip = true
				break
			}
			sp.ents = ents
			t := trim[sp.shard]
			min, drop := eval(sp.shard)
			for _, e := range ents {
				if !drop && e.lastSeq() >= t && e.ts >= min {
					break
				}
				p.deadBytes += int64(e.length)
				sp.dead++
			}
			for _, e := range ents[sp.dead:] {
				p.liveBytes += int64(e.length)
			}
			if sp.dead < len(ents) {
				p.live = true
			}
			if sp.dead > 0 {
				p.trims[sp.shard] = ents[sp.dead-1].lastSeq() + 1
			}
		}
	}
	return plans, nil
}

// compact rewrites a sealed segment with only its live sections and installs
// the result (see the steps above). It returns the segment bytes reclaimed.
func (l *Log) compact(p *segPlan) (int64, error) {
	old := p.seg
	// Every section of the segment, in file order, with its liveness.
	type section struct {
		shard uint64
		e     indexEntry
		live  bool
	}
	var secs []section
	for i := range p.refs {
		sp := &p.refs[i]
		if sp.ents == nil {
			ents, err := sp.ref.entries()
			if err != nil {
				return 0, err
			}
			sp.ents = ents
		}
		for j, e := range sp.ents {
			secs = append(secs, section{shard: sp.shard, e: e, live: j >= sp.dead})
		}
	}
	sort.Slice(secs, func(i, j int) bool { return secs[i].e.off < secs[j].e.off })

	gen := old.gen + 1
	segPath, idxPath := segName(l.opts.Dir, old.id, "seg"), segName(l.opts.Dir, old.id, "idx")
	segTmp := segPath + vfs.TempSuffix
	cleanup := func() { l.fs.Remove(segTmp) }

	f, err := l.fs.Create(segTmp)
	if err != nil {
		return 0, err
	}
	fail := func(err error) (int64, error) {
		f.Close()
		cleanup()
		return 0, err
	}
	if _, err := f.Write(encodeSegHeader(segHeader{id: old.id, created: old.created, gen: gen})); err != nil {
		return fail(err)
	}
	size := int64(segHeaderSize)
	entries := shardEntries{}
	var buf []byte
	for i := 0; i < len(secs); {
		// The sections of one original frame lie back to back; the next
		// frame's first section starts a frame header later.
		j := i + 1
		for j < len(secs) && secs[j].e.off == secs[j-1].e.off+secs[j-1].e.length {
			j++
		}
		frame := secs[i:j]
		i = j
		fence, err := readFence(old, int64(frame[0].e.off)-frameHeaderLen)
		if err != nil {
			return fail(err)
		}
		buf = appendFrameHeader(buf[:0])
		n := 0
		for _, s := range frame {
			if !s.live {
				continue
			}
			start := len(buf)
			buf = append(buf, make([]byte, s.e.length)...)
			if err := readVerified(old, s.shard, s.e, buf[start:]); err != nil {
				return fail(err)
			}
			ne := s.e
			ne.off = uint32(size) + uint32(start)
			entries[s.shard] = append(entries[s.shard], ne)
			n++
		}
		if n == 0 {
			continue
		}
		encodeFrameHeader(buf, fence, n)
		if _, err := f.Write(buf); err != nil {
			return fail(err)
		}
		size += int64(len(buf))
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		cleanup()
		return 0, err
	}
	if err := l.fs.Rename(segTmp, segPath); err != nil {
		cleanup()
		return 0, err
	}
	// From here the directory may hold the new segment beside the old
	// index: Open rebuilds an index of another generation.
	if err := l.fs.SyncDir(l.opts.Dir); err != nil {
		return 0, err
	}
	if err := l.writeIndex(old.id, gen, entries); err != nil {
		return 0, err
	}

	// Serve the new files. Should opening them fail, the old segment keeps
	// serving through its open handles (the old files' data stays readable
	// while they are open) and the next sweep compacts it again.
	nseg := &segment{id: old.id, created: old.created, gen: gen, size: size}
	if nseg.f, err = l.fs.Open(segPath); err != nil {
		return 0, err
	}
	if nseg.idx, err = l.fs.Open(idxPath); err != nil {
		nseg.f.Close()
		return 0, err
	}
	dir, _, err := readIndexDir(nseg.idx, old.id)
	if err != nil {
		nseg.closeFiles()
		return 0, err
	}
	nseg.ndir = len(dir)
	// Its records are old (compaction rewrites sealed segments) and all
	// durable: like a sealed segment out of the cached window, its pages
	// would only grow the page cache.
	l.dropPages(nseg.f, nseg.id)
	byShard := make(map[uint64]dirEntry, len(dir))
	for _, d := range dir {
		byShard[d.shard] = d
	}
	l.mu.Lock()
	for i, s := range l.segments {
		if s == old {
			l.segments[i] = nseg
		}
	}
	for _, sp := range p.refs {
		st := l.shards[sp.shard]
		for i, r := range st.sealed {
			if r.seg != old {
				continue
			}
			if d, ok := byShard[sp.shard]; ok {
				st.sealed[i] = sealedRef{seg: nseg, first: d.first, count: d.count,
					firstSeq: d.firstSeq, lastSeq: d.lastSeq, minTs: d.minTs, maxTs: d.maxTs}
			} else {
				st.sealed = append(st.sealed[:i], st.sealed[i+1:]...)
			}
			break
		}
	}
	l.mu.Unlock()
	if old.remote {
		// The new generation is local (it is uploaded again): the old
		// one's marker goes, durably, before its objects do.
		if err := l.fs.Remove(segName(l.opts.Dir, old.id, "tier")); err != nil && !vfs.IsNotExist(err) {
			old.retire() // a marker that stays is stale: Open removes it
			return old.size - size, err
		}
		if err := l.fs.SyncDir(l.opts.Dir); err != nil {
			old.retire()
			return old.size - size, err
		}
		l.tier.retireRemote(old)
	} else {
		old.retire()
	}
	l.event(Event{Kind: "segment-compacted", Segment: old.id, Detail: fmt.Sprintf("generation %d: %d of %d bytes kept", gen, size, old.size)})
	return old.size - size, nil
}

// readFence returns the fence token of the frame whose header is at off, or
// 0 if the header does not check out (the fence is informational).
func readFence(seg *segment, off int64) (uint64, error) {
	var h [frameHeaderLen]byte
	if off < segHeaderSize {
		return 0, nil
	}
	if n, err := seg.f.ReadAt(h[:], off); n != len(h) {
		if err != nil && err != io.EOF {
			return 0, fmt.Errorf("streamlog: reading segment %d offset %d: %w", seg.id, off, err)
		}
		return 0, nil
	}
	if _, ok := frameEnd(h[:], 0); !ok {
		return 0, nil
	}
	return le.Uint64(h[8:]), nil
}

// readVerified reads the section e of shard into b (len(b) == e.length) and
// checks it against its index entry.
func readVerified(seg *segment, shard uint64, e indexEntry, b []byte) error {
	if n, err := seg.f.ReadAt(b, int64(e.off)); n != len(b) {
		if err != nil && err != io.EOF {
			return fmt.Errorf("streamlog: reading segment %d offset %d: %w", seg.id, e.off, err)
		}
		return corruptf("segment %d offset %d: %v", seg.id, e.off, io.ErrUnexpectedEOF)
	}
	si, err := parseSection(b, e.off)
	if err != nil {
		return corruptf("segment %d offset %d: %v", seg.id, e.off, err)
	}
	if si.shard != shard || si.firstSeq != e.firstSeq || si.count != e.count || si.length != e.length {
		return corruptf("segment %d offset %d: index mismatch", seg.id, e.off)
	}
	return nil
}
