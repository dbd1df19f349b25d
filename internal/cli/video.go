package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	kv "github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	kvt "github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"

	"github.com/rheos/rheos/internal/cli/webrtcdemo"
	"github.com/rheos/rheos/internal/signaling/signalingclient"
)

// videoCmd runs `rheos video webrtc-demo`.
func videoCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("video: want webrtc-demo (rheos video -h)")
	}
	if isHelp(args[0]) {
		usageOf(stdout, "rheos video")
		return nil
	}
	if args[0] != "webrtc-demo" {
		return fmt.Errorf("video: unknown command %q: want webrtc-demo", args[0])
	}
	return webrtcDemo(args[1:], stdout, stderr)
}

// webrtcDemo serves a browser page that views a signaling channel: the
// page loads the AWS WebRTC JS library (embedded) and asks this process,
// once per load, for a session. The URL is presigned here with the
// credentials of the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN; "rheos"/"rheos" when unset, which a server with
// --auth none accepts), so no secret reaches the page. Runs until
// SIGINT/SIGTERM.
func webrtcDemo(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("video webrtc-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := os.Getenv("RHEOS_ENDPOINT")
	if def == "" {
		def = "http://127.0.0.1:4566"
	}
	endpoint := fs.String("endpoint", def, "server endpoint (env RHEOS_ENDPOINT)")
	region := fs.String("region", "us-east-1", "region")
	listen := fs.String("listen", "127.0.0.1:8080", "address of the page")
	caCert := fs.String("ca-cert", "", "PEM file of a CA to trust for an https:// endpoint (e.g. <data-dir>/tls/self-signed.pem)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: rheos video webrtc-demo CHANNEL [--endpoint URL] [--region R] [--listen ADDR] [--ca-cert FILE]")
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return errors.New("video webrtc-demo: want one CHANNEL (name or ARN)")
	}
	httpc := http.DefaultClient
	if *caCert != "" {
		pem, err := os.ReadFile(*caCert)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("video webrtc-demo: %s holds no certificate", *caCert)
		}
		httpc = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	}
	d := &demo{channel: pos[0], region: *region, httpc: httpc, creds: envCredentials(), warn: stderr}
	d.kv = kv.New(kv.Options{Region: *region, BaseEndpoint: aws.String(*endpoint), HTTPClient: httpc,
		Credentials: credentials.NewStaticCredentialsProvider(d.creds.AccessKeyID, d.creds.SecretAccessKey, d.creds.SessionToken)})

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Fail early on a wrong channel or endpoint rather than in the page.
	if _, err := d.session(ctx); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: webrtcdemo.Handler(d.session), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "webrtc-demo: viewer of channel %s at http://%s/\n", d.channel, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
		<-errc
		return nil
	}
}

// envCredentials reads the standard AWS environment variables.
func envCredentials() aws.Credentials {
	c := aws.Credentials{AccessKeyID: os.Getenv("AWS_ACCESS_KEY_ID"), SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken: os.Getenv("AWS_SESSION_TOKEN")}
	if c.AccessKeyID == "" {
		c.AccessKeyID, c.SecretAccessKey = "rheos", "rheos"
	}
	return c
}

// demo makes the page's sessions. Its fields are set before serving and
// only read after, so concurrent page loads share it safely.
type demo struct {
	channel string // name or ARN
	region  string
	kv      *kv.Client
	httpc   *http.Client
	creds   aws.Credentials
	warn    io.Writer
}

// session resolves the channel, asks for its viewer endpoints and ICE
// servers, and presigns the WebSocket URL for a fresh client id.
func (d *demo) session(ctx context.Context) (webrtcdemo.Session, error) {
	in := &kv.DescribeSignalingChannelInput{ChannelName: aws.String(d.channel)}
	if strings.HasPrefix(d.channel, "arn:") {
		in = &kv.DescribeSignalingChannelInput{ChannelARN: aws.String(d.channel)}
	}
	ch, err := d.kv.DescribeSignalingChannel(ctx, in)
	if err != nil {
		return webrtcdemo.Session{}, fmt.Errorf("describing channel %s: %w", d.channel, err)
	}
	arn := aws.ToString(ch.ChannelInfo.ChannelARN)
	ep, err := d.kv.GetSignalingChannelEndpoint(ctx, &kv.GetSignalingChannelEndpointInput{ChannelARN: aws.String(arn),
		SingleMasterChannelEndpointConfiguration: &kvt.SingleMasterChannelEndpointConfiguration{
			Protocols: []kvt.ChannelProtocol{kvt.ChannelProtocolWss, kvt.ChannelProtocolHttps}, Role: kvt.ChannelRoleViewer}})
	if err != nil {
		return webrtcdemo.Session{}, fmt.Errorf("GetSignalingChannelEndpoint: %w", err)
	}
	var wss, https string
	for _, e := range ep.ResourceEndpointList {
		switch e.Protocol {
		case kvt.ChannelProtocolWss:
			wss = aws.ToString(e.ResourceEndpoint)
		case kvt.ChannelProtocolHttps:
			https = aws.ToString(e.ResourceEndpoint)
		}
	}
	var id [6]byte
	rand.Read(id[:])
	s := webrtcdemo.Session{ChannelARN: arn, ChannelName: aws.ToString(ch.ChannelInfo.ChannelName), Region: d.region,
		ClientID: "viewer-" + hex.EncodeToString(id[:]), Endpoint: wss}
	s.SignedURL, err = signalingclient.PresignURL(ctx, signalingclient.Options{Endpoint: wss, ChannelARN: arn, ClientID: s.ClientID,
		Region: d.region, AccessKeyID: d.creds.AccessKeyID, SecretAccessKey: d.creds.SecretAccessKey, SessionToken: d.creds.SessionToken})
	if err != nil {
		return webrtcdemo.Session{}, err
	}
	// Without ICE servers the page still connects to a master on the same
	// network (host candidates): warn, do not fail.
	if s.ICEServers, err = d.iceServers(ctx, https, arn, s.ClientID); err != nil {
		fmt.Fprintln(d.warn, "webrtc-demo: GetIceServerConfig:", err)
	}
	return s, nil
}

// iceServers calls GetIceServerConfig (POST /v1/get-ice-server-config on
// the channel's HTTPS endpoint, signed for kinesisvideo).
func (d *demo) iceServers(ctx context.Context, https, arn, clientID string) ([]webrtcdemo.ICEServer, error) {
	if https == "" {
		return nil, errors.New("no HTTPS endpoint")
	}
	body, _ := json.Marshal(map[string]string{"ChannelARN": arn, "ClientId": clientID, "Service": "TURN"})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(https, "/")+"/v1/get-ice-server-config", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, d.creds, req, hex.EncodeToString(sum[:]), "kinesisvideo", d.region, time.Now()); err != nil {
		return nil, err
	}
	resp, err := d.httpc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		IceServerList []struct {
			Uris               []string
			Username, Password string
		}
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return nil, fmt.Errorf("%s: %s", resp.Status, msg)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	var list []webrtcdemo.ICEServer
	for _, s := range out.IceServerList {
		list = append(list, webrtcdemo.ICEServer{URLs: s.Uris, Username: s.Username, Credential: s.Password})
	}
	return list, nil
}
