package console

// videoPage is Video: video streams, a stream's fragment timeline
// (ListFragments), live and archived playback of its HLS session
// (GetHLSStreamingSessionURL, played by the browser's own HLS player or
// the vendored hls.js, loaded only on this page), clip download (GetClip);
// signaling channels with their endpoints and connected peers. Through the
// Kinesis Video Streams control plane and archived-media APIs (the peers
// through the thin "signaling" endpoint: no AWS API lists them).
var videoPage = Page{ID: "video", Title: "Video", Group: "Kinesis", Service: "kinesisvideo", Module: "pages/video.js"}
