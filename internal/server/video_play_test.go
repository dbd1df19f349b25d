package server_test

import (
	"bytes"
	"encoding/base64"
	"image/jpeg"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	awsv1 "github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/service/kinesisvideoarchivedmedia"

	"github.com/rheos/rheos/internal/sdktest"
)

// httpGet reads a URL; it returns the status and the body.
func httpGet(t *testing.T, u string) (int, []byte) {
	t.Helper()
	resp, err := sdktest.HTTPClient(nil).Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// ffprobeURL runs ffprobe -count_frames on a URL (or file) and returns
// "codec,frames" of the first video stream, or "" without ffprobe.
func ffprobeURL(t *testing.T, u string, extra ...string) string {
	t.Helper()
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Log("ffprobe not found: playback check skipped")
		return ""
	}
	args := append([]string{"-v", "error"}, extra...)
	args = append(args, "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=codec_name,nb_read_frames", "-of", "csv=p=0", u)
	out, err := exec.Command("ffprobe", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v: %s", u, err, out)
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return first
}

// TestVideoPlayback: the acceptance scenario's steps 6–8 (reference §7)
// over the fixture: HLS ON_DEMAND in fMP4 and MPEG-TS, DASH, a tampered
// token, LIVE without recent media, GetClip and GetImages.
func TestVideoPlayback(t *testing.T) {
	t.Setenv("AWS_CA_BUNDLE", "")
	ts := startServer(t, t.TempDir(), nil)
	ts.createVideoStream(t, "acc", 24)
	hdr := map[string]string{"x-amzn-stream-name": "acc", "x-amzn-fragment-timecode-type": "RELATIVE",
		"x-amzn-producer-start-timestamp": "1767225600.000"}
	if status, acks := ts.putMedia(t, hdr, videoFixture(t)); status != 200 || len(acks) != 30 {
		t.Fatalf("PutMedia: %d, %d acks", status, len(acks))
	}
	am := kinesisvideoarchivedmedia.New(ts.videoV1())
	at := func(d time.Duration) *time.Time { return awsv1.Time(videoT0.Add(d)) }

	hls := func(container string) string {
		t.Helper()
		out, err := am.GetHLSStreamingSessionURL(&kinesisvideoarchivedmedia.GetHLSStreamingSessionURLInput{StreamName: awsv1.String("acc"),
			PlaybackMode: awsv1.String("ON_DEMAND"), ContainerFormat: awsv1.String(container),
			HLSFragmentSelector: &kinesisvideoarchivedmedia.HLSFragmentSelector{FragmentSelectorType: awsv1.String("PRODUCER_TIMESTAMP"),
				TimestampRange: &kinesisvideoarchivedmedia.HLSTimestampRange{StartTimestamp: at(0), EndTimestamp: at(9999 * time.Millisecond)}}})
		if err != nil {
			t.Fatal(err)
		}
		u := *out.HLSStreamingSessionURL
		if !strings.HasPrefix(u, ts.url+"/hls/v1/getHLSMasterPlaylist.m3u8?SessionToken=") {
			t.Fatalf("HLS URL %s", u)
		}
		status, master := httpGet(t, u)
		if status != 200 {
			t.Fatalf("master %d: %s", status, master)
		}
		m := regexp.MustCompile(`(?m)^getHLSMediaPlaylist\.m3u8\?SessionToken=\S+&TrackNumber=1$`).Find(master)
		if m == nil {
			t.Fatalf("master playlist:\n%s", master)
		}
		status, media := httpGet(t, ts.url+"/hls/v1/"+string(m))
		if status != 200 || bytes.Count(media, []byte("#EXTINF:")) != 10 || !bytes.Contains(media, []byte("#EXT-X-ENDLIST")) {
			t.Fatalf("media playlist %d:\n%s", status, media)
		}
		seg := "getMP4MediaFragment.mp4?FragmentNumber="
		if container == "MPEG_TS" {
			seg = "getTSFragment.ts?FragmentNumber="
		}
		if !bytes.Contains(media, []byte(seg)) {
			t.Fatalf("media playlist without %s:\n%s", seg, media)
		}
		if got := ffprobeURL(t, u); got != "" && got != "h264,250" {
			t.Fatalf("ffprobe of HLS %s: %s, want h264,250", container, got)
		}
		return u
	}
	u := hls("FRAGMENTED_MP4")
	hls("MPEG_TS")

	// A tampered token is refused.
	i := strings.Index(u, "SessionToken=") + len("SessionToken=") + 20
	flip := byte('A')
	if u[i] == 'A' {
		flip = 'B'
	}
	bad := u[:i] + string(flip) + u[i+1:]
	if status, body := httpGet(t, bad); status < 400 || status >= 500 {
		t.Fatalf("tampered token: %d %s", status, body)
	}
	if status, _ := httpGet(t, ts.url+"/hls/v1/getHLSMasterPlaylist.m3u8"); status < 400 || status >= 500 {
		t.Fatalf("no token: %d", status)
	}

	// LIVE: the fragments just ingested are live (5, no ENDLIST); a stream
	// without recent media has none.
	live, err := am.GetHLSStreamingSessionURL(&kinesisvideoarchivedmedia.GetHLSStreamingSessionURLInput{StreamName: awsv1.String("acc")})
	if err != nil {
		t.Fatal(err)
	}
	_, master := httpGet(t, *live.HLSStreamingSessionURL)
	m := regexp.MustCompile(`(?m)^getHLSMediaPlaylist\S+$`).Find(master)
	if status, media := httpGet(t, ts.url+"/hls/v1/"+string(m)); status != 200 || bytes.Count(media, []byte("#EXTINF:")) != 5 || bytes.Contains(media, []byte("ENDLIST")) {
		t.Fatalf("live playlist %d:\n%s", status, media)
	}
	ts.createVideoStream(t, "quiet", 1)
	_, err = am.GetHLSStreamingSessionURL(&kinesisvideoarchivedmedia.GetHLSStreamingSessionURLInput{StreamName: awsv1.String("quiet"), PlaybackMode: awsv1.String("LIVE")})
	if ae, ok := err.(awserr.Error); !ok || ae.Code() != "ResourceNotFoundException" {
		t.Fatalf("LIVE without media: %v", err)
	}
	_, err = am.GetHLSStreamingSessionURL(&kinesisvideoarchivedmedia.GetHLSStreamingSessionURLInput{StreamName: awsv1.String("acc"), PlaybackMode: awsv1.String("ON_DEMAND")})
	if ae, ok := err.(awserr.Error); !ok || ae.Code() != "InvalidArgumentException" {
		t.Fatalf("ON_DEMAND without a range: %v", err)
	}

	// DASH.
	dash, err := am.GetDASHStreamingSessionURL(&kinesisvideoarchivedmedia.GetDASHStreamingSessionURLInput{StreamName: awsv1.String("acc"),
		PlaybackMode: awsv1.String("ON_DEMAND"), DisplayFragmentNumber: awsv1.String("ALWAYS"),
		DASHFragmentSelector: &kinesisvideoarchivedmedia.DASHFragmentSelector{FragmentSelectorType: awsv1.String("PRODUCER_TIMESTAMP"),
			TimestampRange: &kinesisvideoarchivedmedia.DASHTimestampRange{StartTimestamp: at(0), EndTimestamp: at(9999 * time.Millisecond)}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(*dash.DASHStreamingSessionURL, ts.url+"/dash/v1/getDASHManifest.mpd?SessionToken=") {
		t.Fatalf("DASH URL %s", *dash.DASHStreamingSessionURL)
	}
	status, mpd := httpGet(t, *dash.DASHStreamingSessionURL)
	if status != 200 || !bytes.Contains(mpd, []byte(`type="static"`)) || bytes.Count(mpd, []byte("<SegmentURL ")) != 10 {
		t.Fatalf("MPD %d:\n%s", status, mpd)
	}
	if got := ffprobeURL(t, *dash.DASHStreamingSessionURL); got != "" && got != "h264,250" {
		t.Fatalf("ffprobe of DASH: %s, want h264,250", got)
	}

	// LIVE DASH is dynamic; LIVE_REPLAY from T0+7 lists the fragments from
	// there on, with an ENDLIST once its end has passed.
	dl, err := am.GetDASHStreamingSessionURL(&kinesisvideoarchivedmedia.GetDASHStreamingSessionURLInput{StreamName: awsv1.String("acc"), PlaybackMode: awsv1.String("LIVE")})
	if err != nil {
		t.Fatal(err)
	}
	if status, mpd := httpGet(t, *dl.DASHStreamingSessionURL); status != 200 || !bytes.Contains(mpd, []byte(`type="dynamic"`)) || bytes.Count(mpd, []byte("<SegmentURL ")) != 5 {
		t.Fatalf("live MPD %d:\n%s", status, mpd)
	}
	replay, err := am.GetHLSStreamingSessionURL(&kinesisvideoarchivedmedia.GetHLSStreamingSessionURLInput{StreamName: awsv1.String("acc"),
		PlaybackMode: awsv1.String("LIVE_REPLAY"), DisplayFragmentTimestamp: awsv1.String("ALWAYS"),
		HLSFragmentSelector: &kinesisvideoarchivedmedia.HLSFragmentSelector{FragmentSelectorType: awsv1.String("PRODUCER_TIMESTAMP"),
			TimestampRange: &kinesisvideoarchivedmedia.HLSTimestampRange{StartTimestamp: at(7 * time.Second), EndTimestamp: at(20 * time.Second)}}})
	if err != nil {
		t.Fatal(err)
	}
	_, master = httpGet(t, *replay.HLSStreamingSessionURL)
	m = regexp.MustCompile(`(?m)^getHLSMediaPlaylist\S+$`).Find(master)
	if status, media := httpGet(t, ts.url+"/hls/v1/"+string(m)); status != 200 || bytes.Count(media, []byte("#EXTINF:")) != 3 ||
		!bytes.Contains(media, []byte("#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:07.000Z")) || !bytes.Contains(media, []byte("ENDLIST")) {
		t.Fatalf("LIVE_REPLAY playlist %d:\n%s", status, media)
	}

	// GetClip [T0+2, T0+4]: three fragments in a plain MP4.
	clip, err := am.GetClip(&kinesisvideoarchivedmedia.GetClipInput{StreamName: awsv1.String("acc"),
		ClipFragmentSelector: &kinesisvideoarchivedmedia.ClipFragmentSelector{FragmentSelectorType: awsv1.String("PRODUCER_TIMESTAMP"),
			TimestampRange: &kinesisvideoarchivedmedia.ClipTimestampRange{StartTimestamp: at(2 * time.Second), EndTimestamp: at(4 * time.Second)}}})
	if err != nil {
		t.Fatal(err)
	}
	mp4, err := io.ReadAll(clip.Payload)
	clip.Payload.Close()
	if err != nil {
		t.Fatal(err)
	}
	if *clip.ContentType != "video/mp4" || bytes.Contains(mp4, []byte("moof")) || !bytes.Contains(mp4[:64], []byte("ftyp")) {
		t.Fatalf("clip: %s, %d bytes", *clip.ContentType, len(mp4))
	}
	if _, err := exec.LookPath("ffprobe"); err == nil {
		f := t.TempDir() + "/clip.mp4"
		if err := writeFile(f, mp4); err != nil {
			t.Fatal(err)
		}
		if got := ffprobeURL(t, f); got != "h264,75" {
			t.Fatalf("ffprobe of the clip: %s, want h264,75", got)
		}
		out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", f).Output()
		if err != nil {
			t.Fatal(err)
		}
		if d, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err != nil || d < 2.95 || d > 3.05 {
			t.Fatalf("clip duration %s", out)
		}
	}

	// GetImages at T0+5: one JPEG of 320×240 (MEDIA_ERROR without ffmpeg).
	imgs, err := am.GetImages(&kinesisvideoarchivedmedia.GetImagesInput{StreamName: awsv1.String("acc"),
		ImageSelectorType: awsv1.String("PRODUCER_TIMESTAMP"), StartTimestamp: at(5 * time.Second), EndTimestamp: at(5 * time.Second),
		SamplingInterval: awsv1.Int64(1000), Format: awsv1.String("JPEG")})
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs.Images) != 1 || !imgs.Images[0].TimeStamp.Equal(videoT0.Add(5*time.Second)) {
		t.Fatalf("images: %v", imgs.Images)
	}
	img := imgs.Images[0]
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		if awsv1.StringValue(img.Error) != "MEDIA_ERROR" {
			t.Fatalf("without ffmpeg: %v", img)
		}
	} else {
		if img.Error != nil || img.ImageContent == nil {
			t.Fatalf("image: %v", img)
		}
		raw, err := decodeBase64(*img.ImageContent)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(raw))
		if err != nil || cfg.Width != 320 || cfg.Height != 240 {
			t.Fatalf("JPEG: %+v %v", cfg, err)
		}
	}
	// An image where the stream has no media.
	imgs, err = am.GetImages(&kinesisvideoarchivedmedia.GetImagesInput{StreamName: awsv1.String("acc"),
		ImageSelectorType: awsv1.String("PRODUCER_TIMESTAMP"), StartTimestamp: at(-time.Minute), EndTimestamp: at(-time.Minute),
		SamplingInterval: awsv1.Int64(1000), Format: awsv1.String("PNG")})
	if err != nil || len(imgs.Images) != 1 || awsv1.StringValue(imgs.Images[0].Error) != "NO_MEDIA" {
		t.Fatalf("no media: %v %v", imgs, err)
	}
}

func writeFile(name string, b []byte) error { return os.WriteFile(name, b, 0o600) }

func decodeBase64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
