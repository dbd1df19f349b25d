package awsproto

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"sort"
	"strings"

	"github.com/google/uuid"

	"github.com/rheos/rheos/internal/awserr"
)

// Handler serves the requests of one service in its wire protocol.
type Handler interface {
	// ServeAWS serves a request routed to the service. The router has set
	// the request id header and answered CORS preflights.
	ServeAWS(w http.ResponseWriter, r *http.Request, req *Request)
	// WriteError answers a request the router refuses before dispatch,
	// in the service's protocol.
	WriteError(w http.ResponseWriter, r *http.Request, e *awserr.Error)
}

// Request is what the router hands a service's handler with each request.
type Request struct {
	// ID is the request id (already in the x-amzn-RequestId header).
	ID string
	// Env is the shared protocol environment.
	Env *Env
	// Hold is the call's part of Env.Budget, on its principal's share, open
	// until ServeAWS returns: the body read and the buffered response
	// written draw on it.
	Hold *Hold
}

// Endpoint declares one service on the shared port and how to recognise its
// requests.
type Endpoint struct {
	// SigningName is the service's SigV4 signing name (kinesis, firehose,
	// lambda, s3, kinesisvideo, kinesisanalytics...).
	SigningName string
	// TargetPrefixes are the X-Amz-Target prefixes of a JSON-RPC service
	// (e.g. "Kinesis_20131202"), used for unsigned requests.
	TargetPrefixes []string
	// PathPrefixes are the URL path prefixes of a REST service (e.g.
	// "/2015-03-31/functions"), used for unsigned requests.
	PathPrefixes []string
	// Handler serves the service's requests.
	Handler Handler
}

// Router sends each request on the shared port to one service: the one
// named by the SigV4 credential scope; for requests without one, the one
// owning the X-Amz-Target prefix or the longest matching path prefix; else
// the Fallback. It is built before serving and read-only afterwards.
type Router struct {
	env       *Env
	bySigning map[string]*Endpoint
	byTarget  map[string]*Endpoint
	byPath    []*pathEndpoint // longest prefix first
	// Fallback serves requests no rule claims (e.g. a POST without a target
	// or signature, which Kinesis answers in its protocol). Default: the
	// first endpoint registered.
	Fallback *Endpoint
}

type pathEndpoint struct {
	prefix string
	ep     *Endpoint
}

// NewRouter returns an empty router over env.
func NewRouter(env *Env) *Router {
	if env.Budget == nil {
		env.Budget = NewBudget(0, 0)
	}
	return &Router{env: env, bySigning: map[string]*Endpoint{}, byTarget: map[string]*Endpoint{}}
}

// Register adds a service. Registering a signing name, target or path
// prefix twice is a programming error (panic).
func (rt *Router) Register(ep Endpoint) {
	e := &ep
	if _, dup := rt.bySigning[e.SigningName]; dup || e.SigningName == "" {
		panic("awsproto: signing name registered twice or empty: " + e.SigningName)
	}
	rt.bySigning[e.SigningName] = e
	for _, t := range e.TargetPrefixes {
		if _, dup := rt.byTarget[t]; dup {
			panic("awsproto: target prefix registered twice: " + t)
		}
		rt.byTarget[t] = e
	}
	for _, p := range e.PathPrefixes {
		for _, pe := range rt.byPath {
			if pe.prefix == p {
				panic("awsproto: path prefix registered twice: " + p)
			}
		}
		rt.byPath = append(rt.byPath, &pathEndpoint{p, e})
	}
	sort.SliceStable(rt.byPath, func(i, j int) bool { return len(rt.byPath[i].prefix) > len(rt.byPath[j].prefix) })
	if rt.Fallback == nil {
		rt.Fallback = e
	}
}

// SetFallback makes the registered service with the signing name the
// fallback (the one answering requests no rule attributes).
func (rt *Router) SetFallback(signingName string) {
	if ep := rt.bySigning[signingName]; ep != nil {
		rt.Fallback = ep
	}
}

// Services returns the signing names served, sorted.
func (rt *Router) Services() []string {
	out := make([]string, 0, len(rt.bySigning))
	for n := range rt.bySigning {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Env returns the shared protocol environment.
func (rt *Router) Env() *Env { return rt.env }

const exposeHeaders = "x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,x-amzn-ErrorMessage,Date"

func amzID2() string {
	b := make([]byte, 72)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// ServeHTTP routes the request.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := uuid.NewString()
	h := w.Header()
	h.Set("x-amzn-RequestId", reqID)
	origin := r.Header.Get("Origin")
	if r.Method != http.MethodOptions || origin == "" {
		h.Set("x-amz-id-2", amzID2())
	}
	if origin != "" {
		h.Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodOptions {
			if v := r.Header.Get("Access-Control-Request-Headers"); v != "" {
				h.Set("Access-Control-Allow-Headers", v)
			}
			if v := r.Header.Get("Access-Control-Request-Method"); v != "" {
				h.Set("Access-Control-Allow-Methods", v)
			}
			h.Set("Access-Control-Max-Age", "172800")
			w.WriteHeader(http.StatusOK)
			return
		}
		h.Set("Access-Control-Expose-Headers", exposeHeaders)
	}
	ep, aerr := rt.route(r)
	if aerr != nil {
		if ep == nil {
			writeUnknownService(w, aerr)
			return
		}
		ep.Handler.WriteError(w, r, aerr)
		return
	}
	// What the headers can tell comes before any of the body is read or
	// budgeted: a request refused here costs no memory, and its connection
	// closes rather than draining what the client announced.
	hold, aerr := rt.env.admit(r, ep.SigningName)
	if aerr != nil {
		h.Set("Connection", "close")
		ep.Handler.WriteError(w, r, aerr)
		return
	}
	defer hold.Close()
	ep.Handler.ServeAWS(w, r, &Request{ID: reqID, Env: rt.env, Hold: hold})
}

// route picks the endpoint. An error comes with the endpoint whose
// protocol should carry it (nil when no service is recognised).
func (rt *Router) route(r *http.Request) (*Endpoint, *awserr.Error) {
	var hint *Endpoint // what the target or path says
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		prefix, _, _ := strings.Cut(t, ".")
		hint = rt.byTarget[prefix]
	}
	if hint == nil {
		for _, pe := range rt.byPath {
			if strings.HasPrefix(r.URL.Path, pe.prefix) {
				hint = pe.ep
				break
			}
		}
	}
	sc := ScopeOf(r)
	if sc.Service == "" {
		if hint != nil {
			return hint, nil
		}
		return rt.Fallback, nil
	}
	ep := rt.bySigning[sc.Service]
	switch {
	case ep != nil && (hint == nil || hint == ep):
		return ep, nil
	case hint != nil:
		// Signed for one service, addressed to another: AWS's answer on
		// the addressed service's endpoint.
		return hint, awserr.New(awserr.InvalidSignature, "Credential should be scoped to correct service: '"+hint.SigningName+"'. ")
	}
	return nil, awserr.New(awserr.UnknownService, "The credential scope names the service '"+sc.Service+
		"', which this endpoint does not serve; it serves: "+strings.Join(rt.Services(), ", ")+".")
}

// writeUnknownService answers a request for no known service, in the
// shape AWS JSON clients read (the x-amzn-ErrorType header and __type).
func writeUnknownService(w http.ResponseWriter, e *awserr.Error) {
	WriteJSONError(w, "application/json", e.StatusIn(awserr.JSONRPC), e)
}
