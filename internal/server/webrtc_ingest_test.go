package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	kv "github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	kvt "github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"
	awsv1 "github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/service/kinesisvideoarchivedmedia"
	"github.com/aws/aws-sdk-go/service/kinesisvideowebrtcstorage"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	sc "github.com/rheos/rheos/internal/signaling/signalingclient"
	"github.com/rheos/rheos/internal/video/mkv"
)

// h264Fixture is the fixture's video as a WebRTC camera sends it:
// Annex-B access units, the SPS and PPS before each key frame.
type h264Sample struct {
	data []byte
	dur  time.Duration
}

func h264Fixture(t *testing.T) []h264Sample {
	t.Helper()
	b, err := os.ReadFile("../video/testdata/test.mkv")
	if err != nil {
		t.Fatal(err)
	}
	r := mkv.NewReader(bytes.NewReader(b), mkv.Limits{})
	var track uint64
	var params [][]byte
	var out []h264Sample
	var lastTC int64 = -1
	annexB := func(nalus ...[]byte) []byte {
		var b []byte
		for _, n := range nalus {
			b = append(append(b, 0, 0, 0, 1), n...)
		}
		return b
	}
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
				if te.CodecID == "V_MPEG4/ISO/AVC" {
					track = te.Number
					cp := te.CodecPrivate
					n := int(binary.BigEndian.Uint16(cp[6:]))
					pps := cp[8+n+3:]
					params = [][]byte{cp[8 : 8+n], pps[:binary.BigEndian.Uint16(cp[8+n+1:])]}
				}
			}
		case mkv.KindCluster:
			_, fs, err := mkv.ClusterFrames(ev.Cluster.Raw)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range fs {
				if f.Track != track {
					continue
				}
				var nalus [][]byte
				if f.Key {
					nalus = append(nalus, params...)
				}
				for d := f.Data; len(d) >= 4; {
					n := binary.BigEndian.Uint32(d)
					nalus, d = append(nalus, d[4:4+n]), d[4+n:]
				}
				if lastTC >= 0 && len(out) > 0 {
					out[len(out)-1].dur = time.Duration(f.Timecode-lastTC) * time.Millisecond
				}
				lastTC = f.Timecode
				out = append(out, h264Sample{data: annexB(nalus...), dur: 40 * time.Millisecond})
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("fixture without H.264 frames")
	}
	return out
}

// webrtcCamera is a pion master on a signaling channel sending H.264: it
// answers offers (the storage session's) and trickles candidates.
type webrtcCamera struct {
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticSample
	sig   *sc.Client
	mu    sync.Mutex
	peer  string // the client id that sent the offer
	early []webrtc.ICECandidateInit
	offer chan string // sender client ids of offers
}

func startCamera(t *testing.T, f channelFixture) *webrtcCamera {
	t.Helper()
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "video", "camera")
	if err != nil {
		t.Fatal(err)
	}
	sender, err := pc.AddTrack(track)
	if err != nil {
		t.Fatal(err)
	}
	go func() { // read RTCP (PLI, NACK) so the interceptors run
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	cam := &webrtcCamera{pc: pc, track: track, sig: dial(t, f, ""), offer: make(chan string, 4)}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		cam.mu.Lock()
		peer := cam.peer
		cam.mu.Unlock()
		if peer != "" {
			_ = cam.sig.Send(context.Background(), sc.Message{Action: "ICE_CANDIDATE", RecipientClientID: peer, MessagePayload: encodeJSON(c.ToJSON())})
		}
	})
	go cam.serve(t)
	return cam
}

func encodeJSON(v any) string {
	b, _ := json.Marshal(v)
	return base64.StdEncoding.EncodeToString(b)
}

// serve answers the offer and takes candidates until the signaling
// connection ends.
func (c *webrtcCamera) serve(t *testing.T) {
	ctx := context.Background()
	for {
		e, err := c.sig.Recv(ctx)
		if err != nil {
			return
		}
		raw, _ := base64.StdEncoding.DecodeString(e.MessagePayload)
		switch e.MessageType {
		case "SDP_OFFER":
			var offer webrtc.SessionDescription
			if err := json.Unmarshal(raw, &offer); err != nil {
				t.Errorf("offer: %v", err)
				return
			}
			if err := c.pc.SetRemoteDescription(offer); err != nil {
				t.Errorf("SetRemoteDescription: %v", err)
				return
			}
			answer, err := c.pc.CreateAnswer(nil)
			if err != nil {
				t.Errorf("CreateAnswer: %v", err)
				return
			}
			c.mu.Lock()
			c.peer = e.SenderClientID
			c.mu.Unlock()
			if err := c.pc.SetLocalDescription(answer); err != nil {
				t.Errorf("SetLocalDescription: %v", err)
				return
			}
			if err := c.sig.Send(ctx, sc.Message{Action: "SDP_ANSWER", RecipientClientID: e.SenderClientID, MessagePayload: encodeJSON(answer)}); err != nil {
				return
			}
			c.mu.Lock()
			early := c.early
			c.early = nil
			c.mu.Unlock()
			for _, cand := range early {
				_ = c.pc.AddICECandidate(cand)
			}
			c.offer <- e.SenderClientID
		case "ICE_CANDIDATE":
			var cand webrtc.ICECandidateInit
			if json.Unmarshal(raw, &cand) != nil {
				continue
			}
			c.mu.Lock()
			if c.pc.RemoteDescription() == nil {
				c.early = append(c.early, cand)
				c.mu.Unlock()
				continue
			}
			c.mu.Unlock()
			_ = c.pc.AddICECandidate(cand)
		}
	}
}

// TestWebRTCIngest: JoinStorageSession end to end. A stream (24 h) and a
// channel are linked by UpdateMediaStorageConfiguration; before that,
// JoinStorageSession is refused (InvalidArgumentException), as it is for
// an unknown channel (ResourceNotFoundException). A pion camera connects
// as the channel's master; JoinStorageSession makes Rheos's storage
// session offer to it over signaling; the camera answers and sends the
// fixture's H.264 for 10 s, then closes. ListFragments shows about 10 s
// of fragments (one per key frame, about a second each), and GetClip and
// HLS of their range are read by ffprobe as H.264 frames.
func TestWebRTCIngest(t *testing.T) {
	t.Setenv("AWS_CA_BUNDLE", "") // loopback HTTP; the v1 SDK refuses a bundle with a custom transport
	ts := newServer(t)
	c := ts.videoClient()
	ctx := context.Background()
	ts.createVideoStream(t, "webrtc-store", 24)
	streamARN := *waitVideoActive(t, c, "webrtc-store").StreamARN
	f := signalingChannel(t, c, "webrtc-cam", 0)
	storage := kinesisvideowebrtcstorage.New(ts.videoV1())
	join := func(arn string) error {
		_, err := storage.JoinStorageSession(&kinesisvideowebrtcstorage.JoinStorageSessionInput{ChannelArn: awsv1.String(arn)})
		return err
	}
	wantAWSErr := func(err error, code string, status int) {
		t.Helper()
		var rf awserr.RequestFailure
		if !errors.As(err, &rf) || rf.Code() != code || rf.StatusCode() != status {
			t.Fatalf("got %v, want %s (%d)", err, code, status)
		}
	}
	wantAWSErr(join(f.arn), "InvalidArgumentException", 400)
	wantAWSErr(join(f.arn[:strings.LastIndex(f.arn, "/")]+"/1"), "ResourceNotFoundException", 404)
	if _, err := c.UpdateMediaStorageConfiguration(ctx, &kv.UpdateMediaStorageConfigurationInput{ChannelARN: aws.String(f.arn),
		MediaStorageConfiguration: &kvt.MediaStorageConfiguration{StreamARN: aws.String(streamARN), Status: kvt.MediaStorageConfigurationStatusEnabled}}); err != nil {
		t.Fatal(err)
	}

	cam := startCamera(t, f)
	time.Sleep(400 * time.Millisecond) // 3 connects per second per channel
	connected := make(chan struct{})
	var once sync.Once
	cam.pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	if err := join(f.arn); err != nil {
		t.Fatalf("JoinStorageSession: %v", err)
	}
	select {
	case peer := <-cam.offer:
		if peer != "KVS_STORAGE_SESSION" {
			t.Fatalf("offer from %q", peer)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no offer from the storage session")
	}
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("the camera's peer connection did not connect")
	}
	samples := h264Fixture(t)
	start := time.Now()
	var sent time.Duration
	for i := 0; sent < 10*time.Second; i++ {
		s := samples[i%len(samples)]
		if err := cam.track.WriteSample(media.Sample{Data: s.data, Duration: s.dur}); err != nil {
			t.Fatal(err)
		}
		sent += s.dur
		time.Sleep(time.Until(start.Add(sent)))
	}
	end := time.Now()
	cam.pc.Close()

	am := kinesisvideoarchivedmedia.New(ts.videoV1())
	var frags []*kinesisvideoarchivedmedia.Fragment
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := am.ListFragments(&kinesisvideoarchivedmedia.ListFragmentsInput{StreamName: awsv1.String("webrtc-store"),
			FragmentSelector: &kinesisvideoarchivedmedia.FragmentSelector{FragmentSelectorType: awsv1.String("PRODUCER_TIMESTAMP"),
				TimestampRange: &kinesisvideoarchivedmedia.TimestampRange{StartTimestamp: awsv1.Time(start.Add(-time.Minute)),
					EndTimestamp: awsv1.Time(end.Add(time.Minute))}}})
		if err != nil {
			t.Fatal(err)
		}
		frags = out.Fragments
		// The fixture has a key frame a second: 10 s make 10 fragments,
		// the last one written when the session ends.
		if len(frags) >= 10 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var total time.Duration
	first, last := time.Time{}, time.Time{}
	for _, fr := range frags {
		d := time.Duration(*fr.FragmentLengthInMilliseconds) * time.Millisecond
		total += d
		if d > 10*time.Second {
			t.Fatalf("fragment of %v", d)
		}
		if first.IsZero() || fr.ProducerTimestamp.Before(first) {
			first = *fr.ProducerTimestamp
		}
		if e := fr.ProducerTimestamp.Add(d); e.After(last) {
			last = e
		}
	}
	if len(frags) < 10 || total < 9500*time.Millisecond || total > 11*time.Second {
		t.Fatalf("ListFragments: %d fragments, %v in all", len(frags), total)
	}
	t.Logf("%d fragments, %v of media, %v..%v", len(frags), total, first.Format(time.RFC3339Nano), last.Format(time.RFC3339Nano))

	clip, err := am.GetClip(&kinesisvideoarchivedmedia.GetClipInput{StreamName: awsv1.String("webrtc-store"),
		ClipFragmentSelector: &kinesisvideoarchivedmedia.ClipFragmentSelector{FragmentSelectorType: awsv1.String("PRODUCER_TIMESTAMP"),
			TimestampRange: &kinesisvideoarchivedmedia.ClipTimestampRange{StartTimestamp: awsv1.Time(first), EndTimestamp: awsv1.Time(last)}}})
	if err != nil {
		t.Fatal(err)
	}
	mp4, err := io.ReadAll(clip.Payload)
	clip.Payload.Close()
	if err != nil || *clip.ContentType != "video/mp4" || len(mp4) < 64 || !bytes.Contains(mp4[:64], []byte("ftyp")) {
		t.Fatalf("GetClip: %v, %s, %d bytes", err, awsv1.StringValue(clip.ContentType), len(mp4))
	}
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe not found: the clip's decoding is not checked")
	}
	file := t.TempDir() + "/clip.mp4"
	if err := os.WriteFile(file, mp4, 0o600); err != nil {
		t.Fatal(err)
	}
	got := ffprobeURL(t, file)
	codec, n, _ := strings.Cut(got, ",")
	frames, _ := strconv.Atoi(n)
	if codec != "h264" || frames < 225 {
		t.Fatalf("ffprobe of the clip: %q, want h264 with about 250 frames", got)
	}
	// HLS of the same range plays the ingested video too.
	hls, err := am.GetHLSStreamingSessionURL(&kinesisvideoarchivedmedia.GetHLSStreamingSessionURLInput{StreamName: awsv1.String("webrtc-store"),
		PlaybackMode: awsv1.String("ON_DEMAND"),
		HLSFragmentSelector: &kinesisvideoarchivedmedia.HLSFragmentSelector{FragmentSelectorType: awsv1.String("PRODUCER_TIMESTAMP"),
			TimestampRange: &kinesisvideoarchivedmedia.HLSTimestampRange{StartTimestamp: awsv1.Time(first), EndTimestamp: awsv1.Time(last)}}})
	if err != nil {
		t.Fatal(err)
	}
	got = ffprobeURL(t, *hls.HLSStreamingSessionURL)
	codec, n, _ = strings.Cut(got, ",")
	frames, _ = strconv.Atoi(n)
	if codec != "h264" || frames < 225 {
		t.Fatalf("ffprobe of HLS: %q, want h264 with about 250 frames", got)
	}
}
