package firehose

import "context"

// Record format conversion (ExtendedS3 DataFormatConversionConfiguration
// Enabled): JSON records become one columnar object per batch, with the
// schema of a Glue table. The converter registers itself (convert.go); this
// file is the seam the delivery path calls.

// Column is a column of a Glue table's schema.
type Column struct {
	Name, Type string // Type is Hive's: string, int, bigint, double, boolean, timestamp, struct<…>, array<…>, …
}

// SchemaSource reads table schemas from the Glue Data Catalog the server
// serves (internal/glue).
type SchemaSource interface {
	// Columns returns a table's columns (StorageDescriptor.Columns, then
	// PartitionKeys are not part of the data).
	Columns(ctx context.Context, account, region, database, table string) ([]Column, error)
}

// converter turns a batch's records into one object of the output format,
// and the records it cannot convert into failures (format-conversion-failed).
type converter struct {
	// normalize checks a DataFormatConversionConfiguration and fills in
	// AWS's defaults.
	normalize func(conf map[string]any) (map[string]any, error)
	// convert returns the object's bytes and file extension.
	convert func(ctx context.Context, s *Service, m *streamMeta, records []LogRecord, data [][]byte) (body []byte, ext string, failed []failure, err error)
}

// formatConverter is the registered converter (nil: conversion refused).
var formatConverter *converter

func conversionEnabled(dest map[string]any) bool {
	fc := mapOf(dest, "DataFormatConversionConfiguration")
	return fc["Enabled"] == true || (fc["Enabled"] == nil && len(fc) > 0)
}
