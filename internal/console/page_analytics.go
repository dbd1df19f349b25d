package console

// analyticsPage is Analytics: SQL applications with their status; an
// application's inputs, outputs and reference sources, the graph of its
// in-app streams and pumps, the SQL editor (UpdateApplication, validation
// errors at line and column), start and stop, and the rows its outputs
// write to Kinesis data streams. Through the Kinesis Analytics SQL API
// (KinesisAnalytics_20150814) and the Kinesis API for the rows.
var analyticsPage = Page{ID: "analytics", Title: "Analytics", Group: "Kinesis", Service: "kinesisanalytics", Module: "pages/analytics.js"}
