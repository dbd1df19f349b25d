package console

// gluePage is the Data Catalog: Glue databases, their tables and a table's
// columns, partition keys, storage and parameters, its S3 location (and an
// Iceberg table's metadata) linked into the S3 browser. Through the Glue
// API (GetDatabases, GetDatabase, GetTables, GetTable).
var gluePage = Page{ID: "glue", Title: "Data Catalog", Group: "Storage", Service: "glue", Module: "pages/glue.js"}
