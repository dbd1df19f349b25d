package console

// streamsPage is Data Streams: the stream list with rates, create and
// delete; a stream's shard map and lineage, resharding, retention,
// encryption and tags; the record browser; consumers and their lag; a test
// record. All through the Kinesis API (and the Lambda API for event source
// mappings).
var streamsPage = Page{ID: "streams", Title: "Data Streams", Group: "Kinesis", Service: "kinesis", Module: "pages/streams.js"}
