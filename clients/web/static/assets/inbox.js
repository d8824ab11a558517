// inbox.js: the inbox (站内通知) in a page's header bar: a button with the unread count that
// opens the list of the visitor's own notices, newest first; opening a notice marks it
// read. Shared by every page a logged-in user works on. Times are Beijing time, labelled.
import { api, fmtTime, h } from '/assets/kaiping.js';

/** Mounts the inbox in bar (the page's header) and refreshes it every minute. */
export function mountInbox(bar) {
  if (!bar) return;
  const count = h('span', { class: 'badge inbox-count', 'aria-live': 'polite' }, '0');
  const button = h('button', { type: 'button', class: 'inbox-button', 'aria-expanded': 'false',
    'aria-controls': 'inbox-list' }, '通知 ', count);
  const list = h('div', { id: 'inbox-list', class: 'inbox-list card', hidden: true, role: 'region', 'aria-label': '站内通知' });
  bar.append(button, list);
  let notices = [];

  async function refresh() {
    try {
      const res = await api('GET', '/api/v1/inbox');
      notices = res.notices;
      count.textContent = String(res.unread);
      count.dataset.unread = String(res.unread);
      button.setAttribute('aria-label', `站内通知，${res.unread} 条未读`);
      render();
    } catch (e) {
      count.textContent = '?';
    }
  }

  function render() {
    if (!notices.length) {
      list.replaceChildren(h('p', { class: 'hint' }, '暂无通知。'));
      return;
    }
    list.replaceChildren(h('ul', {}, notices.map((n) => h('li', { class: n.read_at ? 'read' : 'unread', 'data-notice': n.id },
      h('strong', {}, (n.read_at ? '' : '【未读】') + n.title),
      h('span', { class: 'hint' }, ' ' + fmtTime(n.created_at)),
      h('p', {}, n.body),
      n.link ? h('a', { href: n.link, onclick: () => markRead(n) }, '前往处理') : null,
      n.read_at ? null : h('button', { type: 'button', onclick: () => markRead(n) }, '标为已读')))));
  }

  async function markRead(n) {
    if (n.read_at) return;
    try {
      await api('POST', '/api/v1/inbox/' + encodeURIComponent(n.id) + '/read');
    } finally {
      await refresh();
    }
  }

  button.addEventListener('click', () => {
    list.hidden = !list.hidden;
    button.setAttribute('aria-expanded', String(!list.hidden));
  });
  refresh();
  setInterval(refresh, 60000);
}
