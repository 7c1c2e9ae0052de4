// Alerts: the live feed (new alerts appear without reloading) with
// acknowledgement by admins.
import { call } from '../api.js';
import { h, dateTime, notice } from '../format.js';

export async function render(el, ctx) {
  const feed = ctx.feed;
  feed.seen();
  const shown = feed.alerts.filter((a) => !ctx.team || a.team_id === ctx.team);
  let state = feed.live ? '● Live: new alerts appear here as they are raised.' : 'Connecting to the live feed …';
  if (ctx.may.role === 'team-admin') state = `Alerts of team ${ctx.may.team}, read again every 15 seconds.`;
  el.append(h('p', { class: 'range-note', 'data-testid': 'feed-state' }, state));
  if (!shown.length) {
    el.append(notice('No alerts.'));
    return;
  }
  el.append(h('ol', { class: 'alerts', 'data-testid': 'alerts-list' }, shown.map((a) => item(a, ctx.may.manage))));
}

// item shows an alert; an admin may acknowledge it, others see its state.
function item(a, manage) {
  const severity = (a.severity || '').replace('SEVERITY_', '').toLowerCase() || 'info';
  let ack = h('span', { class: 'acked' }, 'not acknowledged');
  if (a.acknowledged) ack = h('span', { class: 'acked' }, `acknowledged ${dateTime(a.acknowledged_at)}`);
  else if (manage) ack = acknowledgeButton(a);
  return h('li', { class: `alert ${severity}`, 'data-kind': a.kind, 'data-testid': `alert-${a.kind}` },
    h('span', { class: 'sev' }, severity),
    h('div', { class: 'alert-body' },
      h('div', { class: 'alert-message' }, a.message),
      h('div', { class: 'card-note' }, `${a.team_id} · ${a.kind} · ${dateTime(a.raised_at)}`)),
    ack);
}

function acknowledgeButton(a) {
  return h('button', {
    class: 'small', onclick: async (e) => {
      e.target.disabled = true;
      try {
        const res = await call('AlertingService', 'AcknowledgeAlert', { alert_id: a.alert_id });
        Object.assign(a, res.alert);
        e.target.replaceWith(h('span', { class: 'acked' }, 'acknowledged'));
      } catch (err) {
        e.target.disabled = false;
        e.target.after(notice(err.message, 'error'));
      }
    },
  }, 'Acknowledge');
}
