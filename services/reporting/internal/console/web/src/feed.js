// The live alert feed: WatchAlerts streamed through the gateway while the
// admin is signed in, reconnecting after a break from the last sequence seen
// so nothing is missed or shown twice.
import { stream, call } from './api.js';

export const alertFeed = {
  alerts: [],       // newest first
  unseen: 0,
  live: false,
  onBadge: null,
  seen() { this.unseen = 0; this.onBadge?.(0); },
};

let controller = null;

export async function startAlertFeed(onAlert) {
  stopAlertFeed();
  const ctl = new AbortController();
  controller = ctl;
  alertFeed.alerts = [];
  alertFeed.unseen = 0;
  try {
    const res = await call('AlertingService', 'ListAlerts', { limit: 200 }, ctl.signal);
    alertFeed.alerts = (res.alerts || []).sort((a, b) => Date.parse(b.raised_at) - Date.parse(a.raised_at));
  } catch { /* the feed below reports the problem */ }
  let from = alertFeed.alerts.reduce((m, a) => Math.max(m, Number(a.sequence)), 0) + 1;
  let delay = 1000;
  while (!ctl.signal.aborted) {
    try {
      alertFeed.live = true;
      // Resume right after the newest alert listed (or seen), so an alert
      // raised between the list and the watch is not lost.
      await stream('AlertingService', 'WatchAlerts', { from_sequence: String(from) }, (msg) => {
        const a = msg.alert;
        from = Number(a.sequence) + 1;
        if (alertFeed.alerts.some((x) => x.alert_id === a.alert_id)) return;
        alertFeed.alerts.unshift(a);
        alertFeed.unseen++;
        alertFeed.onBadge?.(alertFeed.unseen);
        onAlert(a);
      }, ctl.signal);
    } catch { /* broken or refused: retry below */ }
    alertFeed.live = false;
    if (ctl.signal.aborted) return;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 30_000);
  }
}

export function stopAlertFeed() {
  controller?.abort();
  controller = null;
}
