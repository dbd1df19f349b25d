package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	kv "github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	kvt "github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"
	"github.com/coder/websocket"

	"github.com/rheos/rheos/internal/config"
	"github.com/rheos/rheos/internal/sdktest"
	sc "github.com/rheos/rheos/internal/signaling/signalingclient"
)

// channelFixture is a signaling channel and its endpoints.
type channelFixture struct {
	arn, wss, https string
}

// signalingChannel creates a channel with ttl (seconds, 0: default) and
// returns its ARN and GetSignalingChannelEndpoint's WSS and HTTPS URLs.
func signalingChannel(t testing.TB, c *kv.Client, name string, ttl int32) channelFixture {
	t.Helper()
	ctx := context.Background()
	in := &kv.CreateSignalingChannelInput{ChannelName: aws.String(name)}
	if ttl > 0 {
		in.SingleMasterConfiguration = &kvt.SingleMasterConfiguration{MessageTtlSeconds: aws.Int32(ttl)}
	}
	out, err := c.CreateSignalingChannel(ctx, in)
	if err != nil {
		t.Fatalf("CreateSignalingChannel: %v", err)
	}
	f := channelFixture{arn: *out.ChannelARN}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ep, err := c.GetSignalingChannelEndpoint(ctx, &kv.GetSignalingChannelEndpointInput{ChannelARN: out.ChannelARN,
			SingleMasterChannelEndpointConfiguration: &kvt.SingleMasterChannelEndpointConfiguration{
				Protocols: []kvt.ChannelProtocol{kvt.ChannelProtocolWss, kvt.ChannelProtocolHttps}, Role: kvt.ChannelRoleViewer}})
		if err == nil {
			for _, e := range ep.ResourceEndpointList {
				switch e.Protocol {
				case kvt.ChannelProtocolWss:
					f.wss = *e.ResourceEndpoint
				case kvt.ChannelProtocolHttps:
					f.https = *e.ResourceEndpoint
				}
			}
			return f
		}
		if time.Now().After(deadline) {
			t.Fatalf("GetSignalingChannelEndpoint: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func dial(t *testing.T, f channelFixture, clientID string) *sc.Client {
	t.Helper()
	c, err := dialErr(f, clientID, "AKIDTEST", "secret")
	if err != nil {
		t.Fatalf("connect %q: %v", clientID, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func dialErr(f channelFixture, clientID, akid, secret string) (*sc.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return sc.Dial(ctx, sc.Options{Endpoint: f.wss, ChannelARN: f.arn, ClientID: clientID, Region: region, AccessKeyID: akid, SecretAccessKey: secret})
}

func recvEvent(t *testing.T, c *sc.Client) sc.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e, err := c.Recv(ctx)
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	return e
}

func noEvent(t *testing.T, c *sc.Client, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if e, err := c.Recv(ctx); err == nil {
		t.Fatalf("unexpected event %+v", e)
	}
}

func sigSend(t *testing.T, c *sc.Client, m sc.Message) {
	t.Helper()
	if err := c.Send(context.Background(), m); err != nil {
		t.Fatalf("send: %v", err)
	}
}

// wantStatus expects a STATUS_RESPONSE for correlationId.
func wantStatus(t *testing.T, c *sc.Client, corr, errorType, statusCode, descPart string) {
	t.Helper()
	e := recvEvent(t, c)
	s := e.StatusResponse
	if e.MessageType != "STATUS_RESPONSE" || s == nil || s.CorrelationID != corr || s.ErrorType != errorType || s.StatusCode != statusCode ||
		!strings.Contains(s.Description, descPart) || e.MessagePayload != "" || e.SenderClientID != "" {
		t.Fatalf("got %+v (status %+v), want STATUS_RESPONSE %s %s %s %q", e, s, corr, errorType, statusCode, descPart)
	}
}

func wantRefused(t *testing.T, err error, status int, errType string) {
	t.Helper()
	var re *sc.RefusedError
	if !errors.As(err, &re) || re.Status != status || !strings.HasPrefix(re.Type, errType) {
		t.Fatalf("got %v, want handshake refused %d %s", err, status, errType)
	}
}

// TestSignalingRelay: the frames both ways through the real server: a
// viewer's offer reaches the master with its senderClientId, the master's
// answer and candidates reach the viewer it names (no one else), and a
// refused message with a correlationId gets its STATUS_RESPONSE.
func TestSignalingRelay(t *testing.T) {
	ts := newServer(t)
	f := signalingChannel(t, ts.videoClient(), "relay", 0)
	if !strings.HasPrefix(f.wss, "ws://") || !strings.HasPrefix(f.https, "http://") {
		t.Fatalf("endpoints %+v", f)
	}
	master := dial(t, f, "")
	time.Sleep(400 * time.Millisecond) // 3 connects per second per channel
	v1 := dial(t, f, "viewer-1")
	v2 := dial(t, f, "viewer-2")
	sigSend(t, v1, sc.Message{Action: "SDP_OFFER", MessagePayload: "b2ZmZXI=", CorrelationID: "c1"})
	if e := recvEvent(t, master); e.MessageType != "SDP_OFFER" || e.SenderClientID != "viewer-1" || e.MessagePayload != "b2ZmZXI=" {
		t.Fatalf("master got %+v", e)
	}
	sigSend(t, master, sc.Message{Action: "SDP_ANSWER", RecipientClientID: "viewer-1", MessagePayload: "YW5zd2Vy"})
	sigSend(t, master, sc.Message{Action: "ICE_CANDIDATE", RecipientClientID: "viewer-1", MessagePayload: "Y2FuZA=="})
	if e := recvEvent(t, v1); e.MessageType != "SDP_ANSWER" || e.SenderClientID != "" || e.MessagePayload != "YW5zd2Vy" {
		t.Fatalf("viewer got %+v", e)
	}
	if e := recvEvent(t, v1); e.MessageType != "ICE_CANDIDATE" || e.MessagePayload != "Y2FuZA==" {
		t.Fatalf("viewer got %+v", e)
	}
	noEvent(t, v2, 100*time.Millisecond)
	// Refusals with a correlationId are answered; without one, dropped.
	sigSend(t, master, sc.Message{Action: "ICE_CANDIDATE", MessagePayload: "eA==", CorrelationID: "no-recipient"})
	wantStatus(t, master, "no-recipient", "InvalidArgumentException", "400", "recipientClientId is required")
	sigSend(t, v2, sc.Message{Action: "SDP_PRANSWER", MessagePayload: "eA==", CorrelationID: "bad-action"})
	wantStatus(t, v2, "bad-action", "InvalidArgumentException", "400", "Unknown action")
	sigSend(t, v2, sc.Message{Action: "SDP_PRANSWER", MessagePayload: "eA=="})
	sigSend(t, v2, sc.Message{Action: "ICE_CANDIDATE", MessagePayload: strings.Repeat("A", 10241), CorrelationID: "big"})
	wantStatus(t, v2, "big", "InvalidArgumentException", "400", "maximum size of 10240 bytes")
	// An unknown channel is refused at the handshake.
	_, err := dialErr(channelFixture{wss: f.wss, arn: f.arn[:strings.LastIndex(f.arn, "/")] + "/1"}, "", "AKIDTEST", "secret")
	wantRefused(t, err, 404, "ResourceNotFoundException")
}

// TestSignalingQueueTTL: a message to a master that connects later is
// delivered within the channel's MessageTtlSeconds and dropped after it.
func TestSignalingQueueTTL(t *testing.T) {
	ts := newServer(t)
	f := signalingChannel(t, ts.videoClient(), "ttl", 5) // the smallest TTL
	v := dial(t, f, "early")
	sigSend(t, v, sc.Message{Action: "SDP_OFFER", MessagePayload: "Zmlyc3Q="})
	time.Sleep(time.Second)
	m := dial(t, f, "")
	if e := recvEvent(t, m); e.MessageType != "SDP_OFFER" || e.SenderClientID != "early" || e.MessagePayload != "Zmlyc3Q=" {
		t.Fatalf("queued offer: %+v", e)
	}
	m.Close()
	time.Sleep(500 * time.Millisecond)
	sigSend(t, v, sc.Message{Action: "SDP_OFFER", MessagePayload: "bGF0ZQ=="})
	time.Sleep(6 * time.Second) // past the TTL (and a sweep)
	m2 := dial(t, f, "")
	noEvent(t, m2, 300*time.Millisecond)
}

// TestSignalingReplacement: a reconnecting master replaces the old
// connection, which is closed (normal closure, "replaced"); a viewer
// reusing its client id likewise; messages go to the newest.
func TestSignalingReplacement(t *testing.T) {
	ts := newServer(t)
	f := signalingChannel(t, ts.videoClient(), "replace", 0)
	m1 := dial(t, f, "")
	v1 := dial(t, f, "cam-viewer")
	time.Sleep(1100 * time.Millisecond)
	m2 := dial(t, f, "")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := m1.Recv(ctx)
	if st := websocket.CloseStatus(err); st != websocket.StatusNormalClosure || !strings.Contains(err.Error(), "replaced") {
		t.Fatalf("old master: %v (status %d)", err, st)
	}
	sigSend(t, v1, sc.Message{Action: "SDP_OFFER", MessagePayload: "eA=="})
	if e := recvEvent(t, m2); e.SenderClientID != "cam-viewer" {
		t.Fatalf("new master got %+v", e)
	}
	v1b := dial(t, f, "cam-viewer")
	_, err = v1.Recv(ctx)
	if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("old viewer: %v", err)
	}
	sigSend(t, m2, sc.Message{Action: "SDP_ANSWER", RecipientClientID: "cam-viewer", MessagePayload: "eQ=="})
	if e := recvEvent(t, v1b); e.MessagePayload != "eQ==" {
		t.Fatalf("new viewer got %+v", e)
	}
}

// TestSignalingQuotas: every quota refusal, as AWS answers it: 3 connects
// per second per channel and the 11th viewer refused at the handshake
// (ClientLimitExceededException, 400); 5 SDP and 20 ICE messages per
// second per connection answered with a STATUS_RESPONSE.
func TestSignalingQuotas(t *testing.T) {
	ts := newServer(t)
	f := signalingChannel(t, ts.videoClient(), "quotas", 0)
	for i := 0; i < 3; i++ {
		dial(t, f, fmt.Sprintf("v%d", i))
	}
	_, err := dialErr(f, "v3", "AKIDTEST", "secret")
	wantRefused(t, err, 400, "ClientLimitExceededException")
	var viewers []*sc.Client
	for i := 3; i < 10; i++ {
		if i%3 == 0 {
			time.Sleep(1100 * time.Millisecond)
		}
		viewers = append(viewers, dial(t, f, fmt.Sprintf("v%d", i)))
	}
	time.Sleep(1100 * time.Millisecond)
	_, err = dialErr(f, "v10", "AKIDTEST", "secret")
	wantRefused(t, err, 400, "ClientLimitExceededException")
	_, err = dialErr(f, "AWS_reserved", "AKIDTEST", "secret")
	wantRefused(t, err, 400, "InvalidArgumentException")

	v := viewers[0]
	for i := 0; i < 5; i++ {
		sigSend(t, v, sc.Message{Action: "SDP_OFFER", MessagePayload: "eA==", CorrelationID: fmt.Sprint("sdp", i)})
	}
	sigSend(t, v, sc.Message{Action: "SDP_OFFER", MessagePayload: "eA==", CorrelationID: "sdp5"})
	wantStatus(t, v, "sdp5", "ClientLimitExceededException", "400", "limit of 5 SDP messages per second")
	for i := 0; i < 20; i++ {
		sigSend(t, v, sc.Message{Action: "ICE_CANDIDATE", MessagePayload: "eA==", CorrelationID: fmt.Sprint("ice", i)})
	}
	sigSend(t, v, sc.Message{Action: "ICE_CANDIDATE", MessagePayload: "eA==", CorrelationID: "ice20"})
	wantStatus(t, v, "ice20", "ClientLimitExceededException", "400", "limit of 20 ICE candidate messages per second")
}

// TestSignalingPresignedAuth: with --auth verify the WebSocket URL signed
// as the JS library signs it (the empty payload's SHA-256) and as the SDK
// presigners sign it (UNSIGNED-PAYLOAD) are accepted; a wrong secret, an
// unknown key and a URL signed for another service are refused at the
// handshake; a principal without kinesisvideo:ConnectAsViewer is refused.
func TestSignalingPresignedAuth(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *config.Config) {
		c.AuthMode = "verify"
		c.RootAccessKeyID, c.RootSecretAccessKey = "AKIDROOT", "root-secret"
		c.Principals = []config.Principal{{Name: "reader", AccessKeyID: "AKIDREADER", SecretAccessKey: "reader-secret",
			Policies: []json.RawMessage{json.RawMessage(`{"Statement":[{"Effect":"Allow","Action":["kinesisvideo:Describe*","kinesisvideo:ConnectAsMaster"],"Resource":"*"}]}`)}}}
	})
	c := kv.New(kv.Options{Region: region, BaseEndpoint: aws.String(ts.url), Retryer: aws.NopRetryer{}, HTTPClient: sdktest.HTTPClient(nil),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDROOT", "root-secret", "")})
	f := signalingChannel(t, c, "secured", 0)
	ctx := context.Background()
	opts := sc.Options{Endpoint: f.wss, ChannelARN: f.arn, ClientID: "viewer", Region: region, AccessKeyID: "AKIDROOT", SecretAccessKey: "root-secret"}
	js, err := sc.Dial(ctx, opts)
	if err != nil {
		t.Fatalf("JS-style presigned URL refused: %v", err)
	}
	js.Close()
	time.Sleep(1100 * time.Millisecond)
	o := opts
	o.PayloadHash = "UNSIGNED-PAYLOAD"
	sdk, err := sc.Dial(ctx, o)
	if err != nil {
		t.Fatalf("SDK-style presigned URL refused: %v", err)
	}
	sdk.Close()
	o = opts
	o.SecretAccessKey = "wrong"
	_, err = sc.Dial(ctx, o)
	wantRefused(t, err, 403, "InvalidSignatureException")
	o = opts
	o.AccessKeyID = "AKIDNOBODY"
	_, err = sc.Dial(ctx, o)
	wantRefused(t, err, 403, "UnrecognizedClientException")
	o = opts
	o.SigningTime = time.Now().Add(-10 * time.Minute) // X-Amz-Expires=299
	_, err = sc.Dial(ctx, o)
	wantRefused(t, err, 403, "InvalidSignatureException")
	// Not allowed to connect as a viewer; allowed as the master.
	o = opts
	o.AccessKeyID, o.SecretAccessKey = "AKIDREADER", "reader-secret"
	_, err = sc.Dial(ctx, o)
	wantRefused(t, err, 401, "NotAuthorizedException")
	time.Sleep(1100 * time.Millisecond)
	o.ClientID = ""
	m, err := sc.Dial(ctx, o)
	if err != nil {
		t.Fatalf("master with ConnectAsMaster refused: %v", err)
	}
	m.Close()
}

// TestSignalingHTTPSAPI: GetIceServerConfig answers the built-in TURN
// server's URIs with time-limited credentials (Ttl 300 s) and its STUN
// URI; SendAlexaOfferToMaster relays an offer to the master and answers
// with the master's SDP answer to the sender.
func TestSignalingHTTPSAPI(t *testing.T) {
	ts := newServer(t)
	f := signalingChannel(t, ts.videoClient(), "https", 0)
	call := func(path string, body any) (int, map[string]any) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", f.https+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		sum := sha256Hex(b)
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"},
			req, sum, "kinesisvideo", region, time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	st, out := call("/v1/get-ice-server-config", map[string]any{"ChannelARN": f.arn, "ClientId": "viewer-1", "Service": "TURN"})
	list, _ := out["IceServerList"].([]any)
	if st != 200 || len(list) != 2 {
		t.Fatalf("GetIceServerConfig: %d %v", st, out)
	}
	turn := list[0].(map[string]any)
	uris := turn["Uris"].([]any)
	user, _ := turn["Username"].(string)
	if len(uris) != 2 || !strings.HasPrefix(uris[0].(string), "turn:127.0.0.1:") || !strings.HasSuffix(uris[0].(string), "?transport=udp") ||
		!strings.HasSuffix(uris[1].(string), "?transport=tcp") || turn["Ttl"] != 300.0 || !strings.HasSuffix(user, ":https.viewer-1") || turn["Password"] == "" {
		t.Fatalf("TURN server %v", turn)
	}
	if stun := list[1].(map[string]any)["Uris"].([]any); !strings.HasPrefix(stun[0].(string), "stun:127.0.0.1:") {
		t.Fatalf("STUN server %v", list[1])
	}
	st, out = call("/v1/get-ice-server-config", map[string]any{"ChannelARN": f.arn[:strings.LastIndex(f.arn, "/")] + "/1"})
	if st != 404 || out["__type"] == nil {
		t.Fatalf("unknown channel: %d %v", st, out)
	}

	master := dial(t, f, "")
	go func() {
		e, err := master.Recv(context.Background())
		if err != nil || e.MessageType != "SDP_OFFER" {
			return
		}
		master.Send(context.Background(), sc.Message{Action: "SDP_ANSWER", RecipientClientID: e.SenderClientID, MessagePayload: "YW5zd2VyLXRvLSIrZS5TZW5kZXJDbGllbnRJRA=="})
	}()
	st, out = call("/v1/send-alexa-offer-to-master", map[string]any{"ChannelARN": f.arn, "SenderClientId": "alexa-1", "MessagePayload": "b2ZmZXI="})
	if st != 200 || out["Answer"] != "YW5zd2VyLXRvLSIrZS5TZW5kZXJDbGllbnRJRA==" {
		t.Fatalf("SendAlexaOfferToMaster: %d %v", st, out)
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestSignalingShutdown: at shutdown every connected client gets GO_AWAY
// and its connection is closed, and Serve returns (the relay's connections
// are not left to a hijacked-connection limbo).
func TestSignalingShutdown(t *testing.T) {
	ts := newServer(t)
	f := signalingChannel(t, ts.videoClient(), "bye", 0)
	m := dial(t, f, "")
	v := dial(t, f, "viewer")
	done := make(chan struct{})
	go func() { ts.stop(); close(done) }()
	for _, c := range []*sc.Client{m, v} {
		if e := recvEvent(t, c); e.MessageType != "GO_AWAY" {
			t.Fatalf("got %+v, want GO_AWAY", e)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := c.Recv(ctx)
		cancel()
		if st := websocket.CloseStatus(err); st != websocket.StatusGoingAway && st != websocket.StatusNormalClosure {
			t.Fatalf("close: %v", err)
		}
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("shutdown did not finish")
	}
}
