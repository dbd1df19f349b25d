package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	kv "github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	awsv1 "github.com/aws/aws-sdk-go/aws"
	credv1 "github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/kinesisvideoarchivedmedia"
	"github.com/aws/aws-sdk-go/service/kinesisvideomedia"

	"github.com/rheos/rheos/internal/sdktest"
	"github.com/rheos/rheos/internal/video/mkv"
)

// T0 is the producer start timestamp of the acceptance scenario.
var videoT0 = time.UnixMilli(1767225600000)

func videoFixture(t testing.TB) []byte {
	b, err := os.ReadFile("../video/testdata/test.mkv")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type videoAck struct {
	EventType        string
	FragmentTimecode int64
	FragmentNumber   string
	ErrorId          int
}

// putMedia sends body to /putMedia chunked, signed as the producer SDKs
// sign (UNSIGNED-PAYLOAD), and returns the status and the acks.
func (ts *testServer) putMedia(t testing.TB, hdr map[string]string, body []byte) (int, []videoAck) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.url+"/putMedia", io.MultiReader(bytes.NewReader(body))) // no length: chunked
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	creds := aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, "UNSIGNED-PAYLOAD", "kinesisvideo", region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := sdktest.HTTPClient(nil).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Logf("PutMedia %d: %s", resp.StatusCode, b)
		return resp.StatusCode, nil
	}
	var acks []videoAck
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var a videoAck
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("ack %q: %v", sc.Text(), err)
		}
		if a.EventType != "IDLE" {
			acks = append(acks, a)
		}
	}
	return resp.StatusCode, acks
}

func (ts *testServer) videoV1() *session.Session {
	return session.Must(session.NewSessionWithOptions(session.Options{SharedConfigState: session.SharedConfigDisable, Config: awsv1.Config{Region: awsv1.String(region), Endpoint: awsv1.String(ts.url),
		Credentials: credv1.NewStaticCredentials("AKIDTEST", "secret", ""), HTTPClient: sdktest.HTTPClient(nil), MaxRetries: awsv1.Int(0)}}))
}

func (ts *testServer) createVideoStream(t testing.TB, name string, hours int32) {
	t.Helper()
	c := ts.videoClient()
	if _, err := c.CreateStream(context.Background(), &kv.CreateStreamInput{StreamName: aws.String(name),
		DataRetentionInHours: aws.Int32(hours), MediaType: aws.String("video/h264")}); err != nil {
		t.Fatal(err)
	}
	waitVideoActive(t, c, name)
}

var fragmentTag = regexp.MustCompile(`AWS_KINESISVIDEO_FRAGMENT_NUMBER(?s)D..(\d+)`) // TagString: 44 87, a 1-byte size

// readTags reads r until n fragment-number tags were seen; it returns the
// numbers and the bytes read.
func readTags(t *testing.T, r io.Reader, n int) ([]string, []byte) {
	t.Helper()
	var buf []byte
	p := make([]byte, 64<<10)
	for {
		got := fragmentTag.FindAllSubmatch(buf, -1)
		if len(got) >= n {
			var out []string
			for _, g := range got[:n] {
				out = append(out, string(g[1]))
			}
			return out, buf
		}
		k, err := r.Read(p)
		buf = append(buf, p[:k]...)
		if err != nil {
			t.Fatalf("after %d tags: %v", len(got), err)
		}
	}
}

func tagValue(chunks []byte, number, name string) string {
	i := bytes.Index(chunks, []byte(number))
	re := regexp.MustCompile(name + `(?s)D..([0-9.]+)`)
	m := re.FindSubmatch(chunks[i:])
	if m == nil {
		return ""
	}
	return string(m[1])
}

// TestVideoMedia: the acceptance scenario's steps 3–5 (reference §7) and
// a restart: PutMedia of the fixture, ListFragments, GetMedia and
// GetMediaForFragmentList through the AWS SDK for Go v1.
func TestVideoMedia(t *testing.T) {
	t.Setenv("AWS_CA_BUNDLE", "") // loopback HTTP; the v1 SDK refuses a bundle with a custom transport
	dir := t.TempDir()
	ts := startServer(t, dir, nil)
	ts.createVideoStream(t, "acc", 24)
	fx := videoFixture(t)
	hdr := map[string]string{"x-amzn-stream-name": "acc", "x-amzn-fragment-timecode-type": "RELATIVE",
		"x-amzn-producer-start-timestamp": "1767225600.000", "x-amzn-fragment-acknowledgment-required": "1"}
	start := time.Now()
	status, acks := ts.putMedia(t, hdr, fx)
	took := time.Since(start)
	if status != 200 || len(acks) != 30 {
		t.Fatalf("status %d, %d acks: %+v", status, len(acks), acks)
	}
	t.Logf("PutMedia of %d bytes: %v (%.1f MB/s)", len(fx), took, float64(len(fx))/took.Seconds()/1e6)
	var numbers []string
	for i := 0; i < 10; i++ {
		b, r, p := acks[3*i], acks[3*i+1], acks[3*i+2]
		if b.EventType != "BUFFERING" || r.EventType != "RECEIVED" || p.EventType != "PERSISTED" {
			t.Fatalf("fragment %d acks %+v %+v %+v", i, b, r, p)
		}
		if b.FragmentTimecode != int64(i)*1000 || p.FragmentTimecode != int64(i)*1000 || b.FragmentNumber != p.FragmentNumber {
			t.Fatalf("fragment %d acks %+v %+v", i, b, p)
		}
		if len(numbers) > 0 && p.FragmentNumber <= numbers[len(numbers)-1] {
			t.Fatalf("fragment numbers not increasing: %s after %s", p.FragmentNumber, numbers[len(numbers)-1])
		}
		numbers = append(numbers, p.FragmentNumber)
	}

	sess := ts.videoV1()
	am := kinesisvideoarchivedmedia.New(sess)
	list := func(from, to time.Time) []*kinesisvideoarchivedmedia.Fragment {
		t.Helper()
		out, err := am.ListFragments(&kinesisvideoarchivedmedia.ListFragmentsInput{StreamName: awsv1.String("acc"),
			FragmentSelector: &kinesisvideoarchivedmedia.FragmentSelector{FragmentSelectorType: awsv1.String("PRODUCER_TIMESTAMP"),
				TimestampRange: &kinesisvideoarchivedmedia.TimestampRange{StartTimestamp: awsv1.Time(from), EndTimestamp: awsv1.Time(to)}}})
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(out.Fragments, func(a, b *kinesisvideoarchivedmedia.Fragment) int {
			return a.ProducerTimestamp.Compare(*b.ProducerTimestamp)
		})
		return out.Fragments
	}
	checkList := func() {
		frags := list(videoT0, videoT0.Add(10*time.Second))
		if len(frags) != 10 {
			t.Fatalf("ListFragments: %d fragments", len(frags))
		}
		for i, f := range frags {
			if !f.ProducerTimestamp.Equal(videoT0.Add(time.Duration(i)*time.Second)) || *f.FragmentNumber != numbers[i] ||
				*f.FragmentLengthInMilliseconds < 960 || *f.FragmentLengthInMilliseconds > 1000 || *f.FragmentSizeInBytes <= 0 {
				t.Fatalf("fragment %d: %v", i, f)
			}
		}
		if n := len(list(videoT0.Add(2*time.Second), videoT0.Add(4*time.Second))); n != 3 {
			t.Fatalf("[T0+2, T0+4]: %d fragments", n)
		}
	}
	checkList()

	media := kinesisvideomedia.New(sess)
	out, err := media.GetMedia(&kinesisvideomedia.GetMediaInput{StreamName: awsv1.String("acc"),
		StartSelector: &kinesisvideomedia.StartSelector{StartSelectorType: awsv1.String("EARLIEST")}})
	if err != nil {
		t.Fatal(err)
	}
	got, chunks := readTags(t, out.Payload, 10)
	out.Payload.Close()
	if !slices.Equal(got, numbers) {
		t.Fatalf("GetMedia numbers %v, want %v", got, numbers)
	}
	if v := tagValue(chunks, numbers[2], "AWS_KINESISVIDEO_PRODUCER_TIMESTAMP"); v != "1767225602.000" {
		t.Fatalf("producer timestamp of fragment 2: %q", v)
	}
	ffprobeFrames(t, chunks, 250)

	out, err = media.GetMedia(&kinesisvideomedia.GetMediaInput{StreamName: awsv1.String("acc"),
		StartSelector: &kinesisvideomedia.StartSelector{StartSelectorType: awsv1.String("FRAGMENT_NUMBER"), AfterFragmentNumber: awsv1.String(numbers[4])}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = readTags(t, out.Payload, 1)
	out.Payload.Close()
	if got[0] != numbers[5] {
		t.Fatalf("after fragment 4: %s, want %s", got[0], numbers[5])
	}

	// Negative cases: garbage, a timecode going backwards, an unknown stream.
	if _, acks := ts.putMedia(t, hdr, []byte(strings.Repeat("garbage!", 100))); len(acks) != 1 || acks[0].EventType != "ERROR" || acks[0].ErrorId != 4006 {
		t.Fatalf("garbage: %+v", acks)
	}
	var hdrs []*mkv.Header
	var clusters []*mkv.Cluster
	rd := mkv.NewReader(bytes.NewReader(fx), mkv.Limits{})
	for {
		ev, err := rd.Next()
		if err != nil {
			break
		}
		switch ev.Kind {
		case mkv.KindHeader:
			hdrs = append(hdrs, ev.Header)
		case mkv.KindCluster:
			clusters = append(clusters, ev.Cluster)
		}
	}
	h := hdrs[0]
	back := mkv.AppendChunk(nil, h.EBML, h.Info, h.Tracks, clusters[3].Raw, nil)
	back = mkv.AppendChunk(back, h.EBML, h.Info, h.Tracks, clusters[1].Raw, nil)
	ts.createVideoStream(t, "back", 1)
	hdr2 := map[string]string{"x-amzn-stream-name": "back", "x-amzn-fragment-timecode-type": "ABSOLUTE"}
	if _, acks := ts.putMedia(t, hdr2, back); len(acks) != 5 || acks[3].EventType != "BUFFERING" || acks[4].EventType != "ERROR" || acks[4].ErrorId != 4004 {
		t.Fatalf("backwards: %+v", acks)
	}
	if status, _ := ts.putMedia(t, map[string]string{"x-amzn-stream-name": "nope"}, fx); status != 404 {
		t.Fatalf("unknown stream: %d", status)
	}

	// The fragments survive a restart.
	ts.stop()
	ts = startServer(t, dir, nil)
	sess = ts.videoV1()
	am = kinesisvideoarchivedmedia.New(sess)
	checkList()
	fl, err := am.GetMediaForFragmentList(&kinesisvideoarchivedmedia.GetMediaForFragmentListInput{StreamName: awsv1.String("acc"),
		Fragments: awsv1.StringSlice(numbers[:2])})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(fl.Payload)
	fl.Payload.Close()
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte("AWS_KINESISVIDEO_SERVER_SIDE_TIMESTAMP")); n != 2 {
		t.Fatalf("GetMediaForFragmentList: %d chunks", n)
	}
	if v := tagValue(b, numbers[1], "AWS_KINESISVIDEO_PRODUCER_SIDE_TIMESTAMP"); v != "1767225601.000" {
		t.Fatalf("producer-side timestamp of fragment 1: %q", v)
	}
}

// ffprobeFrames checks that ffprobe decodes want frames from the chunks
// (skipped without ffprobe).
func ffprobeFrames(t *testing.T, chunks []byte, want int) {
	t.Helper()
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Log("ffprobe not found: playback check skipped")
		return
	}
	f := filepath.Join(t.TempDir(), "out.mkv")
	if err := os.WriteFile(f, chunks, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", f).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != strconv.Itoa(want) {
		t.Fatalf("ffprobe read %s frames, want %d", got, want)
	}
}
