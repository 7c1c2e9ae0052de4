// The live alert feed: WatchAlerts streamed through the gateway while the
// admin is signed in, reconnecting after a break from the last sequence seen
// so nothing is missed or shown twice.
import { stream, call } from './api.js';

export const alertFeed = {
  alerts: [],       // newest first
  unseen: 0,
  live: false,
  // listed: a team admin's first list is in (what follows is new).
  listed: false,
  onBadge: null,
  seen() { this.unseen = 0; this.onBadge?.(0); },
};

let controller = null;

// POLL is how often a team admin's list is read again: the live feed is an
// organisation's (WatchAlerts is not about one team), a team admin's alerts
// are listed for its team.
const POLL = 15_000;

async function list(teams, signal) {
  const res = await call('AlertingService', 'ListAlerts', { limit: 200, team_ids: teams }, signal);
  return (res.alerts || []).sort((a, b) => Date.parse(b.raised_at) - Date.parse(a.raised_at));
}

// startAlertFeed follows the organisation's alerts, or with team set
// (a team admin) lists that team's every POLL.
export async function startAlertFeed(onAlert, team = '') {
  stopAlertFeed();
  const ctl = new AbortController();
  controller = ctl;
  alertFeed.alerts = [];
  alertFeed.unseen = 0;
  alertFeed.listed = false;
  if (team) return pollTeam(team, ctl.signal, onAlert);
  try {
    alertFeed.alerts = await list([], ctl.signal);
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

async function pollTeam(team, signal, onAlert) {
  while (!signal.aborted) {
    try {
      const fresh = (await list([team], signal)).filter((a) => !alertFeed.alerts.some((x) => x.alert_id === a.alert_id));
      alertFeed.alerts = [...fresh, ...alertFeed.alerts].sort((a, b) => Date.parse(b.raised_at) - Date.parse(a.raised_at));
      if (fresh.length && alertFeed.listed) {
        alertFeed.unseen += fresh.length;
        alertFeed.onBadge?.(alertFeed.unseen);
        onAlert(fresh[0]);
      }
      alertFeed.listed = true;
    } catch { /* refused or broken: try again at the next poll */ }
    await new Promise((r) => setTimeout(r, POLL));
  }
}

export function stopAlertFeed() {
  controller?.abort();
  controller = null;
}
