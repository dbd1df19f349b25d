package pack

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rheos/rheos/internal/video/mkv"
)

var t0 = time.UnixMilli(1767225600000)

// fixture returns the §7 fixture's tracks and its ten fragments at T0+i s.
func fixture(t testing.TB) (*Tracks, []Fragment) {
	t.Helper()
	b, err := os.ReadFile("../../video/testdata/test.mkv")
	if err != nil {
		t.Fatal(err)
	}
	r := mkv.NewReader(bytes.NewReader(b), mkv.Limits{})
	var tracks *Tracks
	var frags []Fragment
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
			if tracks, err = TracksOf(ev.Header.Info, ev.Header.Tracks); err != nil {
				t.Fatal(err)
			}
		case mkv.KindCluster:
			frags = append(frags, Fragment{Start: t0.Add(time.Duration(ev.Cluster.Timecode) * time.Millisecond),
				Duration: time.Duration(ev.Cluster.Duration) * time.Millisecond, Cluster: ev.Cluster.Raw})
		}
	}
	return tracks, frags
}

// box is one ISO BMFF box: type and body.
type box struct {
	typ  string
	body []byte
}

func boxes(t *testing.T, b []byte) []box {
	t.Helper()
	var out []box
	for len(b) > 0 {
		if len(b) < 8 {
			t.Fatalf("truncated box header")
		}
		n := int(binary.BigEndian.Uint32(b))
		if n < 8 || n > len(b) {
			t.Fatalf("box %q of size %d in %d bytes", b[4:8], n, len(b))
		}
		out = append(out, box{string(b[4:8]), b[8:n]})
		b = b[n:]
	}
	return out
}

func child(t *testing.T, b []byte, path ...string) []byte {
	t.Helper()
	for _, p := range path {
		found := false
		for _, x := range boxes(t, b) {
			if x.typ == p {
				b, found = x.body, true
				break
			}
		}
		if !found {
			t.Fatalf("no %s box", p)
		}
	}
	return b
}

func TestTracksOfFixture(t *testing.T) {
	tr, frags := fixture(t)
	if tr.Video == nil || tr.Audio != nil || tr.Video.Width != 320 || len(frags) != 10 {
		t.Fatalf("tracks %+v, %d fragments", tr, len(frags))
	}
	if len(tr.Video.avc.SPS) != 1 || tr.Video.avc.SPS[0][0]&0x1F != 7 || tr.Video.avc.PPS[0][0]&0x1F != 8 || tr.Video.avc.LengthSize != 4 {
		t.Fatalf("avcC %+v", tr.Video.avc)
	}
}

// TestInitSegment: ftyp then moov/trak (track 1, 90 kHz) with an avc1
// sample entry holding the avcC of the CodecPrivate.
func TestInitSegment(t *testing.T) {
	tr, _ := fixture(t)
	b, err := tr.InitSegment()
	if err != nil {
		t.Fatal(err)
	}
	top := boxes(t, b)
	if len(top) != 2 || top[0].typ != "ftyp" || top[1].typ != "moov" {
		t.Fatalf("top-level boxes %v", top)
	}
	mdhd := child(t, b, "moov", "trak", "mdia", "mdhd")
	if scale := binary.BigEndian.Uint32(mdhd[12:]); scale != VideoTimeScale {
		t.Fatalf("timescale %d", scale)
	}
	stsd := child(t, b, "moov", "trak", "mdia", "minf", "stbl", "stsd")
	if !bytes.Contains(stsd, []byte("avc1")) || !bytes.Contains(stsd, tr.Video.avc.SPS[0]) {
		t.Fatalf("stsd without avc1/SPS")
	}
}

// TestMediaSegment: moof (mfhd with the sequence, traf with tfdt = the
// fragment's timestamp on the 90 kHz clock, trun of 25 samples of 3600
// ticks) then mdat holding the frames.
func TestMediaSegment(t *testing.T) {
	tr, frags := fixture(t)
	s, err := tr.SamplesOf(frags[2:3])
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Video) != 25 || !s.Video[0].Key || s.Video[0].DTS != t0.Add(2*time.Second).UnixNano() || s.Video[24].Duration != int64(40*time.Millisecond) {
		t.Fatalf("samples: %d, first %+v", len(s.Video), s.Video[0].DTS)
	}
	b, err := tr.MediaSegment(7, s)
	if err != nil {
		t.Fatal(err)
	}
	top := boxes(t, b)
	if len(top) != 2 || top[0].typ != "moof" || top[1].typ != "mdat" {
		t.Fatalf("boxes %v", top)
	}
	if seq := binary.BigEndian.Uint32(child(t, b, "moof", "mfhd")[4:]); seq != 7 {
		t.Fatalf("mfhd sequence %d", seq)
	}
	tfdt := child(t, b, "moof", "traf", "tfdt")
	if tfdt[0] != 1 || binary.BigEndian.Uint64(tfdt[4:]) != uint64((t0.UnixMilli()+2000)*90) {
		t.Fatalf("tfdt %x", tfdt)
	}
	trun := child(t, b, "moof", "traf", "trun")
	if n := binary.BigEndian.Uint32(trun[4:]); n != 25 {
		t.Fatalf("trun: %d samples", n)
	}
	if first := binary.BigEndian.Uint32(trun[12:]); first != 3600 { // data offset at 8, then the first entry's duration
		t.Fatalf("first sample duration %d", first)
	}
	total := 0
	for _, x := range s.Video {
		total += len(x.Data)
	}
	if len(top[1].body) != total {
		t.Fatalf("mdat %d bytes, samples %d", len(top[1].body), total)
	}
}

// TestTSSegment: 188-byte packets, PAT first, an IDR with SPS/PPS in
// Annex-B.
func TestTSSegment(t *testing.T) {
	tr, frags := fixture(t)
	s, err := tr.SamplesOf(frags[:1])
	if err != nil {
		t.Fatal(err)
	}
	b, err := tr.TSSegment(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(b)%188 != 0 || b[0] != 0x47 {
		t.Fatalf("%d bytes, first byte %x", len(b), b[0])
	}
	if !bytes.Contains(b, append([]byte{0, 0, 0, 1}, tr.Video.avc.SPS[0][:4]...)) {
		t.Fatalf("no Annex-B SPS")
	}
	ffprobeCount(t, "ts", b, 25)
}

// TestClip: ftyp, moov, mdat, no moof; 75 frames over 3 s.
func TestClip(t *testing.T) {
	tr, frags := fixture(t)
	s, err := tr.SamplesOf(frags[2:5])
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Video) != 75 {
		t.Fatalf("%d samples", len(s.Video))
	}
	b, err := tr.Clip(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range boxes(t, b) {
		if x.typ == "moof" {
			t.Fatal("a moof in a plain MP4")
		}
	}
	mvhd := child(t, b, "moov", "mvhd")
	if dur := binary.BigEndian.Uint32(mvhd[16:]); dur != 3000 { // version 0: timescale at 12, duration at 16 (ms)
		t.Fatalf("mvhd duration %d", dur)
	}
	ffprobeCount(t, "mp4", b, 75)
}

func TestParseAVCConfigErrors(t *testing.T) {
	for _, b := range [][]byte{nil, {1, 2, 3}, {0, 0x64, 0, 0x1F, 0xFF, 0xE1, 0, 4, 1, 2}, {1, 0x64, 0, 0x1F, 0xFE, 0xE1, 0, 1, 0x67, 1, 0, 1, 0x68}, {1, 0x64, 0, 0x1F, 0xFF, 0xE0, 0}} {
		if _, err := ParseAVCConfig(b); err == nil {
			t.Fatalf("%x parsed", b)
		}
	}
	c, err := ParseAVCConfig([]byte{1, 0x64, 0, 0x1F, 0xFF, 0xE1, 0, 1, 0x67, 1, 0, 1, 0x68})
	if err != nil || c.LengthSize != 4 || len(c.SPS) != 1 || len(c.PPS) != 1 {
		t.Fatalf("%+v %v", c, err)
	}
}

// FuzzParseAVCConfig: never panics; what parses has SPS and PPS inside
// the input.
func FuzzParseAVCConfig(f *testing.F) {
	tr, frags := fixture(f)
	_ = frags
	f.Add(append([]byte{1, 0x64, 0, 0x1F, 0xFF, 0xE1, 0, byte(len(tr.Video.avc.SPS[0]))}, tr.Video.avc.SPS[0]...))
	f.Add([]byte{1, 0x64, 0, 0x1F, 0xFF, 0xE1, 0, 1, 0x67, 1, 0, 1, 0x68})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseAVCConfig(b)
		if err != nil {
			return
		}
		for _, x := range append(c.SPS, c.PPS...) {
			if !bytes.Contains(b, x) {
				t.Fatal("parameter set outside the input")
			}
		}
		_, _ = SplitNALUs(b, c.LengthSize)
	})
}

// ffprobeCount checks that ffprobe decodes want video frames (skipped
// without ffprobe).
func ffprobeCount(t *testing.T, ext string, b []byte, want int) {
	t.Helper()
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Log("ffprobe not found: decode check skipped")
		return
	}
	f := filepath.Join(t.TempDir(), "out."+ext)
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name,nb_read_frames", "-of", "csv=p=0", f).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe: %v: %s", err, out)
	}
	got, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n") // TS lists the stream under its program too
	if got != "h264,"+itoa(want) {
		t.Fatalf("ffprobe: %q, want h264,%d", got, want)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
