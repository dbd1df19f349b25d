package webrtcingest

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"testing"

	"github.com/rheos/rheos/internal/video/mkv"
)

// fixtureFrame is one video frame of the fixture, in AVCC.
type fixtureFrame struct {
	ms   int64
	key  bool
	avcc []byte
}

// fixtureFrames reads the fixture's H.264 track: its SPS and PPS (from
// avcC) and its frames.
func fixtureFrames(t *testing.T) (sps, pps []byte, frames []fixtureFrame) {
	t.Helper()
	b, err := os.ReadFile("../video/testdata/test.mkv")
	if err != nil {
		t.Fatal(err)
	}
	r := mkv.NewReader(bytes.NewReader(b), mkv.Limits{})
	var track uint64
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch ev.Kind {
		case mkv.KindHeader:
			h, err := mkv.ParseStoredHeader(ev.Header.Info, ev.Header.Tracks)
			if err != nil {
				t.Fatal(err)
			}
			for _, te := range h.Tracks {
				if te.CodecID == codecAVC {
					track = te.Number
					cp := te.CodecPrivate
					n := int(binary.BigEndian.Uint16(cp[6:]))
					sps = cp[8 : 8+n]
					pps = cp[8+n+3 : 8+n+3+int(binary.BigEndian.Uint16(cp[8+n+1:]))]
				}
			}
		case mkv.KindCluster:
			_, fs, err := mkv.ClusterFrames(ev.Cluster.Raw)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range fs {
				if f.Track == track {
					frames = append(frames, fixtureFrame{ms: f.Timecode, key: f.Key, avcc: bytes.Clone(f.Data)})
				}
			}
		}
	}
	if sps == nil || len(frames) == 0 {
		t.Fatal("fixture without H.264")
	}
	return sps, pps, frames
}

func avccOf(nalus ...[]byte) []byte {
	var b []byte
	for _, n := range nalus {
		b = binary.BigEndian.AppendUint32(b, uint32(len(n)))
		b = append(b, n...)
	}
	return b
}

// TestMuxerFixture: the fixture's frames, with the SPS and PPS in band
// before each key frame, come out as Matroska that PutMedia's reader
// accepts: one header (avcC from the in-band parameter sets, 320x240), one
// cluster per key frame with every frame, absolute timecodes; frames
// before the first key frame are dropped and ask for one.
func TestMuxerFixture(t *testing.T) {
	sps, pps, frames := fixtureFrames(t)
	var out bytes.Buffer
	m := newMuxer(&out, 9000, false)
	const t0 = 1767225600000
	// A delta frame first: dropped, a key frame wanted.
	if want, err := m.writeVideo(t0-40, frames[1].avcc); err != nil || !want {
		t.Fatalf("leading delta frame: want %v err %v", want, err)
	}
	keys := 0
	for _, f := range frames {
		au := f.avcc
		if f.key {
			keys++
			au = append(avccOf(sps, pps), au...)
		}
		if _, err := m.writeVideo(t0+f.ms, au); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.flush(); err != nil {
		t.Fatal(err)
	}
	r := mkv.NewReader(&out, mkv.Limits{})
	var clusters, blocks, headers int
	last := int64(-1)
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch ev.Kind {
		case mkv.KindHeader:
			headers++
			h, err := mkv.ParseStoredHeader(ev.Header.Info, ev.Header.Tracks)
			if err != nil {
				t.Fatal(err)
			}
			if len(h.Tracks) != 1 || h.Tracks[0].CodecID != codecAVC || h.Tracks[0].Width != 320 || h.Tracks[0].Height != 240 ||
				!bytes.Contains(h.Tracks[0].CodecPrivate, sps) || !bytes.Contains(h.Tracks[0].CodecPrivate, pps) {
				t.Fatalf("tracks %+v", h.Tracks)
			}
		case mkv.KindCluster:
			clusters++
			blocks += ev.Cluster.Blocks
			if ev.Cluster.Timecode < t0 || ev.Cluster.Timecode <= last || ev.Cluster.Duration > 10000 {
				t.Fatalf("cluster at %d (after %d), %d ms", ev.Cluster.Timecode, last, ev.Cluster.Duration)
			}
			last = ev.Cluster.Timecode
			_, fs, err := mkv.ClusterFrames(ev.Cluster.Raw)
			if err != nil || !fs[0].Key {
				t.Fatalf("cluster frames: %v, first key %v", err, len(fs) > 0 && fs[0].Key)
			}
		}
	}
	if headers != 1 || clusters != keys || blocks != len(frames) {
		t.Fatalf("%d headers, %d clusters (%d key frames), %d blocks (%d frames)", headers, clusters, keys, blocks, len(frames))
	}
}

// TestMuxerLongGOP: a GOP longer than MaxCluster is cut; the frames after
// the cut wait for the next key frame (and ask for one); a new SPS starts
// a new header.
func TestMuxerLongGOP(t *testing.T) {
	sps, pps, frames := fixtureFrames(t)
	var out bytes.Buffer
	m := newMuxer(&out, 1000, true)
	key := append(avccOf(sps, pps), frames[0].avcc...)
	delta := frames[1].avcc
	if _, err := m.writeVideo(0, key); err != nil {
		t.Fatal(err)
	}
	m.writeAudio(10, []byte{0xFC, 1, 2})
	wants := 0
	for ms := int64(40); ms < 2000; ms += 40 {
		want, err := m.writeVideo(ms, delta)
		if err != nil {
			t.Fatal(err)
		}
		if want {
			wants++
		}
	}
	sps2 := bytes.Clone(sps)
	sps2[len(sps2)-1] ^= 1 // another SPS: a new EBML document
	if _, err := m.writeVideo(2000, append(avccOf(sps2, pps), frames[0].avcc...)); err != nil {
		t.Fatal(err)
	}
	if err := m.flush(); err != nil {
		t.Fatal(err)
	}
	r := mkv.NewReader(&out, mkv.Limits{})
	var clusters, headers int
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch ev.Kind {
		case mkv.KindHeader:
			headers++
			if len(ev.Header.TrackList) != 2 || ev.Header.TrackList[1].CodecID != codecOpus {
				t.Fatalf("tracks %+v", ev.Header.TrackList)
			}
		case mkv.KindCluster:
			clusters++
			if ev.Cluster.Duration > 1100 {
				t.Fatalf("cluster of %d ms", ev.Cluster.Duration)
			}
		}
	}
	if headers != 2 || clusters != 2 || wants == 0 {
		t.Fatalf("%d headers, %d clusters, %d key requests", headers, clusters, wants)
	}
}
