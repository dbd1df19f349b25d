package mkv

import (
	"fmt"
	"math"
)

// Reading stored fragments back for packaging: the tracks a stored
// header declares (with CodecPrivate) and the frames of a stored cluster.
// Both work on whole elements held in memory (a Header's fields, a
// Cluster's Raw) and never on a body being received.

// More element IDs read here (Matroska specification; part of the format).
const (
	IDCodecPrivate  = 0x63A2
	IDVideo         = 0xE0
	IDPixelWidth    = 0xB0
	IDPixelHeight   = 0xBA
	IDAudio         = 0xE1
	IDSamplingFreq  = 0xB5
	IDChannels      = 0x9F
	IDReferenceBlk  = 0xFB
	trackTypeVideo  = 1
	trackTypeAudio  = 2
	defaultTimecode = 1_000_000
)

// TrackEntry is a TrackEntry as packaging needs it.
type TrackEntry struct {
	Track
	// CodecPrivate is the codec's configuration (H.264: an
	// AVCDecoderConfigurationRecord; AAC: an AudioSpecificConfig).
	CodecPrivate []byte
	// Width and Height are a video track's pixel size (0 if absent).
	Width, Height int
	// SamplingFrequency and Channels describe an audio track.
	SamplingFrequency float64
	Channels          int
}

// IsVideo and IsAudio report the track's type.
func (t *TrackEntry) IsVideo() bool { return t.Type == trackTypeVideo }

// IsAudio reports whether the track is an audio track.
func (t *TrackEntry) IsAudio() bool { return t.Type == trackTypeAudio }

// StoredHeader is what a stored stream header says.
type StoredHeader struct {
	// TimecodeScale is nanoseconds per timecode unit (default 1 ms).
	TimecodeScale int64
	Tracks        []TrackEntry
}

// ParseStoredHeader reads a header's Info and Tracks elements (whole
// elements, as Header holds them).
func ParseStoredHeader(info, tracks []byte) (*StoredHeader, error) {
	h := &StoredHeader{TimecodeScale: defaultTimecode}
	body, err := elementBody(info, IDInfo)
	if err != nil {
		return nil, err
	}
	if err := children(body, func(id uint64, v []byte) error {
		if id == IDTimecodeScale {
			if s := int64(uintOf(v) & (1<<62 - 1)); s > 0 {
				h.TimecodeScale = s
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	body, err = elementBody(tracks, IDTracks)
	if err != nil {
		return nil, err
	}
	err = children(body, func(id uint64, b []byte) error {
		if id != IDTrackEntry {
			return nil
		}
		var t TrackEntry
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
			case IDCodecPrivate:
				t.CodecPrivate = append([]byte(nil), v...)
			case IDVideo:
				return children(v, func(vid uint64, x []byte) error {
					switch vid {
					case IDPixelWidth:
						t.Width = int(uintOf(x) & 0xFFFFFF)
					case IDPixelHeight:
						t.Height = int(uintOf(x) & 0xFFFFFF)
					}
					return nil
				})
			case IDAudio:
				return children(v, func(aid uint64, x []byte) error {
					switch aid {
					case IDSamplingFreq:
						t.SamplingFrequency = floatOf(x)
					case IDChannels:
						t.Channels = int(uintOf(x) & 0xFF)
					}
					return nil
				})
			}
			return nil
		}); err != nil {
			return err
		}
		if t.Number == 0 {
			return invalid("TrackEntry without a TrackNumber")
		}
		h.Tracks = append(h.Tracks, t)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// Frame is one frame of a stored cluster.
type Frame struct {
	Track uint64
	// Timecode is the frame's absolute timecode in the stream's units
	// (cluster Timecode + the block's relative timecode).
	Timecode int64
	// Duration is the BlockDuration in units, or -1 when the block has none.
	Duration int64
	// Key reports a key frame (SimpleBlock's flag; a BlockGroup without
	// a ReferenceBlock).
	Key bool
	// Data is the frame's payload (aliases the cluster's bytes).
	Data []byte
}

// ClusterFrames returns the frames of a whole Cluster element in the
// order stored. Laced blocks are split into their frames (all at the
// block's timecode).
func ClusterFrames(cluster []byte) (timecode int64, frames []Frame, err error) {
	body, err := elementBody(cluster, IDCluster)
	if err != nil {
		return 0, nil, err
	}
	hasTC := false
	err = children(body, func(id uint64, v []byte) error {
		switch id {
		case IDTimecode:
			timecode, hasTC = int64(uintOf(v)&(1<<62-1)), true
		case IDSimpleBlock:
			if !hasTC {
				return invalid("block before the cluster Timecode")
			}
			return appendBlock(&frames, v, timecode, -1, true, false)
		case IDBlockGroup:
			if !hasTC {
				return invalid("block before the cluster Timecode")
			}
			var blk []byte
			dur, ref := int64(-1), false
			if err := children(v, func(gid uint64, g []byte) error {
				switch gid {
				case IDBlock:
					blk = g
				case IDBlockDuration:
					dur = int64(uintOf(g) & (1<<62 - 1))
				case IDReferenceBlk:
					ref = true
				}
				return nil
			}); err != nil {
				return err
			}
			if blk == nil {
				return invalid("BlockGroup without a Block")
			}
			return appendBlock(&frames, blk, timecode, dur, false, !ref)
		}
		return nil
	})
	return timecode, frames, err
}

// appendBlock splits a (Simple)Block into frames.
func appendBlock(frames *[]Frame, b []byte, clusterTC, dur int64, simple, key bool) error {
	tr, n := vint(b)
	if n <= 0 || tr <= 0 || len(b) < n+3 {
		return invalid("short block")
	}
	rel := int64(int16(uint16(b[n])<<8 | uint16(b[n+1])))
	flags := b[n+2]
	if simple {
		key = flags&0x80 != 0
	}
	f := Frame{Track: uint64(tr), Timecode: clusterTC + rel, Duration: dur, Key: key}
	data := b[n+3:]
	lacing := (flags >> 1) & 3
	if lacing == 0 {
		f.Data = data
		*frames = append(*frames, f)
		return nil
	}
	sizes, data, err := laceSizes(lacing, data)
	if err != nil {
		return err
	}
	for _, s := range sizes {
		f.Data = data[:s]
		data = data[s:]
		*frames = append(*frames, f)
	}
	return nil
}

// laceSizes decodes a lacing header: the frames' sizes (the last one
// what remains) and the data after the header.
func laceSizes(lacing byte, b []byte) ([]int, []byte, error) {
	if len(b) < 1 {
		return nil, nil, invalid("short lacing")
	}
	count := int(b[0]) + 1
	b = b[1:]
	sizes := make([]int, count)
	switch lacing {
	case 1: // Xiph
		for i := 0; i < count-1; i++ {
			for {
				if len(b) == 0 {
					return nil, nil, invalid("short Xiph lacing")
				}
				c := b[0]
				b = b[1:]
				sizes[i] += int(c)
				if c != 0xFF {
					break
				}
			}
		}
	case 3: // EBML
		for i := 0; i < count-1; i++ {
			if i == 0 {
				v, l := vint(b)
				if l <= 0 || v < 0 {
					return nil, nil, invalid("bad EBML lacing")
				}
				sizes[0], b = int(v), b[l:]
				continue
			}
			v, l := vint(b)
			if l <= 0 || v < 0 {
				return nil, nil, invalid("bad EBML lacing")
			}
			d := v - (int64(1)<<(7*l-1) - 1) // signed: subtract the bias
			sizes[i] = sizes[i-1] + int(d)
			b = b[l:]
		}
	case 2: // fixed
		if len(b)%count != 0 {
			return nil, nil, invalid("fixed lacing does not divide the block")
		}
		for i := range sizes {
			sizes[i] = len(b) / count
		}
		return sizes, b, nil
	}
	total := 0
	for _, s := range sizes[:count-1] {
		if s < 0 || s > len(b) {
			return nil, nil, invalid("lace larger than its block")
		}
		total += s
	}
	if total > len(b) {
		return nil, nil, invalid("laces larger than their block")
	}
	sizes[count-1] = len(b) - total
	return sizes, b, nil
}

// elementBody returns the body of a whole element with the given ID.
func elementBody(el []byte, want uint64) ([]byte, error) {
	il := idLenOf(el)
	if il == 0 || il > len(el) {
		return nil, invalid("bad element ID")
	}
	var id uint64
	for _, c := range el[:il] {
		id = id<<8 | uint64(c)
	}
	if id != want {
		return nil, invalid("element %X where %X was expected", id, want)
	}
	size, sl := vint(el[il:])
	if sl <= 0 {
		return nil, invalid("bad element size")
	}
	body := el[il+sl:]
	if size >= 0 {
		if uint64(len(body)) < uint64(size) {
			return nil, fmt.Errorf("%w: element %X truncated", ErrInvalid, id)
		}
		body = body[:size]
	}
	return body, nil
}

func floatOf(b []byte) float64 {
	switch len(b) {
	case 4:
		return float64(math.Float32frombits(uint32(uintOf(b))))
	case 8:
		return math.Float64frombits(uintOf(b))
	}
	return 0
}
