package server_test

import (
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	awsv1 "github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesisvideoarchivedmedia"

	"github.com/rheos/rheos/internal/sdktest"
)

// BenchmarkVideoPlayback: 60 s of the fixture's video ingested (six
// PutMedia uploads of 10 s), then the time from GetHLSStreamingSessionURL
// to the first media segment read (the URL, the master and media
// playlists, the init segment, the first fragment), for fMP4 and
// MPEG-TS, and the time of a GetClip of the whole 60 s (read to the end).
//
//	go test ./internal/server -run '^$' -bench VideoPlayback -benchtime 5x
func BenchmarkVideoPlayback(b *testing.B) {
	b.Setenv("AWS_CA_BUNDLE", "")
	ts := startServer(b, b.TempDir(), nil)
	ts.createVideoStream(b, "bench", 24)
	for i := range 6 {
		hdr := map[string]string{"x-amzn-stream-name": "bench", "x-amzn-fragment-timecode-type": "RELATIVE",
			"x-amzn-producer-start-timestamp": fmt.Sprintf("%d.000", 1767225600+10*i)}
		if status, acks := ts.putMedia(b, hdr, videoFixture(b)); status != 200 || len(acks) != 30 {
			b.Fatalf("PutMedia %d: %d, %d acks", i, status, len(acks))
		}
	}
	am := kinesisvideoarchivedmedia.New(ts.videoV1())
	t0 := time.Unix(1767225600, 0)
	get := func(u string) []byte {
		resp, err := sdktest.HTTPClient(nil).Get(u)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			b.Fatalf("GET %s: %d %s", u, resp.StatusCode, body)
		}
		return body
	}
	resolve := func(base, ref string) string {
		bu, _ := url.Parse(base)
		ru, _ := url.Parse(ref)
		return bu.ResolveReference(ru).String()
	}
	firstURI := func(playlist []byte, prefix string) string {
		for _, line := range strings.Split(string(playlist), "\n") {
			if prefix == "" && line != "" && !strings.HasPrefix(line, "#") {
				return line
			}
			if prefix != "" && strings.HasPrefix(line, prefix) {
				_, after, _ := strings.Cut(line, `URI="`)
				uri, _, _ := strings.Cut(after, `"`)
				return uri
			}
		}
		b.Fatalf("no %q line in %s", prefix, playlist)
		return ""
	}
	for _, container := range []string{"FRAGMENTED_MP4", "MPEG_TS"} {
		var total time.Duration
		for range b.N {
			start := time.Now()
			out, err := am.GetHLSStreamingSessionURL(&kinesisvideoarchivedmedia.GetHLSStreamingSessionURLInput{StreamName: awsv1.String("bench"),
				PlaybackMode: awsv1.String("ON_DEMAND"), ContainerFormat: awsv1.String(container),
				HLSFragmentSelector: &kinesisvideoarchivedmedia.HLSFragmentSelector{FragmentSelectorType: awsv1.String("PRODUCER_TIMESTAMP"),
					TimestampRange: &kinesisvideoarchivedmedia.HLSTimestampRange{StartTimestamp: awsv1.Time(t0), EndTimestamp: awsv1.Time(t0.Add(60 * time.Second))}}})
			if err != nil {
				b.Fatal(err)
			}
			master := *out.HLSStreamingSessionURL
			media := resolve(master, firstURI(get(master), ""))
			pl := get(media)
			if container == "FRAGMENTED_MP4" {
				get(resolve(media, firstURI(pl, "#EXT-X-MAP")))
			}
			seg := get(resolve(media, firstURI(pl, "")))
			total += time.Since(start)
			if len(seg) == 0 {
				b.Fatal("empty segment")
			}
		}
		b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), container+"-first-segment-ms")
	}
	var clipTime time.Duration
	var size int
	for range b.N {
		start := time.Now()
		clip, err := am.GetClip(&kinesisvideoarchivedmedia.GetClipInput{StreamName: awsv1.String("bench"),
			ClipFragmentSelector: &kinesisvideoarchivedmedia.ClipFragmentSelector{FragmentSelectorType: awsv1.String("PRODUCER_TIMESTAMP"),
				TimestampRange: &kinesisvideoarchivedmedia.ClipTimestampRange{StartTimestamp: awsv1.Time(t0), EndTimestamp: awsv1.Time(t0.Add(59 * time.Second))}}})
		if err != nil {
			b.Fatal(err)
		}
		mp4, _ := io.ReadAll(clip.Payload)
		clip.Payload.Close()
		clipTime += time.Since(start)
		size = len(mp4)
	}
	b.ReportMetric(float64(clipTime.Microseconds())/1000/float64(b.N), "getclip-60s-ms")
	b.ReportMetric(float64(size)/1e6, "clip-MB")
}
