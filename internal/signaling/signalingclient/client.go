// Package signalingclient is a Go client of a Kinesis Video signaling
// channel's WebSocket endpoint, shaped like the AWS WebRTC JS library:
// it presigns the GET to "/" with X-Amz-ChannelARN (and X-Amz-ClientId
// for a viewer), only the host header signed, X-Amz-Expires=299 and the
// SHA-256 of the empty payload, then speaks the library's frames. Rheos's
// tests and tools use it against the server; it is not part of the
// server.
package signalingclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/coder/websocket"
)

// Options name the channel, the role and the credentials.
type Options struct {
	// Endpoint is GetSignalingChannelEndpoint's WSS answer (ws:// or wss://).
	Endpoint   string
	ChannelARN string
	// ClientID connects as a viewer with this id; "" as the master.
	ClientID string
	Region   string
	// AccessKeyID, SecretAccessKey and SessionToken sign the URL.
	AccessKeyID, SecretAccessKey, SessionToken string
	// PayloadHash is the payload hash signed: "" for the JS library's
	// (the empty payload's SHA-256); "UNSIGNED-PAYLOAD" as the SDK
	// presigners do.
	PayloadHash string
	// SigningTime is the signature's time (default now).
	SigningTime time.Time
	// HTTPClient dials (default http.DefaultClient).
	HTTPClient *http.Client
}

// Event is a message from the server.
type Event struct {
	SenderClientID string  `json:"senderClientId,omitempty"`
	MessageType    string  `json:"messageType"`
	MessagePayload string  `json:"messagePayload,omitempty"`
	StatusResponse *Status `json:"statusResponse,omitempty"`
}

// Status is a STATUS_RESPONSE's body.
type Status struct {
	CorrelationID string `json:"correlationId"`
	ErrorType     string `json:"errorType"`
	StatusCode    string `json:"statusCode"`
	Description   string `json:"description"`
}

// Message is a message to the server.
type Message struct {
	Action            string `json:"action"`
	RecipientClientID string `json:"recipientClientId,omitempty"`
	MessagePayload    string `json:"messagePayload"`
	CorrelationID     string `json:"correlationId,omitempty"`
}

// Client is one connection.
type Client struct {
	ws     *websocket.Conn
	events chan Event // closed when the connection ends; then err is set
	err    error
}

// PresignURL returns the signed WebSocket URL.
func PresignURL(ctx context.Context, o Options) (string, error) {
	u, err := url.Parse(o.Endpoint)
	if err != nil {
		return "", err
	}
	scheme := strings.Replace(u.Scheme, "ws", "http", 1) // ws→http, wss→https
	q := url.Values{"X-Amz-ChannelARN": {o.ChannelARN}}
	if o.ClientID != "" {
		q.Set("X-Amz-ClientId", o.ClientID)
	}
	q.Set("X-Amz-Expires", "299")
	path := u.Path
	if path == "" {
		path = "/"
	}
	req, err := http.NewRequest(http.MethodGet, scheme+"://"+u.Host+path+"?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	hash := o.PayloadHash
	if hash == "" {
		sum := sha256.Sum256(nil)
		hash = hex.EncodeToString(sum[:])
	}
	at := o.SigningTime
	if at.IsZero() {
		at = time.Now()
	}
	signed, _, err := v4.NewSigner().PresignHTTP(ctx, aws.Credentials{AccessKeyID: o.AccessKeyID, SecretAccessKey: o.SecretAccessKey,
		SessionToken: o.SessionToken}, req, hash, "kinesisvideo", o.Region, at)
	if err != nil {
		return "", err
	}
	return strings.Replace(signed, scheme, u.Scheme, 1), nil
}

// Dial connects. A refused handshake returns the server's response (its
// body read into the error).
func Dial(ctx context.Context, o Options) (*Client, error) {
	signed, err := PresignURL(ctx, o)
	if err != nil {
		return nil, err
	}
	ws, resp, err := websocket.Dial(ctx, signed, &websocket.DialOptions{HTTPClient: o.HTTPClient})
	if err != nil {
		if resp != nil {
			return nil, &RefusedError{Status: resp.StatusCode, Type: resp.Header.Get("x-amzn-ErrorType"), Err: err}
		}
		return nil, err
	}
	ws.SetReadLimit(1 << 20)
	c := &Client{ws: ws, events: make(chan Event, 1024)}
	go c.read()
	return c, nil
}

// RefusedError is a handshake the server answered with an HTTP error.
type RefusedError struct {
	Status int
	Type   string // x-amzn-ErrorType
	Err    error
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("signaling handshake refused: %d %s: %v", e.Status, e.Type, e.Err)
}

// Send sends a message.
func (c *Client) Send(ctx context.Context, m Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return c.ws.Write(ctx, websocket.MessageText, b)
}

// Recv waits for the next event; the connection's end is an error
// (websocket.CloseStatus tells its code). A ctx that ends only ends the
// wait: the connection stays open.
func (c *Client) Recv(ctx context.Context) (Event, error) {
	select {
	case e, ok := <-c.events:
		if !ok {
			return Event{}, c.err
		}
		return e, nil
	case <-ctx.Done():
		return Event{}, ctx.Err()
	}
}

// read runs the connection's reads (a cancelled read would close it).
func (c *Client) read() {
	defer close(c.events)
	for {
		typ, b, err := c.ws.Read(context.Background())
		if err != nil {
			c.err = err
			return
		}
		if typ != websocket.MessageText {
			continue
		}
		var e Event
		if err := json.Unmarshal(b, &e); err != nil {
			c.err = fmt.Errorf("signaling: event %q: %w", b, err)
			return
		}
		c.events <- e
	}
}

// Close closes the connection.
func (c *Client) Close() error {
	err := c.ws.Close(websocket.StatusNormalClosure, "")
	for range c.events {
	}
	return err
}
