// The list of publications of candidates (中标候选人公示), newest first, twenty a page: no
// session, only the public API.
import { api, h, table, errorBox, fmtClock } from '/assets/kaiping.js';

const box = document.querySelector('#list');
const pages = document.querySelector('#pages');
const limit = 20;
const offset = Math.max(0, Number(new URLSearchParams(location.search).get('offset')) || 0);

async function main() {
  try {
    const list = await api('GET', '/api/v1/public/publications?limit=' + limit + '&offset=' + offset);
    if (list.publications.length === 0) {
      box.replaceChildren(h('p', {}, '暂无中标候选人公示。'));
      return;
    }
    box.replaceChildren(table(['项目编号', '项目名称', '标段', '公示期（北京时间）', '状态'],
      list.publications.map((p) => [p.tender_code,
        h('a', { href: '/public/publication.html?id=' + encodeURIComponent(p.id) }, p.tender_title),
        p.section_code + ' ' + p.section_name, fmtClock(p.starts) + ' 至 ' + fmtClock(p.ends), p.phase_label])));
    const links = [];
    if (offset > 0) links.push(h('a', { href: '?offset=' + Math.max(0, offset - limit) }, '上一页'));
    if (offset + limit < list.total) links.push(h('a', { href: '?offset=' + (offset + limit) }, '下一页'));
    pages.replaceChildren(h('p', {}, '共 ' + list.total + ' 条 ', ...links));
  } catch (err) {
    box.replaceChildren(errorBox(err));
  }
}

main();
