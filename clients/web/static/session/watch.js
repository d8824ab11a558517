// watch.js: the supervisor's view of an evaluation session (评标会议监督),
// /session/watch/?id=<session>: read only: the session's state, every seat, the groups'
// progress, each section's review, the report and who signed it, who read which bid (never the content) and the timeline,
// kept current from the session's events; the video is watched hidden, on the supervisor's
// click.
import { boot } from '/assets/kaiping.js';
import { param, sessionVideo } from './common.js';
import { drawCommon, followSession } from './overseer.js';
import { drawReportDesk } from './reportdesk.js';
import { drawReviews } from './reviews.js';

const $ = (id) => document.getElementById(id);

let video = null;
const id = param('id');
const me = await boot(['supervisor', 'host']);
if (me && !id) {
  $('live').hidden = true;
  $('page-msg').textContent = '请从评标会议的链接打开本页（地址中带有 ?id=…）。';
} else if (me && await followSession(id, draw)) {
  $('session').hidden = false;
  $('inquiries-link').href = '/inquiry/committee.html?session=' + encodeURIComponent(id);
}

function draw(view) {
  drawCommon(view, null);
  drawReviews(view);
  drawReportDesk(view);
  if (!video) {
    video = sessionVideo($('video'), view.base + '/media', { label: '监督视频' });
    video.idle('可以隐身观看各工位画面', '观看视频');
  }
}
