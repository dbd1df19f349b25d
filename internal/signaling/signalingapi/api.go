// Package signalingapi owns the wire of Kinesis Video signaling on the
// shared port, beside the kinesisvideo control plane (same signing name):
//
//   - the WebSocket endpoint GetSignalingChannelEndpoint answers for WSS: a
//     GET to "/" with X-Amz-ChannelARN (and X-Amz-ClientId for a viewer),
//     authenticated by a SigV4 presigned query (X-Amz-Credential scoped to
//     kinesisvideo; the JS library signs the empty payload's SHA-256, the
//     SDK presigners UNSIGNED-PAYLOAD: both verify), authorized as
//     kinesisvideo:ConnectAsMaster or ConnectAsViewer on the channel;
//   - the frames both ways (frames.go): a client's
//     {"action","recipientClientId","messagePayload","correlationId"} and
//     the server's events {"senderClientId","messageType","messagePayload"}
//     and {"messageType":"STATUS_RESPONSE","statusResponse":{...}}, sent
//     on a refused message that carried a correlationId;
//   - the HTTPS API of the kinesis-video-signaling model (REST-JSON, routes
//     from internal/awsmodel/videosignalingmodel): GetIceServerConfig and
//     SendAlexaOfferToMaster.
//
// Connection refusals (channel not found, quotas) answer the handshake
// with the AWS exception in REST-JSON. It maps the signaling domain's
// kinds to exceptions and status responses in one table (errorOf). It
// imports the protocol layer and its one domain, internal/signaling.
package signalingapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsmodel/videosignalingmodel"
	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/awsproto/restjson"
	"github.com/rheos/rheos/internal/signaling"
)

// SigningName is the SigV4 service name of the signaling APIs.
const SigningName = "kinesisvideo"

func exception(name string) awserr.Exception {
	return restjson.ModelException(name, videosignalingmodel.Model)
}

var (
	exClientLimit      = exception("ClientLimitExceededException")
	exInvalidArgument  = exception("InvalidArgumentException")
	exInvalidClient    = exception("InvalidClientException")
	exNotAuthorized    = exception("NotAuthorizedException")
	exResourceNotFound = exception("ResourceNotFoundException")
	exSessionExpired   = exception("SessionExpiredException")
)

// Exceptions is the catalog of the exceptions this API answers.
var Exceptions = awserr.NewCatalog(SigningName, exClientLimit, exInvalidArgument, exInvalidClient, exNotAuthorized,
	exResourceNotFound, exSessionExpired)

// errorOf is the one table from the domain's kinds to AWS's exceptions;
// a STATUS_RESPONSE carries the exception's name as errorType and its
// HTTP status as statusCode. (AWS documents the statusResponse fields but
// not their values; these follow the signaling model's exceptions.)
var errorOf = map[signaling.Kind]awserr.Exception{
	signaling.KindNotFound:        exResourceNotFound,
	signaling.KindInvalidArgument: exInvalidArgument,
	signaling.KindClientLimit:     exClientLimit,
	signaling.KindNotConnected:    exResourceNotFound,
}

func toAWS(err error) error {
	var de *signaling.Error
	if errors.As(err, &de) {
		if ex, ok := errorOf[de.Kind]; ok {
			return &awserr.Error{Exception: ex, Message: de.Msg, Cause: err}
		}
	}
	return err
}

// API serves the signaling endpoints.
type API struct {
	hub            *signaling.Hub
	channels       signaling.Channels
	defaultAccount string
	rest           *restjson.Service
	// WriteTimeout bounds the sending of one event to a client. Default 10 s.
	WriteTimeout time.Duration
}

// New returns the signaling API over hub, resolving channels with
// channels; defaultAccount is the account of unauthenticated callers.
func New(hub *signaling.Hub, channels signaling.Channels, defaultAccount string) *API {
	a := &API{hub: hub, channels: channels, defaultAccount: defaultAccount, WriteTimeout: 10 * time.Second}
	handlers := map[string]restjson.Handler{
		"GetIceServerConfig":     a.getIceServerConfig,
		"SendAlexaOfferToMaster": a.sendAlexaOfferToMaster,
	}
	for op, h := range handlers {
		handlers[op] = a.wrap(op, h)
	}
	routes, err := restjson.RoutesFromModel(videosignalingmodel.Model, handlers)
	if err != nil {
		panic(err) // the generated model and this table disagree: a build-time bug
	}
	a.rest = restjson.New(SigningName, a.Paths(), routes...)
	return a
}

// Paths are the HTTPS API's paths (the WebSocket endpoint is "/").
func (a *API) Paths() []string {
	return []string{"/v1/get-ice-server-config", "/v1/send-alexa-offer-to-master"}
}

// Serves reports whether r is for this API: one of its paths, or a
// WebSocket connection to a channel (a GET with X-Amz-ChannelARN).
func (a *API) Serves(r *http.Request) bool {
	switch r.URL.Path {
	case "/v1/get-ice-server-config", "/v1/send-alexa-offer-to-master":
		return true
	}
	return r.Method == http.MethodGet && r.URL.Query().Has("X-Amz-ChannelARN")
}

// ServeAWS serves one request routed to it by the kinesisvideo endpoint.
func (a *API) ServeAWS(w http.ResponseWriter, r *http.Request, req *awsproto.Request) {
	if r.Method == http.MethodGet && r.URL.Query().Has("X-Amz-ChannelARN") {
		a.serveWebSocket(w, r, req)
		return
	}
	a.rest.ServeAWS(w, r, req)
}

// WriteError answers an error in REST-JSON.
func (a *API) WriteError(w http.ResponseWriter, r *http.Request, e *awserr.Error) {
	a.rest.WriteError(w, r, e)
}

func (a *API) wrap(op string, h restjson.Handler) restjson.Handler {
	return func(ctx context.Context, c *awsproto.Call) (any, error) {
		arn, _ := c.Input["ChannelARN"].(string)
		if aerr := authorize(ctx, c.Authorize, op, arn); aerr != nil {
			return nil, aerr
		}
		out, err := h(ctx, c)
		if err != nil {
			return nil, toAWS(err)
		}
		return out, nil
	}
}

// authorize asks the caller's policies for kinesisvideo:<op> on the
// channel; a refusal is the model's NotAuthorizedException (401).
func authorize(ctx context.Context, fn func(context.Context, string, string) *awserr.Error, op, arn string) *awserr.Error {
	if fn == nil {
		return nil
	}
	if aerr := fn(ctx, "kinesisvideo:"+op, arn); aerr != nil {
		if aerr.Name != awserr.AccessDenied.Name {
			return aerr
		}
		return &awserr.Error{Exception: exNotAuthorized, Message: aerr.Message, Cause: aerr}
	}
	return nil
}

func (a *API) account(id awsproto.Identity) string {
	if id.Account != "" {
		return id.Account
	}
	return a.defaultAccount
}

func (a *API) getIceServerConfig(ctx context.Context, c *awsproto.Call) (any, error) {
	arn, _ := c.Input["ChannelARN"].(string)
	client, _ := c.Input["ClientId"].(string)
	if svc, ok := c.Input["Service"].(string); ok && svc != "TURN" {
		return nil, awserr.New(exInvalidArgument, "Service must be TURN.")
	}
	ch, err := a.channels.Channel(ctx, a.account(awsproto.Identity{Account: c.Account}), c.Region, arn)
	if err != nil {
		return nil, err
	}
	servers, err := a.hub.IceServers(ch, client, 0)
	if err != nil {
		return nil, err
	}
	list := make([]any, 0, len(servers))
	for _, s := range servers {
		e := map[string]any{"Uris": s.URIs, "Ttl": int64(s.TTL / time.Second)}
		if s.Username != "" {
			e["Username"], e["Password"] = s.Username, s.Password
		}
		list = append(list, e)
	}
	return map[string]any{"IceServerList": list}, nil
}

func (a *API) sendAlexaOfferToMaster(ctx context.Context, c *awsproto.Call) (any, error) {
	arn, _ := c.Input["ChannelARN"].(string)
	sender, _ := c.Input["SenderClientId"].(string)
	payload, _ := c.Input["MessagePayload"].(string)
	ch, err := a.channels.Channel(ctx, a.account(awsproto.Identity{Account: c.Account}), c.Region, arn)
	if err != nil {
		return nil, err
	}
	answer, err := a.hub.Offer(ctx, ch, sender, payload)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Answer": answer}, nil
}

// refuse answers a handshake with an error.
func (a *API) refuse(w http.ResponseWriter, r *http.Request, err error) {
	var ae *awserr.Error
	if !errors.As(toAWS(err), &ae) {
		ae = awsproto.Internal(err)
	}
	a.rest.WriteError(w, r, ae)
}

// serveWebSocket authenticates, authorizes and admits a client, then
// relays its messages until the relay, the client or the server ends the
// connection.
func (a *API) serveWebSocket(w http.ResponseWriter, r *http.Request, req *awsproto.Request) {
	id, aerr := req.Env.Authenticate(r, []byte{}, SigningName)
	if aerr != nil {
		a.rest.WriteError(w, r, aerr)
		return
	}
	q := r.URL.Query()
	arn, clientID := q.Get("X-Amz-ChannelARN"), q.Get("X-Amz-ClientId")
	role, op := signaling.Master, "ConnectAsMaster"
	if q.Has("X-Amz-ClientId") {
		role, op = signaling.Viewer, "ConnectAsViewer"
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	if aerr := authorize(ctx, id.Authorize, op, arn); aerr != nil {
		a.rest.WriteError(w, r, aerr)
		return
	}
	ch, err := a.channels.Channel(ctx, a.account(id), id.Region, arn)
	if err != nil {
		a.refuse(w, r, err)
		return
	}
	conn, err := a.hub.Connect(ch, role, clientID)
	if err != nil {
		if errors.Is(err, signaling.ErrShutdown) {
			a.rest.WriteError(w, r, awserr.New(awserr.ServiceUnavailable, "The server is shutting down."))
			return
		}
		a.refuse(w, r, err)
		return
	}
	defer conn.Close()
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		// The presigned URL authenticates the client; browsers' pages
		// come from any origin (the AWS console's, a demo page's).
		InsecureSkipVerify: true,
	})
	if err != nil {
		return // Accept answered the handshake
	}
	defer ws.CloseNow()
	ws.SetReadLimit(maxFrame)
	a.relay(ctx, ws, conn, req.Env.Draining)
}
