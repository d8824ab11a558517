// media.js: the host's live video in the hall's pages (开标直播). POST <hall>/media gives
// this person a grant for the hall's broadcast room; the media room page, embedded in a
// frame (/room/room.html?embed=1#grant=…), plays it, so one client of signaling/PROTOCOL.md
// serves every page.
//
//   before   until check-in opens: “开标直播将在签到开始后开启”;
//   live     checking_in … confirming: a grant and the room in a frame; the bidder's and the
//            supervisor's grants only watch, and the room joins by itself; the host's
//            publishes, and the camera starts on the host's click (开始直播);
//   after    closed or failed: “开标已结束，直播已关闭”, the frame gone (the room left);
//   errors   the route's and the room's, with their Chinese message and code; a grant that
//            expired before it was used is fetched again.
import { api, ApiError, errorBox, h } from '/assets/kaiping.js';

const LIVE = new Set(['checking_in', 'decrypting', 'published', 'confirming']);
const AFTER = new Set(['closed', 'failed']);

// A grant that keeps expiring before it joins means the clocks disagree: stop asking.
const MAX_REFETCH = 3;

/** Where the hall's video is in a hall state: 'before', 'live' or 'after'. */
export function videoPhase(state) {
  if (LIVE.has(state)) return 'live';
  return AFTER.has(state) ? 'after' : 'before';
}

// grantFragment is the room page's #grant=: base64url of the grant's JSON.
export function grantFragment(g) {
  let bin = '';
  for (const b of new TextEncoder().encode(JSON.stringify(g))) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function publishes(g) {
  const p = g.permissions || {};
  return !!(p.publish_audio || p.publish_video) && !p.hidden;
}

/**
 * The hall's video in box, for the hall at path (/api/v1/tenders/…/hall). update(state)
 * with each view of the hall; with auto (the bidder's hall) the video starts as soon as the
 * hall is live, otherwise start() and stop() do (the console's buttons). onChange() is
 * called whenever streaming or the room's phase changes.
 */
export function hallVideo(box, path, { auto = false, onChange = () => {} } = {}) {
  let phase = ''; // videoPhase of the latest view
  let frame = null; // the room's frame, while streaming
  let roomPhase = ''; // the embedded room's phase (idle, joining, joined, left, failed, …)
  let seq = 0; // counts starts and stops, so a late answer never revives a stopped video
  let refetches = 0;

  const note = (text) => {
    box.dataset.video = phase === 'live' ? 'idle' : phase;
    box.replaceChildren(h('p', { class: 'video-note' }, text));
  };

  function idle() {
    if (phase === 'before') note('开标直播将在签到开始后开启');
    else if (phase === 'after') note('开标已结束，直播已关闭');
    else if (!auto) note('直播未开始');
  }

  function failed(err) {
    box.dataset.video = 'error';
    box.replaceChildren(errorBox(err),
      h('button', { type: 'button', class: 'secondary video-retry', onclick: () => start() }, '重新连接直播'));
    onChange();
  }

  async function start() {
    const my = ++seq;
    removeFrame();
    box.dataset.video = 'starting';
    box.replaceChildren(h('p', { class: 'video-note' }, '视频连接中…'));
    let r;
    try {
      r = await api('POST', path + '/media');
    } catch (e) {
      if (my === seq) failed(e);
      return;
    }
    if (my !== seq || phase !== 'live') return;
    const f = h('iframe', {
      src: '/room/room.html?embed=1#grant=' + grantFragment(r.grant), allow: 'camera; microphone; autoplay',
      title: '开标直播', class: 'room-frame', 'data-role': r.role,
    });
    if (publishes(r.grant)) {
      // The host clicked 开始直播: that click is what starts the camera.
      f.addEventListener('load', () => {
        const room = f.contentWindow && f.contentWindow.kaipingRoom;
        if (room && frame === f) room.join();
      }, { once: true });
    }
    frame = f;
    roomPhase = '';
    box.dataset.video = 'live';
    box.replaceChildren(f);
    onChange();
  }

  window.addEventListener('message', (ev) => {
    const m = ev.data;
    if (!frame || ev.source !== frame.contentWindow || ev.origin !== location.origin || !m || m.type !== 'kaiping.room') return;
    roomPhase = m.phase;
    box.dataset.room = m.phase;
    if (m.phase === 'joined') refetches = 0;
    if (m.phase === 'failed' && phase === 'live') {
      if (m.code === 'signaling.grant_expired' && refetches < MAX_REFETCH) {
        refetches++;
        start();
        return;
      }
      // Watching: the frame has no buttons, so the page offers to connect again with a
      // new grant. The host's frame keeps its own message and its join button.
      if (frame.dataset.role !== 'host') {
        removeFrame();
        failed(new ApiError(0, m.code || 'room.failed', m.message || '直播连接失败'));
        return;
      }
    }
    onChange();
  });

  // removeFrame leaves the room at once: removing the frame unloads the room page, whose
  // pagehide sends leave.
  function removeFrame() {
    const f = frame;
    frame = null;
    roomPhase = '';
    delete box.dataset.room;
    if (f) f.remove();
  }

  // stop leaves the room, waiting (a little) for the server's goodbye, and removes the frame.
  async function stop() {
    const my = ++seq;
    const f = frame;
    const room = f && f.contentWindow && f.contentWindow.kaipingRoom;
    if (room && (roomPhase === 'joined' || roomPhase === 'joining' || roomPhase === 'reconnecting')) {
      room.leave();
      for (let i = 0; i < 20 && frame === f && roomPhase !== 'left' && roomPhase !== 'failed'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    if (my !== seq) return;
    removeFrame();
    idle();
    onChange();
  }

  function update(state) {
    const next = videoPhase(state);
    if (next === phase) return;
    phase = next;
    if (phase === 'live') {
      refetches = 0;
      if (auto) start();
      else idle();
      onChange();
    } else {
      stop();
    }
  }

  return {
    update,
    start,
    stop,
    /** Whether the hall is live now. */
    get live() { return phase === 'live'; },
    /** Whether the room is in the frame (starting, watching or streaming). */
    get streaming() { return !!frame; },
    /** The embedded room's phase, '' before it reports. */
    get roomPhase() { return roomPhase; },
  };
}
