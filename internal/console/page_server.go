package console

// serverPage is the server itself: health, version, configuration (secrets
// redacted), disk use and the Prometheus metrics as charts, from the thin
// read-only endpoints (no AWS API says these things).
var serverPage = Page{ID: "server", Title: "Server", Group: "Rheos", Module: "pages/server.js"}
