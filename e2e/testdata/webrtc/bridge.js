// bridge.js: the AWS Kinesis Video WebRTC JS library's SignalingClient in
// Node, driven by e2e/webrtc_jslib_test.go over stdin/stdout (one JSON object
// per line). The library is signaling only (Node has no RTCPeerConnection),
// so the test's pion peer makes the SDP and candidates and this script
// carries them through Rheos exactly as the library does in a browser.
//
//   node bridge.js ROLE WSS_ENDPOINT CHANNEL_ARN REGION [CLIENT_ID]
//   credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN)
//   TLS: NODE_EXTRA_CA_CERTS names Rheos's self-signed certificate.
//
// stdin:  {"send":"sdpOffer"|"sdpAnswer"|"iceCandidate","payload":{...},"to":"clientId","correlationId":"..."}
//         {"send":"close"}
// stdout: {"event":"open"} {"event":"sdpOffer"|"sdpAnswer"|"iceCandidate","payload":{...},"from":"clientId"}
//         {"event":"statusResponse","payload":{...}} {"event":"error","message":"..."} {"event":"close"}
'use strict';

// The library evaluates `WebSocket || require('ws')`, which throws a
// ReferenceError on Node 20 (no global WebSocket): give it one.
globalThis.WebSocket = require('ws');
const readline = require('readline');
const { SignalingClient, Role } = require('amazon-kinesis-video-streams-webrtc');

const [role, endpoint, channelARN, region, clientId] = process.argv.slice(2);

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

const client = new SignalingClient({
  channelARN,
  channelEndpoint: endpoint,
  clientId: role === 'VIEWER' ? clientId : undefined,
  role: role === 'VIEWER' ? Role.VIEWER : Role.MASTER,
  region,
  credentials: {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID,
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
    sessionToken: process.env.AWS_SESSION_TOKEN || undefined,
  },
  systemClockOffset: 0,
});

client.on('open', () => out({ event: 'open' }));
client.on('sdpOffer', (payload, from) => out({ event: 'sdpOffer', payload, from }));
client.on('sdpAnswer', (payload, from) => out({ event: 'sdpAnswer', payload, from }));
client.on('iceCandidate', (payload, from) => out({ event: 'iceCandidate', payload, from }));
client.on('statusResponse', (payload) => out({ event: 'statusResponse', payload }));
client.on('error', (err) => out({ event: 'error', message: String((err && (err.message || err.error)) || err) }));
client.on('close', () => {
  out({ event: 'close' });
  process.exit(0);
});

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (e) {
    out({ event: 'error', message: 'bad command: ' + line });
    return;
  }
  try {
    switch (cmd.send) {
      case 'sdpOffer':
        client.sendSdpOffer(cmd.payload, cmd.to, cmd.correlationId);
        break;
      case 'sdpAnswer':
        client.sendSdpAnswer(cmd.payload, cmd.to, cmd.correlationId);
        break;
      case 'iceCandidate':
        client.sendIceCandidate(cmd.payload, cmd.to, cmd.correlationId);
        break;
      case 'close':
        client.close();
        break;
      default:
        out({ event: 'error', message: 'unknown command: ' + line });
    }
  } catch (e) {
    out({ event: 'error', message: String(e && e.message) });
  }
});

client.open();
