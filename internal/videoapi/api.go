// Package videoapi owns the Kinesis Video Streams control-plane API
// (kinesisvideo, API version 2017-09-30, REST-JSON, every operation a POST
// to its own path, signing name kinesisvideo) on the shared port: all 32
// operations of the model, routes and input constraints built from
// internal/awsmodel/videomodel, the exception catalog with the model's REST
// statuses (ResourceNotFoundException 404, NotAuthorizedException and
// AccessDeniedException 401, the rest 400), and one table from the video
// domain's error kinds to exceptions. Endpoints (GetDataEndpoint,
// GetSignalingChannelEndpoint) answer the URL the client connected to:
// scheme from the connection (TLS or not), host from the Host header, else
// the server's advertised base URL. It imports the protocol layer and its
// one domain, internal/video; it carries no media.
package videoapi

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"

	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsmodel/videomodel"
	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/awsproto/restjson"
	"github.com/rheos/rheos/internal/video"
)

// SigningName is the SigV4 service name of every Kinesis Video Streams API.
const SigningName = "kinesisvideo"

// exception returns the model's exception with its REST status.
func exception(name string) awserr.Exception { return restjson.ModelException(name, videomodel.Model) }

var (
	exResourceNotFound      = exception("ResourceNotFoundException")
	exResourceInUse         = exception("ResourceInUseException")
	exInvalidArgument       = exception("InvalidArgumentException")
	exVersionMismatch       = exception("VersionMismatchException")
	exClientLimit           = exception("ClientLimitExceededException")
	exAccountStreamLimit    = exception("AccountStreamLimitExceededException")
	exAccountChannelLimit   = exception("AccountChannelLimitExceededException")
	exTagsLimit             = exception("TagsPerResourceExceededLimitException")
	exNoDataRetention       = exception("NoDataRetentionException")
	exInvalidResourceFormat = exception("InvalidResourceFormatException")
	exNotAuthorized         = exception("NotAuthorizedException")
	exAccessDenied          = exception("AccessDeniedException")
	exEdgeConfigNotFound    = exception("StreamEdgeConfigurationNotFoundException")
	exDeviceStreamLimit     = exception("DeviceStreamLimitExceededException")
	exInvalidDevice         = exception("InvalidDeviceException")
)

// Exceptions is the catalog of the exceptions this API answers. The
// shared AccessDeniedException (403) stays in it; kinesisvideo's own (401,
// exAccessDenied) is what a refused authorization becomes (see denied).
var Exceptions = awserr.NewCatalog(SigningName, exResourceNotFound, exResourceInUse, exInvalidArgument, exVersionMismatch,
	exClientLimit, exAccountStreamLimit, exAccountChannelLimit, exTagsLimit, exNoDataRetention, exInvalidResourceFormat,
	exNotAuthorized, exEdgeConfigNotFound, exDeviceStreamLimit, exInvalidDevice)

// exceptionOf is the one table from domain error kinds to exceptions.
var exceptionOf = map[video.Kind]awserr.Exception{
	video.KindNotFound:              exResourceNotFound,
	video.KindInUse:                 exResourceInUse,
	video.KindInvalidArgument:       exInvalidArgument,
	video.KindVersionMismatch:       exVersionMismatch,
	video.KindStreamLimit:           exAccountStreamLimit,
	video.KindChannelLimit:          exAccountChannelLimit,
	video.KindTagLimit:              exTagsLimit,
	video.KindNoDataRetention:       exNoDataRetention,
	video.KindInvalidResourceFormat: exInvalidResourceFormat,
	video.KindEdgeConfigNotFound:    exEdgeConfigNotFound,
	video.KindUnsupported:           exInvalidArgument,
}

func toAWS(err error) error {
	var ae *awserr.Error
	if errors.As(err, &ae) {
		return ae
	}
	var de *video.Error
	if errors.As(err, &de) {
		if ex, ok := exceptionOf[de.Kind]; ok {
			return &awserr.Error{Exception: ex, Message: de.Msg, Cause: err}
		}
	}
	return err // InternalFailure (logged by the protocol layer)
}

// API binds the video service to the wire.
type API struct {
	svc            *video.Service
	defaultAccount string
	advertised     func() string
}

// New returns the REST-JSON service of the kinesisvideo API. advertised
// is the server's base URL (e.g. "http://127.0.0.1:4567"), answered by the
// endpoint operations when a request carries no Host.
func New(svc *video.Service, defaultAccount string, advertised func() string) *restjson.Service {
	a := &API{svc: svc, defaultAccount: defaultAccount, advertised: advertised}
	handlers := map[string]restjson.Handler{
		"CreateStream":                         a.createStream,
		"DescribeStream":                       a.describeStream,
		"ListStreams":                          a.listStreams,
		"UpdateStream":                         a.updateStream,
		"DeleteStream":                         a.deleteStream,
		"UpdateDataRetention":                  a.updateDataRetention,
		"GetDataEndpoint":                      a.getDataEndpoint,
		"TagStream":                            a.tagStream,
		"UntagStream":                          a.untagStream,
		"ListTagsForStream":                    a.listTagsForStream,
		"TagResource":                          a.tagResource,
		"UntagResource":                        a.untagResource,
		"ListTagsForResource":                  a.listTagsForResource,
		"DescribeImageGenerationConfiguration": a.describeImageGeneration,
		"UpdateImageGenerationConfiguration":   a.updateImageGeneration,
		"DescribeNotificationConfiguration":    a.describeNotification,
		"UpdateNotificationConfiguration":      a.updateNotification,
		"DescribeStreamStorageConfiguration":   a.describeStreamStorage,
		"UpdateStreamStorageConfiguration":     a.updateStreamStorage,
		"DescribeMediaStorageConfiguration":    a.describeMediaStorage,
		"UpdateMediaStorageConfiguration":      a.updateMediaStorage,
		"CreateSignalingChannel":               a.createChannel,
		"DescribeSignalingChannel":             a.describeChannel,
		"ListSignalingChannels":                a.listChannels,
		"UpdateSignalingChannel":               a.updateChannel,
		"DeleteSignalingChannel":               a.deleteChannel,
		"GetSignalingChannelEndpoint":          a.getChannelEndpoint,
		"StartEdgeConfigurationUpdate":         a.startEdgeConfigurationUpdate,
		"DescribeEdgeConfiguration":            a.edgeConfiguration,
		"DeleteEdgeConfiguration":              a.edgeConfiguration,
		"ListEdgeAgentConfigurations":          a.listEdgeAgentConfigurations,
		"DescribeMappedResourceConfiguration":  a.describeMappedResource,
	}
	for op, h := range handlers {
		handlers[op] = a.wrap(op, h)
	}
	routes, err := restjson.RoutesFromModel(videomodel.Model, handlers)
	if err != nil {
		panic(err) // the generated model and this table disagree: a build-time bug
	}
	// Unsigned requests find the API by its paths: every operation has its
	// own (/createStream, /TagResource, ...), none a valid S3 bucket name.
	var prefixes []string
	for _, r := range routes {
		prefixes = append(prefixes, r.Path)
	}
	return restjson.New(SigningName, prefixes, routes...)
}

// Operations lists the operations served (every operation of the model).
func Operations() []string { return slices.Sorted(slices.Values(videomodel.Model.OperationNames())) }

// wrap authorizes the call and maps domain errors.
func (a *API) wrap(op string, h restjson.Handler) restjson.Handler {
	return func(ctx context.Context, c *awsproto.Call) (any, error) {
		if c.Authorize != nil {
			if aerr := c.Authorize(ctx, "kinesisvideo:"+op, a.resource(ctx, c)); aerr != nil {
				return nil, denied(op, aerr)
			}
		}
		out, err := h(ctx, c)
		if err != nil {
			return nil, toAWS(err)
		}
		return out, nil
	}
}

// denied restates a refused authorization as the model has it: 401, as
// NotAuthorizedException for the operations that list it (the stream
// operations), else AccessDeniedException.
func denied(op string, aerr *awserr.Error) *awserr.Error {
	if aerr.Name != awserr.AccessDenied.Name {
		return aerr
	}
	ex := exAccessDenied
	if o := videomodel.Model.Operation(op); o != nil && slices.Contains(o.Errors, exNotAuthorized.Name) {
		ex = exNotAuthorized
	}
	return &awserr.Error{Exception: ex, Message: aerr.Message, Cause: aerr}
}

// resource is the ARN the call acts on, or "*" for account-level calls
// and names that resolve to nothing.
func (a *API) resource(ctx context.Context, c *awsproto.Call) string {
	for _, k := range []string{"StreamARN", "ChannelARN", "ResourceARN"} {
		if v := str(c, k); v != "" {
			return v
		}
	}
	if n := str(c, "StreamName"); n != "" && c.Op != "CreateStream" {
		if st, err := a.svc.Resolve(ctx, a.scope(c), video.StreamRef{Name: n}); err == nil {
			return st.ARN()
		}
	}
	if n := str(c, "ChannelName"); n != "" && c.Op != "CreateSignalingChannel" {
		if ch, err := a.svc.ResolveChannel(ctx, a.scope(c), video.ChannelRef{Name: n}); err == nil {
			return ch.ARN()
		}
	}
	return "*"
}

func (a *API) scope(c *awsproto.Call) video.Scope {
	acct := c.Account
	if acct == "" {
		acct = a.defaultAccount
	}
	return video.Scope{Account: acct, Region: c.Region}
}

// baseURL is the URL the client reached the server at.
func (a *API) baseURL(c *awsproto.Call) string {
	if r := c.HTTP; r != nil && r.Host != "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		return scheme + "://" + r.Host
	}
	if a.advertised != nil {
		return a.advertised()
	}
	return ""
}

func str(c *awsproto.Call, k string) string { s, _ := c.Input[k].(string); return s }

func strp(m map[string]any, k string) *string {
	if v, ok := m[k].(string); ok {
		return &v
	}
	return nil
}

func intOf(m map[string]any, k string) (int, bool) {
	v, ok := m[k].(int64)
	return int(v), ok
}

func obj(m map[string]any, k string) map[string]any { o, _ := m[k].(map[string]any); return o }

func strMap(v any) map[string]string {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		out[k], _ = x.(string)
	}
	return out
}

func strList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// tagList reads a [{Key, Value}] list as a map.
func tagList(v any) map[string]string {
	l, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make(map[string]string, len(l))
	for _, x := range l {
		t, _ := x.(map[string]any)
		k, _ := t["Key"].(string)
		out[k], _ = t["Value"].(string)
	}
	return out
}

func tagsOut(tags map[string]string) map[string]string {
	if tags == nil {
		return map[string]string{}
	}
	return tags
}

func streamRef(c *awsproto.Call) video.StreamRef {
	return video.StreamRef{Name: str(c, "StreamName"), ARN: str(c, "StreamARN")}
}

// epoch is a timestamp as AWS's JSON protocols send it: epoch seconds.
func epoch(t interface{ UnixMilli() int64 }) float64 { return float64(t.UnixMilli()) / 1000 }

// pageToken and fromToken carry a listing's position (the last name
// listed) as NextToken, base64 to fit the model's [a-zA-Z0-9+/=]*.
func pageToken(last string) string {
	if last == "" {
		return ""
	}
	return base64.StdEncoding.EncodeToString([]byte(last))
}

func fromToken(tok string) (string, error) {
	if tok == "" {
		return "", nil
	}
	b, err := base64.StdEncoding.DecodeString(tok)
	if err != nil || len(b) == 0 {
		return "", &awserr.Error{Exception: exInvalidArgument, Message: "The NextToken " + tok + " is not valid."}
	}
	return string(b), nil
}
