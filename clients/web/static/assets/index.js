// The start page: the links need no session; it only says whether this tab has one.
import { boot } from '/assets/kaiping.js';

const state = document.getElementById('session-state');
const main = document.querySelector('main');
const sections = [...main.children];
boot(undefined, { optional: true }).then((me) => {
  // boot puts a login notice in <main> when there is no session; the links stay useful.
  if (!me) {
    const notice = [...main.children].filter((c) => !sections.includes(c));
    main.replaceChildren(...notice, ...sections);
    state.textContent = '当前标签页尚未登录。';
    return;
  }
  state.textContent = '当前标签页已登录：' + me.name + '。';
});
