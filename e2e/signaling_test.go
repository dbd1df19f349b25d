package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	kv "github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	kvt "github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	sc "github.com/rheos/rheos/internal/signaling/signalingclient"
)

// TestWebRTCThroughSignaling: against the real binary, a pion master and a
// pion viewer find each other through a Rheos signaling channel (the
// viewer's offer, the master's answer and both sides' trickled ICE
// candidates relayed by the WebSocket endpoint GetSignalingChannelEndpoint
// answers) and echo on a DataChannel; then again with ICETransportPolicy
// relay, through the built-in TURN server with GetIceServerConfig's
// time-limited credentials.
func TestWebRTCThroughSignaling(t *testing.T) {
	p := startServer(t, filepath.Join(t.TempDir(), "data"), freePort(t))
	endpoint := "http://" + p.addr
	ctx := context.Background()
	c := kv.New(kv.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	out, err := c.CreateSignalingChannel(ctx, &kv.CreateSignalingChannelInput{ChannelName: aws.String("door")})
	if err != nil {
		t.Fatal(err)
	}
	arn := *out.ChannelARN
	eps := map[kvt.ChannelRole]map[kvt.ChannelProtocol]string{}
	for _, role := range []kvt.ChannelRole{kvt.ChannelRoleMaster, kvt.ChannelRoleViewer} {
		deadline := time.Now().Add(5 * time.Second)
		for {
			ep, err := c.GetSignalingChannelEndpoint(ctx, &kv.GetSignalingChannelEndpointInput{ChannelARN: aws.String(arn),
				SingleMasterChannelEndpointConfiguration: &kvt.SingleMasterChannelEndpointConfiguration{
					Protocols: []kvt.ChannelProtocol{kvt.ChannelProtocolWss, kvt.ChannelProtocolHttps}, Role: role}})
			if err == nil {
				eps[role] = map[kvt.ChannelProtocol]string{}
				for _, e := range ep.ResourceEndpointList {
					eps[role][e.Protocol] = *e.ResourceEndpoint
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("GetSignalingChannelEndpoint: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for _, relay := range []bool{false, true} {
		name := "direct"
		if relay {
			name = "relay"
		}
		t.Run(name, func(t *testing.T) {
			var masterICE, viewerICE []webrtc.ICEServer
			if relay {
				masterICE = iceServers(t, eps[kvt.ChannelRoleMaster][kvt.ChannelProtocolHttps], arn, "")
				viewerICE = iceServers(t, eps[kvt.ChannelRoleViewer][kvt.ChannelProtocolHttps], arn, "viewer-"+name)
			}
			master := startMaster(t, eps[kvt.ChannelRoleMaster][kvt.ChannelProtocolWss], arn, masterICE, relay)
			time.Sleep(500 * time.Millisecond) // 3 connects per second per channel
			got := runViewer(t, eps[kvt.ChannelRoleViewer][kvt.ChannelProtocolWss], arn, "viewer-"+name, viewerICE, relay)
			if got != "echo: hello over "+name {
				t.Fatalf("echo %q", got)
			}
			if relay {
				pair := master.selectedPair()
				if pair == nil || pair.Local.Typ != webrtc.ICECandidateTypeRelay || pair.Remote.Typ != webrtc.ICECandidateTypeRelay {
					t.Fatalf("selected pair %v is not relay to relay", pair)
				}
			}
			time.Sleep(1100 * time.Millisecond)
		})
	}
}

// iceServers calls GetIceServerConfig on the HTTPS endpoint (signed as
// the SDKs sign it) and returns the servers as pion takes them.
func iceServers(t *testing.T, httpsEndpoint, arn, clientID string) []webrtc.ICEServer {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"ChannelARN": arn, "ClientId": clientID, "Service": "TURN"})
	if clientID == "" {
		body, _ = json.Marshal(map[string]string{"ChannelARN": arn, "Service": "TURN"})
	}
	req, _ := http.NewRequest("POST", httpsEndpoint+"/v1/get-ice-server-config", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"},
		req, hex.EncodeToString(sum[:]), "kinesisvideo", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		IceServerList []struct {
			Uris               []string
			Username, Password string
			Ttl                int
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 || len(out.IceServerList) == 0 {
		t.Fatalf("GetIceServerConfig: %d %v %+v", resp.StatusCode, err, out)
	}
	var list []webrtc.ICEServer
	for _, s := range out.IceServerList {
		if s.Ttl != 300 {
			t.Fatalf("Ttl %d", s.Ttl)
		}
		list = append(list, webrtc.ICEServer{URLs: s.Uris, Username: s.Username, Credential: s.Password})
	}
	return list
}

func newPeer(t *testing.T, servers []webrtc.ICEServer, relay bool) *webrtc.PeerConnection {
	t.Helper()
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se))
	cfg := webrtc.Configuration{ICEServers: servers}
	if relay {
		cfg.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	pc, err := api.NewPeerConnection(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

// encode is how the JS library frames a payload: base64 of the JSON of an
// RTCSessionDescription or RTCIceCandidate.
func encode(v any) string {
	b, _ := json.Marshal(v)
	return base64.StdEncoding.EncodeToString(b)
}

func decode(t *testing.T, payload string, v any) {
	b, err := base64.StdEncoding.DecodeString(payload)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		t.Errorf("payload %q: %v", payload, err)
	}
}

// peer is one side of a session: its pion connection and the remote
// candidates waiting for the remote description.
type peer struct {
	t       *testing.T
	pc      *webrtc.PeerConnection
	sig     *sc.Client
	mu      sync.Mutex
	pending []webrtc.ICECandidateInit
	haveSDP bool
}

func (p *peer) addCandidate(c webrtc.ICECandidateInit) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.haveSDP {
		p.pending = append(p.pending, c)
		return
	}
	if err := p.pc.AddICECandidate(c); err != nil {
		p.t.Errorf("AddICECandidate: %v", err)
	}
}

func (p *peer) setRemote(d webrtc.SessionDescription) {
	if err := p.pc.SetRemoteDescription(d); err != nil {
		p.t.Errorf("SetRemoteDescription: %v", err)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.haveSDP = true
	for _, c := range p.pending {
		if err := p.pc.AddICECandidate(c); err != nil {
			p.t.Errorf("AddICECandidate: %v", err)
		}
	}
	p.pending = nil
}

// trickle sends each local candidate to recipient as it is gathered.
func (p *peer) trickle(recipient string) {
	p.pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		p.sig.Send(context.Background(), sc.Message{Action: "ICE_CANDIDATE", RecipientClientID: recipient, MessagePayload: encode(c.ToJSON())})
	})
}

func (p *peer) selectedPair() *webrtc.ICECandidatePair {
	sctp := p.pc.SCTP()
	if sctp == nil {
		return nil
	}
	pair, err := sctp.Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil {
		return nil
	}
	return pair
}

// startMaster connects a pion master that answers each viewer's offer and
// echoes on the DataChannels viewers open.
func startMaster(t *testing.T, wss, arn string, servers []webrtc.ICEServer, relay bool) *peer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sig, err := sc.Dial(ctx, sc.Options{Endpoint: wss, ChannelARN: arn, Region: "us-east-1", AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"})
	if err != nil {
		t.Fatalf("master connect: %v", err)
	}
	t.Cleanup(func() { sig.Close() })
	p := &peer{t: t, pc: newPeer(t, servers, relay), sig: sig}
	p.pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		dc.OnMessage(func(m webrtc.DataChannelMessage) { dc.SendText("echo: " + string(m.Data)) })
	})
	go func() {
		for {
			e, err := sig.Recv(context.Background())
			if err != nil {
				return
			}
			switch e.MessageType {
			case "SDP_OFFER":
				var offer webrtc.SessionDescription
				decode(t, e.MessagePayload, &offer)
				p.trickle(e.SenderClientID)
				p.setRemote(offer)
				answer, err := p.pc.CreateAnswer(nil)
				if err != nil {
					t.Errorf("CreateAnswer: %v", err)
					return
				}
				if err := p.pc.SetLocalDescription(answer); err != nil {
					t.Errorf("SetLocalDescription: %v", err)
					return
				}
				sig.Send(context.Background(), sc.Message{Action: "SDP_ANSWER", RecipientClientID: e.SenderClientID, MessagePayload: encode(answer)})
			case "ICE_CANDIDATE":
				var c webrtc.ICECandidateInit
				decode(t, e.MessagePayload, &c)
				p.addCandidate(c)
			}
		}
	}()
	return p
}

// runViewer connects a pion viewer, offers, opens a DataChannel and
// returns the master's echo of one message.
func runViewer(t *testing.T, wss, arn, clientID string, servers []webrtc.ICEServer, relay bool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sig, err := sc.Dial(ctx, sc.Options{Endpoint: wss, ChannelARN: arn, ClientID: clientID, Region: "us-east-1",
		AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"})
	if err != nil {
		t.Fatalf("viewer connect: %v", err)
	}
	defer sig.Close()
	p := &peer{t: t, pc: newPeer(t, servers, relay), sig: sig}
	dc, err := p.pc.CreateDataChannel("echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	echo := make(chan string, 1)
	name := "direct"
	if relay {
		name = "relay"
	}
	dc.OnOpen(func() { dc.SendText("hello over " + name) })
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		select {
		case echo <- string(m.Data):
		default:
		}
	})
	p.trickle("")
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	if err := sig.Send(ctx, sc.Message{Action: "SDP_OFFER", MessagePayload: encode(offer), CorrelationID: "offer-1"}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			e, err := sig.Recv(ctx)
			if err != nil {
				return
			}
			switch e.MessageType {
			case "SDP_ANSWER":
				var answer webrtc.SessionDescription
				decode(t, e.MessagePayload, &answer)
				p.setRemote(answer)
			case "ICE_CANDIDATE":
				var c webrtc.ICECandidateInit
				decode(t, e.MessagePayload, &c)
				p.addCandidate(c)
			case "STATUS_RESPONSE":
				t.Errorf("status response %+v", e.StatusResponse)
			}
		}
	}()
	select {
	case s := <-echo:
		if relay {
			if pair := p.selectedPair(); pair == nil || !strings.Contains(pair.Local.Typ.String(), "relay") {
				t.Errorf("viewer pair %v", pair)
			}
		}
		return s
	case <-ctx.Done():
		t.Fatalf("no echo over %s (ICE %s)", name, p.pc.ICEConnectionState())
		return ""
	}
}
