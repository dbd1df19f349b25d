package console

// s3Page is the S3 browser: buckets, prefixes and objects, an object's
// preview (its first 64 KiB: text, JSON pretty-printed, gzip inflated, hex)
// and download. Through the S3 REST API (ListBuckets, ListObjectsV2,
// GetObject with a Range).
var s3Page = Page{ID: "s3", Title: "S3 browser", Group: "Storage", Service: "s3", Module: "pages/s3.js"}
