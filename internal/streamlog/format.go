package streamlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Format constants. Every value here is part of the on-disk format described
// in FORMAT.md; changing one requires a new version.
const (
	formatVersion = 1

	segMagic       = "RHEOSSEG"
	segHeaderSize  = 32
	frameMagic     = 0x46534852 // "RHSF"
	frameHeaderLen = 24
	sectionHdrLen  = 20
	recordHdrLen   = 23

	idxMagic      = "RHEOSIDX"
	idxHeaderSize = 32
	idxDirEntLen  = 48
	idxEntryLen   = 32

	ckptMagic = "RHEOSCKP"
	// ckptFlagFloor in the checkpoint's flags says that the counter floor
	// of every shard (set after damaged frames were found) follows the
	// entries.
	ckptFlagFloor = 1 << 0
)

// Record flags (part of the format).
const (
	// FlagEncrypted marks a record whose data is sealed by the domain's
	// envelope encryption. streamlog stores the flag (and every other flag
	// bit) opaquely and never looks inside the data.
	FlagEncrypted uint8 = 1 << 0
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// sectionCRC covers a section's header fields (shard key, count, length) and
// its records, so a damaged shard key cannot move records to another shard.
func sectionCRC(hdr, records []byte) uint32 {
	return crc32.Update(crc(hdr[:16]), castagnoli, records)
}

var le = binary.LittleEndian

// ErrCorrupt reports data on disk that fails its checksum or structure
// checks. Corrupt data is never returned as records.
var ErrCorrupt = errors.New("streamlog: corrupt data")

// ErrUnsupportedVersion reports a file (segment, index or checkpoint) whose
// checksums match but whose format version this build does not know: written
// by a newer release. It is not corruption; the data must not be discarded.
var ErrUnsupportedVersion = errors.New("streamlog: unsupported format version")

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// segHeader is the decoded header of a segment file.
type segHeader struct {
	id      uint64
	created int64 // unix milliseconds
	// gen counts the rewrites of the segment by compaction (mod 2^16); an
	// index describes one generation of its segment.
	gen uint16
}

func encodeSegHeader(h segHeader) []byte {
	b := make([]byte, segHeaderSize)
	copy(b, segMagic)
	le.PutUint16(b[8:], formatVersion)
	le.PutUint16(b[10:], h.gen)
	le.PutUint64(b[12:], h.id)
	le.PutUint64(b[20:], uint64(h.created))
	le.PutUint32(b[28:], crc(b[:28]))
	return b
}

func decodeSegHeader(b []byte) (segHeader, error) {
	if len(b) < segHeaderSize || string(b[:8]) != segMagic {
		return segHeader{}, corruptf("bad segment magic")
	}
	if crc(b[:28]) != le.Uint32(b[28:]) {
		return segHeader{}, corruptf("segment header checksum")
	}
	if v := le.Uint16(b[8:]); v != formatVersion {
		return segHeader{}, fmt.Errorf("%w: segment version %d", ErrUnsupportedVersion, v)
	}
	return segHeader{id: le.Uint64(b[12:]), created: int64(le.Uint64(b[20:])), gen: le.Uint16(b[10:])}, nil
}

// sectionInfo describes one shard section inside a frame.
type sectionInfo struct {
	shard    uint64
	off      uint32 // offset of the section header in the segment
	length   uint32 // section length, header included
	count    uint32
	firstSeq uint64
	lastSeq  uint64
	firstTs  int64
	lastTs   int64
}

// parseFrame validates the frame at the start of b (which must hold at least
// the whole frame) and returns its length and sections. base is the frame's
// offset in the segment.
func parseFrame(b []byte, base uint32) (length int, fence uint64, secs []sectionInfo, err error) {
	if len(b) < frameHeaderLen {
		return 0, 0, nil, corruptf("short frame header")
	}
	if le.Uint32(b[0:]) != frameMagic {
		return 0, 0, nil, corruptf("bad frame magic")
	}
	if crc(b[:20]) != le.Uint32(b[20:]) {
		return 0, 0, nil, corruptf("frame header checksum")
	}
	length = int(le.Uint32(b[4:]))
	if length < frameHeaderLen || length > len(b) {
		return 0, 0, nil, corruptf("frame length %d out of range", length)
	}
	fence = le.Uint64(b[8:])
	n := int(le.Uint32(b[16:]))
	p := frameHeaderLen
	for i := 0; i < n; i++ {
		if p+sectionHdrLen > length {
			return 0, 0, nil, corruptf("section header beyond frame")
		}
		si, err := parseSection(b[p:length], base+uint32(p))
		if err != nil {
			return 0, 0, nil, err
		}
		secs = append(secs, si)
		p += int(si.length)
	}
	if p != length {
		return 0, 0, nil, corruptf("frame length mismatch")
	}
	return length, fence, secs, nil
}

// parseSection validates a section (header and records area) at the start of
// b and returns its description.
func parseSection(b []byte, off uint32) (sectionInfo, error) {
	if len(b) < sectionHdrLen {
		return sectionInfo{}, corruptf("short section")
	}
	si := sectionInfo{shard: le.Uint64(b[0:]), count: le.Uint32(b[8:]), off: off}
	area := int(le.Uint32(b[12:]))
	if area > len(b)-sectionHdrLen || si.count == 0 {
		return sectionInfo{}, corruptf("section length out of range")
	}
	recs := b[sectionHdrLen : sectionHdrLen+area]
	if sectionCRC(b[:16], recs) != le.Uint32(b[16:]) {
		return sectionInfo{}, corruptf("section checksum")
	}
	si.length = uint32(sectionHdrLen + area)
	// Walk the records to check their structure and find the bounds.
	p := 0
	for i := uint32(0); i < si.count; i++ {
		if p+recordHdrLen > len(recs) {
			return sectionInfo{}, corruptf("record header beyond section")
		}
		seq := le.Uint64(recs[p:])
		ts := int64(le.Uint64(recs[p+8:]))
		kl := int(le.Uint16(recs[p+17:]))
		dl := int(le.Uint32(recs[p+19:]))
		if p+recordHdrLen+kl+dl > len(recs) {
			return sectionInfo{}, corruptf("record beyond section")
		}
		if i == 0 {
			si.firstSeq, si.firstTs = seq, ts
		} else if seq != si.lastSeq+1 {
			return sectionInfo{}, corruptf("non-consecutive sequence in section")
		}
		si.lastSeq, si.lastTs = seq, ts
		p += recordHdrLen + kl + dl
	}
	if p != len(recs) {
		return sectionInfo{}, corruptf("trailing bytes in section")
	}
	return si, nil
}

// frameEnd reports whether a frame header that passes its checksum starts at
// p, and if so where the frame it announces ends (possibly beyond data).
func frameEnd(data []byte, p int) (int, bool) {
	if len(data)-p < frameHeaderLen {
		return 0, false
	}
	h := data[p : p+frameHeaderLen]
	n := int(le.Uint32(h[4:]))
	if le.Uint32(h) != frameMagic || crc(h[:20]) != le.Uint32(h[20:]) || n < frameHeaderLen {
		return 0, false
	}
	return p + n, true
}

// findNextFrame returns the offset of the next fully valid frame at or after
// from, or -1.
func findNextFrame(data []byte, from int) int {
	var m [4]byte
	le.PutUint32(m[:], frameMagic)
	for p := from; p+frameHeaderLen <= len(data); p++ {
		// Skip to the next magic (a long zero tail is passed at memory speed).
		i := bytes.Index(data[p:], m[:])
		if i < 0 {
			return -1
		}
		if p += i; p+frameHeaderLen > len(data) {
			return -1
		}
		if _, _, _, err := parseFrame(data[p:], uint32(p)); err == nil {
			return p
		}
	}
	return -1
}

// decodeSection decodes the records of a validated section whose sequence
// counters are >= from and whose timestamp is >= minTs, appending to out.
// Data slices alias b. It stops after maxRecords records or once maxBytes of
// data were returned (always returning at least one record if any matches).
func decodeSection(b []byte, from uint64, minTs int64, out []Record, maxRecords, maxBytes int, bytes *int) ([]Record, bool) {
	count := int(le.Uint32(b[8:]))
	recs := b[sectionHdrLen:]
	p := 0
	for i := 0; i < count; i++ {
		seq := le.Uint64(recs[p:])
		ts := int64(le.Uint64(recs[p+8:]))
		flags := recs[p+16]
		kl := int(le.Uint16(recs[p+17:]))
		dl := int(le.Uint32(recs[p+19:]))
		start := p + recordHdrLen
		p = start + kl + dl
		if seq < from || ts < minTs {
			continue
		}
		if len(out) >= maxRecords || (len(out) > 0 && *bytes+dl+kl > maxBytes) {
			return out, true
		}
		*bytes += dl + kl
		out = append(out, Record{
			Seq:          seq,
			Timestamp:    ts,
			Flags:        flags,
			PartitionKey: string(recs[start : start+kl]),
			Data:         recs[start+kl : start+kl+dl],
		})
	}
	return out, false
}

// Encoding. A frame is built in place, so record data is copied once: the
// caller reserves the frame header (appendFrameHeader), appends each section
// (appendSectionHeader, then appendRecord for each of its records, then
// encodeSectionHeader over the section's bytes) and finally fills in the
// frame header (encodeFrameHeader over the whole frame's bytes). parseFrame
// and parseSection are the inverse.

// appendFrameHeader reserves room for a frame header at the end of buf.
func appendFrameHeader(buf []byte) []byte {
	return append(buf, make([]byte, frameHeaderLen)...)
}

// encodeFrameHeader fills in the header of frame, which holds the whole frame
// (header, then the encoded sections): its length is len(frame).
func encodeFrameHeader(frame []byte, fence uint64, sections int) {
	le.PutUint32(frame[0:], frameMagic)
	le.PutUint32(frame[4:], uint32(len(frame)))
	le.PutUint64(frame[8:], fence)
	le.PutUint32(frame[16:], uint32(sections))
	le.PutUint32(frame[20:], crc(frame[:20]))
}

// encodeFrame returns a frame holding the given encoded sections (each as
// built by appendSectionHeader, appendRecord and encodeSectionHeader, or
// copied verbatim from a valid frame: a section's bytes do not depend on
// where it lies). No sections is a valid, empty frame.
func encodeFrame(fence uint64, sections ...[]byte) []byte {
	n := frameHeaderLen
	for _, s := range sections {
		n += len(s)
	}
	b := appendFrameHeader(make([]byte, 0, n))
	for _, s := range sections {
		b = append(b, s...)
	}
	encodeFrameHeader(b, fence, len(sections))
	return b
}

// appendSectionHeader reserves room for a section header at the end of buf.
func appendSectionHeader(buf []byte) []byte {
	return append(buf, make([]byte, sectionHdrLen)...)
}

// encodeSectionHeader fills in the header of sec, which holds the whole
// section (header, then count records): the records area is the rest of sec.
func encodeSectionHeader(sec []byte, shard uint64, count int) {
	area := sec[sectionHdrLen:]
	le.PutUint64(sec[0:], shard)
	le.PutUint32(sec[8:], uint32(count))
	le.PutUint32(sec[12:], uint32(len(area)))
	le.PutUint32(sec[16:], sectionCRC(sec[:16], area))
}

// appendRecord encodes one record onto buf.
func appendRecord(buf []byte, seq uint64, ts int64, flags uint8, key string, data []byte) []byte {
	var h [recordHdrLen]byte
	le.PutUint64(h[0:], seq)
	le.PutUint64(h[8:], uint64(ts))
	h[16] = flags
	le.PutUint16(h[17:], uint16(len(key)))
	le.PutUint32(h[19:], uint32(len(data)))
	buf = append(buf, h[:]...)
	buf = append(buf, key...)
	return append(buf, data...)
}

// indexEntry locates one section of a shard. In .idx files it is stored in
// idxEntryLen bytes with a CRC.
type indexEntry struct {
	firstSeq uint64
	ts       int64
	off      uint32
	length   uint32
	count    uint32
}

func (e indexEntry) lastSeq() uint64 { return e.firstSeq + uint64(e.count) - 1 }

func putIndexEntry(b []byte, e indexEntry) {
	le.PutUint64(b[0:], e.firstSeq)
	le.PutUint64(b[8:], uint64(e.ts))
	le.PutUint32(b[16:], e.off)
	le.PutUint32(b[20:], e.length)
	le.PutUint32(b[24:], e.count)
	le.PutUint32(b[28:], crc(b[:28]))
}

func getIndexEntry(b []byte) (indexEntry, error) {
	if crc(b[:28]) != le.Uint32(b[28:]) {
		return indexEntry{}, corruptf("index entry checksum")
	}
	return indexEntry{
		firstSeq: le.Uint64(b[0:]),
		ts:       int64(le.Uint64(b[8:])),
		off:      le.Uint32(b[16:]),
		length:   le.Uint32(b[20:]),
		count:    le.Uint32(b[24:]),
	}, nil
}
