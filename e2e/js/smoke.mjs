// Drives Rheos with the AWS SDK for JavaScript v3 (put, get, SubscribeToShard), whose Kinesis client uses
// HTTP/2 for every operation: on an http:// endpoint that is h2c with prior
// knowledge. Usage: node smoke.mjs http://127.0.0.1:PORT
import {
  KinesisClient, CreateStreamCommand, DescribeStreamSummaryCommand, PutRecordsCommand,
  ListShardsCommand, GetShardIteratorCommand, GetRecordsCommand,
  RegisterStreamConsumerCommand, DescribeStreamConsumerCommand, SubscribeToShardCommand, PutRecordCommand,
} from "@aws-sdk/client-kinesis";

const endpoint = process.argv[2];
const client = new KinesisClient({
  endpoint, region: "us-east-1",
  credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
});
// A fresh name per run, so the script can run again against the same server.
const StreamName = `js-stream-${Date.now()}-${process.pid}`;
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

// Enhanced fan-out over h2c: subscribe, put, receive the pushed record.
const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName }));
const reg = await client.send(new RegisterStreamConsumerCommand({ StreamARN: summary.StreamDescriptionSummary.StreamARN, ConsumerName: "js" }));
for (let i = 0; ; i++) {
  const d = await client.send(new DescribeStreamConsumerCommand({ ConsumerARN: reg.Consumer.ConsumerARN }));
  if (d.ConsumerDescription.ConsumerStatus === "ACTIVE") break;
  if (i > 100) throw new Error("consumer never became ACTIVE");
  await new Promise((r) => setTimeout(r, 50));
}
const sub = await client.send(new SubscribeToShardCommand({
  ConsumerARN: reg.Consumer.ConsumerARN, ShardId: shards.Shards[0].ShardId, StartingPosition: { Type: "LATEST" },
}));
const hashKey = shards.Shards[0].HashKeyRange.StartingHashKey;
setTimeout(() => client.send(new PutRecordCommand({ StreamName, PartitionKey: "efo", ExplicitHashKey: hashKey, Data: enc.encode("pushed") })), 100);
let pushed = "";
const deadline = setTimeout(() => { console.error("no record pushed"); process.exit(1); }, 10000);
for await (const ev of sub.EventStream) {
  const recs = ev.SubscribeToShardEvent?.Records ?? [];
  if (recs.length > 0) { pushed = new TextDecoder().decode(recs[0].Data); break; }
}
clearTimeout(deadline);
if (pushed !== "pushed") throw new Error("SubscribeToShard delivered " + pushed);
console.log("ok", got.length);
client.destroy();
process.exit(0);
