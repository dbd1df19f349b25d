package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	kv "github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	awsv1 "github.com/aws/aws-sdk-go/aws"
	credv1 "github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/kinesisvideoarchivedmedia"
	"github.com/aws/aws-sdk-go/service/kinesisvideomedia"
)

// ffprobeFrames runs ffprobe -count_frames on a URL or file: "codec,frames"
// of the first video stream, or "" when ffprobe is not installed.
func ffprobeFrames(t *testing.T, u string) string {
	t.Helper()
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Log("ffprobe not found: playback check skipped")
		return ""
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name,nb_read_frames", "-of", "csv=p=0", u).Output() // stderr: the reference's harmless "unknown-length element" notes
	if err != nil {
		t.Fatalf("ffprobe %s: %v: %s", u, err, out)
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return first
}

// TestVideoAcceptanceAgainstBinary is the acceptance scenario of the
// reference (video-streams.md §7 steps 1–8) against the real binary, with
// AWS's clients: the control plane through the AWS SDK for Go v2, PutMedia
// as the producer SDKs send it (chunked, SigV4 UNSIGNED-PAYLOAD), and
// ListFragments, GetMedia, HLS (fMP4 and TS), GetClip and GetImages
// through the AWS SDK for Go v1 clients; the media checked by ffprobe and
// Go's JPEG decoder.
func TestVideoAcceptanceAgainstBinary(t *testing.T) {
	fixture, err := os.ReadFile("../internal/video/testdata/test.mkv")
	if err != nil {
		t.Fatal(err)
	}
	p := startServer(t, filepath.Join(t.TempDir(), "data"), freePort(t))
	base := "http://" + p.addr
	ctx := context.Background()
	cp := kv.New(kv.Options{Region: "us-east-1", BaseEndpoint: aws.String(base), Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	// 1–2. The stream and its data endpoint.
	if _, err := cp.CreateStream(ctx, &kv.CreateStreamInput{StreamName: aws.String("acc"), DataRetentionInHours: aws.Int32(24), MediaType: aws.String("video/h264")}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	ep, err := cp.GetDataEndpoint(ctx, &kv.GetDataEndpointInput{StreamName: aws.String("acc"), APIName: "PUT_MEDIA"})
	if err != nil || aws.ToString(ep.DataEndpoint) != base {
		t.Fatalf("data endpoint %v %v (want %s)", aws.ToString(ep.DataEndpoint), err, base)
	}
	// 3. PutMedia: BUFFERING, RECEIVED, PERSISTED for each of 10 fragments.
	req, _ := http.NewRequest(http.MethodPost, base+"/putMedia", io.MultiReader(bytes.NewReader(fixture)))
	for k, v := range map[string]string{"x-amzn-stream-name": "acc", "x-amzn-fragment-timecode-type": "RELATIVE",
		"x-amzn-producer-start-timestamp": "1767225600.000", "x-amzn-fragment-acknowledgment-required": "1"} {
		req.Header.Set(k, v)
	}
	if err := v4.NewSigner().SignHTTP(ctx, videoCreds, req, "UNSIGNED-PAYLOAD", "kinesisvideo", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var a struct{ EventType string }
		json.Unmarshal(sc.Bytes(), &a)
		counts[a.EventType]++
	}
	resp.Body.Close()
	if counts["BUFFERING"] != 10 || counts["RECEIVED"] != 10 || counts["PERSISTED"] != 10 || counts["ERROR"] != 0 {
		t.Fatalf("acks %v", counts)
	}
	// 4. ListFragments.
	t.Setenv("AWS_CA_BUNDLE", "")
	sess := session.Must(session.NewSessionWithOptions(session.Options{SharedConfigState: session.SharedConfigDisable, Config: awsv1.Config{
		Region: awsv1.String("us-east-1"), Endpoint: awsv1.String(base), Credentials: credv1.NewStaticCredentials("AKIDEXAMPLE", "secret", ""), MaxRetries: awsv1.Int(0)}}))
	am := kinesisvideoarchivedmedia.New(sess)
	t0 := time.Unix(1767225600, 0)
	frags, err := am.ListFragments(&kinesisvideoarchivedmedia.ListFragmentsInput{StreamName: awsv1.String("acc"),
		FragmentSelector: &kinesisvideoarchivedmedia.FragmentSelector{FragmentSelectorType: awsv1.String("PRODUCER_TIMESTAMP"),
			TimestampRange: &kinesisvideoarchivedmedia.TimestampRange{StartTimestamp: awsv1.Time(t0), EndTimestamp: awsv1.Time(t0.Add(10 * time.Second))}}})
	if err != nil || len(frags.Fragments) != 10 {
		t.Fatalf("ListFragments: %v %v", frags, err)
	}
	// 5. GetMedia from EARLIEST: ten fragments, 250 frames.
	media, err := kinesisvideomedia.New(sess).GetMedia(&kinesisvideomedia.GetMediaInput{StreamName: awsv1.String("acc"),
		StartSelector: &kinesisvideomedia.StartSelector{StartSelectorType: awsv1.String("EARLIEST")}})
	if err != nil {
		t.Fatal(err)
	}
	tag := regexp.MustCompile(`AWS_KINESISVIDEO_FRAGMENT_NUMBER`)
	var got bytes.Buffer
	buf := make([]byte, 64<<10)
	for len(tag.FindAllIndex(got.Bytes(), -1)) < 10 {
		n, err := media.Payload.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			break
		}
	}
	media.Payload.Close()
	mkvPath := filepath.Join(t.TempDir(), "getmedia.mkv")
	os.WriteFile(mkvPath, got.Bytes(), 0o600)
	if f := ffprobeFrames(t, mkvPath); f != "" && f != "h264,250" {
		t.Errorf("GetMedia: ffprobe %s", f)
	}
	// 6. HLS, fMP4 and MPEG-TS.
	for _, format := range []string{"FRAGMENTED_MP4", "MPEG_TS"} {
		out, err := am.GetHLSStreamingSessionURL(&kinesisvideoarchivedmedia.GetHLSStreamingSessionURLInput{StreamName: awsv1.String("acc"),
			PlaybackMode: awsv1.String("ON_DEMAND"), ContainerFormat: awsv1.String(format),
			HLSFragmentSelector: &kinesisvideoarchivedmedia.HLSFragmentSelector{FragmentSelectorType: awsv1.String("PRODUCER_TIMESTAMP"),
				TimestampRange: &kinesisvideoarchivedmedia.HLSTimestampRange{StartTimestamp: awsv1.Time(t0), EndTimestamp: awsv1.Time(t0.Add(9999 * time.Millisecond))}}})
		if err != nil {
			t.Fatalf("HLS %s: %v", format, err)
		}
		if f := ffprobeFrames(t, *out.HLSStreamingSessionURL); f != "" && f != "h264,250" {
			t.Errorf("HLS %s: ffprobe %s", format, f)
		}
	}
	// 7. GetClip [T0+2, T0+4]: three fragments, 75 frames.
	clip, err := am.GetClip(&kinesisvideoarchivedmedia.GetClipInput{StreamName: awsv1.String("acc"),
		ClipFragmentSelector: &kinesisvideoarchivedmedia.ClipFragmentSelector{FragmentSelectorType: awsv1.String("PRODUCER_TIMESTAMP"),
			TimestampRange: &kinesisvideoarchivedmedia.ClipTimestampRange{StartTimestamp: awsv1.Time(t0.Add(2 * time.Second)), EndTimestamp: awsv1.Time(t0.Add(4 * time.Second))}}})
	if err != nil {
		t.Fatal(err)
	}
	mp4, _ := io.ReadAll(clip.Payload)
	clipPath := filepath.Join(t.TempDir(), "clip.mp4")
	os.WriteFile(clipPath, mp4, 0o600)
	if aws.ToString(clip.ContentType) != "video/mp4" || bytes.Contains(mp4, []byte("moof")) {
		t.Errorf("clip: %s, %d bytes", aws.ToString(clip.ContentType), len(mp4))
	}
	if f := ffprobeFrames(t, clipPath); f != "" && f != "h264,75" {
		t.Errorf("GetClip: ffprobe %s", f)
	}
	// 8. GetImages at T0+5: one JPEG of 320×240 (with ffmpeg installed).
	if _, err := exec.LookPath("ffmpeg"); err == nil {
		imgs, err := am.GetImages(&kinesisvideoarchivedmedia.GetImagesInput{StreamName: awsv1.String("acc"), ImageSelectorType: awsv1.String("PRODUCER_TIMESTAMP"),
			StartTimestamp: awsv1.Time(t0.Add(5 * time.Second)), EndTimestamp: awsv1.Time(t0.Add(5 * time.Second)), SamplingInterval: awsv1.Int64(3000), Format: awsv1.String("JPEG")})
		if err != nil || len(imgs.Images) != 1 || imgs.Images[0].ImageContent == nil {
			t.Fatalf("GetImages: %v %v", imgs, err)
		}
		raw, _ := decodeB64(*imgs.Images[0].ImageContent)
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(raw))
		if err != nil || cfg.Width != 320 || cfg.Height != 240 {
			t.Errorf("image: %v %+v", err, cfg)
		}
	}
}

func decodeB64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
