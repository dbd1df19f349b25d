// Drives Rheos with the AWS SDK for JavaScript v3, whose Kinesis client uses
// HTTP/2 for every operation: on an http:// endpoint that is h2c with prior
// knowledge. Usage: node smoke.mjs http://127.0.0.1:PORT
import {
  KinesisClient, CreateStreamCommand, DescribeStreamSummaryCommand, PutRecordsCommand,
  ListShardsCommand, GetShardIteratorCommand, GetRecordsCommand,
} from "@aws-sdk/client-kinesis";

const endpoint = process.argv[2];
const client = new KinesisClient({
  endpoint, region: "us-east-1",
  credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
});
const StreamName = "js-stream";
await client.send(new CreateStreamCommand({ StreamName, ShardCount: 2 }));
for (let i = 0; ; i++) {
  const d = await client.send(new DescribeStreamSummaryCommand({ StreamName }));
  if (d.StreamDescriptionSummary.StreamStatus === "ACTIVE") break;
  if (i > 100) throw new Error("stream never became ACTIVE");
  await new Promise((r) => setTimeout(r, 50));
}
const enc = new TextEncoder();
const put = await client.send(new PutRecordsCommand({
  StreamName,
  Records: Array.from({ length: 20 }, (_, i) => ({ PartitionKey: `k${i}`, Data: enc.encode(`js-${i}`) })),
}));
if (put.FailedRecordCount !== 0) throw new Error("failed records: " + JSON.stringify(put));
const shards = await client.send(new ListShardsCommand({ StreamName }));
let got = [];
for (const s of shards.Shards) {
  const it = await client.send(new GetShardIteratorCommand({ StreamName, ShardId: s.ShardId, ShardIteratorType: "TRIM_HORIZON" }));
  const out = await client.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
  got = got.concat(out.Records.map((r) => new TextDecoder().decode(r.Data)));
}
got.sort();
if (got.length !== 20) throw new Error(`read ${got.length} records, want 20`);
console.log("ok", got.length);
client.destroy();
