package webrtcingest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// The Matroska a session writes into its stream, the body PutMedia would
// carry (internal/video/mkv reads it back):
//
//	EBML header       DocType "matroska", DocTypeVersion 4, DocTypeReadVersion 2
//	Segment           size unknown (a live stream)
//	  Info            TimecodeScale 1,000,000 ns (1 ms), MuxingApp, WritingApp
//	  Tracks          1: video, V_MPEG4/ISO/AVC, CodecPrivate avcC (from the in-band SPS/PPS), PixelWidth/Height
//	                  2: audio, A_OPUS, CodecPrivate OpusHead, 48 kHz (only when the peer sends audio)
//	  Cluster*        known size; Timecode = producer time in ms since the epoch (ABSOLUTE)
//	    SimpleBlock*  track vint, int16 timecode relative to the cluster, flags (0x80 key frame), AVCC or Opus data
//
// A cluster starts at each IDR access unit and spans at most
// Config.MaxCluster; frames before the first IDR, and after a cluster
// reached its limit until the next IDR, are dropped (the session then asks
// the sender for a key frame). A new SPS or PPS at an IDR starts a new
// EBML document (header, Segment, Info, Tracks), which PutMedia's reader
// accepts mid-body. Element IDs below are part of the format (Matroska
// specification).
const (
	idEBML               = 0x1A45DFA3
	idEBMLVersion        = 0x4286
	idEBMLReadVersion    = 0x42F7
	idEBMLMaxIDLength    = 0x42F2
	idEBMLMaxSizeLength  = 0x42F3
	idDocType            = 0x4282
	idDocTypeVersion     = 0x4287
	idDocTypeReadVersion = 0x4285
	idSegment            = 0x18538067
	idInfo               = 0x1549A966
	idTimecodeScale      = 0x2AD7B1
	idMuxingApp          = 0x4D80
	idWritingApp         = 0x5741
	idTracks             = 0x1654AE6B
	idTrackEntry         = 0xAE
	idTrackNumber        = 0xD7
	idTrackUID           = 0x73C5
	idTrackType          = 0x83
	idFlagLacing         = 0x9C
	idCodecID            = 0x86
	idCodecPrivate       = 0x63A2
	idVideo              = 0xE0
	idPixelWidth         = 0xB0
	idPixelHeight        = 0xBA
	idAudio              = 0xE1
	idSamplingFrequency  = 0xB5
	idChannels           = 0x9F
	idCluster            = 0x1F43B675
	idTimecode           = 0xE7
	idSimpleBlock        = 0xA3

	videoTrack = 1
	audioTrack = 2

	trackTypeVideo = 1
	trackTypeAudio = 2

	codecAVC  = "V_MPEG4/ISO/AVC"
	codecOpus = "A_OPUS"
	appName   = "rheos-webrtc-storage"
)

// errNoParameterSets: an IDR came before any SPS and PPS.
var errNoParameterSets = errors.New("webrtcingest: IDR access unit without a preceding SPS and PPS")

// muxer writes H.264 access units (and Opus packets) as the Matroska
// above. It is not safe for concurrent use: the session serializes calls.
type muxer struct {
	w          io.Writer
	maxCluster int64 // ms
	audio      bool  // declare the Opus track

	sps, pps       []byte // the latest seen in band
	hdrSPS, hdrPPS []byte // those of the header written (nil: none yet)
	cluster        []byte // the open cluster's SimpleBlocks
	open           bool
	clusterTC      int64 // the open cluster's Timecode (ms)
	lastTC         int64 // the last cluster's Timecode, to keep them non-decreasing
	clusters       int
}

func newMuxer(w io.Writer, maxClusterMs int64, audio bool) *muxer {
	return &muxer{w: w, maxCluster: maxClusterMs, audio: audio, lastTC: math.MinInt64}
}

// writeVideo adds one access unit (AVCC: 4-byte lengths) at ts (ms since
// the epoch). It reports whether the muxer waits, or will soon wait, for a
// key frame (the caller should ask the sender for one).
func (m *muxer) writeVideo(ts int64, au []byte) (wantKey bool, err error) {
	nalus, err := splitAVCC(au)
	if err != nil {
		return !m.open, nil // a damaged access unit is dropped
	}
	key := false
	kept := au[:0:0]
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1F) {
		case h264.NALUTypeSPS:
			m.sps = bytes.Clone(n)
		case h264.NALUTypePPS:
			m.pps = bytes.Clone(n)
		case h264.NALUTypeIDR:
			key = true
		case h264.NALUTypeAccessUnitDelimiter:
			continue
		}
		kept = binary.BigEndian.AppendUint32(kept, uint32(len(n)))
		kept = append(kept, n...)
	}
	if len(kept) == 0 {
		return !m.open, nil
	}
	if m.open && (key || ts-m.clusterTC >= m.maxCluster) {
		if err := m.flush(); err != nil {
			return false, err
		}
	}
	if !m.open {
		if !key {
			return true, nil
		}
		if m.sps == nil || m.pps == nil {
			return true, nil
		}
		if !bytes.Equal(m.sps, m.hdrSPS) || !bytes.Equal(m.pps, m.hdrPPS) {
			if err := m.writeHeader(); err != nil {
				return false, err
			}
		}
		m.open, m.clusterTC, m.cluster = true, max(ts, m.lastTC), m.cluster[:0]
		m.lastTC = m.clusterTC
	}
	m.block(videoTrack, ts, key, kept)
	// Halfway to the limit without an IDR: ask early for one.
	return ts-m.clusterTC >= m.maxCluster/2, nil
}

// writeAudio adds one Opus packet at ts (ms) to the open cluster; audio
// before the first video key frame is dropped.
func (m *muxer) writeAudio(ts int64, pkt []byte) {
	if !m.open || !m.audio || len(pkt) == 0 {
		return
	}
	m.block(audioTrack, ts, true, pkt)
}

func (m *muxer) block(track byte, ts int64, key bool, data []byte) {
	rel := min(max(ts-m.clusterTC, math.MinInt16), math.MaxInt16)
	flags := byte(0)
	if key {
		flags = 0x80
	}
	body := make([]byte, 0, 4+len(data))
	body = append(body, 0x80|track, byte(uint16(rel)>>8), byte(uint16(rel)), flags)
	body = append(body, data...)
	m.cluster = appendElement(m.cluster, idSimpleBlock, body)
}

// flush writes the open cluster, if any.
func (m *muxer) flush() error {
	if !m.open {
		return nil
	}
	m.open = false
	var body []byte
	body = appendElement(body, idTimecode, appendUint(nil, uint64(m.clusterTC)))
	body = append(body, m.cluster...)
	m.clusters++
	_, err := m.w.Write(appendElement(nil, idCluster, body))
	return err
}

// writeHeader writes a new EBML document's header, Segment, Info and
// Tracks for the current SPS and PPS.
func (m *muxer) writeHeader() error {
	avcc, w, h, err := avcConfig(m.sps, m.pps)
	if err != nil {
		return err
	}
	var ebml []byte
	ebml = appendElement(ebml, idEBMLVersion, appendUint(nil, 1))
	ebml = appendElement(ebml, idEBMLReadVersion, appendUint(nil, 1))
	ebml = appendElement(ebml, idEBMLMaxIDLength, appendUint(nil, 4))
	ebml = appendElement(ebml, idEBMLMaxSizeLength, appendUint(nil, 8))
	ebml = appendElement(ebml, idDocType, []byte("matroska"))
	ebml = appendElement(ebml, idDocTypeVersion, appendUint(nil, 4))
	ebml = appendElement(ebml, idDocTypeReadVersion, appendUint(nil, 2))
	out := appendElement(nil, idEBML, ebml)
	out = appendID(out, idSegment)
	out = append(out, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF) // unknown size

	var info []byte
	info = appendElement(info, idTimecodeScale, appendUint(nil, 1_000_000))
	info = appendElement(info, idMuxingApp, []byte(appName))
	info = appendElement(info, idWritingApp, []byte(appName))
	out = appendElement(out, idInfo, info)

	var video []byte
	if w > 0 && h > 0 {
		video = appendElement(video, idPixelWidth, appendUint(nil, uint64(w)))
		video = appendElement(video, idPixelHeight, appendUint(nil, uint64(h)))
	}
	var vt []byte
	vt = appendElement(vt, idTrackNumber, appendUint(nil, videoTrack))
	vt = appendElement(vt, idTrackUID, appendUint(nil, videoTrack))
	vt = appendElement(vt, idTrackType, appendUint(nil, trackTypeVideo))
	vt = appendElement(vt, idFlagLacing, appendUint(nil, 0))
	vt = appendElement(vt, idCodecID, []byte(codecAVC))
	vt = appendElement(vt, idCodecPrivate, avcc)
	vt = appendElement(vt, idVideo, video)
	tracks := appendElement(nil, idTrackEntry, vt)
	if m.audio {
		var audio []byte
		audio = appendElement(audio, idSamplingFrequency, binary.BigEndian.AppendUint64(nil, math.Float64bits(48000)))
		audio = appendElement(audio, idChannels, appendUint(nil, 2))
		var at []byte
		at = appendElement(at, idTrackNumber, appendUint(nil, audioTrack))
		at = appendElement(at, idTrackUID, appendUint(nil, audioTrack))
		at = appendElement(at, idTrackType, appendUint(nil, trackTypeAudio))
		at = appendElement(at, idFlagLacing, appendUint(nil, 0))
		at = appendElement(at, idCodecID, []byte(codecOpus))
		at = appendElement(at, idCodecPrivate, opusHead(2, 48000))
		at = appendElement(at, idAudio, audio)
		tracks = appendElement(tracks, idTrackEntry, at)
	}
	out = appendElement(out, idTracks, tracks)
	if _, err := m.w.Write(out); err != nil {
		return err
	}
	m.hdrSPS, m.hdrPPS = m.sps, m.pps
	return nil
}

// avcConfig builds the AVCDecoderConfigurationRecord (ISO/IEC 14496-15
// 5.3.3.1) of one SPS and one PPS, and the picture size the SPS gives
// (0 when it cannot be parsed).
func avcConfig(sps, pps []byte) (rec []byte, width, height int, err error) {
	if len(sps) < 4 || len(pps) == 0 {
		return nil, 0, 0, errNoParameterSets
	}
	rec = []byte{1, sps[1], sps[2], sps[3], 0xFF, 0xE1}
	rec = binary.BigEndian.AppendUint16(rec, uint16(len(sps)))
	rec = append(rec, sps...)
	rec = append(rec, 1)
	rec = binary.BigEndian.AppendUint16(rec, uint16(len(pps)))
	rec = append(rec, pps...)
	var s h264.SPS
	if s.Unmarshal(sps) == nil {
		width, height = s.Width(), s.Height()
	}
	return rec, width, height, nil
}

// opusHead is the Opus identification header (RFC 7845 5.1), A_OPUS's
// CodecPrivate.
func opusHead(channels byte, rate uint32) []byte {
	b := append([]byte("OpusHead"), 1, channels, 0, 0)
	b = binary.LittleEndian.AppendUint32(b, rate)
	return append(b, 0, 0, 0) // output gain 0, mapping family 0
}

// splitAVCC splits an access unit of 4-byte-length-prefixed NAL units.
func splitAVCC(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, errors.New("webrtcingest: truncated AVCC length")
		}
		n := binary.BigEndian.Uint32(b)
		b = b[4:]
		if uint64(n) > uint64(len(b)) {
			return nil, errors.New("webrtcingest: AVCC length beyond the access unit")
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out, nil
}

// appendElement appends an element with a minimal size field.
func appendElement(dst []byte, id uint32, body []byte) []byte {
	dst = appendID(dst, id)
	dst = appendSize(dst, uint64(len(body)))
	return append(dst, body...)
}

// appendID appends an element ID (its bytes carry their own length).
func appendID(dst []byte, id uint32) []byte {
	switch {
	case id > 0xFFFFFF:
		return append(dst, byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
	case id > 0xFFFF:
		return append(dst, byte(id>>16), byte(id>>8), byte(id))
	case id > 0xFF:
		return append(dst, byte(id>>8), byte(id))
	}
	return append(dst, byte(id))
}

// appendSize appends a size vint of minimal length (never all ones,
// which means "unknown").
func appendSize(dst []byte, n uint64) []byte {
	l := 1
	for l < 8 && n >= 1<<(7*l)-1 {
		l++
	}
	v := n | 1<<(7*l)
	for i := l - 1; i >= 0; i-- {
		dst = append(dst, byte(v>>(8*i)))
	}
	return dst
}

// appendUint appends an unsigned integer's big-endian bytes, at least one.
func appendUint(dst []byte, v uint64) []byte {
	n := 1
	for n < 8 && v>>(8*n) != 0 {
		n++
	}
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(v>>(8*i)))
	}
	return dst
}
