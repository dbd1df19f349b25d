// Package sdktest owns what tests (and the load tool, which counts every
// failure) need to drive a Rheos server with the AWS SDK for Go v2 without
// retries: an HTTP client that works around the SDK closing request bodies
// early.
package sdktest

import (
	"bytes"
	"io"
	"net/http"
)

// HTTPClient returns a client for SDK tests that run without retries.
//
// smithy-go closes the request body as soon as the response headers arrive;
// if the transport's writer has not finished with the body by then (a fast
// server answers once it has read Content-Length bytes), the writer sees
// io.EOF, closes the connection and the response body fails to read with
// "use of closed network connection" (aws/aws-sdk-go-v2#2737, which the SDK
// papers over by retrying). Giving the transport its own copy of every body
// removes the race.
func HTTPClient(rt http.RoundTripper) *http.Client {
	if rt == nil {
		rt = http.DefaultTransport.(*http.Transport).Clone()
	}
	return &http.Client{Transport: ownedBodies{rt}}
}

type ownedBodies struct{ rt http.RoundTripper }

func (o ownedBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return o.rt.RoundTrip(r)
	}
	b, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return o.rt.RoundTrip(r)
}
