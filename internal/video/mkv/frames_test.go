package mkv

import (
	"bytes"
	"testing"
)

// TestFramesOfFixture: the fixture's header names one H.264 track with
// its avcC and size; its ten clusters hold 25 frames each, a key frame
// first, 40 ms apart.
func TestFramesOfFixture(t *testing.T) {
	hdrs, _, clusters, err := readAll(fixture(t), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := ParseStoredHeader(hdrs[0].Info, hdrs[0].Tracks)
	if err != nil {
		t.Fatal(err)
	}
	if h.TimecodeScale != 1_000_000 || len(h.Tracks) != 1 {
		t.Fatalf("header %+v", h)
	}
	tr := h.Tracks[0]
	if tr.CodecID != "V_MPEG4/ISO/AVC" || !tr.IsVideo() || tr.Width != 320 || tr.Height != 240 || len(tr.CodecPrivate) < 8 || tr.CodecPrivate[0] != 1 {
		t.Fatalf("track %+v", tr)
	}
	for i, c := range clusters {
		tc, frames, err := ClusterFrames(c.Raw)
		if err != nil {
			t.Fatal(err)
		}
		if tc != int64(i)*1000 || len(frames) != 25 {
			t.Fatalf("cluster %d: timecode %d, %d frames", i, tc, len(frames))
		}
		for j, f := range frames {
			if f.Timecode != tc+int64(j)*40 || f.Key != (j == 0) || f.Track != 1 || len(f.Data) == 0 {
				t.Fatalf("cluster %d frame %d: %+v", i, j, f)
			}
		}
	}
}

// TestLacing: Xiph, fixed and EBML laced blocks split into their frames.
func TestLacing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		block []byte
		want  []string
	}{
		{"xiph", []byte{0x81, 0, 0, 0x82, 2, 1, 2, 'a', 'b', 'c', 'd', 'e'}, []string{"a", "bc", "de"}},
		{"fixed", []byte{0x81, 0, 0, 0x84, 1, 'a', 'b', 'c', 'd'}, []string{"ab", "cd"}},
		{"ebml", []byte{0x81, 0, 0, 0x86, 2, 0x81, 0xC0, 'a', 'b', 'c', 'd', 'e'}, []string{"a", "bc", "de"}},
	} {
		var frames []Frame
		if err := appendBlock(&frames, tc.block, 0, -1, true, false); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []string
		for _, f := range frames {
			got = append(got, string(f.Data))
		}
		if len(got) != len(tc.want) {
			t.Fatalf("%s: %q", tc.name, got)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Fatalf("%s: %q", tc.name, got)
			}
		}
	}
}

// FuzzClusterFrames: any cluster or header bytes give frames or an
// error, never a panic, and frames lie inside the cluster.
func FuzzClusterFrames(f *testing.F) {
	hdrs, _, clusters, _ := readAll(fixture(f), Limits{})
	f.Add(clusters[0].Raw[:512], hdrs[0].Tracks)
	f.Add(clusters[1].Raw, hdrs[0].Info)
	f.Add([]byte{0x1F, 0x43, 0xB6, 0x75, 0x88, 0xE7, 0x81, 0, 0xA3, 0x84, 0x81, 0, 0, 0x86}, []byte{0x16, 0x54, 0xAE, 0x6B, 0x80})
	f.Fuzz(func(t *testing.T, cluster, hdr []byte) {
		_, frames, err := ClusterFrames(cluster)
		if err == nil {
			for _, fr := range frames {
				if len(fr.Data) > 0 && !bytes.Contains(cluster, fr.Data) {
					t.Fatalf("frame data outside the cluster")
				}
			}
		}
		_, _ = ParseStoredHeader(hdr, hdr)
		_, _ = ParseStoredHeader(hdrs[0].Info, hdr)
	})
}
