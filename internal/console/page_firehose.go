package console

// firehosePage is Firehose: delivery streams with source, destination,
// buffering and status; a delivery stream's destination configuration,
// its latest objects and links to its S3 output, error and backup prefixes
// in the S3 browser; a test record. Through the Firehose API (and S3's
// ListObjectsV2 for the objects).
var firehosePage = Page{ID: "firehose", Title: "Firehose", Group: "Kinesis", Service: "firehose", Module: "pages/firehose.js"}
