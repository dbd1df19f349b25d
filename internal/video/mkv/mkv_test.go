package mkv

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
)

func fixture(t testing.TB) []byte {
	b, err := os.ReadFile("../testdata/test.mkv")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readAll reads a body to its end: the headers, cluster starts and
// clusters, or the first error.
func readAll(body []byte, lim Limits) (hdrs []*Header, starts []int64, clusters []*Cluster, err error) {
	r := NewReader(bytes.NewReader(body), lim)
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return hdrs, starts, clusters, nil
		}
		if err != nil {
			return hdrs, starts, clusters, err
		}
		switch ev.Kind {
		case KindHeader:
			hdrs = append(hdrs, ev.Header)
		case KindClusterStart:
			starts = append(starts, ev.Timecode)
		case KindCluster:
			clusters = append(clusters, ev.Cluster)
		}
	}
}

// TestReadFixture: ffmpeg's file (SeekHead, Void, Tags, Cues skipped):
// one header, ten clusters at 0, 1000, ... 9000 ms, each 1000 ms long.
func TestReadFixture(t *testing.T) {
	hdrs, starts, clusters, err := readAll(fixture(t), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(hdrs) != 1 || hdrs[0].TimecodeScale != 1_000_000 || len(hdrs[0].TrackList) != 1 || hdrs[0].TrackList[0].CodecID != "V_MPEG4/ISO/AVC" {
		t.Fatalf("headers %+v", hdrs)
	}
	if len(clusters) != 10 || len(starts) != 10 {
		t.Fatalf("%d clusters, %d starts", len(clusters), len(starts))
	}
	for i, c := range clusters {
		if c.Timecode != int64(i)*1000 || starts[i] != c.Timecode || c.Duration != 1000 || c.Blocks != 25 {
			t.Fatalf("cluster %d: timecode %d duration %d blocks %d", i, c.Timecode, c.Duration, c.Blocks)
		}
	}
}

// TestChunksReread: chunks written by AppendChunk read back as the same
// clusters (concatenated documents, unknown-size Segments, Tags between).
func TestChunksReread(t *testing.T) {
	hdrs, _, clusters, err := readAll(fixture(t), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	h := hdrs[0]
	var out []byte
	for _, c := range clusters {
		out = AppendChunk(out, h.EBML, h.Info, h.Tracks, c.Raw, []Tag{{"AWS_KINESISVIDEO_FRAGMENT_NUMBER", "1"}})
	}
	hdrs2, _, clusters2, err := readAll(out, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(hdrs2) != 10 || len(clusters2) != 10 {
		t.Fatalf("%d headers, %d clusters", len(hdrs2), len(clusters2))
	}
	for i := range clusters {
		if !bytes.Equal(clusters[i].Raw, clusters2[i].Raw) {
			t.Fatalf("cluster %d differs", i)
		}
	}
}

// TestUnknownSizeCluster: a cluster of unknown size ends at the next
// cluster or at the end of the body.
func TestUnknownSizeCluster(t *testing.T) {
	hdrs, _, clusters, _ := readAll(fixture(t), Limits{})
	h := hdrs[0]
	body := append([]byte(nil), h.EBML...)
	body = append(body, 0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF)
	body = append(body, h.Info...)
	body = append(body, h.Tracks...)
	for _, c := range clusters[:3] {
		body = append(body, 0x1F, 0x43, 0xB6, 0x75, 0xFF) // unknown size (1-byte form)
		body = append(body, c.Raw[12:]...)
	}
	_, _, got, err := readAll(body, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d clusters", len(got))
	}
	for i := range got {
		if !bytes.Equal(got[i].Raw, clusters[i].Raw) {
			t.Fatalf("cluster %d differs", i)
		}
	}
}

// TestReaderErrors: the conditions PutMedia answers with error ids.
func TestReaderErrors(t *testing.T) {
	fx := fixture(t)
	if _, _, _, err := readAll([]byte("this is not matroska at all"), Limits{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("garbage: %v", err)
	}
	if _, _, _, err := readAll(fx, Limits{MaxClusterBytes: 1000}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("large: %v", err)
	}
	if _, _, _, err := readAll(fx[:len(fx)/2], Limits{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("cut: %v", err)
	}
	hdrs, _, clusters, _ := readAll(fx, Limits{})
	h := hdrs[0]
	// A block of track 2, which Tracks does not declare.
	raw := append([]byte(nil), clusters[0].Raw...)
	i := bytes.IndexByte(raw[12:], IDSimpleBlock) + 12
	_, sl := vint(raw[i+1:])
	raw[i+1+sl] = 0x82
	body := AppendChunk(nil, h.EBML, h.Info, h.Tracks, raw, nil)
	if _, _, _, err := readAll(body, Limits{}); !errors.Is(err, ErrUnknownTrack) {
		t.Fatalf("unknown track: %v", err)
	}
}

// FuzzReader: any body ends in io.EOF or an error, never a panic, and
// every cluster handed back reads again as itself.
func FuzzReader(f *testing.F) {
	fx := fixture(f)
	f.Add(fx[:4096])
	f.Add(fx[:300])
	hdrs, _, clusters, _ := readAll(fx, Limits{})
	f.Add(AppendChunk(nil, hdrs[0].EBML, hdrs[0].Info, hdrs[0].Tracks, clusters[0].Raw[:64], nil))
	f.Add([]byte{0x1A, 0x45, 0xDF, 0xA3, 0xFF})
	f.Fuzz(func(t *testing.T, body []byte) {
		hdrs, _, clusters, err := readAll(body, Limits{MaxClusterBytes: 1 << 20, MaxHeaderBytes: 1 << 16})
		if err != nil || len(hdrs) == 0 {
			return
		}
		h := hdrs[len(hdrs)-1]
		for _, c := range clusters {
			_, _, again, err := readAll(AppendChunk(nil, h.EBML, h.Info, h.Tracks, c.Raw, nil), Limits{MaxClusterBytes: 2 << 20})
			if err != nil && !errors.Is(err, ErrUnknownTrack) {
				t.Fatalf("a cluster read back: %v", err)
			}
			if err == nil && (len(again) != 1 || !bytes.Equal(again[0].Raw, c.Raw)) {
				t.Fatalf("cluster differs when read back")
			}
		}
	})
}
