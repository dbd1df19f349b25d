package pack

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rheos/rheos/internal/video/mkv"
)

// TestAudioTrack: H.264 with AAC (made by ffmpeg; skipped without it)
// packages as track 1 and track 2 in fMP4, MPEG-TS and the clip, and
// ffprobe finds the audio in each.
func TestAudioTrack(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not found")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "av.mkv")
	out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25", "-bf", "0", "-c:a", "aac", "-cluster_time_limit", "1000", src).CombinedOutput()
	if err != nil {
		t.Skipf("ffmpeg could not make the source: %v %s", err, out)
	}
	b, _ := os.ReadFile(src)
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
	if tracks.Audio == nil || tracks.Audio.TimeScale != 48000 || !strings.Contains(tracks.Codecs(), "mp4a.40.2") {
		t.Fatalf("audio track %+v, codecs %s", tracks.Audio, tracks.Codecs())
	}
	s, err := tracks.SamplesOf(frags)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Audio) == 0 || len(s.Video) != 50 {
		t.Fatalf("%d video, %d audio samples", len(s.Video), len(s.Audio))
	}
	init, err := tracks.InitSegment()
	if err != nil {
		t.Fatal(err)
	}
	seg, err := tracks.MediaSegment(1, s)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := tracks.TSSegment(s)
	if err != nil {
		t.Fatal(err)
	}
	clip, err := tracks.Clip(s)
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{"seg.mp4": append(init, seg...), "seg.ts": ts, "clip.mp4": clip} {
		f := filepath.Join(dir, name)
		os.WriteFile(f, body, 0o600)
		out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "a:0", "-show_entries", "stream=codec_name,nb_read_frames", "-of", "csv=p=0", f).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: ffprobe %v %s", name, err, out)
		}
		got, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		if !strings.HasPrefix(got, "aac,") || strings.HasSuffix(got, ",0") {
			t.Fatalf("%s: audio %q", name, got)
		}
		t.Logf("%s: audio %s", name, got)
	}
}
