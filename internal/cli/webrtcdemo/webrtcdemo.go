// Package webrtcdemo owns the browser page of `rheos video webrtc-demo`: a
// viewer of a Kinesis Video signaling channel built on the AWS Kinesis
// Video Streams WebRTC SDK for JavaScript (its browser build, v2.9.0,
// Apache-2.0, embedded with its LICENSE and NOTICE beside it; no CDN).
//
// The page fetches a Session from the handler, made by the caller per page
// load: the channel, a presigned WebSocket URL and the ICE servers. So the
// credentials that sign stay with the caller and never reach the page. The
// package knows nothing of AWS clients or of the server; it serves files
// and one JSON document.
package webrtcdemo

import (
	"context"
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
)

//go:embed assets
var assets embed.FS

// LibraryVersion is the version of the embedded kvs-webrtc.min.js.
const LibraryVersion = "2.9.0"

// Session is what the page connects with, served as JSON at "session".
type Session struct {
	// ChannelARN and ChannelName name the signaling channel.
	ChannelARN  string `json:"channelARN"`
	ChannelName string `json:"channelName"`
	// Region is the signing region (the library requires one).
	Region string `json:"region"`
	// ClientID is the viewer's client id (unique per page load).
	ClientID string `json:"clientId"`
	// Endpoint is GetSignalingChannelEndpoint's WSS answer.
	Endpoint string `json:"endpoint"`
	// SignedURL is Endpoint presigned (SigV4 query) for ClientID.
	SignedURL string `json:"signedURL"`
	// ICEServers are the STUN/TURN servers for the RTCPeerConnection.
	ICEServers []ICEServer `json:"iceServers"`
}

// ICEServer is an RTCIceServer.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Handler serves the page at "/", its assets, and the Session newSession
// makes at "/session" (a 502 with the error's text when it fails).
// newSession is called once per page load, concurrently for concurrent
// loads, with the request's context.
func Handler(newSession func(ctx context.Context) (Session, error)) http.Handler {
	files, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	mux := http.NewServeMux()
	mux.Handle("GET /", http.FileServerFS(files))
	mux.HandleFunc("GET /session", func(w http.ResponseWriter, r *http.Request) {
		s, err := newSession(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(s)
	})
	return mux
}
