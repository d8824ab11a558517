// room.js: the media room (音视频房间) of the embedded SFU. It speaks signaling/PROTOCOL.md
// over one WebSocket and one RTCPeerConnection:
//
//   grant     arrives in the link's fragment (#grant=<base64url of the signaling.Grant JSON>),
//             is kept in this tab's sessionStorage and taken off the address bar at once;
//   publish   only what the grant allows: a subscribe-only grant never asks for the camera
//             or the microphone; a publishing page joins with offer_first and offers once,
//             so the server (the impolite side, which cannot roll back) holds its offers.
//             It must: once the SFU has offered first, Chrome cannot add its own senders
//             (its next offer reuses header-extension IDs the SFU's offer took, and pion
//             answers a re-offer with a DTLS role that contradicts the first one);
//   receive   the server's offers, answered with the same connection; each m-line's mid is
//             mapped to its publisher by the offer's "tracks";
//   glare     should the server's offer cross ours anyway, applying it rolls ours back, and
//             we offer again when signaling.glare arrives (see publish for its limits);
//   drops     the socket is reopened with the resume token (no new grant) within the resume
//             window; the server's ICE-restart offer is answered on the same connection;
//   errors    every error frame is shown with its Chinese message and its stable code;
//   embed     ?embed=1 is the room inside a page of this origin (the hall pages' live video):
//             only the tiles, the messages and, for a publishing grant, the buttons; the
//             grant comes in the fragment every time and is not kept; a subscribe-only grant
//             joins at once (it never touches the camera), a publishing one waits for a
//             click; the phase and the latest error go to the embedding page by postMessage
//             ({type: 'kaiping.room', phase, code, message}), so it can fetch a new grant.
//
// window.kaipingRoom is the handle of the embedding page (same origin) and a hook for tests
// and support staff: join(), leave(), stats() reads getStats().

import { ApiError, errorBox, h, okBox } from '/assets/kaiping.js';

const GRANT_KEY = 'kaiping.room.grant';
const EMBED = new URLSearchParams(location.search).get('embed') === '1';

// Take the grant before anything else runs, like kaiping.js does with the session token.
// Embedded, the tab's sessionStorage is the embedding page's: a grant kept there would
// outlive the hall's video, so it is not kept.
const rawGrant = (function takeGrant() {
  const frag = new URLSearchParams(location.hash.slice(1));
  const g = frag.get('grant');
  if (g) {
    if (!EMBED) sessionStorage.setItem(GRANT_KEY, g);
    frag.delete('grant');
    const rest = frag.toString();
    history.replaceState(null, '', location.pathname + location.search + (rest ? '#' + rest : ''));
  }
  return EMBED ? g || '' : sessionStorage.getItem(GRANT_KEY) || '';
})();

const $ = (id) => document.getElementById(id);

// Codes that end a participation for good: resuming after them cannot help.
const FINAL = new Set([
  'signaling.grant_invalid', 'signaling.grant_expired', 'signaling.room_not_found',
  'signaling.room_full', 'signaling.resume_invalid', 'signaling.version_unsupported',
  'signaling.ice_timeout', 'signaling.closed',
]);

const PHASES = {
  idle: '未加入', joining: '正在加入', joined: '已加入', reconnecting: '正在重新连接',
  left: '已离开', failed: '未能加入',
};
const CONNECTION = {
  new: '未连接', connecting: '媒体连接中', connected: '媒体已连接', disconnected: '媒体连接中断',
  failed: '媒体连接失败', closed: '媒体连接已关闭',
};
const KIND = { audio: '麦克风', video: '摄像头' };

/** The state of this page's one participation. */
const S = {
  grant: null,
  phase: 'idle',
  session: 0, // counts joins, so a timer of an earlier one never touches a later one
  ws: null,
  pc: null,
  identity: '',
  resume: '', // the resume token: set once joined, the only way back after a drop
  limits: null,
  resumes: 0,
  glares: 0,
  local: null, // MediaStream from the camera and microphone, if the grant publishes
  senders: {}, // kind → RTCRtpSender
  peers: new Map(), // identity → peer (see peer())
  midTracks: {}, // mid → track of the server's latest offer
  pendingCandidates: [],
  needOffer: false,
  leaving: false,
  ended: false, // bye or a final error: never resume
  fatalCode: '',
  busyRetries: 0,
  reconnectTries: 0,
  reconnectUntil: 0,
  disconnectTimer: 0,
  errors: [],
  joinClickedMs: null,
  firstFrameMs: null,
  soundBlocked: false, // the browser refused to play a peer's audio until a click
  chain: Promise.resolve(),
};

// ---- grant ----------------------------------------------------------------------------------

function decodeGrant(raw) {
  if (!raw) {
    throw new ApiError(0, 'room.grant_missing', '请使用交易中心发给您的入会链接打开本页面（链接末尾带有 #grant=…）');
  }
  let g;
  try {
    const b64 = raw.replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    g = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
  } catch (e) {
    g = null;
  }
  if (!g || typeof g.token !== 'string' || !g.token || typeof g.url !== 'string' || typeof g.permissions !== 'object' || !g.permissions) {
    throw new ApiError(0, 'room.grant_malformed', '入会链接不完整或已损坏，请重新获取入会链接');
  }
  if (g.backend !== 'embedded') {
    throw new ApiError(0, 'room.backend_unsupported', '该房间由 LiveKit 服务承载，本页面暂不支持，请使用 kaiping seat 工具加入');
  }
  if (!/^wss?:\/\//.test(g.url)) {
    throw new ApiError(0, 'room.grant_malformed', '入会链接中的信令地址无效，请重新获取入会链接');
  }
  return g;
}

// ---- messages on the page -------------------------------------------------------------------

function showError(code, message) {
  S.errors.push({ code, message });
  $('messages').append(errorBox(new ApiError(0, code, message)));
}

function showNotice(text, code) {
  $('messages').append(h('div', { class: 'notice', role: 'status' }, text, code ? [' ', h('code', {}, code)] : []));
}

// ---- signaling socket -----------------------------------------------------------------------

function send(m) {
  if (S.ws && S.ws.readyState === WebSocket.OPEN) S.ws.send(JSON.stringify(m));
}

// openSocket opens a signaling socket and sends join; messages are handled one at a time,
// in order, because each may await the peer connection.
function openSocket(join) {
  const ws = new WebSocket(S.grant.url);
  S.ws = ws;
  S.fatalCode = '';
  ws.onopen = () => ws.send(JSON.stringify(join));
  ws.onmessage = (ev) => {
    if (S.ws !== ws || typeof ev.data !== 'string') return;
    let m;
    try {
      m = JSON.parse(ev.data);
    } catch (e) {
      return;
    }
    queue(() => handle(m));
  };
  ws.onclose = () => {
    if (S.ws === ws) queue(() => socketClosed());
  };
}

function queue(fn) {
  S.chain = S.chain.then(fn).catch((e) => {
    console.warn('room:', e);
    showError('room.page', '页面处理信令时出错：' + ((e && e.message) || e));
  });
}

async function handle(m) {
  switch (m.type) {
    case 'joined': return onJoined(m);
    case 'offer': return onOffer(m);
    case 'answer':
      if (S.pc && S.pc.signalingState === 'have-local-offer') {
        await S.pc.setRemoteDescription({ type: 'answer', sdp: m.sdp });
        await flushCandidates();
      }
      return;
    case 'candidate': return onCandidate(m.candidate);
    case 'participant_joined': upsertPeer(m.participant); return render();
    case 'participant_left': removePeer(m.identity); return render();
    case 'track_published':
      peer(m.track.participant).tracks.set(m.track.id, m.track);
      return render();
    case 'track_unpublished': return onTrackUnpublished(m.track_id);
    case 'muted': return onMuted(m);
    case 'data':
      showNotice('消息（来自 ' + peerName(m.from) + '）：' + m.payload);
      return;
    case 'error': return onError(m);
    case 'bye':
      S.ended = true;
      return finish(m.reason, m.message || '您已离开房间');
    default:
      // A newer server's message: the protocol lets old clients ignore it.
  }
}

async function onJoined(m) {
  S.resume = m.resume;
  S.identity = m.identity;
  S.limits = m.limits || null;
  S.busyRetries = 0;
  S.reconnectTries = 0;
  S.reconnectUntil = 0;
  const seen = new Set();
  for (const p of m.participants || []) {
    upsertPeer(p);
    seen.add(p.identity);
  }
  for (const id of [...S.peers.keys()]) {
    if (!seen.has(id)) removePeer(id);
  }
  if (m.resumed && S.pc) {
    S.resumes++;
    S.pc.setConfiguration({ ...S.pc.getConfiguration(), iceServers: m.ice_servers || [] });
    S.phase = 'joined';
    showNotice('网络已恢复，已重新连接到房间');
    return render();
  }
  S.pc = newPeerConnection(m.ice_servers || []);
  S.phase = 'joined';
  render();
  if (S.local) {
    for (const t of S.local.getTracks()) {
      S.senders[t.kind] = S.pc.addTransceiver(t, { direction: 'sendonly', streams: [S.local] }).sender;
    }
    await offer();
  }
}

function newPeerConnection(iceServers) {
  const pc = new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
  pc.onicecandidate = (e) => {
    const c = e.candidate;
    if (!c || !c.candidate) return; // end of candidates may be omitted
    send({ type: 'candidate', candidate: { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex, usernameFragment: c.usernameFragment } });
  };
  pc.ontrack = (e) => attach(e.transceiver.mid, e.track);
  pc.onconnectionstatechange = () => {
    if (S.pc !== pc) return;
    clearTimeout(S.disconnectTimer);
    if (pc.connectionState === 'failed') {
      send({ type: 'restart_ice' });
    } else if (pc.connectionState === 'disconnected') {
      // Ask for an ICE restart if the path does not come back by itself.
      S.disconnectTimer = setTimeout(() => {
        if (S.pc === pc && pc.connectionState === 'disconnected') send({ type: 'restart_ice' });
      }, 5000);
    }
    render();
  };
  return pc;
}

// offer publishes the local tracks: the client offers (PROTOCOL.md 5.1).
async function offer() {
  S.needOffer = false;
  if (!S.pc || S.pc.signalingState !== 'stable' || !S.ws || S.ws.readyState !== WebSocket.OPEN) {
    S.needOffer = true;
    return;
  }
  await S.pc.setLocalDescription(await S.pc.createOffer());
  send({ type: 'offer', sdp: S.pc.localDescription.sdp });
}

// onOffer answers the server's offer (5.2). When it crosses our own offer, applying it rolls
// ours back; the server then sends signaling.glare and we offer again (5.3).
async function onOffer(m) {
  const pc = S.pc;
  if (!pc) return;
  S.midTracks = m.tracks || {};
  await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
  await pc.setLocalDescription();
  send({ type: 'answer', sdp: pc.localDescription.sdp });
  await flushCandidates();
  for (const tr of pc.getTransceivers()) {
    if (tr.mid && S.midTracks[tr.mid] && tr.receiver.track) attach(tr.mid, tr.receiver.track);
  }
  render();
  if (S.needOffer) await offer();
}

// Candidates may arrive before the description they belong to: keep them until then.
async function onCandidate(c) {
  if (!c || !c.candidate || !S.pc) return;
  if (!S.pc.remoteDescription) {
    if (S.pendingCandidates.length < 64) S.pendingCandidates.push(c);
    return;
  }
  try {
    await S.pc.addIceCandidate(c);
  } catch (e) {
    console.warn('room: candidate not applied', e);
  }
}

async function flushCandidates() {
  const cs = S.pendingCandidates.splice(0);
  for (const c of cs) await onCandidate(c);
}

function onError(m) {
  if (m.fatal) S.fatalCode = m.code;
  if (m.code === 'signaling.glare') {
    // Our offer was refused; the server's offer, already answered, came first.
    S.glares++;
    return offer();
  }
  if (m.code === 'signaling.busy' && !S.resume && S.busyRetries < 5) {
    return; // retried when the socket closes, without alarming anyone
  }
  showError(m.code, m.message);
  if (FINAL.has(m.code)) S.ended = true;
}

function onTrackUnpublished(id) {
  for (const p of S.peers.values()) {
    p.tracks.delete(id);
    for (const kind of ['audio', 'video']) {
      if (p.trackIds[kind] === id) {
        p.el[kind].srcObject = null;
        p.trackIds[kind] = '';
      }
    }
  }
  render();
}

function onMuted(m) {
  if (m.track_id) {
    for (const p of S.peers.values()) {
      const t = p.tracks.get(m.track_id);
      if (t) t.muted = m.muted;
    }
    return render();
  }
  // The host muted (or unmuted) this participant: the server stops forwarding.
  showNotice(m.muted ? '主持人已将您的' + KIND[m.kind] + '静音' : '主持人已解除您的' + KIND[m.kind] + '静音');
}

// socketClosed decides what a closed socket means: the end, a retry, or a resumption.
function socketClosed() {
  S.ws = null;
  if (S.phase === 'left' || S.phase === 'failed') return;
  if (S.leaving || S.ended) {
    return S.leaving ? finish('left', '您已离开房间') : finish('failed', '');
  }
  if (!S.resume) {
    if (S.fatalCode === 'signaling.busy' && S.busyRetries < 5) {
      S.busyRetries++;
      const session = S.session;
      setTimeout(() => {
        if (S.session === session && S.phase === 'joining') openSocket(joinMessage());
      }, 1000 + Math.random() * 1000);
      return;
    }
    if (!S.fatalCode) showError('room.connect_failed', '无法连接音视频服务器，请检查网络后重新加入');
    return finish('failed', '');
  }
  reconnect();
}

// reconnect resumes within the resume window (section 7), with backoff and jitter.
function reconnect() {
  const now = performance.now();
  if (!S.reconnectUntil) S.reconnectUntil = now + ((S.limits && S.limits.resume_window_ms) || 60000);
  const delay = Math.min(250 * 2 ** S.reconnectTries, 5000) * (0.75 + Math.random() / 2);
  S.reconnectTries++;
  if (now + delay > S.reconnectUntil) {
    showError('room.resume_timeout', '网络中断时间过长，未能恢复连接；请重新获取入会链接后加入');
    return finish('failed', '');
  }
  S.phase = 'reconnecting';
  render();
  const session = S.session;
  setTimeout(() => {
    if (S.session === session && S.phase === 'reconnecting') openSocket({ type: 'join', v: 1, resume: S.resume });
  }, delay);
}

function joinMessage() {
  const m = { type: 'join', v: 1, token: S.grant.token };
  if (S.local) m.offer_first = true;
  return m;
}

// ---- joining and leaving ----------------------------------------------------------------

async function join() {
  if (S.phase === 'joining' || S.phase === 'joined' || S.phase === 'reconnecting') return;
  reset();
  S.session++;
  S.joinClickedMs = performance.now();
  S.phase = 'joining';
  render();
  const perms = S.grant.permissions;
  const audio = !!perms.publish_audio && !perms.hidden;
  const video = !!perms.publish_video && !perms.hidden;
  const session = S.session;
  const local = audio || video ? await localMedia(audio, video) : null;
  if (S.session !== session || S.phase !== 'joining') {
    // Left while the browser asked for the camera.
    if (local) local.getTracks().forEach((t) => t.stop());
    return;
  }
  S.local = local;
  $('local-video').srcObject = local;
  openSocket(joinMessage());
}

// localMedia asks for the camera and microphone the grant allows; without them the page
// joins to watch, and says why.
async function localMedia(audio, video) {
  const want = { audio, video: video ? { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 25 } } : false };
  try {
    return await navigator.mediaDevices.getUserMedia(want);
  } catch (e) {
    if (audio && video && (e.name === 'NotFoundError' || e.name === 'NotReadableError')) {
      try {
        const m = await navigator.mediaDevices.getUserMedia({ audio: true });
        showNotice('未能使用摄像头，仅发布声音', 'room.camera_unavailable');
        return m;
      } catch (e2) {
        // Fall through to the message about the first failure.
      }
    }
    const why = {
      NotAllowedError: '您未允许本页面使用摄像头和麦克风',
      NotFoundError: '未找到摄像头或麦克风',
      NotReadableError: '摄像头或麦克风正被其他程序使用',
    }[e.name] || '无法使用摄像头或麦克风（' + e.name + '）';
    showError('room.media_unavailable', why + '，将以仅观看方式加入');
    return null;
  }
}

function leave() {
  if (S.phase === 'joined' && S.ws && S.ws.readyState === WebSocket.OPEN) {
    S.leaving = true;
    send({ type: 'leave' });
    render();
    // The server answers with bye and closes; do not wait for it for long.
    const session = S.session;
    setTimeout(() => { if (S.session === session) finish('left', '您已离开房间'); }, 3000);
    return;
  }
  S.leaving = true;
  if (S.ws) S.ws.close();
  finish('left', '您已离开房间');
}

// finish ends the participation: bye (reason, message), a final error, or our own leave.
function finish(reason, message) {
  if (S.phase === 'left' || S.phase === 'failed') return;
  S.phase = reason === 'failed' ? 'failed' : 'left';
  if (message) {
    $('messages').append(reason === 'left' ? okBox(message) : h('div', { class: 'notice', role: 'status' }, message, ' ', h('code', {}, reason)));
  }
  const ws = S.ws;
  S.ws = null;
  if (ws) ws.close();
  clearTimeout(S.disconnectTimer);
  if (S.pc) S.pc.close();
  S.pc = null;
  if (S.local) S.local.getTracks().forEach((t) => t.stop());
  S.local = null;
  $('local-video').srcObject = null;
  for (const id of [...S.peers.keys()]) removePeer(id);
  render();
}

function reset() {
  $('messages').replaceChildren();
  Object.assign(S, {
    identity: '', resume: '', limits: null, senders: {}, midTracks: {}, pendingCandidates: [],
    needOffer: false, leaving: false, ended: false, fatalCode: '', busyRetries: 0,
    reconnectTries: 0, reconnectUntil: 0, errors: [], firstFrameMs: null,
  });
}

// ---- the others -------------------------------------------------------------------------

// peer returns the tile state of identity, creating it (a track may arrive before its
// participant is announced).
function peer(identity) {
  let p = S.peers.get(identity);
  if (p) return p;
  const video = h('video', { autoplay: true, muted: true, playsinline: true });
  video.muted = true;
  const audio = h('audio', { autoplay: true });
  const name = h('strong', { class: 'name' });
  const badges = { audio: h('span', { class: 'badge audio' }), video: h('span', { class: 'badge video' }) };
  const state = h('span', { class: 'state' });
  const tile = h('figure', { class: 'tile peer', 'data-identity': identity },
    video, audio, h('figcaption', {}, name, badges.audio, badges.video, state));
  p = {
    identity, name: '', tracks: new Map(), tile, el: { video, audio }, nameEl: name, badges, stateEl: state,
    trackIds: { audio: '', video: '' }, lastCount: 0, lastFlow: 0,
  };
  S.peers.set(identity, p);
  $('tiles').append(tile);
  return p;
}

function upsertPeer(info) {
  const p = peer(info.identity);
  p.name = info.name || p.name;
  p.tracks = new Map((info.tracks || []).map((t) => [t.id, t]));
}

function removePeer(identity) {
  const p = S.peers.get(identity);
  if (!p) return;
  p.el.video.srcObject = null;
  p.el.audio.srcObject = null;
  p.tile.remove();
  S.peers.delete(identity);
}

function peerName(identity) {
  const p = S.peers.get(identity);
  return (p && p.name) || '参会人';
}

// attach shows a received track in its publisher's tile.
function attach(mid, track) {
  const info = S.midTracks[mid];
  if (!info) return;
  const p = peer(info.participant);
  if (!p.tracks.has(info.id)) p.tracks.set(info.id, info);
  const el = p.el[track.kind];
  if (!el) return;
  p.trackIds[track.kind] = info.id;
  if (el.srcObject && el.srcObject.getTracks()[0] === track) return render();
  el.srcObject = new MediaStream([track]);
  if (track.kind === 'video' && el.requestVideoFrameCallback) {
    el.requestVideoFrameCallback((now) => firstFrame(now));
  }
  el.play().catch(() => {
    if (track.kind === 'audio') {
      S.soundBlocked = true;
      render();
    }
  });
  render();
}

// playSound plays the audio the browser blocked; a click (on 点击开启声音 or anywhere
// else) is what lets it.
function playSound() {
  const plays = [];
  for (const p of S.peers.values()) if (p.el.audio.srcObject && p.el.audio.paused) plays.push(p.el.audio.play());
  Promise.all(plays).then(() => {
    S.soundBlocked = false;
    render();
  }, () => {});
}

function firstFrame(now) {
  if (S.firstFrameMs === null || now < S.firstFrameMs) S.firstFrameMs = now;
}

// ---- rendering ----------------------------------------------------------------------------

function render() {
  const phase = $('phase');
  phase.textContent = S.leaving && S.phase === 'joined' ? '正在离开' : PHASES[S.phase];
  phase.className = 'badge ' + S.phase;
  $('connection').textContent = S.pc ? CONNECTION[S.pc.connectionState] || S.pc.connectionState : '';
  const inRoom = S.phase === 'joining' || S.phase === 'joined' || S.phase === 'reconnecting';
  $('join').hidden = inRoom;
  $('join').disabled = !S.grant;
  $('leave').hidden = !inRoom;
  for (const [kind, id] of [['audio', 'mute-mic'], ['video', 'mute-cam']]) {
    const t = S.local && S.local.getTracks().find((x) => x.kind === kind);
    const b = $(id);
    b.hidden = !t;
    if (t) {
      b.textContent = (t.enabled ? '关闭' : '打开') + KIND[kind];
      b.setAttribute('aria-pressed', String(!t.enabled));
    }
  }
  const perms = (S.grant && S.grant.permissions) || {};
  let local = '';
  if (S.grant && !perms.publish_audio && !perms.publish_video) local = '仅观看：您的入会凭证不发布声音和画面';
  else if (S.local) {
    local = S.local.getTracks().map((t) => KIND[t.kind] + (t.enabled ? '已开启' : '已关闭')).join('，');
  }
  if (perms.hidden) local = '隐身观看：其他参会人看不到您';
  $('local-state').textContent = local;
  $('local-video').hidden = !S.local || !S.local.getVideoTracks().length;
  for (const p of S.peers.values()) renderPeer(p);
  $('peer-count').textContent = S.peers.size ? '（' + S.peers.size + ' 人）' : '';
  $('no-peers').hidden = S.peers.size > 0;
  $('sound').hidden = !S.soundBlocked || !S.peers.size;
  if (EMBED) tellParent();
}

let told = ''; // the last message to the embedding page

// tellParent tells the embedding page the phase and the latest error when either changed.
function tellParent() {
  const last = S.errors[S.errors.length - 1] || { code: '', message: '' };
  const m = { type: 'kaiping.room', phase: S.phase, code: last.code, message: last.message, errors: S.errors.length };
  const key = JSON.stringify(m);
  if (key === told || window.parent === window) return;
  told = key;
  window.parent.postMessage(m, location.origin);
}

function renderPeer(p) {
  p.nameEl.textContent = p.name || '参会人';
  const tracks = [...p.tracks.values()];
  for (const kind of ['audio', 'video']) {
    const t = tracks.find((x) => x.kind === kind);
    const label = kind === 'audio' ? '音频' : '视频';
    const [cls, text] = !t ? ['off', '无' + label] : t.muted ? ['muted', label + '已静音'] : ['on', label + '正常'];
    p.badges[kind].className = 'badge ' + kind + ' ' + cls;
    p.badges[kind].textContent = text;
  }
  let state = ['', '等待媒体'];
  if (!tracks.length) state = ['', '未发布音视频'];
  else if (p.lastFlow && performance.now() - p.lastFlow < 3000) state = ['flowing', '已连接'];
  else if (p.lastFlow) state = ['stalled', '媒体中断'];
  p.stateEl.className = 'state ' + state[0];
  p.stateEl.textContent = state[1];
  p.tile.dataset.state = state[0] || 'waiting';
}

// ---- statistics ---------------------------------------------------------------------------

// stats reads what this page receives and sends, from getStats(): per remote track the
// frames decoded (inbound-rtp framesDecoded) and packets received.
async function stats() {
  const out = {
    phase: S.phase, identity: S.identity, room: S.grant ? S.grant.room : '', resumes: S.resumes, glares: S.glares,
    connection: S.pc ? S.pc.connectionState : '', ice: S.pc ? S.pc.iceConnectionState : '',
    signaling: S.pc ? S.pc.signalingState : '',
    local: { audio: false, video: false, audioEnabled: false, videoEnabled: false },
    joinClickedMs: S.joinClickedMs, firstFrameMs: S.firstFrameMs,
    errors: S.errors.slice(),
    peers: [...S.peers.values()].map((p) => ({ identity: p.identity, name: p.name, state: p.tile.dataset.state || '' })),
    tracks: [], sent: [],
  };
  if (S.local) {
    for (const t of S.local.getTracks()) {
      out.local[t.kind] = true;
      out.local[t.kind + 'Enabled'] = t.enabled;
    }
  }
  const pc = S.pc;
  if (!pc) return out;
  for (const tr of pc.getTransceivers()) {
    const info = tr.mid && S.midTracks[tr.mid];
    if (!info) continue;
    const rep = await tr.receiver.getStats();
    rep.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      out.tracks.push({
        mid: tr.mid, id: info.id, participant: info.participant, kind: info.kind,
        packetsReceived: s.packetsReceived || 0, bytesReceived: s.bytesReceived || 0,
        framesDecoded: s.framesDecoded || 0, keyFramesDecoded: s.keyFramesDecoded || 0,
        frameWidth: s.frameWidth || 0, frameHeight: s.frameHeight || 0,
      });
    });
  }
  for (const [kind, sender] of Object.entries(S.senders)) {
    const rep = await sender.getStats();
    rep.forEach((s) => {
      if (s.type === 'outbound-rtp') out.sent.push({ kind, packetsSent: s.packetsSent || 0, framesEncoded: s.framesEncoded || 0 });
    });
  }
  return out;
}

// watch updates the tiles' states from the statistics: quickly until the first frame, then
// once a second.
async function watch() {
  if (S.pc) {
    const st = await stats();
    const now = performance.now();
    for (const p of S.peers.values()) {
      const count = st.tracks.filter((t) => t.participant === p.identity)
        .reduce((n, t) => n + (t.kind === 'video' ? t.framesDecoded : t.packetsReceived), 0);
      if (count > p.lastCount) p.lastFlow = now;
      p.lastCount = count;
    }
    if (st.tracks.some((t) => t.framesDecoded > 0)) firstFrame(now);
    render();
  }
  setTimeout(watch, S.firstFrameMs === null ? 100 : 1000);
}

// ---- start --------------------------------------------------------------------------------

function joinFailed(e) {
  showError('room.page', '加入失败：' + ((e && e.message) || e));
  finish('failed', '');
}

$('join').addEventListener('click', () => join().catch(joinFailed));
$('leave').addEventListener('click', leave);
for (const [kind, id] of [['audio', 'mute-mic'], ['video', 'mute-cam']]) {
  $(id).addEventListener('click', () => {
    if (!S.local) return;
    // Disabled tracks send silence and black: the others see the tile stay, without us.
    S.local.getTracks().filter((t) => t.kind === kind).forEach((t) => { t.enabled = !t.enabled; });
    render();
  });
}
// A click anywhere, 点击开启声音 included, lets audio the browser blocked play.
document.addEventListener('click', playSound);
// Closing the tab leaves the room, so the others see us go at once rather than after the
// resume window.
window.addEventListener('pagehide', () => {
  if (S.phase === 'joined') send({ type: 'leave' });
});

window.kaipingRoom = {
  stats,
  join: () => join().catch(joinFailed),
  leave,
  // dropSocket closes the signaling socket as a network drop would (the page resumes).
  dropSocket: () => { if (S.ws) S.ws.close(); },
};

const publishes = (g) => !!(g.permissions.publish_audio || g.permissions.publish_video) && !g.permissions.hidden;

if (EMBED) {
  document.body.classList.add('embed');
  $('no-peers').textContent = '暂无直播画面，请稍候…';
}
try {
  S.grant = decodeGrant(rawGrant);
  $('room-name').textContent = S.grant.room;
  document.body.classList.toggle('watch-only', !publishes(S.grant));
  const perms = S.grant.permissions;
  const can = [perms.publish_audio && '发布声音', perms.publish_video && '发布画面', '观看其他参会人'].filter(Boolean);
  $('grant-info').textContent = '房间 ' + S.grant.room + '；本入会凭证允许：' + can.join('、') +
    '。点击“加入房间”后' + (perms.publish_audio || perms.publish_video ? '浏览器会请求使用摄像头和麦克风。' : '即可观看，不会使用摄像头和麦克风。');
} catch (e) {
  S.phase = 'failed';
  $('messages').append(errorBox(e));
  S.errors.push({ code: e.code, message: e.message });
}
render();
watch();
// Embedded, watching needs no click: it never asks for the camera or the microphone.
if (EMBED && S.grant && !publishes(S.grant)) join().catch(joinFailed);
