// viewer.js: the page's viewer. It asks its server (rheos video
// webrtc-demo) for a session: the channel, a SigV4-presigned WebSocket URL
// made server-side (no credentials reach the page) and the ICE servers of
// GetIceServerConfig. The library's SignalingClient connects with a
// requestSigner that returns that URL; the page offers to receive video and
// audio, trickles candidates, and shows the master's tracks.
//
// Progress goes to the status line, to document.title and to the console
// ("rheos-webrtc-demo: ..."); once video plays it reports the frames
// decoded ("frames=N size=WxH time=T via=host|srflx|relay") every second.
// With ?relay=1 in the page's URL it connects through TURN only.
'use strict';

(async function main() {
  const video = document.getElementById('remote');
  function status(s) {
    document.getElementById('status').textContent = s;
    document.title = 'rheos-webrtc-demo: ' + s;
    console.log('rheos-webrtc-demo: ' + s);
  }
  window.onerror = (msg) => status('error: ' + msg);

  let session;
  try {
    const resp = await fetch('session', { cache: 'no-store' });
    if (!resp.ok) throw new Error(resp.status + ' ' + (await resp.text()));
    session = await resp.json();
  } catch (e) {
    status('error: session: ' + e.message);
    return;
  }
  document.getElementById('channel').textContent = session.channelName;
  document.getElementById('client').textContent = session.clientId;

  // ?relay=1 forces the TURN relay (iceTransportPolicy "relay"): a check
  // of the built-in TURN server from this browser.
  const relay = new URLSearchParams(location.search).get('relay') === '1';
  const pc = new RTCPeerConnection({ iceServers: session.iceServers || [], iceTransportPolicy: relay ? 'relay' : 'all' });
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  const remote = new MediaStream();
  video.srcObject = remote;
  pc.ontrack = (e) => {
    remote.addTrack(e.track);
    status('track ' + e.track.kind);
    video.play().catch((err) => console.log('rheos-webrtc-demo: play: ' + err));
  };
  pc.oniceconnectionstatechange = () => status('ice ' + pc.iceConnectionState);

  const client = new KVSWebRTC.SignalingClient({
    channelARN: session.channelARN,
    channelEndpoint: session.endpoint,
    clientId: session.clientId,
    role: KVSWebRTC.Role.VIEWER,
    region: session.region,
    // The URL is presigned by the demo server; a refresh of the page gets
    // a fresh one (it is valid for 299 s, as the library's own).
    requestSigner: { getSignedURL: async () => session.signedURL },
  });
  client.on('open', async () => {
    status('signaling open');
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    client.sendSdpOffer(pc.localDescription);
  });
  client.on('sdpAnswer', async (answer) => {
    status('answer received');
    await pc.setRemoteDescription(answer);
  });
  client.on('iceCandidate', (candidate) => {
    pc.addIceCandidate(candidate).catch((err) => console.log('rheos-webrtc-demo: addIceCandidate: ' + err));
  });
  client.on('statusResponse', (s) => status('status response ' + JSON.stringify(s)));
  client.on('error', (e) => status('signaling error ' + (e && e.message || e)));
  client.on('close', () => status('signaling closed'));
  pc.onicecandidate = ({ candidate }) => {
    if (candidate) client.sendIceCandidate(candidate);
  };
  status('connecting');
  client.open();

  // Frames decoded: requestVideoFrameCallback counts presented frames.
  let frames = 0;
  if ('requestVideoFrameCallback' in HTMLVideoElement.prototype) {
    const onFrame = () => {
      frames++;
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }
  // via: the local candidate type of the selected pair (host, srflx, relay).
  async function via() {
    let type = '';
    const stats = await pc.getStats();
    stats.forEach((r) => {
      if (r.type === 'transport' && r.selectedCandidatePairId) {
        const pair = stats.get(r.selectedCandidatePairId);
        const local = pair && stats.get(pair.localCandidateId);
        if (local) type = local.candidateType;
      }
    });
    return type;
  }
  setInterval(async () => {
    if (video.videoWidth > 0) {
      status('playing frames=' + frames + ' size=' + video.videoWidth + 'x' + video.videoHeight +
        ' time=' + video.currentTime.toFixed(2) + ' via=' + (await via()));
    }
  }, 1000);
})();
