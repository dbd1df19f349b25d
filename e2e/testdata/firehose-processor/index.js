// A plain Firehose data-transformation Lambda handler (Node.js): records
// are upper-cased; a record "drop" is Dropped, a record starting "bad"
// fails (ProcessingFailed, kept as it came). processor.jq beside it is the
// same transform as a rheos.jq function.
exports.handler = async (event) => ({
  records: event.records.map((r) => {
    const data = Buffer.from(r.data, "base64").toString("utf8");
    if (data.trim() === "drop") return { recordId: r.recordId, result: "Dropped" };
    if (data.startsWith("bad")) return { recordId: r.recordId, result: "ProcessingFailed", data: r.data };
    return { recordId: r.recordId, result: "Ok", data: Buffer.from(data.toUpperCase(), "utf8").toString("base64") };
  }),
});
