package streamlog

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
)

// ErrNoRecord is returned by ReadStream when the shard holds no record at or
// after the requested counter (yet).
var ErrNoRecord = errors.New("streamlog: no record at or after the requested counter")

// RecordStream is one record whose data is read incrementally, for records
// too large to load whole (video fragments). The metadata fields are filled
// in by ReadStream; Read streams the data straight from the segment file.
//
// The data is checked against its section's checksum as it streams: the Read
// that reaches the end of the data returns ErrCorrupt instead of io.EOF if the
// checksum does not match, so a caller may trust the data only once Read has
// returned io.EOF. The stream holds its segment open (even if a sweep deletes
// or compacts it meanwhile) until Close. A RecordStream is not safe for
// concurrent use.
type RecordStream struct {
	Seq          uint64
	Timestamp    int64 // unix milliseconds
	Flags        uint8
	PartitionKey string
	// Size is the length of the data in bytes.
	Size int64

	seg    *segment
	off    int64  // next data byte to read
	end    int64  // end of the data
	secEnd int64  // end of the section
	sum    uint32 // running CRC-32C of the section, up to off
	want   uint32 // the section's checksum
	err    error  // sticky: io.EOF, ErrCorrupt or an I/O error
	closed bool
}

// ReadStream opens the first record of shard with a counter >= from and a
// timestamp >= minTimestamp (0: any), without reading its data. It returns
// ErrNoRecord if there is none. The caller must Close the stream.
func (l *Log) ReadStream(shard, from uint64, minTimestamp int64) (*RecordStream, error) {
	v, ok := l.view(shard)
	if !ok {
		return nil, ErrNoRecord
	}
	defer v.release()
	from = max(from, v.trim)
	if minTimestamp > 0 {
		seq, err := v.seekTime(minTimestamp)
		if err != nil {
			return nil, err
		}
		from = max(from, seq)
	}
	seg, e, ok, err := v.locate(from)
	if err != nil || !ok {
		if err == nil {
			err = ErrNoRecord
		}
		return nil, err
	}
	rs, err := openRecord(seg, shard, e, max(from, e.firstSeq))
	if err != nil {
		return nil, err
	}
	seg.acquire() // released by Close; the view's reference goes with it
	return rs, nil
}

// locate finds the first section of the view holding a counter >= from.
func (v view) locate(from uint64) (*segment, indexEntry, bool, error) {
	for _, r := range v.sealed {
		if r.lastSeq < from {
			continue
		}
		se := sealedEntries{ref: r, ndir: r.seg.ndir}
		i, err := se.search(func(e indexEntry) bool { return e.lastSeq() >= from })
		if err != nil {
			return nil, indexEntry{}, false, err
		}
		if i < int(r.count) {
			e, err := se.at(i)
			return r.seg, e, err == nil, err
		}
	}
	for _, e := range v.active {
		if e.lastSeq() >= from {
			return v.actSeg, e, true, nil
		}
	}
	return nil, indexEntry{}, false, nil
}

// openRecord walks the section e of shard in seg up to record seq, hashing
// what it passes, and returns a stream positioned at the record's data.
func openRecord(seg *segment, shard uint64, e indexEntry, seq uint64) (*RecordStream, error) {
	start, end := int64(e.off), int64(e.off)+int64(e.length)
	bad := func(what string) error { return corruptf("segment %d offset %d: %s", seg.id, e.off, what) }
	var h [sectionHdrLen]byte
	if err := readFull(seg, h[:], start); err != nil {
		return nil, err
	}
	count := le.Uint32(h[8:])
	if le.Uint64(h[0:]) != shard || count != e.count || int64(le.Uint32(h[12:]))+sectionHdrLen != int64(e.length) {
		return nil, bad("index mismatch")
	}
	rs := &RecordStream{seg: seg, secEnd: end, want: le.Uint32(h[16:]), sum: crc(h[:16])}
	p := start + sectionHdrLen
	var rh [recordHdrLen]byte
	for i := uint32(0); i < count; i++ {
		if p+recordHdrLen > end {
			return nil, bad("record header beyond section")
		}
		if err := readFull(seg, rh[:], p); err != nil {
			return nil, err
		}
		rs.sum = crc32.Update(rs.sum, castagnoli, rh[:])
		rseq := le.Uint64(rh[0:])
		kl, dl := int64(le.Uint16(rh[17:])), int64(le.Uint32(rh[19:]))
		keyAt := p + recordHdrLen
		dataAt := keyAt + kl
		if rseq != e.firstSeq+uint64(i) || dataAt+dl > end {
			return nil, bad("record out of place")
		}
		if rseq == seq {
			key := make([]byte, kl)
			if err := readFull(seg, key, keyAt); err != nil {
				return nil, err
			}
			rs.sum = crc32.Update(rs.sum, castagnoli, key)
			rs.Seq, rs.Timestamp, rs.Flags = rseq, int64(le.Uint64(rh[8:])), rh[16]
			rs.PartitionKey, rs.Size = string(key), dl
			rs.off, rs.end = dataAt, dataAt+dl
			return rs, nil
		}
		var err error
		if rs.sum, err = hashRange(seg, rs.sum, keyAt, dataAt+dl); err != nil {
			return nil, err
		}
		p = dataAt + dl
	}
	return nil, bad(fmt.Sprintf("record %d not in its section", seq))
}

// Read reads the record's data. See RecordStream for how corruption is
// reported.
func (r *RecordStream) Read(p []byte) (int, error) {
	if r.closed {
		return 0, fs.ErrClosed
	}
	if r.err != nil {
		return 0, r.err
	}
	if r.off >= r.end {
		// The data is done: the rest of the section completes the checksum.
		sum, err := hashRange(r.seg, r.sum, r.end, r.secEnd)
		switch {
		case err != nil:
			return 0, err // an I/O error: not sticky, Read may be retried
		case sum != r.want:
			r.err = corruptf("segment %d: section checksum of record %d", r.seg.id, r.Seq)
		default:
			r.err = io.EOF
		}
		return 0, r.err
	}
	if int64(len(p)) > r.end-r.off {
		p = p[:r.end-r.off]
	}
	n, err := r.seg.f.ReadAt(p, r.off)
	r.sum = crc32.Update(r.sum, castagnoli, p[:n])
	r.off += int64(n)
	if n < len(p) {
		if err == nil || err == io.EOF {
			r.err = corruptf("segment %d offset %d: %v", r.seg.id, r.off, io.ErrUnexpectedEOF)
			return n, r.err
		}
		return n, fmt.Errorf("streamlog: reading segment %d offset %d: %w", r.seg.id, r.off, err)
	}
	return n, nil
}

// Close releases the segment. It is safe to call more than once.
func (r *RecordStream) Close() error {
	if !r.closed {
		r.closed = true
		r.seg.release()
	}
	return nil
}

// readFull reads len(b) bytes of seg at off; a short file is corruption.
func readFull(seg *segment, b []byte, off int64) error {
	n, err := seg.f.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err != nil && err != io.EOF {
		return fmt.Errorf("streamlog: reading segment %d offset %d: %w", seg.id, off, err)
	}
	return corruptf("segment %d offset %d: %v", seg.id, off, io.ErrUnexpectedEOF)
}

// hashRange extends sum over seg's bytes [from, to), reading in bounded
// chunks.
func hashRange(seg *segment, sum uint32, from, to int64) (uint32, error) {
	buf := make([]byte, min(to-from, 64<<10))
	for from < to {
		b := buf[:min(int64(len(buf)), to-from)]
		if err := readFull(seg, b, from); err != nil {
			return 0, err
		}
		sum = crc32.Update(sum, castagnoli, b)
		from += int64(len(b))
	}
	return sum, nil
}
