// Scheduled reports: a usage summary, forecast or expiring packs e-mailed
// with its CSV or XLSX once a month or week; admins create and delete them,
// and see each one's last delivery.
import { call } from '../api.js';
import { listAll } from '../paging.js';
import { h, table, dateTime, notice } from '../format.js';

const reports = [
  ['SCHEDULED_REPORT_USAGE_SUMMARY', 'Usage summary of the past period'],
  ['SCHEDULED_REPORT_FORECAST', 'Forecast of each team'],
  ['SCHEDULED_REPORT_EXPIRING_PACKS', 'Packs expiring within 90 days'],
];
const periods = [['SCHEDULE_PERIOD_MONTHLY', 'Monthly'], ['SCHEDULE_PERIOD_WEEKLY', 'Weekly (Monday)']];
const MAX_RECIPIENTS = 10;

const label = (list, v) => (list.find(([k]) => k === v) || [v, v])[1];

export async function render(el, ctx) {
  const me = await call('ReportingService', 'WhoAmI', {});
  if (me.role !== 'owner' && me.role !== 'admin') {
    el.append(notice('Only the organisation\'s admins see and change scheduled reports.'));
    return;
  }
  const list = await listAll('ReportingService', 'ListReportSchedules', {}, 'schedules');
  const rerender = () => { el.replaceChildren(); render(el, ctx); };
  el.append(h('p', { class: 'hint' }, 'Each report goes out at once for the last complete period, then once every period (UTC), with its file attached. Mail goes through the SMTP server the operator configured.'));
  el.append(table([
    { label: 'Schedule', value: (s) => s.schedule_id },
    { label: 'Report', value: (s) => label(reports, s.report) },
    { label: 'Period', value: (s) => label(periods, s.period) },
    { label: 'Format', value: (s) => (s.format === 'EXPORT_FORMAT_XLSX' ? 'XLSX' : 'CSV') },
    { label: 'Teams', value: (s) => (s.team_ids || []).join(', ') },
    { label: 'Recipients', value: (s) => (s.recipients || []).join(', ') },
    { label: 'Created', value: (s) => `${dateTime(s.created_at)} by ${s.created_by}` },
    { label: 'Last sent', value: (s) => (s.last_period ? `${s.last_period}: ${s.last_state}${s.last_error ? ` (${s.last_error})` : ''}` : '—') },
    {
      label: '', value: (s) => h('button', {
        type: 'button', class: 'small', 'aria-label': `Delete schedule ${s.schedule_id}`,
        onclick: async (e) => { e.target.disabled = true; await call('ReportingService', 'DeleteReportSchedule', { schedule_id: s.schedule_id }); rerender(); },
      }, 'Delete'),
    },
  ], list, { testid: 'schedules-table' }));
  el.append(form(ctx, rerender));
}

function form(ctx, rerender) {
  const select = (id, options) => h('select', { id, name: id }, options.map(([v, t]) => h('option', { value: v }, t)));
  const report = select('schedule-report', reports);
  const period = select('schedule-period', periods);
  const format = select('schedule-format', [['EXPORT_FORMAT_CSV', 'CSV'], ['EXPORT_FORMAT_XLSX', 'Excel (XLSX)']]);
  const to = h('input', { id: 'schedule-to', type: 'text', autocomplete: 'off', size: 48, placeholder: 'cfo@example.com, licences@example.com' });
  const status = h('div', { 'aria-live': 'polite', 'data-testid': 'schedule-status' });
  return h('form', {
    class: 'settings', 'aria-labelledby': 'schedule-new', onsubmit: async (e) => {
      e.preventDefault();
      const recipients = to.value.split(',').map((s) => s.trim()).filter(Boolean);
      if (recipients.length === 0 || recipients.length > MAX_RECIPIENTS) {
        status.replaceChildren(notice(`Give 1 to ${MAX_RECIPIENTS} addresses, separated by commas.`, 'error'));
        return;
      }
      status.replaceChildren(notice('Saving …'));
      try {
        await call('ReportingService', 'CreateReportSchedule', { schedule: {
          report: report.value, period: period.value, format: format.value, team_ids: ctx.teamIds, recipients } });
        rerender();
      } catch (err) {
        status.replaceChildren(notice(err.message, 'error'));
      }
    },
  },
  h('h2', { id: 'schedule-new' }, 'Schedule a report'),
  h('p', {}, h('label', { for: 'schedule-report' }, 'Report '), report,
    h('label', { for: 'schedule-period' }, ' every '), period,
    h('label', { for: 'schedule-format' }, ' as '), format),
  h('p', {}, h('label', { for: 'schedule-to' }, `To (at most ${MAX_RECIPIENTS} addresses, comma-separated) `), to),
  h('p', { class: 'hint' }, `Teams: ${ctx.team || 'all teams'} (change it at the top).`),
  h('button', { type: 'submit' }, 'Schedule'),
  status);
}
