package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	kv "github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	kvt "github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"

	sc "github.com/rheos/rheos/internal/signaling/signalingclient"
)

// This file runs the AWS Kinesis Video WebRTC JS library
// (amazon-kinesis-video-streams-webrtc 2.9.0, installed in
// e2e/testdata/webrtc by scripts/test-deps.sh) against the real binary:
// in Node as a viewer and as a master, over wss:// with the server's
// self-signed certificate trusted through NODE_EXTRA_CA_CERTS and its own
// SigV4 signer (the server verifies with --auth verify); and in headless
// Chromium, where `rheos video webrtc-demo`'s page (the library's browser
// build, embedded) views a pion master's VP8 video.

const (
	jsDir       = "testdata/webrtc"
	jsAccessKey = "AKIDWEBRTCJS"
	jsSecret    = "webrtc-js-secret"
)

// webrtcEnv is a server with TLS and a channel on it.
type webrtcEnv struct {
	p        *proc
	cert     string       // the self-signed certificate's PEM file
	httpc    *http.Client // trusts cert
	arn      string
	wss, wsV string // the master's and viewer's WSS endpoints (wss://)
}

// requireNodeLibrary skips unless node and the npm packages are installed.
func requireNodeLibrary(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed (scripts/test-deps.sh installs Node's packages; the JS WebRTC tests need Node 20)")
	}
	if _, err := os.Stat(filepath.Join(jsDir, "node_modules/amazon-kinesis-video-streams-webrtc/package.json")); err != nil {
		t.Skip("e2e/testdata/webrtc/node_modules is missing: run scripts/test-deps.sh (npm ci in e2e/testdata/webrtc)")
	}
	return node
}

// startWebRTCEnv starts the server with --auth verify and a TLS listener
// (a self-signed certificate) and creates channel name through HTTPS.
func startWebRTCEnv(t *testing.T, name string) *webrtcEnv {
	t.Helper()
	dir := t.TempDir()
	tlsAddr := freePort(t)
	p := startServerWith(t, filepath.Join(dir, "data"), freePort(t),
		[]string{"RHEOS_ROOT_ACCESS_KEY_ID=" + jsAccessKey, "RHEOS_ROOT_SECRET_ACCESS_KEY=" + jsSecret},
		"--auth", "verify", "--tls-addr", tlsAddr)
	e := &webrtcEnv{p: p, cert: filepath.Join(dir, "data", "tls", "self-signed.pem")}
	pemBytes, err := os.ReadFile(e.cert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("no certificate in", e.cert)
	}
	e.httpc = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	c := kv.New(kv.Options{Region: "us-east-1", BaseEndpoint: aws.String("https://" + tlsAddr), HTTPClient: e.httpc,
		Retryer: aws.NopRetryer{}, Credentials: credentials.NewStaticCredentialsProvider(jsAccessKey, jsSecret, "")})
	ctx := context.Background()
	out, err := c.CreateSignalingChannel(ctx, &kv.CreateSignalingChannelInput{ChannelName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	e.arn = *out.ChannelARN
	e.wss = signalingEndpoint(t, c, e.arn, kvt.ChannelRoleMaster)
	e.wsV = signalingEndpoint(t, c, e.arn, kvt.ChannelRoleViewer)
	if !strings.HasPrefix(e.wss, "wss://") || !strings.HasPrefix(e.wsV, "wss://") {
		t.Fatalf("endpoints %q %q: want wss:// from the TLS listener", e.wss, e.wsV)
	}
	return e
}

// signalingEndpoint waits for the channel to be active and returns its
// WSS endpoint for role.
func signalingEndpoint(t *testing.T, c *kv.Client, arn string, role kvt.ChannelRole) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ep, err := c.GetSignalingChannelEndpoint(context.Background(), &kv.GetSignalingChannelEndpointInput{ChannelARN: aws.String(arn),
			SingleMasterChannelEndpointConfiguration: &kvt.SingleMasterChannelEndpointConfiguration{
				Protocols: []kvt.ChannelProtocol{kvt.ChannelProtocolWss}, Role: role}})
		if err == nil && len(ep.ResourceEndpointList) == 1 {
			return *ep.ResourceEndpointList[0].ResourceEndpoint
		}
		if time.Now().After(deadline) {
			t.Fatalf("GetSignalingChannelEndpoint: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// jsEvent is a line of bridge.js's output: an event of the library's
// SignalingClient.
type jsEvent struct {
	Event   string          `json:"event"`
	Payload json.RawMessage `json:"payload"`
	From    string          `json:"from"`
	Message string          `json:"message"`
}

// jsBridge is bridge.js running the library's SignalingClient in Node.
type jsBridge struct {
	t      *testing.T
	mu     sync.Mutex // serializes writes to stdin
	stdin  io.WriteCloser
	events chan jsEvent // closed at the script's exit
	stderr bytes.Buffer
}

// startBridge runs bridge.js as role (MASTER or VIEWER) on endpoint.
// It signs with the server's root credentials, or with secret if not "".
func startBridge(t *testing.T, node string, e *webrtcEnv, role, endpoint, clientID, secret string) *jsBridge {
	t.Helper()
	cmd := exec.Command(node, "bridge.js", role, endpoint, e.arn, "us-east-1", clientID)
	cmd.Dir = jsDir
	if secret == "" {
		secret = jsSecret
	}
	cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+e.cert, "AWS_ACCESS_KEY_ID="+jsAccessKey,
		"AWS_SECRET_ACCESS_KEY="+secret, "AWS_SESSION_TOKEN=")
	b := &jsBridge{t: t, events: make(chan jsEvent, 256)}
	cmd.Stderr = &b.stderr
	var err error
	if b.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(b.events)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var ev jsEvent
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Errorf("bridge.js printed %q", sc.Text())
				continue
			}
			b.events <- ev
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		cmd.Wait()
	})
	return b
}

// send writes a command to bridge.js.
func (b *jsBridge) send(cmd map[string]any) {
	line, _ := json.Marshal(cmd)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stdin.Write(append(line, '\n'))
}

// waitOpen waits for the library's "open" event.
func (b *jsBridge) waitOpen(ctx context.Context) {
	b.t.Helper()
	select {
	case ev, ok := <-b.events:
		if !ok || ev.Event != "open" {
			b.t.Fatalf("bridge.js: want open, got %+v (stderr %s)", ev, b.stderr.String())
		}
	case <-ctx.Done():
		b.t.Fatalf("bridge.js did not open (stderr %s)", b.stderr.String())
	}
}

// candidateStrings collects the candidate lines a pion peer gathers and
// sends, for comparing with what the other side received.
type candidateStrings struct {
	mu   sync.Mutex
	list []string
}

func (c *candidateStrings) add(s string) {
	c.mu.Lock()
	c.list = append(c.list, s)
	c.mu.Unlock()
}

func (c *candidateStrings) has(s string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, x := range c.list {
		if x == s {
			return true
		}
	}
	return false
}

func (c *candidateStrings) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.list)
}

// pionMaster is a pion master on a channel: it answers each viewer's
// offer with a new peer connection that echoes on DataChannels and, given
// frames, sends them as a VP8 track. It records what it received.
type pionMaster struct {
	t      *testing.T
	sig    *sc.Client
	frames [][]byte // VP8 frames at 15 fps, looped; nil: no video
	stop   chan struct{}
	wg     sync.WaitGroup // the sample writers

	mu         sync.Mutex
	offers     map[string]string // sender → offer SDP
	candidates map[string]int    // sender → ICE candidates received
	answers    map[string]string // recipient → answer SDP
	sent       candidateStrings  // candidates sent
}

// startPionMaster connects a pion master with signalingclient (as the
// existing pion tests do) to endpoint, through httpc.
func startPionMaster(t *testing.T, endpoint, arn string, httpc *http.Client, frames [][]byte) *pionMaster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sig, err := sc.Dial(ctx, sc.Options{Endpoint: endpoint, ChannelARN: arn, Region: "us-east-1", AccessKeyID: jsAccessKey,
		SecretAccessKey: jsSecret, HTTPClient: httpc})
	if err != nil {
		t.Fatalf("pion master connect: %v", err)
	}
	m := &pionMaster{t: t, sig: sig, frames: frames, stop: make(chan struct{}), offers: map[string]string{},
		candidates: map[string]int{}, answers: map[string]string{}}
	peers := map[string]*peer{}
	recvDone := make(chan struct{})
	t.Cleanup(func() {
		close(m.stop)
		sig.Close()
		<-recvDone
		m.wg.Wait()
	})
	go func() {
		defer close(recvDone)
		for {
			e, err := sig.Recv(context.Background())
			if err != nil {
				return
			}
			switch e.MessageType {
			case "SDP_OFFER":
				var offer webrtc.SessionDescription
				decode(t, e.MessagePayload, &offer)
				m.mu.Lock()
				m.offers[e.SenderClientID] = offer.SDP
				m.mu.Unlock()
				p := m.answer(e.SenderClientID, offer)
				if p != nil {
					peers[e.SenderClientID] = p
				}
			case "ICE_CANDIDATE":
				var c webrtc.ICECandidateInit
				decode(t, e.MessagePayload, &c)
				m.mu.Lock()
				m.candidates[e.SenderClientID]++
				m.mu.Unlock()
				if p := peers[e.SenderClientID]; p != nil {
					p.addCandidate(c)
				}
			case "STATUS_RESPONSE":
				t.Errorf("pion master: status response %+v", e.StatusResponse)
			}
		}
	}()
	return m
}

// answer makes viewer's peer connection and sends the answer.
func (m *pionMaster) answer(viewer string, offer webrtc.SessionDescription) *peer {
	p := &peer{t: m.t, pc: newPeer(m.t, nil, false), sig: m.sig}
	p.pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		dc.OnMessage(func(msg webrtc.DataChannelMessage) { dc.SendText("echo: " + string(msg.Data)) })
	})
	p.pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		init := c.ToJSON()
		m.sent.add(init.Candidate)
		m.sig.Send(context.Background(), sc.Message{Action: "ICE_CANDIDATE", RecipientClientID: viewer, MessagePayload: encode(init)})
	})
	p.setRemote(offer)
	if m.frames != nil {
		track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "rheos-test")
		if err != nil {
			m.t.Errorf("track: %v", err)
			return nil
		}
		if _, err := p.pc.AddTrack(track); err != nil {
			m.t.Errorf("AddTrack: %v", err)
			return nil
		}
		m.wg.Add(1)
		go m.play(track)
	}
	answer, err := p.pc.CreateAnswer(nil)
	if err == nil {
		err = p.pc.SetLocalDescription(answer)
	}
	if err != nil {
		m.t.Errorf("answer: %v", err)
		return nil
	}
	m.mu.Lock()
	m.answers[viewer] = answer.SDP
	m.mu.Unlock()
	m.sig.Send(context.Background(), sc.Message{Action: "SDP_ANSWER", RecipientClientID: viewer, MessagePayload: encode(answer)})
	return p
}

// play writes the frames to track at 15 fps, looping, until stop.
func (m *pionMaster) play(track *webrtc.TrackLocalStaticSample) {
	defer m.wg.Done()
	tick := time.NewTicker(time.Second / 15)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-m.stop:
			return
		case <-tick.C:
		}
		if err := track.WriteSample(media.Sample{Data: m.frames[i%len(m.frames)], Duration: time.Second / 15}); err != nil && !errors.Is(err, io.ErrClosedPipe) {
			return
		}
	}
}

func (m *pionMaster) received(viewer string) (offer string, candidates int, answer string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.offers[viewer], m.candidates[viewer], m.answers[viewer]
}

// echoChannel opens a DataChannel on pc that sends text when open and
// returns the first message received.
func echoChannel(t *testing.T, pc *webrtc.PeerConnection, text string) <-chan string {
	t.Helper()
	dc, err := pc.CreateDataChannel("echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	echo := make(chan string, 1)
	dc.OnOpen(func() { dc.SendText(text) })
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		select {
		case echo <- string(m.Data):
		default:
		}
	})
	return echo
}

// TestJSLibraryViewerWithPionMaster: the JS library's SignalingClient as a
// VIEWER in Node connects to Rheos over wss:// (its own SigV4 presigned
// URL, verified by --auth verify, which refuses it signed with a wrong
// secret; the self-signed certificate trusted via
// NODE_EXTRA_CA_CERTS) and carries a Go pion peer's offer and candidates to
// a pion master and the master's answer and candidates back. Each side
// received exactly what the other sent, and the two pion peers then echo
// on a DataChannel: the session the library signaled works.
func TestJSLibraryViewerWithPionMaster(t *testing.T) {
	node := requireNodeLibrary(t)
	e := startWebRTCEnv(t, "js-viewer")
	master := startPionMaster(t, e.wss, e.arn, e.httpc, nil)
	time.Sleep(400 * time.Millisecond) // 3 connects per second per channel
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Signed with a wrong secret, the library's URL is refused: the
	// signature is checked.
	bad := startBridge(t, node, e, "VIEWER", e.wsV, "js-viewer-bad", "not-the-secret")
	select {
	case ev := <-bad.events:
		if ev.Event == "open" {
			t.Fatal("the library connected with a wrong secret")
		}
		t.Logf("wrong secret: library event %s %s", ev.Event, ev.Message)
	case <-ctx.Done():
		t.Fatal("the library's badly signed connection neither failed nor opened")
	}
	time.Sleep(400 * time.Millisecond)

	const viewerID = "js-viewer-1"
	js := startBridge(t, node, e, "VIEWER", e.wsV, viewerID, "")
	js.waitOpen(ctx)
	p := &peer{t: t, pc: newPeer(t, nil, false)}
	echo := echoChannel(t, p.pc, "hello via the JS library")
	var sent candidateStrings
	p.pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			sent.add(c.ToJSON().Candidate)
			js.send(map[string]any{"send": "iceCandidate", "payload": c.ToJSON()})
		}
	})
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	js.send(map[string]any{"send": "sdpOffer", "payload": offer, "correlationId": "offer-1"})

	var answerSDP string
	var gotCandidates []string
	for got := ""; got == ""; {
		select {
		case ev, ok := <-js.events:
			if !ok {
				t.Fatalf("bridge.js exited: %s", js.stderr.String())
			}
			switch ev.Event {
			case "sdpAnswer":
				var a webrtc.SessionDescription
				if err := json.Unmarshal(ev.Payload, &a); err != nil || a.Type != webrtc.SDPTypeAnswer {
					t.Fatalf("sdpAnswer %s: %v", ev.Payload, err)
				}
				answerSDP = a.SDP
				p.setRemote(a)
			case "iceCandidate":
				var c webrtc.ICECandidateInit
				if err := json.Unmarshal(ev.Payload, &c); err != nil {
					t.Fatalf("iceCandidate %s: %v", ev.Payload, err)
				}
				gotCandidates = append(gotCandidates, c.Candidate)
				p.addCandidate(c)
			default:
				t.Fatalf("library event %+v", ev)
			}
		case got = <-echo:
		case <-ctx.Done():
			t.Fatalf("no echo (ICE %s; library stderr %s)", p.pc.ICEConnectionState(), js.stderr.String())
		}
	}
	if answerSDP == "" || len(gotCandidates) == 0 {
		t.Fatalf("the library received answer %v and %d candidates before the echo", answerSDP != "", len(gotCandidates))
	}
	mOffer, mCandidates, mAnswer := master.received(viewerID)
	if mOffer != offer.SDP {
		t.Errorf("the master received offer %q from %s, want the one the library sent", mOffer, viewerID)
	}
	if mAnswer != answerSDP {
		t.Errorf("the library received answer %q, want the master's", answerSDP)
	}
	if mCandidates == 0 || mCandidates > sent.len() {
		t.Errorf("the master received %d candidates from %s; the library sent %d", mCandidates, viewerID, sent.len())
	}
	for _, c := range gotCandidates {
		if !master.sent.has(c) {
			t.Errorf("the library received candidate %q, which the master did not send", c)
		}
	}
	js.send(map[string]any{"send": "close"})
	t.Logf("JS viewer: answer, %d candidates in, %d out; master: offer, %d candidates", len(gotCandidates), sent.len(), mCandidates)
}

// TestJSLibraryMasterWithPionViewer: the JS library as the MASTER in Node
// (over wss://, its own signer) receives a pion viewer's offer (with the
// viewer's client id as sender) and candidates, sends a Go pion peer's
// answer and candidates back addressed to that viewer, and the peers echo
// on a DataChannel.
func TestJSLibraryMasterWithPionViewer(t *testing.T) {
	node := requireNodeLibrary(t)
	e := startWebRTCEnv(t, "js-master")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	js := startBridge(t, node, e, "MASTER", e.wss, "", "")
	js.waitOpen(ctx)
	time.Sleep(400 * time.Millisecond) // 3 connects per second per channel

	// The Go peer behind the library: answers, echoes.
	const viewerID = "pion-viewer-1"
	behind := &peer{t: t, pc: newPeer(t, nil, false)}
	behind.pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		dc.OnMessage(func(m webrtc.DataChannelMessage) { dc.SendText("echo: " + string(m.Data)) })
	})
	var masterSent candidateStrings
	behind.pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			masterSent.add(c.ToJSON().Candidate)
			js.send(map[string]any{"send": "iceCandidate", "payload": c.ToJSON(), "to": viewerID})
		}
	})

	// The pion viewer, through signalingclient.
	sig, err := sc.Dial(ctx, sc.Options{Endpoint: e.wsV, ChannelARN: e.arn, ClientID: viewerID, Region: "us-east-1",
		AccessKeyID: jsAccessKey, SecretAccessKey: jsSecret, HTTPClient: e.httpc})
	if err != nil {
		t.Fatalf("pion viewer connect: %v", err)
	}
	defer sig.Close()
	viewer := &peer{t: t, pc: newPeer(t, nil, false), sig: sig}
	echo := echoChannel(t, viewer.pc, "hello to the JS master")
	var viewerSent candidateStrings
	viewer.pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			viewerSent.add(c.ToJSON().Candidate)
			sig.Send(context.Background(), sc.Message{Action: "ICE_CANDIDATE", MessagePayload: encode(c.ToJSON())})
		}
	})
	offer, err := viewer.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := viewer.pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	if err := sig.Send(ctx, sc.Message{Action: "SDP_OFFER", MessagePayload: encode(offer), CorrelationID: "offer-1"}); err != nil {
		t.Fatal(err)
	}
	var viewerGot struct {
		sync.Mutex
		answer     string
		candidates []string
	}
	recvDone := make(chan struct{})
	go func() {
		defer close(recvDone)
		for {
			ev, err := sig.Recv(ctx)
			if err != nil {
				return
			}
			switch ev.MessageType {
			case "SDP_ANSWER":
				var a webrtc.SessionDescription
				decode(t, ev.MessagePayload, &a)
				viewerGot.Lock()
				viewerGot.answer = a.SDP
				viewerGot.Unlock()
				viewer.setRemote(a)
			case "ICE_CANDIDATE":
				var c webrtc.ICECandidateInit
				decode(t, ev.MessagePayload, &c)
				viewerGot.Lock()
				viewerGot.candidates = append(viewerGot.candidates, c.Candidate)
				viewerGot.Unlock()
				viewer.addCandidate(c)
			case "STATUS_RESPONSE":
				t.Errorf("pion viewer: status response %+v", ev.StatusResponse)
			}
		}
	}()

	var answerSDP string
	var libCandidates []string
	for got := ""; got == ""; {
		select {
		case ev, ok := <-js.events:
			if !ok {
				t.Fatalf("bridge.js exited: %s", js.stderr.String())
			}
			switch ev.Event {
			case "sdpOffer":
				var o webrtc.SessionDescription
				if err := json.Unmarshal(ev.Payload, &o); err != nil || o.Type != webrtc.SDPTypeOffer || o.SDP != offer.SDP {
					t.Fatalf("library sdpOffer %s: %v; want the pion viewer's", ev.Payload, err)
				}
				if ev.From != viewerID {
					t.Fatalf("library sdpOffer from %q, want %q", ev.From, viewerID)
				}
				behind.setRemote(o)
				a, err := behind.pc.CreateAnswer(nil)
				if err == nil {
					err = behind.pc.SetLocalDescription(a)
				}
				if err != nil {
					t.Fatal(err)
				}
				answerSDP = a.SDP
				js.send(map[string]any{"send": "sdpAnswer", "payload": a, "to": viewerID})
			case "iceCandidate":
				var c webrtc.ICECandidateInit
				if err := json.Unmarshal(ev.Payload, &c); err != nil || ev.From != viewerID {
					t.Fatalf("library iceCandidate %s from %q: %v", ev.Payload, ev.From, err)
				}
				libCandidates = append(libCandidates, c.Candidate)
				behind.addCandidate(c)
			default:
				t.Fatalf("library event %+v", ev)
			}
		case got = <-echo:
			if got != "echo: hello to the JS master" {
				t.Fatalf("echo %q", got)
			}
		case <-ctx.Done():
			t.Fatalf("no echo (ICE %s; library stderr %s)", viewer.pc.ICEConnectionState(), js.stderr.String())
		}
	}
	if len(libCandidates) == 0 {
		t.Error("the library received no candidate from the viewer")
	}
	for _, c := range libCandidates {
		if !viewerSent.has(c) {
			t.Errorf("the library received candidate %q, which the viewer did not send", c)
		}
	}
	viewerGot.Lock()
	if viewerGot.answer != answerSDP {
		t.Errorf("the viewer received answer %q, want the one the library sent", viewerGot.answer)
	}
	if len(viewerGot.candidates) == 0 {
		t.Error("the viewer received no candidate from the library")
	}
	for _, c := range viewerGot.candidates {
		if !masterSent.has(c) {
			t.Errorf("the viewer received candidate %q, which the library did not send", c)
		}
	}
	n := len(viewerGot.candidates)
	viewerGot.Unlock()
	sig.Close()
	<-recvDone
	t.Logf("JS master: offer from %s, %d candidates in, %d out; viewer: answer, %d candidates", viewerID, len(libCandidates), masterSent.len(), n)
}

// chromiumPath returns the Chromium binary, or skips.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed (scripts/test-deps.sh installs Debian's chromium): skipping the browser WebRTC test")
	return ""
}

// ivfFrames reads the VP8 frames of an IVF file.
func ivfFrames(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, _, err := ivfreader.NewWith(f)
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for {
		frame, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, frame)
	}
	if len(frames) == 0 {
		t.Fatal("no frames in", path)
	}
	return frames
}

// playingRE matches the demo page's progress line in Chromium's console log.
var playingRE = regexp.MustCompile(`rheos-webrtc-demo: playing frames=(\d+) size=(\d+)x(\d+) time=([0-9.]+) via=(\w*)`)

// TestChromiumViewerReceivesPionVideo: `rheos video webrtc-demo` serves its
// page (the library's browser build, embedded; the URL presigned by the
// command with the environment's credentials, checked by --auth verify)
// to headless Chromium; the page, as a VIEWER, receives a pion master's
// VP8 track (testdata/webrtc/testsrc.ivf, 320x240 at 15 fps, looped) and
// reports, through the console, frames presented by
// requestVideoFrameCallback with the video's size, its currentTime
// advancing and the selected candidate's type. Three ways: ws:// on the
// plain listener; wss:// on the TLS listener (the command trusts the
// self-signed certificate with --ca-cert, Chromium ignores certificate
// errors); and relay-only ICE (?relay=1) through the built-in TURN server,
// with the credentials GetIceServerConfig gave the page.
func TestChromiumViewerReceivesPionVideo(t *testing.T) {
	chromium := chromiumPath(t)
	frames := ivfFrames(t, filepath.Join(jsDir, "testsrc.ivf"))
	e := startWebRTCEnv(t, "camera-wss")
	plain := "http://" + e.p.addr
	tlsEndpoint := "https://" + strings.TrimPrefix(e.wss, "wss://")
	for _, tc := range []struct {
		name, channel, endpoint, query, via string
		demoFlags                           []string
	}{
		{name: "ws", channel: "camera-ws", endpoint: plain},
		{name: "wss", channel: "camera-wss", endpoint: tlsEndpoint, demoFlags: []string{"--ca-cert", e.cert}},
		{name: "relay", channel: "camera-relay", endpoint: plain, query: "?relay=1", via: "relay"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := kv.New(kv.Options{Region: "us-east-1", BaseEndpoint: aws.String(tc.endpoint), HTTPClient: e.httpc, Retryer: aws.NopRetryer{},
				Credentials: credentials.NewStaticCredentialsProvider(jsAccessKey, jsSecret, "")})
			arn := e.arn
			if tc.channel != "camera-wss" {
				out, err := c.CreateSignalingChannel(context.Background(), &kv.CreateSignalingChannelInput{ChannelName: aws.String(tc.channel)})
				if err != nil {
					t.Fatal(err)
				}
				arn = *out.ChannelARN
			}
			master := startPionMaster(t, signalingEndpoint(t, c, arn, kvt.ChannelRoleMaster), arn, e.httpc, frames)
			pageURL := startDemo(t, append([]string{tc.channel, "--endpoint", tc.endpoint, "--listen", "127.0.0.1:0"}, tc.demoFlags...))
			resp, err := http.Get(pageURL + "session")
			if err != nil {
				t.Fatal(err)
			}
			var sess struct{ Endpoint, SignedURL string }
			json.NewDecoder(resp.Body).Decode(&sess)
			resp.Body.Close()
			if want := strings.Replace(strings.Split(tc.endpoint, ":")[0], "http", "ws", 1) + "://"; !strings.HasPrefix(sess.SignedURL, want) {
				t.Fatalf("the page's signed URL %q: want %s", sess.SignedURL, want)
			}
			line := chromiumPlays(t, chromium, pageURL+tc.query, tc.via)
			var viewerOffer string
			master.mu.Lock()
			for id, sdp := range master.offers {
				if strings.HasPrefix(id, "viewer-") {
					viewerOffer = sdp
				}
			}
			master.mu.Unlock()
			if !strings.Contains(viewerOffer, "m=video") {
				t.Fatalf("the master's offer from the page has no video: %q", viewerOffer)
			}
			t.Logf("page: %s", line)
		})
	}
}

// startDemo runs `rheos video webrtc-demo args...` with the root
// credentials in its environment and returns the page's URL.
func startDemo(t *testing.T, args []string) string {
	t.Helper()
	demo := exec.Command(rheosBinary(t), append([]string{"video", "webrtc-demo"}, args...)...)
	demo.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+jsAccessKey, "AWS_SECRET_ACCESS_KEY="+jsSecret, "AWS_SESSION_TOKEN=")
	var demoErr bytes.Buffer
	demo.Stderr = &demoErr
	demoOut, err := demo.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		demo.Process.Signal(syscall.SIGTERM)
		demo.Wait()
		if demoErr.Len() > 0 {
			t.Logf("webrtc-demo stderr: %s", demoErr.String())
		}
	})
	line, err := bufio.NewReader(demoOut).ReadString('\n')
	if err != nil {
		t.Fatalf("webrtc-demo: %v", err)
	}
	i := strings.Index(line, "http://")
	if i < 0 {
		t.Fatalf("webrtc-demo printed %q", line)
	}
	return strings.TrimSpace(line[i:])
}

// chromiumPlays opens pageURL in headless Chromium and waits for the page
// to report 30 frames presented at 320x240 with currentTime advancing
// (and the selected candidate of type via, unless ""). It returns that
// console line.
func chromiumPlays(t *testing.T, chromium, pageURL, via string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cr := exec.Command(chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--use-fake-ui-for-media-stream",
		"--autoplay-policy=no-user-gesture-required", "--user-data-dir="+t.TempDir(),
		"--no-first-run", "--disable-dev-shm-usage", "--enable-logging=stderr", "--v=0",
		// The TLS listener's certificate is self-signed.
		"--ignore-certificate-errors",
		// Host candidates as IP addresses, not mDNS names (pion here
		// does not resolve .local).
		"--disable-features=WebRtcHideLocalIpsWithMdns", pageURL)
	cr.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its helpers are ended with it
	crErr, err := cr.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cr.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 64)
	scanDone := make(chan struct{})
	go func() {
		defer close(scanDone)
		sc := bufio.NewScanner(crErr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "rheos-webrtc-demo") {
				select {
				case lines <- sc.Text():
				default:
				}
			}
		}
	}()
	defer func() {
		syscall.Kill(-cr.Process.Pid, syscall.SIGKILL)
		<-scanDone
		cr.Wait()
	}()
	var log []string
	firstTime := -1.0
	for {
		select {
		case l := <-lines:
			log = append(log, l)
			m := playingRE.FindStringSubmatch(l)
			if m == nil {
				if strings.Contains(l, "error") {
					t.Fatalf("page: %s", l)
				}
				continue
			}
			n, _ := strconv.Atoi(m[1])
			w, _ := strconv.Atoi(m[2])
			h, _ := strconv.Atoi(m[3])
			at, _ := strconv.ParseFloat(m[4], 64)
			if w != 320 || h != 240 {
				t.Fatalf("video is %dx%d, want 320x240: %s", w, h, l)
			}
			if via != "" && m[5] != via {
				t.Fatalf("selected candidate %q, want %q: %s", m[5], via, l)
			}
			if firstTime < 0 {
				firstTime = at
			}
			if n >= 30 && at > firstTime {
				return l
			}
		case <-ctx.Done():
			t.Fatalf("the page did not play 30 frames in 60 s; console:\n%s", strings.Join(log, "\n"))
		}
	}
}
