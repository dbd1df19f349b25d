package pack

import (
	"bytes"
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	tscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/pmp4"
)

// InitSegment is the fMP4 initialization segment (ftyp, moov with one
// trak per track; avcC from the H.264 track's CodecPrivate).
func (t *Tracks) InitSegment() ([]byte, error) {
	in := fmp4.Init{}
	for _, tr := range t.List() {
		in.Tracks = append(in.Tracks, &fmp4.InitTrack{ID: tr.ID, TimeScale: tr.TimeScale, Codec: tr.Codec})
	}
	var b seekablebuffer.Buffer
	if err := in.Marshal(&b); err != nil {
		return nil, fmt.Errorf("pack: init segment: %w", err)
	}
	return b.Bytes(), nil
}

// MediaSegment is one fMP4 media segment (moof with mfhd sequence seq and
// one traf per track whose tfdt is the first sample's decode time on the
// absolute clock, then mdat) of the samples.
func (t *Tracks) MediaSegment(seq uint32, s *Samples) ([]byte, error) {
	p := fmp4.Part{SequenceNumber: seq}
	add := func(tr *Track, ss []Sample) {
		if tr == nil || len(ss) == 0 {
			return
		}
		pt := &fmp4.PartTrack{ID: tr.ID, BaseTime: uint64(max(ticks(ss[0].DTS, tr.TimeScale), 0))}
		at := ticks(ss[0].DTS, tr.TimeScale)
		for i, x := range ss {
			// Durations accumulate on the track's clock, so rounding never drifts.
			next := ticks(x.DTS+x.Duration, tr.TimeScale)
			if i+1 < len(ss) {
				next = ticks(ss[i+1].DTS, tr.TimeScale)
			}
			pt.Samples = append(pt.Samples, &fmp4.Sample{Duration: uint32(max(next-at, 0)),
				PTSOffset: int32(ticks(x.PTS, tr.TimeScale) - ticks(x.DTS, tr.TimeScale)), IsNonSyncSample: !x.Key, Payload: x.Data})
			at = next
		}
		p.Tracks = append(p.Tracks, pt)
	}
	add(t.Video, s.Video)
	add(t.Audio, s.Audio)
	var b seekablebuffer.Buffer
	if err := p.Marshal(&b); err != nil {
		return nil, fmt.Errorf("pack: media segment: %w", err)
	}
	return b.Bytes(), nil
}

// mpegClock is the MPEG-TS clock's range: 33 bits of 90 kHz.
const mpegClock = 1 << 33

// TSSegment is an MPEG-TS segment of the samples: PAT and PMT, H.264
// access units in Annex-B (an AUD first, SPS and PPS before every IDR)
// and ADTS-framed AAC, PES timestamps on the absolute 90 kHz clock
// modulo 2^33.
func (t *Tracks) TSSegment(s *Samples) ([]byte, error) {
	var buf bytes.Buffer
	vt := &mpegts.Track{Codec: &tscodecs.H264{}}
	tracks := []*mpegts.Track{vt}
	var at *mpegts.Track
	if t.Audio != nil && len(s.Audio) > 0 {
		at = &mpegts.Track{Codec: &tscodecs.MPEG4Audio{Config: t.Audio.Codec.(*codecs.MPEG4Audio).Config}}
		tracks = append(tracks, at)
	}
	w := &mpegts.Writer{W: &buf, Tracks: tracks}
	if err := w.Initialize(); err != nil {
		return nil, fmt.Errorf("pack: TS: %w", err)
	}
	clock := func(ns int64) int64 { return ticks(ns, 90000) % mpegClock }
	vi, ai := 0, 0
	for vi < len(s.Video) || ai < len(s.Audio) {
		if at == nil || ai >= len(s.Audio) || (vi < len(s.Video) && s.Video[vi].DTS <= s.Audio[ai].DTS) {
			x := s.Video[vi]
			vi++
			nalus, err := SplitNALUs(x.Data, 4)
			if err != nil {
				return nil, err
			}
			if len(nalus) == 0 {
				continue
			}
			if x.Key && !hasParameterSets(nalus) {
				ps := append(append([][]byte(nil), t.Video.avc.SPS...), t.Video.avc.PPS...)
				nalus = append(ps, nalus...)
			}
			dts := clock(x.DTS)
			if err := w.WriteH264(vt, dts+ticks(x.PTS-x.DTS, 90000), dts, nalus); err != nil {
				return nil, fmt.Errorf("pack: TS: %w", err)
			}
			continue
		}
		x := s.Audio[ai]
		ai++
		if err := w.WriteMPEG4Audio(at, clock(x.PTS), [][]byte{x.Data}); err != nil {
			return nil, fmt.Errorf("pack: TS: %w", err)
		}
	}
	return buf.Bytes(), nil
}

// hasParameterSets reports whether an access unit carries an SPS and a PPS.
func hasParameterSets(nalus [][]byte) bool {
	sps, pps := false, false
	for _, n := range nalus {
		switch n[0] & 0x1F {
		case 7:
			sps = true
		case 8:
			pps = true
		}
	}
	return sps && pps
}

// Clip is a plain MP4 (ftyp, moov with sample tables, one mdat; no
// moof) of the samples, its timeline starting at 0 at the first video
// frame.
func (t *Tracks) Clip(s *Samples) ([]byte, error) {
	if len(s.Video) == 0 {
		return nil, fmt.Errorf("%w: no video frames", ErrInvalidMedia)
	}
	origin := s.Video[0].DTS
	p := pmp4.Presentation{}
	add := func(tr *Track, ss []Sample) {
		if tr == nil || len(ss) == 0 {
			return
		}
		pt := &pmp4.Track{ID: tr.ID, TimeScale: tr.TimeScale, Codec: tr.Codec,
			TimeOffset: int32(ticks(ss[0].DTS-origin, tr.TimeScale))}
		at := ticks(ss[0].DTS-origin, tr.TimeScale)
		for i, x := range ss {
			next := ticks(x.DTS+x.Duration-origin, tr.TimeScale)
			if i+1 < len(ss) {
				next = ticks(ss[i+1].DTS-origin, tr.TimeScale)
			}
			data := x.Data
			pt.Samples = append(pt.Samples, &pmp4.Sample{Duration: uint32(max(next-at, 0)),
				PTSOffset: int32(ticks(x.PTS, tr.TimeScale) - ticks(x.DTS, tr.TimeScale)), IsNonSyncSample: !x.Key,
				PayloadSize: uint32(len(data)), GetPayload: func() ([]byte, error) { return data, nil }})
			at = next
		}
		p.Tracks = append(p.Tracks, pt)
	}
	add(t.Video, s.Video)
	add(t.Audio, s.Audio)
	var b bytes.Buffer
	if err := p.Marshal(&b); err != nil {
		return nil, fmt.Errorf("pack: clip: %w", err)
	}
	return b.Bytes(), nil
}
