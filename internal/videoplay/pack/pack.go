// Package pack owns the packaging of stored Kinesis Video Streams
// fragments (Matroska clusters as the producer sent them) into what
// archived-media playback serves, on read: the fragmented-MP4 init
// segment and media segments of HLS and DASH, MPEG-TS segments of HLS,
// and the plain (non-fragmented) MP4 of GetClip. It is pure Go
// (bluenviron/mediacommon's fmp4, mpegts and pmp4 writers) and a leaf:
// it reads bytes handed to it and returns bytes; no HTTP, no storage, no
// AWS.
//
// Tracks: the first H.264 track (V_MPEG4/ISO/AVC) is MP4 track 1, the
// first AAC track (A_AAC*) track 2, as KVS numbers them; other tracks
// are dropped. Times: a fragment's frames are placed at the fragment's
// chosen timestamp (producer or server) plus the frame's offset from the
// first frame of the cluster, so media segments of one stream line up on
// one clock whichever fragments a playlist picks.
package pack

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"

	"github.com/rheos/rheos/internal/video/mkv"
)

// Errors callers branch on.
var (
	// ErrUnsupported: the stream has no H.264 track (AWS's
	// UnsupportedStreamMediaTypeException).
	ErrUnsupported = errors.New("pack: no H.264 track")
	// ErrCodecPrivate: the H.264 track's CodecPrivate is missing
	// (MissingCodecPrivateDataException) or not valid
	// (InvalidCodecPrivateDataException, wrapped with ErrInvalidCodecPrivate).
	ErrMissingCodecPrivate = errors.New("pack: the H.264 track has no CodecPrivate")
	// ErrInvalidCodecPrivate: CodecPrivate does not parse.
	ErrInvalidCodecPrivate = errors.New("pack: CodecPrivate is not valid")
	// ErrInvalidMedia: a stored cluster does not parse
	// (InvalidMediaFrameException).
	ErrInvalidMedia = errors.New("pack: a fragment's media is not valid")
)

// Track IDs of the output (KVS's HLS/DASH TrackNumber).
const (
	VideoTrackID = 1
	AudioTrackID = 2
	// VideoTimeScale is the video track's MP4 timescale (the MPEG clock).
	VideoTimeScale = 90000
)

// Track is one output track.
type Track struct {
	// ID is VideoTrackID or AudioTrackID.
	ID int
	// Number is the Matroska track it is taken from.
	Number uint64
	// TimeScale is the MP4 timescale (90 kHz video, the sample rate audio).
	TimeScale uint32
	// Codec is the MP4 codec description.
	Codec codecs.Codec
	// DefaultDuration is the Matroska DefaultDuration (0 if none).
	DefaultDuration time.Duration
	// Width and Height are the video track's size (0 if unknown).
	Width, Height int

	avc *AVCConfig // video
}

// Tracks are a stream header's playable tracks, video first.
type Tracks struct {
	Video *Track
	Audio *Track // nil without an AAC track
	// TimecodeScale is the Matroska TimecodeScale (ns per unit).
	TimecodeScale int64
}

// List returns the tracks in ID order.
func (t *Tracks) List() []*Track {
	if t.Audio == nil {
		return []*Track{t.Video}
	}
	return []*Track{t.Video, t.Audio}
}

// TracksOf reads a stored header's Info and Tracks elements.
func TracksOf(info, tracks []byte) (*Tracks, error) {
	h, err := mkv.ParseStoredHeader(info, tracks)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidMedia, err)
	}
	out := &Tracks{TimecodeScale: h.TimecodeScale}
	for _, te := range h.Tracks {
		switch {
		case out.Video == nil && te.CodecID == "V_MPEG4/ISO/AVC":
			if len(te.CodecPrivate) == 0 {
				return nil, ErrMissingCodecPrivate
			}
			avc, err := ParseAVCConfig(te.CodecPrivate)
			if err != nil {
				return nil, err
			}
			out.Video = &Track{ID: VideoTrackID, Number: te.Number, TimeScale: VideoTimeScale, avc: avc,
				Codec: &codecs.H264{SPS: avc.SPS[0], PPS: avc.PPS[0]}, DefaultDuration: time.Duration(te.DefaultDuration),
				Width: te.Width, Height: te.Height}
		case out.Audio == nil && len(te.CodecID) >= 5 && te.CodecID[:5] == "A_AAC" && len(te.CodecPrivate) > 0:
			var asc mpeg4audio.AudioSpecificConfig
			if err := asc.Unmarshal(te.CodecPrivate); err != nil || asc.SampleRate <= 0 {
				continue // an audio track we cannot describe is dropped, not fatal
			}
			out.Audio = &Track{ID: AudioTrackID, Number: te.Number, TimeScale: uint32(asc.SampleRate),
				Codec: &codecs.MPEG4Audio{Config: asc}, DefaultDuration: time.Duration(te.DefaultDuration)}
		}
	}
	if out.Video == nil {
		return nil, ErrUnsupported
	}
	return out, nil
}

// AVCConfig is an AVCDecoderConfigurationRecord (ISO/IEC 14496-15
// 5.3.3.1), the H.264 track's CodecPrivate:
//
//	0  u8  configurationVersion (1)
//	1  u8  AVCProfileIndication, profile_compatibility, AVCLevelIndication (3 bytes)
//	4  u8  0b111111 | lengthSizeMinusOne (2 bits)
//	5  u8  0b111 | numOfSequenceParameterSets (5 bits)
//	   { u16 length, SPS NAL unit }*
//	   u8 numOfPictureParameterSets { u16 length, PPS NAL unit }*
type AVCConfig struct {
	// LengthSize is the size of the NAL unit length prefix in samples
	// (1, 2 or 4).
	LengthSize int
	SPS, PPS   [][]byte
}

// ParseAVCConfig decodes an AVCDecoderConfigurationRecord; it needs at
// least one SPS and one PPS.
func ParseAVCConfig(b []byte) (*AVCConfig, error) {
	bad := func(what string) error { return fmt.Errorf("%w: avcC %s", ErrInvalidCodecPrivate, what) }
	if len(b) < 7 || b[0] != 1 {
		return nil, bad("too short or not version 1")
	}
	c := &AVCConfig{LengthSize: int(b[4]&3) + 1}
	if c.LengthSize == 3 {
		return nil, bad("with a 3-byte NAL length")
	}
	list := func(b []byte, n int) ([][]byte, []byte, error) {
		var out [][]byte
		for range n {
			if len(b) < 2 {
				return nil, nil, bad("truncated")
			}
			l := int(b[0])<<8 | int(b[1])
			if l == 0 || len(b) < 2+l {
				return nil, nil, bad("truncated")
			}
			out = append(out, b[2:2+l])
			b = b[2+l:]
		}
		return out, b, nil
	}
	var err error
	rest := b[6:]
	if c.SPS, rest, err = list(rest, int(b[5]&0x1F)); err != nil {
		return nil, err
	}
	if len(rest) < 1 {
		return nil, bad("without PPS count")
	}
	if c.PPS, _, err = list(rest[1:], int(rest[0])); err != nil {
		return nil, err
	}
	if len(c.SPS) == 0 || len(c.PPS) == 0 {
		return nil, bad("without SPS or PPS")
	}
	return c, nil
}

// SplitNALUs splits a length-prefixed (AVCC) sample into its NAL units.
func SplitNALUs(sample []byte, lengthSize int) ([][]byte, error) {
	var out [][]byte
	for len(sample) > 0 {
		if len(sample) < lengthSize {
			return nil, fmt.Errorf("%w: truncated NAL length", ErrInvalidMedia)
		}
		n := 0
		for _, c := range sample[:lengthSize] {
			n = n<<8 | int(c)
		}
		sample = sample[lengthSize:]
		if n > len(sample) {
			return nil, fmt.Errorf("%w: NAL unit longer than its sample", ErrInvalidMedia)
		}
		if n > 0 {
			out = append(out, sample[:n])
		}
		sample = sample[n:]
	}
	return out, nil
}

// Fragment is one stored fragment to package.
type Fragment struct {
	// Start is the fragment's chosen timestamp (producer or server): the
	// time of its cluster's first frame.
	Start time.Time
	// Duration is the fragment's length from the index.
	Duration time.Duration
	// Cluster is the stored Cluster element.
	Cluster []byte
}

// Sample is one frame placed on the output clock.
type Sample struct {
	// DTS and PTS are absolute times (ns since the epoch).
	DTS, PTS int64
	// Duration is the time to the next sample of the track (ns).
	Duration int64
	Key      bool
	// Data is the frame: AVCC NAL units (4-byte lengths) for video, a raw
	// AAC access unit for audio.
	Data []byte
}

// Samples are a fragment's frames by output track.
type Samples struct {
	Video, Audio []Sample
}

// SamplesOf places the frames of fragments (in playback order) on the
// output clock. Durations run to the next frame of the track, in the
// next fragment too; the last frame lasts until the end of its fragment
// (Start + Duration) or, failing that, its track's DefaultDuration or the
// mean gap.
func (t *Tracks) SamplesOf(frags []Fragment) (*Samples, error) {
	out := &Samples{}
	for fi, f := range frags {
		_, frames, err := mkv.ClusterFrames(f.Cluster)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidMedia, err)
		}
		first := int64(0)
		for i, fr := range frames {
			if i == 0 || fr.Timecode < first {
				first = fr.Timecode
			}
		}
		base := f.Start.UnixNano()
		end := base + int64(f.Duration)
		var vs, as []Sample
		for _, fr := range frames {
			ts := base + (fr.Timecode-first)*t.TimecodeScale
			switch {
			case fr.Track == t.Video.Number:
				data, err := t.Video.avcc(fr.Data)
				if err != nil {
					return nil, err
				}
				vs = append(vs, Sample{PTS: ts, Key: fr.Key, Data: data})
			case t.Audio != nil && fr.Track == t.Audio.Number:
				as = append(as, Sample{PTS: ts, DTS: ts, Key: true, Data: fr.Data})
			}
		}
		decodeOrder(vs)
		if fi > 0 && len(frags) > 1 {
			// Fragments are played one after the other: close the gap of
			// the previous fragment's last samples to this one's first.
			closeLast(out.Video, vs)
			closeLast(out.Audio, as)
		}
		out.Video = append(out.Video, vs...)
		out.Audio = append(out.Audio, as...)
		fill(out.Video, end, t.Video.DefaultDuration)
		if t.Audio != nil {
			fill(out.Audio, end, t.Audio.DefaultDuration)
		}
	}
	return out, nil
}

// avcc returns a video frame with 4-byte NAL lengths (MP4's, as the
// init segment declares).
func (tr *Track) avcc(frame []byte) ([]byte, error) {
	if tr.avc.LengthSize == 4 {
		if _, err := SplitNALUs(frame, 4); err != nil {
			return nil, err
		}
		return frame, nil
	}
	nalus, err := SplitNALUs(frame, tr.avc.LengthSize)
	if err != nil {
		return nil, err
	}
	var out []byte
	for _, n := range nalus {
		out = append(out, byte(len(n)>>24), byte(len(n)>>16), byte(len(n)>>8), byte(len(n)))
		out = append(out, n...)
	}
	return out, nil
}

// decodeOrder sets DTS: the sorted presentation times in stored (decode)
// order, shifted back by the largest reordering so that no frame is
// presented before it is decoded. Without B-frames DTS = PTS.
func decodeOrder(vs []Sample) {
	pts := make([]int64, len(vs))
	for i := range vs {
		pts[i] = vs[i].PTS
	}
	slices.Sort(pts)
	shift := int64(0)
	for i := range vs {
		shift = max(shift, pts[i]-vs[i].PTS)
	}
	for i := range vs {
		vs[i].DTS = pts[i] - shift
	}
}

// closeLast sets the duration of the last sample of prev to reach the
// first of next.
func closeLast(prev, next []Sample) {
	if len(prev) == 0 || len(next) == 0 {
		return
	}
	if d := next[0].DTS - prev[len(prev)-1].DTS; d > 0 {
		prev[len(prev)-1].Duration = d
	}
}

// fill sets the durations of samples that have none: the gap to the
// next; the last one's to end, its DefaultDuration or the mean gap.
func fill(ss []Sample, end int64, def time.Duration) {
	for i := range ss {
		if i+1 < len(ss) {
			if ss[i].Duration == 0 {
				ss[i].Duration = max(ss[i+1].DTS-ss[i].DTS, 0)
			}
			continue
		}
		if ss[i].Duration != 0 {
			continue
		}
		switch {
		case end > ss[i].DTS:
			ss[i].Duration = end - ss[i].DTS
		case def > 0:
			ss[i].Duration = int64(def)
		case len(ss) > 1:
			ss[i].Duration = (ss[i].DTS - ss[0].DTS) / int64(len(ss)-1)
		}
	}
}

// ticks converts ns to a timescale.
func ticks(ns int64, scale uint32) int64 {
	s := int64(scale)
	return ns/1e9*s + ns%1e9*s/1e9
}

// Codecs is the RFC 6381 codecs string of the tracks (HLS CODECS, DASH
// codecs): "avc1.PPCCLL" from the SPS, then "mp4a.40.N" for AAC.
func (t *Tracks) Codecs() string {
	sps := t.Video.avc.SPS[0]
	s := "avc1"
	if len(sps) >= 4 {
		s = fmt.Sprintf("avc1.%02x%02x%02x", sps[1], sps[2], sps[3])
	}
	if t.Audio != nil {
		s += fmt.Sprintf(",mp4a.40.%d", t.Audio.Codec.(*codecs.MPEG4Audio).Config.Type)
	}
	return s
}
