// Package mkv owns the Matroska (EBML) subset Kinesis Video Streams
// carries: an incremental reader of a PutMedia body and the writer of the
// chunks GetMedia answers. It is a leaf: standard library only, no HTTP,
// no storage, no AWS.
//
// A PutMedia body is one or more EBML documents back to back, each
//
//	EBML header (1A45DFA3) | Segment (18538067, size known or unknown)
//	  Info (1549A966)      TimecodeScale (2AD7B1), default 1,000,000 ns
//	  Tracks (1654AE6B)    TrackEntry (AE): TrackNumber (D7), CodecID (86), DefaultDuration (23E383)
//	  Cluster (1F43B675)*  Timecode (E7), SimpleBlock (A3) | BlockGroup (A0: Block A1, BlockDuration 9B)
//
// SeekHead, Cues, Void, Chapters, Tags, Attachments and CRC-32 elements
// between them are skipped. A cluster of unknown size ends at the next
// element of the Segment's level (or a new EBML header) or at the end of
// the body. The reader never buffers more than one cluster (bounded by
// Limits.MaxClusterBytes) or one header element (Limits.MaxHeaderBytes),
// so a hostile body costs bounded memory.
//
// The reader hands each cluster back with a known size (the 8-byte size
// field written by AppendCluster): its children are the bytes the
// producer sent, unchanged.
package mkv

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// Element IDs (Matroska specification; part of the format).
const (
	IDEBML            = 0x1A45DFA3
	IDDocType         = 0x4282
	IDSegment         = 0x18538067
	IDSeekHead        = 0x114D9B74
	IDInfo            = 0x1549A966
	IDTimecodeScale   = 0x2AD7B1
	IDTracks          = 0x1654AE6B
	IDTrackEntry      = 0xAE
	IDTrackNumber     = 0xD7
	IDTrackType       = 0x83
	IDCodecID         = 0x86
	IDDefaultDuration = 0x23E383
	IDCluster         = 0x1F43B675
	IDTimecode        = 0xE7
	IDSimpleBlock     = 0xA3
	IDBlockGroup      = 0xA0
	IDBlock           = 0xA1
	IDBlockDuration   = 0x9B
	IDCues            = 0x1C53BB6B
	IDChapters        = 0x1043A770
	IDTags            = 0x1254C367
	IDTag             = 0x7373
	IDTargets         = 0x63C0
	IDSimpleTag       = 0x67C8
	IDTagName         = 0x45A3
	IDTagString       = 0x4487
	IDAttachments     = 0x1941A469
	IDVoid            = 0xEC
	IDCRC32           = 0xBF
)

// unknownSize is the value of an all-ones size field: "unknown" (live
// streams' Segment and clusters).
const unknownSize = -1

// Errors callers branch on.
var (
	// ErrInvalid means the body is not Matroska as KVS takes it (AWS's
	// error 4006).
	ErrInvalid = errors.New("mkv: not a valid Matroska stream")
	// ErrTooLarge means a cluster exceeds Limits.MaxClusterBytes (4001).
	ErrTooLarge = errors.New("mkv: cluster too large")
	// ErrTooManyTracks means Tracks holds more than Limits.MaxTracks (4012).
	ErrTooManyTracks = errors.New("mkv: too many tracks")
	// ErrUnknownTrack means a block names a track Tracks does not (4010).
	ErrUnknownTrack = errors.New("mkv: block of an undeclared track")
)

// Limits bound what the reader accepts.
type Limits struct {
	// MaxClusterBytes bounds one cluster. Default 50 MB (AWS's fragment
	// limit).
	MaxClusterBytes int64
	// MaxHeaderBytes bounds the EBML header, Info and Tracks elements.
	// Default 1 MiB.
	MaxHeaderBytes int64
	// MaxTracks bounds the tracks of a stream. Default 3 (AWS's).
	MaxTracks int
}

// Track is one TrackEntry.
type Track struct {
	Number          uint64
	Type            uint64
	CodecID         string
	DefaultDuration int64 // nanoseconds, 0 if absent
}

// Header is a stream's description: the raw EBML header, Info and Tracks
// elements as the producer sent them, and what the reader took from them.
type Header struct {
	EBML, Info, Tracks []byte
	// TimecodeScale is nanoseconds per timecode unit.
	TimecodeScale int64
	TrackList     []Track
}

// Cluster is one complete cluster.
type Cluster struct {
	// Raw is the Cluster element, with an 8-byte size field.
	Raw []byte
	// Timecode is the cluster's timecode in milliseconds (TimecodeScale
	// applied).
	Timecode int64
	// Duration is the span of its blocks in milliseconds: last block start
	// − first block start + the last block's duration (BlockDuration, the
	// track's DefaultDuration, or the mean gap between blocks).
	Duration int64
	// Blocks counts its blocks; Tracks is the set of tracks they belong to.
	Blocks int
	Tracks map[uint64]bool
}

// Kind is what Next returns.
type Kind int

// Kinds of events.
const (
	// KindHeader: a new Header was read (at the start, and again when the
	// producer starts a new EBML document).
	KindHeader Kind = iota + 1
	// KindClusterStart: a cluster began; Timecode is known (the moment of
	// BUFFERING).
	KindClusterStart
	// KindCluster: the cluster is complete.
	KindCluster
)

// Event is one step of the reader.
type Event struct {
	Kind     Kind
	Header   *Header  // KindHeader
	Timecode int64    // KindClusterStart: ms
	Cluster  *Cluster // KindCluster
}

// Reader reads a PutMedia body incrementally. It is not safe for
// concurrent use.
type Reader struct {
	r      *bufio.Reader
	lim    Limits
	hdr    *Header
	segEnd int64 // offset where the Segment ends, or unknownSize
	off    int64 // bytes consumed
	state  int
	cl     clusterState
	pushed *pending // an element head read ahead (it ended a cluster of unknown size)
	err    error
}

type clusterState struct {
	raw        []byte
	end        int64 // offset where the cluster ends, or unknownSize
	timecode   int64 // raw units
	hasTC      bool
	first, top int64 // raw block timecodes (absolute units): first seen, largest
	lastTrack  uint64
	lastDur    int64 // raw units, from BlockDuration; -1 if none
	blocks     int
	tracks     map[uint64]bool
}

const (
	stateDoc     = iota // expecting an EBML header
	stateSegment        // expecting level-1 elements
	stateCluster        // inside a cluster
)

// NewReader returns a reader of r.
func NewReader(r io.Reader, lim Limits) *Reader {
	if lim.MaxClusterBytes <= 0 {
		lim.MaxClusterBytes = 50_000_000
	}
	if lim.MaxHeaderBytes <= 0 {
		lim.MaxHeaderBytes = 1 << 20
	}
	if lim.MaxTracks <= 0 {
		lim.MaxTracks = 3
	}
	return &Reader{r: bufio.NewReaderSize(r, 64<<10), lim: lim}
}

// Offset is the number of body bytes consumed.
func (d *Reader) Offset() int64 { return d.off }

// InCluster reports whether a cluster has started and not ended.
func (d *Reader) InCluster() bool { return d.state == stateCluster }

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Next returns the next event; io.EOF at a clean end of the body (not
// inside an element). Errors are sticky.
func (d *Reader) Next() (Event, error) {
	if d.err != nil {
		return Event{}, d.err
	}
	ev, err := d.next()
	if err != nil {
		d.err = err
	}
	return ev, err
}

func (d *Reader) next() (Event, error) {
	for {
		switch d.state {
		case stateDoc:
			id, size, _, err := d.readElementHead(true)
			if err != nil {
				return Event{}, err
			}
			if id != IDEBML || size == unknownSize {
				return Event{}, invalid("expected an EBML header, got element %x", id)
			}
			ebml, err := d.readBody(id, size, d.lim.MaxHeaderBytes)
			if err != nil {
				return Event{}, err
			}
			if err := checkDocType(ebml); err != nil {
				return Event{}, err
			}
			id, size, _, err = d.readElementHead(false)
			if err != nil {
				return Event{}, err
			}
			if id != IDSegment {
				return Event{}, invalid("expected a Segment, got element %x", id)
			}
			d.segEnd = unknownSize
			if size != unknownSize {
				d.segEnd = d.off + size
			}
			d.hdr = &Header{EBML: ebml, TimecodeScale: 1_000_000}
			d.state = stateSegment
		case stateSegment:
			if d.segEnd != unknownSize && d.off >= d.segEnd {
				d.state = stateDoc
				continue
			}
			id, size, hl, err := d.readElementHead(true)
			if err == io.EOF {
				return Event{}, io.EOF
			}
			if err != nil {
				return Event{}, err
			}
			switch id {
			case IDEBML: // a new document without the old Segment's end
				d.unread(id, size, hl)
				d.state = stateDoc
				continue
			case IDInfo:
				raw, err := d.readBody(id, size, d.lim.MaxHeaderBytes)
				if err != nil {
					return Event{}, err
				}
				d.hdr.Info = raw
				d.hdr.TimecodeScale = 1_000_000
				if err := children(raw, func(cid uint64, b []byte) error {
					if cid == IDTimecodeScale {
						v := uintOf(b)
						if v == 0 || v > 1<<40 {
							return invalid("TimecodeScale %d", v)
						}
						d.hdr.TimecodeScale = int64(v)
					}
					return nil
				}); err != nil {
					return Event{}, err
				}
			case IDTracks:
				raw, err := d.readBody(id, size, d.lim.MaxHeaderBytes)
				if err != nil {
					return Event{}, err
				}
				tracks, err := parseTracks(raw, d.lim.MaxTracks)
				if err != nil {
					return Event{}, err
				}
				if d.hdr.Info == nil {
					return Event{}, invalid("Tracks before Info")
				}
				d.hdr.Tracks, d.hdr.TrackList = raw, tracks
				h := *d.hdr
				return Event{Kind: KindHeader, Header: &h}, nil
			case IDCluster:
				if d.hdr.Tracks == nil {
					return Event{}, invalid("Cluster before Tracks")
				}
				d.cl = clusterState{end: unknownSize, lastDur: -1, tracks: map[uint64]bool{}}
				if size != unknownSize {
					if size > d.lim.MaxClusterBytes {
						return Event{}, ErrTooLarge
					}
					d.cl.end = d.off + size
				}
				d.cl.raw = appendID(make([]byte, 0, 4096), IDCluster)
				d.cl.raw = append(d.cl.raw, 0, 0, 0, 0, 0, 0, 0, 0) // size, set at the end
				d.state = stateCluster
			case IDSegment:
				return Event{}, invalid("nested Segment")
			default:
				if size == unknownSize {
					return Event{}, invalid("element %x of unknown size", id)
				}
				if err := d.skip(size); err != nil {
					return Event{}, err
				}
			}
		case stateCluster:
			if d.cl.end != unknownSize && d.off >= d.cl.end {
				return d.finishCluster()
			}
			if d.cl.end == unknownSize && d.segEnd != unknownSize && d.off >= d.segEnd {
				return d.finishCluster()
			}
			id, size, hl, err := d.readElementHead(true)
			if err == io.EOF && d.cl.end == unknownSize {
				return d.finishCluster()
			}
			if err != nil {
				if err == io.EOF {
					err = invalid("body ends inside a cluster")
				}
				return Event{}, err
			}
			if d.cl.end == unknownSize && isLevel1(id) {
				d.unread(id, size, hl)
				return d.finishCluster()
			}
			if size == unknownSize {
				return Event{}, invalid("cluster child %x of unknown size", id)
			}
			if d.cl.end != unknownSize && d.off+size > d.cl.end {
				return Event{}, invalid("cluster child %x overruns its cluster", id)
			}
			if int64(len(d.cl.raw))+int64(hl)+size > d.lim.MaxClusterBytes {
				return Event{}, ErrTooLarge
			}
			d.cl.raw = appendID(d.cl.raw, id)
			d.cl.raw = appendSize(d.cl.raw, size)
			body, err := d.readN(size)
			if err != nil {
				return Event{}, err
			}
			d.cl.raw = append(d.cl.raw, body...)
			switch id {
			case IDTimecode:
				if d.cl.hasTC {
					return Event{}, invalid("two cluster Timecodes")
				}
				d.cl.timecode, d.cl.hasTC = int64(uintOf(body)), true
				if d.cl.timecode < 0 || d.cl.timecode > 1<<53 {
					return Event{}, invalid("cluster Timecode out of range")
				}
				return Event{Kind: KindClusterStart, Timecode: d.ms(d.cl.timecode)}, nil
			case IDSimpleBlock:
				if err := d.block(body, -1); err != nil {
					return Event{}, err
				}
			case IDBlockGroup:
				var blk []byte
				dur := int64(-1)
				if err := children(body, func(cid uint64, b []byte) error {
					switch cid {
					case IDBlock:
						blk = b
					case IDBlockDuration:
						dur = int64(uintOf(b))
					}
					return nil
				}); err != nil {
					return Event{}, err
				}
				if blk == nil {
					return Event{}, invalid("BlockGroup without a Block")
				}
				if err := d.block(blk, dur); err != nil {
					return Event{}, err
				}
			}
		}
	}
}

func (d *Reader) ms(units int64) int64 { return units * d.hdr.TimecodeScale / 1_000_000 }

// block accounts for one block: track number, relative timecode.
func (d *Reader) block(b []byte, dur int64) error {
	if !d.cl.hasTC {
		return invalid("block before the cluster Timecode")
	}
	tr, n := vint(b)
	track := uint64(tr)
	if n <= 0 || tr < 0 || len(b) < n+3 {
		return invalid("short block")
	}
	known := false
	for _, t := range d.hdr.TrackList {
		if t.Number == track {
			known = true
		}
	}
	if !known {
		return fmt.Errorf("%w: track %d", ErrUnknownTrack, track)
	}
	rel := int64(int16(uint16(b[n])<<8 | uint16(b[n+1])))
	ts := d.cl.timecode + rel
	if d.cl.blocks == 0 || ts < d.cl.first {
		d.cl.first = ts
	}
	if d.cl.blocks == 0 || ts >= d.cl.top {
		d.cl.top, d.cl.lastTrack, d.cl.lastDur = ts, track, dur
	}
	d.cl.blocks++
	d.cl.tracks[track] = true
	return nil
}

func (d *Reader) finishCluster() (Event, error) {
	d.state = stateSegment
	if !d.cl.hasTC {
		return Event{}, invalid("cluster without a Timecode")
	}
	raw := d.cl.raw
	putSize8(raw[4:12], int64(len(raw)-12))
	c := &Cluster{Raw: raw, Timecode: d.ms(d.cl.timecode), Blocks: d.cl.blocks, Tracks: d.cl.tracks}
	if d.cl.blocks > 0 {
		last := d.cl.lastDur
		if last < 0 {
			for _, t := range d.hdr.TrackList {
				if t.Number == d.cl.lastTrack && t.DefaultDuration > 0 {
					last = t.DefaultDuration / d.hdr.TimecodeScale
				}
			}
		}
		if last < 0 && d.cl.blocks > 1 {
			last = (d.cl.top - d.cl.first) / int64(d.cl.blocks-1)
		}
		last = max(last, 0)
		c.Duration = d.ms(d.cl.top - d.cl.first + last)
	}
	d.cl = clusterState{}
	return Event{Kind: KindCluster, Cluster: c}, nil
}

// isLevel1 reports whether id is an element of the Segment's level (or
// a new EBML document), which ends a cluster of unknown size.
func isLevel1(id uint64) bool {
	switch id {
	case IDEBML, IDSegment, IDSeekHead, IDInfo, IDTracks, IDCluster, IDCues, IDChapters, IDTags, IDAttachments:
		return true
	}
	return false
}

// pending is an element head read ahead and pushed back.
type pending struct {
	id, hl uint64
	size   int64
}

// readElementHead reads an element ID and size. atStart: an io.EOF before
// any byte is returned as io.EOF (a clean end); elsewhere it is invalid.
func (d *Reader) readElementHead(atStart bool) (id uint64, size int64, hl int, err error) {
	if p := d.pushed; p != nil {
		d.pushed = nil
		return p.id, p.size, int(p.hl), nil
	}
	first, err := d.r.ReadByte()
	if err != nil {
		if err == io.EOF && atStart {
			return 0, 0, 0, io.EOF
		}
		return 0, 0, 0, d.readErr(err)
	}
	d.off++
	idLen := lenOf(first, 4)
	if idLen == 0 {
		return 0, 0, 0, invalid("bad element ID byte %#x at %d", first, d.off-1)
	}
	id = uint64(first)
	for i := 1; i < idLen; i++ {
		b, err := d.r.ReadByte()
		if err != nil {
			return 0, 0, 0, d.readErr(err)
		}
		d.off++
		id = id<<8 | uint64(b)
	}
	sb, err := d.r.ReadByte()
	if err != nil {
		return 0, 0, 0, d.readErr(err)
	}
	d.off++
	sl := lenOf(sb, 8)
	if sl == 0 {
		return 0, 0, 0, invalid("bad size byte at %d", d.off-1)
	}
	v := uint64(sb) & (0xFF >> sl)
	allOnes := v == 0xFF>>sl
	for i := 1; i < sl; i++ {
		b, err := d.r.ReadByte()
		if err != nil {
			return 0, 0, 0, d.readErr(err)
		}
		d.off++
		v = v<<8 | uint64(b)
		allOnes = allOnes && b == 0xFF
	}
	if allOnes {
		return id, unknownSize, idLen + sl, nil
	}
	if v > 1<<56 {
		return 0, 0, 0, invalid("element size %d", v)
	}
	return id, int64(v), idLen + sl, nil
}

func (d *Reader) unread(id uint64, size int64, hl int) {
	d.pushed = &pending{id: id, size: size, hl: uint64(hl)}
}

func (d *Reader) readErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return invalid("body ends inside an element")
	}
	return err
}

// readBody reads an element's body (at most max bytes) and returns the
// whole element (ID, size, body).
func (d *Reader) readBody(id uint64, size, max int64) ([]byte, error) {
	if size == unknownSize || size > max {
		return nil, invalid("element %x of size %d", id, size)
	}
	out := appendID(nil, id)
	out = appendSize(out, size)
	body, err := d.readN(size)
	if err != nil {
		return nil, err
	}
	return append(out, body...), nil
}

func (d *Reader) readN(n int64) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(d.r, b); err != nil {
		return nil, d.readErr(err)
	}
	d.off += n
	return b, nil
}

func (d *Reader) skip(n int64) error {
	m, err := d.r.Discard(int(min(n, 1<<62)))
	d.off += int64(m)
	if err != nil {
		return d.readErr(err)
	}
	return nil
}

func checkDocType(ebml []byte) error {
	_, n := vint(ebml[idLenOf(ebml):])
	body := ebml[idLenOf(ebml)+n:]
	doc := ""
	if err := children(body, func(id uint64, b []byte) error {
		if id == IDDocType {
			doc = string(b)
		}
		return nil
	}); err != nil {
		return err
	}
	if doc != "matroska" && doc != "webm" {
		return invalid("DocType %q", doc)
	}
	return nil
}

func idLenOf(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	return lenOf(b[0], 4)
}

func parseTracks(raw []byte, maxTracks int) ([]Track, error) {
	_, n := vint(raw[idLenOf(raw):])
	var out []Track
	err := children(raw[idLenOf(raw)+n:], func(id uint64, b []byte) error {
		if id != IDTrackEntry {
			return nil
		}
		var t Track
		if err := children(b, func(cid uint64, v []byte) error {
			switch cid {
			case IDTrackNumber:
				t.Number = uintOf(v)
			case IDTrackType:
				t.Type = uintOf(v)
			case IDCodecID:
				t.CodecID = string(v)
			case IDDefaultDuration:
				t.DefaultDuration = int64(uintOf(v) & (1<<62 - 1))
			}
			return nil
		}); err != nil {
			return err
		}
		if t.Number == 0 {
			return invalid("TrackEntry without a TrackNumber")
		}
		out = append(out, t)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, invalid("no tracks")
	}
	if len(out) > maxTracks {
		return nil, fmt.Errorf("%w: %d", ErrTooManyTracks, len(out))
	}
	return out, nil
}

// children calls fn for each child element of a master element's body.
// Children of unknown size are invalid here.
func children(body []byte, fn func(id uint64, b []byte) error) error {
	for len(body) > 0 {
		il := idLenOf(body)
		if il == 0 || il > len(body) {
			return invalid("bad child element ID")
		}
		var id uint64
		for _, c := range body[:il] {
			id = id<<8 | uint64(c)
		}
		size, sl := vint(body[il:])
		if sl <= 0 || size < 0 || uint64(len(body)-il-sl) < uint64(size) {
			return invalid("bad child element size")
		}
		if err := fn(id, body[il+sl:il+sl+int(size)]); err != nil {
			return err
		}
		body = body[il+sl+int(size):]
	}
	return nil
}

// vint decodes a size vint; n is its length (0: invalid). An all-ones
// value (unknown size) is returned as -1.
func vint(b []byte) (int64, int) {
	if len(b) == 0 {
		return 0, 0
	}
	l := lenOf(b[0], 8)
	if l == 0 || l > len(b) {
		return 0, 0
	}
	v := uint64(b[0]) & (0xFF >> l)
	allOnes := v == 0xFF>>l
	for _, c := range b[1:l] {
		v = v<<8 | uint64(c)
		allOnes = allOnes && c == 0xFF
	}
	if allOnes {
		return -1, l
	}
	if v > 1<<56 {
		return 0, 0
	}
	return int64(v), l
}

// lenOf is the length of a vint from its first byte (0 if longer than
// max or the byte is zero).
func lenOf(b byte, max int) int {
	for i := 0; i < max; i++ {
		if b&(0x80>>i) != 0 {
			return i + 1
		}
	}
	return 0
}

func uintOf(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}
