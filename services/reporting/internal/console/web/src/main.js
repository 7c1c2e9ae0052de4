// The console shell: sign-in, navigation, the team and range pickers, and
// the live alert feed that runs while signed in.
import { session, ApiError, call, loadSession, signOut } from './api.js';
import { listAll } from './paging.js';
import { h, notice, zone, setZone } from './format.js';
import { startAlertFeed, stopAlertFeed, alertFeed } from './feed.js';
import * as summary from './pages/summary.js';
import * as products from './pages/products.js';
import * as users from './pages/users.js';
import * as denials from './pages/denials.js';
import * as sessionsPage from './pages/sessions.js';
import * as money from './pages/money.js';
import * as balances from './pages/balances.js';
import * as history from './pages/history.js';
import * as forecast from './pages/forecast.js';
import * as planning from './pages/planning.js';
import * as advice from './pages/advice.js';
import * as subscriptions from './pages/subscriptions.js';
import * as alerts from './pages/alerts.js';
import * as exporter from './pages/export.js';
import * as schedules from './pages/schedules.js';
import * as settings from './pages/settings.js';
import * as directory from './pages/directory.js';
import * as access from './pages/access.js';
import { abilities } from './roles.js';

const pages = [
  { path: 'summary', title: 'Token usage', page: summary },
  { path: 'products', title: 'By product', page: products },
  { path: 'users', title: 'By user', page: users },
  { path: 'denials', title: 'Denials', page: denials },
  { path: 'sessions', title: 'Sessions', page: sessionsPage },
  { path: 'money', title: 'Money', page: money },
  { path: 'balances', title: 'Balances', page: balances },
  { path: 'history', title: 'History', page: history },
  { path: 'forecast', title: 'Forecast', page: forecast },
  { path: 'planning', title: 'Planning', page: planning },
  { path: 'advice', title: 'Advice', page: advice },
  { path: 'subscriptions', title: 'Subscriptions', page: subscriptions },
  { path: 'alerts', title: 'Alerts', page: alerts },
  { path: 'directory', title: 'Directory', page: directory },
  { path: 'export', title: 'Export', page: exporter, only: 'org' },
  { path: 'schedules', title: 'Scheduled reports', page: schedules, only: 'manage' },
  { path: 'settings', title: 'Settings', page: settings, only: 'org' },
  { path: 'access', title: 'Access keys', page: access, only: 'own' },
];

// offered are the pages the signed-in role may use.
const offered = () => pages.filter((p) => !p.only || state.may[p.only]);

export const ranges = [
  ['RANGE_PRESET_THIS_MONTH', 'This month'],
  ['RANGE_PRESET_LAST_3_MONTHS', 'Last 3 months'],
  ['RANGE_PRESET_LAST_6_MONTHS', 'Last 6 months'],
  ['RANGE_PRESET_LAST_9_MONTHS', 'Last 9 months'],
  ['RANGE_PRESET_LAST_12_MONTHS', 'Last 12 months'],
];

// state is what every page reads: who is signed in (WhoAmI) and what they
// may change, the teams of the organisation, the team chosen ('' = all)
// and the range preset.
const state = {
  me: null,
  may: abilities(null),
  teams: [],
  team: sessionStorage.getItem('tokenmeter.team') || '',
  range: sessionStorage.getItem('tokenmeter.range') || 'RANGE_PRESET_LAST_12_MONTHS',
};

const app = document.getElementById('app');
let renderSeq = 0;

function context() {
  return {
    me: state.me,
    may: state.may,
    teams: state.teams,
    team: state.team,
    // Reports want the teams named: 'all' is every team of the organisation.
    teamIds: state.team ? [state.team] : state.teams,
    range: { preset: state.range },
    rangeLabel: ranges.find(([v]) => v === state.range)?.[1] || '',
    feed: alertFeed,
    go: (hash) => { location.hash = hash; },
    // reload renders the page again, header included (after a setting changed).
    reload: () => route(),
  };
}

// loadTeams: a team admin's one team, the organisation's for the others.
async function loadTeams(me) {
  if (me.role === 'team-admin') return [me.role_team_id];
  return (await listAll('LedgerService', 'ListTeams', {}, 'teams')).map((b) => b.team_id);
}

// ssoOffered: the console signs people in through their identity provider.
let ssoOffered = false;

function signInView(message) {
  stopAlertFeed();
  session.sso = null;
  const input = h('input', { id: 'api-key', type: 'password', autocomplete: 'current-password', required: true, 'aria-describedby': 'key-help' });
  const status = h('div', { 'aria-live': 'assertive' }, message ? notice(message, 'error') : null);
  const form = h('form', {
    class: 'signin', onsubmit: async (e) => {
      e.preventDefault();
      session.key = input.value.trim();
      status.replaceChildren(notice('Checking the key …'));
      try {
        await start();
      } catch (err) {
        session.key = '';
        status.replaceChildren(notice(signInProblem(err), 'error'));
      }
    },
  },
  h('h1', {}, 'tokenmeter'),
  ssoOffered ? h('a', { class: 'button', href: '/auth/login' }, 'Sign in with your organisation’s account') : null,
  h('p', {}, ssoOffered ? 'Or, for machines and development, with an API key:' : 'Sign in with an API key of your organisation (an owner’s, admin’s, viewer’s or team admin’s).'),
  h('label', { for: 'api-key' }, 'API key'),
  input,
  h('p', { id: 'key-help', class: 'hint' }, 'The key stays in this browser tab only and is sent with every request.'),
  h('button', { type: 'submit' }, 'Sign in'),
  status);
  app.replaceChildren(h('main', { id: 'main', class: 'signin-page' }, form));
  input.focus();
}

function signInProblem(err) {
  if (!(err instanceof ApiError)) return `The console could not reach the server: ${err.message}`;
  if (err.httpStatus === 401) return session.sso ? 'Your session has ended: sign in again.' : 'That key was refused: it is unknown or revoked.';
  if (err.httpStatus === 403) return 'That key may not read the organisation\'s reports: sign in with a key of a person\'s role (owner, admin, viewer or team admin).';
  if (err.notConfigured) return `The console cannot reach the ledger to list your teams: ${err.message}`;
  return err.message;
}

function select(id, label, options, value, onChange) {
  return h('label', { class: 'picker', for: id }, label,
    h('select', { id, onchange: (e) => onChange(e.target.value) },
      options.map(([v, text]) => h('option', { value: v, selected: v === value }, text))));
}

function shell(current) {
  const badge = h('span', { class: 'badge', 'data-testid': 'alert-badge', hidden: alertFeed.unseen === 0 }, String(alertFeed.unseen));
  alertFeed.onBadge = (count) => { badge.textContent = String(count); badge.hidden = count === 0; };
  const nav = h('nav', { 'aria-label': 'Reports' }, h('ul', {}, offered().map((p) => h('li', {},
    h('a', { href: `#/${p.path}`, 'aria-current': p === current ? 'page' : false }, p.title, p.path === 'alerts' ? badge : null)))));
  const header = h('header', {},
    h('div', { class: 'brand' }, 'tokenmeter'),
    select('team-picker', 'Team', [...(state.may.org ? [['', 'All teams']] : []), ...state.teams.map((t) => [t, t])], state.team, (v) => {
      state.team = v; sessionStorage.setItem('tokenmeter.team', v); route();
    }),
    select('range-picker', 'Range', ranges, state.range, (v) => {
      state.range = v; sessionStorage.setItem('tokenmeter.range', v); route();
    }),
    h('span', { class: 'zone', 'data-testid': 'time-zone', title: 'Report days, ranges and "this month" are dates in the organisation\'s time zone (Settings)' },
      `Dates in ${zone.name}`),
    h('span', { class: 'who', 'data-testid': 'signed-in-as' }, session.sso
      ? `${session.sso.name} · ${session.sso.org} · ${session.sso.role}`
      : `key ${state.me.key_id} · ${state.me.org_id} · ${state.me.role}`),
    h('button', { class: 'link', onclick: async () => { await signOut(); signInView('You are signed out.'); } }, 'Sign out'));
  const main = h('main', { id: 'main', tabindex: '-1' });
  app.replaceChildren(header, nav, main);
  return main;
}

async function route() {
  if (!session.signedIn) return signInView();
  const [, path = 'summary', ...rest] = location.hash.split('/');
  const current = offered().find((p) => p.path === path) || pages[0];
  const main = shell(current);
  document.title = `${current.title} · tokenmeter`;
  const seq = ++renderSeq;
  main.append(h('h1', {}, current.title), h('div', { class: 'loading', role: 'status' }, 'Loading …'));
  const body = h('div', { class: 'page' });
  try {
    await current.page.render(body, context(), rest.map(decodeURIComponent));
    if (seq !== renderSeq) return; // a newer navigation won
    main.querySelector('.loading').replaceWith(body);
  } catch (err) {
    if (seq !== renderSeq) return;
    if (err instanceof ApiError && err.signedOut) return signInView(session.sso ? 'Your session has ended: sign in again.' : 'Your key was refused: sign in again.');
    main.querySelector('.loading').replaceWith(notice(problem(err), 'error'));
  }
}

function problem(err) {
  if (err instanceof ApiError && err.notConfigured) return `This page needs a service the console is not connected to: ${err.message}`;
  return `Could not load this page: ${err.message}`;
}

async function start() {
  state.me = await call('ReportingService', 'WhoAmI', {});
  state.may = abilities(state.me);
  setZone(state.me.time_zone || 'UTC');
  state.teams = await loadTeams(state.me);
  if (state.team && !state.teams.includes(state.team)) state.team = '';
  if (!state.may.org) state.team = state.teams[0]; // a team admin's one team, named in every call
  startAlertFeed(() => { if (location.hash.startsWith('#/alerts')) route(); }, state.may.role === 'team-admin' ? state.may.team : '');
  if (!location.hash) location.hash = '#/summary';
  else route();
}

window.addEventListener('hashchange', route);
loadSession().catch(() => ({ sso: false })).then((info) => {
  ssoOffered = info.sso;
  if (session.signedIn) start().catch((err) => signInView(signInProblem(err)));
  else signInView();
});
