// The console shell: sign-in, navigation, the team and range pickers, and
// the live alert feed that runs while signed in.
import { session, ApiError, loadSession, signOut } from './api.js';
import { listAll } from './paging.js';
import { h, notice } from './format.js';
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
import * as advice from './pages/advice.js';
import * as subscriptions from './pages/subscriptions.js';
import * as alerts from './pages/alerts.js';
import * as exporter from './pages/export.js';
import * as schedules from './pages/schedules.js';
import * as settings from './pages/settings.js';
import * as directory from './pages/directory.js';

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
  { path: 'advice', title: 'Advice', page: advice },
  { path: 'subscriptions', title: 'Subscriptions', page: subscriptions },
  { path: 'alerts', title: 'Alerts', page: alerts },
  { path: 'directory', title: 'Directory', page: directory },
  { path: 'export', title: 'Export', page: exporter },
  { path: 'schedules', title: 'Scheduled reports', page: schedules },
  { path: 'settings', title: 'Settings', page: settings },
];

export const ranges = [
  ['RANGE_PRESET_THIS_MONTH', 'This month'],
  ['RANGE_PRESET_LAST_3_MONTHS', 'Last 3 months'],
  ['RANGE_PRESET_LAST_6_MONTHS', 'Last 6 months'],
  ['RANGE_PRESET_LAST_9_MONTHS', 'Last 9 months'],
  ['RANGE_PRESET_LAST_12_MONTHS', 'Last 12 months'],
];

// state is what every page reads: the teams of the organisation, the team
// chosen ('' = all) and the range preset.
const state = {
  teams: [],
  team: sessionStorage.getItem('tokenmeter.team') || '',
  range: sessionStorage.getItem('tokenmeter.range') || 'RANGE_PRESET_LAST_12_MONTHS',
};

const app = document.getElementById('app');
let renderSeq = 0;

function context() {
  return {
    teams: state.teams,
    team: state.team,
    // Reports want the teams named: 'all' is every team of the organisation.
    teamIds: state.team ? [state.team] : state.teams,
    range: { preset: state.range },
    rangeLabel: ranges.find(([v]) => v === state.range)?.[1] || '',
    feed: alertFeed,
    go: (hash) => { location.hash = hash; },
  };
}

// loadTeams is also the sign-in check: the ledger answers only a valid key
// allowed to administer the organisation.
async function loadTeams() {
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
  h('p', {}, ssoOffered ? 'Or, for machines and development, with an admin API key:' : 'Sign in with an admin API key of your organisation.'),
  h('label', { for: 'api-key' }, 'Admin API key'),
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
  if (err.httpStatus === 403) return 'That key may not administer the organisation: sign in with an admin key.';
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
  const nav = h('nav', { 'aria-label': 'Reports' }, h('ul', {}, pages.map((p) => h('li', {},
    h('a', { href: `#/${p.path}`, 'aria-current': p === current ? 'page' : false }, p.title, p.path === 'alerts' ? badge : null)))));
  const header = h('header', {},
    h('div', { class: 'brand' }, 'tokenmeter'),
    select('team-picker', 'Team', [['', 'All teams'], ...state.teams.map((t) => [t, t])], state.team, (v) => {
      state.team = v; sessionStorage.setItem('tokenmeter.team', v); route();
    }),
    select('range-picker', 'Range', ranges, state.range, (v) => {
      state.range = v; sessionStorage.setItem('tokenmeter.range', v); route();
    }),
    session.sso ? h('span', { class: 'who', 'data-testid': 'signed-in-as' }, `${session.sso.name} · ${session.sso.org} · ${session.sso.role}`) : null,
    h('button', { class: 'link', onclick: async () => { await signOut(); signInView('You are signed out.'); } }, 'Sign out'));
  const main = h('main', { id: 'main', tabindex: '-1' });
  app.replaceChildren(header, nav, main);
  return main;
}

async function route() {
  if (!session.signedIn) return signInView();
  const [, path = 'summary', ...rest] = location.hash.split('/');
  const current = pages.find((p) => p.path === path) || pages[0];
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
  state.teams = await loadTeams();
  if (state.team && !state.teams.includes(state.team)) state.team = '';
  startAlertFeed(() => { if (location.hash.startsWith('#/alerts')) route(); });
  if (!location.hash) location.hash = '#/summary';
  else route();
}

window.addEventListener('hashchange', route);
loadSession().catch(() => ({ sso: false })).then((info) => {
  ssoOffered = info.sso;
  if (session.signedIn) start().catch((err) => signInView(signInProblem(err)));
  else signInView();
});
