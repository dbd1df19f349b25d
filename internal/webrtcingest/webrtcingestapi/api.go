// Package webrtcingestapi owns the wire of Kinesis Video WebRTC Storage
// (botocore's "kinesis-video-webrtc-storage", REST-JSON, signing name
// kinesisvideo) on the kinesisvideo endpoint: POST /joinStorageSession
// {channelArn} starts the channel's storage session (webrtcingest) and
// answers 200 with no body once the offer is on its way to the master;
// POST /joinStorageSessionAsViewer is refused (multi-viewer storage
// sessions need viewer-to-viewer signaling, which the relay does not
// route). Routes and input validation come from the generated model
// (internal/awsmodel/videowebrtcmodel); the caller is authorized as
// kinesisvideo:JoinStorageSession on the channel, a refusal being the
// model's AccessDeniedException (403). The domain's kinds map to the
// model's exceptions in one table (errorOf).
package webrtcingestapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsmodel/videowebrtcmodel"
	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/awsproto/restjson"
	"github.com/rheos/rheos/internal/webrtcingest"
)

// SigningName is the SigV4 service name of the API.
const SigningName = "kinesisvideo"

func exception(name string) awserr.Exception {
	return restjson.ModelException(name, videowebrtcmodel.Model)
}

var (
	exClientLimit      = exception("ClientLimitExceededException")
	exInvalidArgument  = exception("InvalidArgumentException")
	exResourceNotFound = exception("ResourceNotFoundException")
)

// Exceptions is the catalog of the exceptions this API answers.
// (AccessDeniedException, the model's 403, is the common catalog's: a
// refused authorization answers it unchanged.)
var Exceptions = awserr.NewCatalog(SigningName, exClientLimit, exInvalidArgument, exResourceNotFound)

// errorOf is the one table from the domain's kinds to AWS's exceptions.
var errorOf = map[webrtcingest.Kind]awserr.Exception{
	webrtcingest.KindNotFound:        exResourceNotFound,
	webrtcingest.KindInvalidArgument: exInvalidArgument,
	webrtcingest.KindClientLimit:     exClientLimit,
}

func toAWS(err error) error {
	var de *webrtcingest.Error
	if errors.As(err, &de) {
		if ex, ok := errorOf[de.Kind]; ok {
			return &awserr.Error{Exception: ex, Message: de.Msg, Cause: err}
		}
	}
	if errors.Is(err, webrtcingest.ErrClosed) {
		return &awserr.Error{Exception: awserr.ServiceUnavailable, Message: "The server is shutting down.", Cause: err}
	}
	return err
}

// API serves the WebRTC storage endpoints.
type API struct {
	mgr            *webrtcingest.Manager
	defaultAccount string
	rest           *restjson.Service
}

// New returns the API over mgr; defaultAccount is the account of
// unauthenticated callers.
func New(mgr *webrtcingest.Manager, defaultAccount string) *API {
	a := &API{mgr: mgr, defaultAccount: defaultAccount}
	handlers := map[string]restjson.Handler{
		"JoinStorageSession":         a.joinStorageSession,
		"JoinStorageSessionAsViewer": a.joinStorageSessionAsViewer,
	}
	for op, h := range handlers {
		handlers[op] = wrap(op, h)
	}
	routes, err := restjson.RoutesFromModel(videowebrtcmodel.Model, handlers)
	if err != nil {
		panic(err) // the generated model and this table disagree: a build-time bug
	}
	a.rest = restjson.New(SigningName, a.Paths(), routes...)
	return a
}

// Paths are the API's paths.
func (a *API) Paths() []string {
	return []string{"/joinStorageSession", "/joinStorageSessionAsViewer"}
}

// Serves reports whether path is one of the API's.
func (a *API) Serves(path string) bool {
	return path == "/joinStorageSession" || path == "/joinStorageSessionAsViewer"
}

// ServeAWS serves one request routed to it by the kinesisvideo endpoint.
func (a *API) ServeAWS(w http.ResponseWriter, r *http.Request, req *awsproto.Request) {
	a.rest.ServeAWS(w, r, req)
}

// WriteError answers an error in REST-JSON.
func (a *API) WriteError(w http.ResponseWriter, r *http.Request, e *awserr.Error) {
	a.rest.WriteError(w, r, e)
}

// wrap authorizes kinesisvideo:<op> on the channel, then maps the
// handler's domain errors.
func wrap(op string, h restjson.Handler) restjson.Handler {
	return func(ctx context.Context, c *awsproto.Call) (any, error) {
		arn, _ := c.Input["channelArn"].(string)
		if c.Authorize != nil {
			if aerr := c.Authorize(ctx, "kinesisvideo:"+op, arn); aerr != nil {
				return nil, aerr
			}
		}
		out, err := h(ctx, c)
		if err != nil {
			return nil, toAWS(err)
		}
		return out, nil
	}
}

func (a *API) account(c *awsproto.Call) string {
	if c.Account != "" {
		return c.Account
	}
	return a.defaultAccount
}

func (a *API) joinStorageSession(ctx context.Context, c *awsproto.Call) (any, error) {
	arn, _ := c.Input["channelArn"].(string)
	if err := a.mgr.Join(ctx, a.account(c), c.Region, arn); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

func (a *API) joinStorageSessionAsViewer(context.Context, *awsproto.Call) (any, error) {
	return nil, awserr.New(exInvalidArgument, "JoinStorageSessionAsViewer is not supported: Rheos's storage session joins as the master's peer only (JoinStorageSession).")
}
