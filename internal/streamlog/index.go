package streamlog

import (
	"fmt"
	"io"
	"sort"

	"github.com/rheos/rheos/internal/vfs"
)

// dirEntry is one shard's directory entry in an .idx file.
type dirEntry struct {
	shard             uint64
	first, count      uint32
	firstSeq, lastSeq uint64
	minTs, maxTs      int64
}

// encodeIndex encodes the .idx file of generation gen of segment segID.
func encodeIndex(segID uint64, gen uint16, entries shardEntries) []byte {
	keys := make([]uint64, 0, len(entries))
	total := 0
	for k, es := range entries {
		keys = append(keys, k)
		total += len(es)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	b := make([]byte, idxHeaderSize+len(keys)*idxDirEntLen+total*idxEntryLen)
	dir := b[idxHeaderSize : idxHeaderSize+len(keys)*idxDirEntLen]
	ents := b[idxHeaderSize+len(keys)*idxDirEntLen:]
	n := 0
	for i, k := range keys {
		es := entries[k]
		d := dir[i*idxDirEntLen:]
		le.PutUint64(d[0:], k)
		le.PutUint32(d[8:], uint32(n))
		le.PutUint32(d[12:], uint32(len(es)))
		le.PutUint64(d[16:], es[0].firstSeq)
		le.PutUint64(d[24:], es[len(es)-1].lastSeq())
		le.PutUint64(d[32:], uint64(es[0].ts))
		// The writer gives every record of a section the same timestamp,
		// so the last section's first timestamp is the shard's newest.
		maxTs := es[len(es)-1].ts
		le.PutUint64(d[40:], uint64(maxTs))
		for _, e := range es {
			putIndexEntry(ents[n*idxEntryLen:], e)
			n++
		}
	}
	copy(b, idxMagic)
	le.PutUint16(b[8:], formatVersion)
	le.PutUint16(b[10:], gen)
	le.PutUint64(b[12:], segID)
	le.PutUint32(b[20:], uint32(len(keys)))
	le.PutUint32(b[24:], crc(dir))
	le.PutUint32(b[28:], crc(b[:28]))
	return b
}

// writeIndex atomically writes the .idx file of generation gen of a segment
// (a temporary file, fsync, rename, directory fsync): a crash leaves the
// previous index, or none, never a partial one.
func (l *Log) writeIndex(segID uint64, gen uint16, entries shardEntries) error {
	return vfs.WriteFileAtomic(l.fs, segName(l.opts.Dir, segID, "idx"), encodeIndex(segID, gen, entries))
}

// readIndexDir reads and checks an .idx header and directory, and returns the
// generation of the segment the index describes.
func readIndexDir(f vfs.File, segID uint64) ([]dirEntry, uint16, error) {
	var h [idxHeaderSize]byte
	if _, err := f.ReadAt(h[:], 0); err != nil {
		return nil, 0, corruptf("index header: %v", err)
	}
	if string(h[:8]) != idxMagic || crc(h[:28]) != le.Uint32(h[28:]) {
		return nil, 0, corruptf("index header checksum")
	}
	if v := le.Uint16(h[8:]); v != formatVersion {
		return nil, 0, fmt.Errorf("%w: index version %d", ErrUnsupportedVersion, v)
	}
	if id := le.Uint64(h[12:]); id != segID {
		return nil, 0, corruptf("index belongs to segment %d", id)
	}
	gen := le.Uint16(h[10:])
	n := int(le.Uint32(h[20:]))
	size, err := f.Size()
	if err != nil {
		return nil, 0, err
	}
	if int64(idxHeaderSize+n*idxDirEntLen) > size {
		return nil, 0, corruptf("index directory beyond file")
	}
	dir := make([]byte, n*idxDirEntLen)
	if _, err := f.ReadAt(dir, idxHeaderSize); err != nil && len(dir) > 0 {
		return nil, 0, corruptf("index directory: %v", err)
	}
	if crc(dir) != le.Uint32(h[24:]) {
		return nil, 0, corruptf("index directory checksum")
	}
	out := make([]dirEntry, n)
	entBase := int64(idxHeaderSize + n*idxDirEntLen)
	for i := range out {
		d := dir[i*idxDirEntLen:]
		out[i] = dirEntry{
			shard: le.Uint64(d[0:]), first: le.Uint32(d[8:]), count: le.Uint32(d[12:]),
			firstSeq: le.Uint64(d[16:]), lastSeq: le.Uint64(d[24:]),
			minTs: int64(le.Uint64(d[32:])), maxTs: int64(le.Uint64(d[40:])),
		}
		// In 64 bits: first+count must not wrap around to pass the check.
		if entBase+(int64(out[i].first)+int64(out[i].count))*idxEntryLen > size {
			return nil, 0, corruptf("index entries beyond file")
		}
	}
	return out, gen, nil
}

// idxEntryAt reads entry i (absolute) of an index file with n directory entries.
func idxEntryAt(f vfs.File, ndir int, i uint32) (indexEntry, error) {
	var b [idxEntryLen]byte
	off := int64(idxHeaderSize+ndir*idxDirEntLen) + int64(i)*idxEntryLen
	if n, err := f.ReadAt(b[:], off); n != len(b) {
		if err != nil && err != io.EOF {
			// An I/O error, not corruption: the caller may retry.
			return indexEntry{}, fmt.Errorf("streamlog: reading index entry: %w", err)
		}
		return indexEntry{}, corruptf("index entry: %v", io.ErrUnexpectedEOF)
	}
	return getIndexEntry(b[:])
}

// sealedEntries gives random access to one shard's entries in a sealed
// segment's index.
type sealedEntries struct {
	ref  sealedRef
	ndir int
}

func (s sealedEntries) at(i int) (indexEntry, error) {
	return idxEntryAt(s.ref.seg.idx, s.ndir, s.ref.first+uint32(i))
}

// search returns the smallest i in [0,count) for which pred(entry i) is true,
// or count.
func (s sealedEntries) search(pred func(indexEntry) bool) (int, error) {
	var ferr error
	i := sort.Search(int(s.ref.count), func(i int) bool {
		if ferr != nil {
			return true
		}
		e, err := s.at(i)
		if err != nil {
			ferr = err
			return true
		}
		return pred(e)
	})
	return i, ferr
}

// entries reads all of the shard's entries in its sealed segment, in order.
func (r sealedRef) entries() ([]indexEntry, error) {
	b := make([]byte, int(r.count)*idxEntryLen)
	off := int64(idxHeaderSize+r.seg.ndir*idxDirEntLen) + int64(r.first)*idxEntryLen
	if n, err := r.seg.idx.ReadAt(b, off); n != len(b) {
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("streamlog: reading index of segment %d: %w", r.seg.id, err)
		}
		return nil, corruptf("index of segment %d: %v", r.seg.id, io.ErrUnexpectedEOF)
	}
	out := make([]indexEntry, r.count)
	for i := range out {
		e, err := getIndexEntry(b[i*idxEntryLen:])
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}
