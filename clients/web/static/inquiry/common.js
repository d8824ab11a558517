// common.js: what the pages of the committee's written requests to bidders share.
import { h } from '/assets/kaiping.js';

export const kindLabels = {
  clarification: '澄清、说明或补正', correction: '算术错误修正确认', below_cost: '低于成本价说明',
};

export const stateLabels = {
  pending: '待监督人员审核', sent: '待答复', answered: '已答复', refused: '不接受修正', expired: '逾期未答复', withdrawn: '未发出',
};

export const decisionLabels = { answer: '书面答复', confirm: '确认修正', refuse: '不接受修正' };

/** A coloured label of an inquiry's state. */
export function stateBadge(s) {
  return h('span', { class: 'badge inquiry-' + s, 'data-state': s }, stateLabels[s] || s);
}

/** "12,340,000.00 元" of a price in fen. */
export function yuan(fen) {
  const v = BigInt(fen);
  const whole = (v / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return whole + '.' + (v % 100n).toString().padStart(2, '0') + ' 元';
}

/** The message a bidder's key signs to answer (evaluation.InquiryAnswerMessage). */
export function answerMessage(id, digest, decision) {
  return 'KAIPING-INQUIRY-ANSWER-V1\n' + id + '\n' + digest + '\n' + decision + '\n';
}
