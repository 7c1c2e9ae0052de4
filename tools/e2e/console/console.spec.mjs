// Browser tests of the web console: Debian's Chromium driven headless by
// playwright-core against a console the Go test (../console_test.go) serves
// from a dev stack with demo data. Run through `go test` in tools/e2e, which
// passes what the page must show as environment variables.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { chromium } from 'playwright-core';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this through go test in tools/e2e`);
  return v;
};
const url = env('CONSOLE_URL');
const adminKey = env('ADMIN_KEY');
const ownerKey = env('OWNER_KEY');
const shots = env('SCREENSHOT_DIR');
const expected = JSON.parse(env('EXPECT'));
const mailpit = env('MAILPIT_URL');

let browser;
let page;
const consoleErrors = [];

before(async () => {
  await mkdir(shots, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    // The machine has no internet: keep Chromium from phoning home.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, acceptDownloads: true });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
});

after(async () => { await browser?.close(); });

const shot = (name) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
const number = async (testid) => Number((await page.getByTestId(testid).innerText()).replace(/[^0-9-]/g, ''));

// step runs one step of the walk; after a failed step the rest are skipped,
// since each builds on the page the one before left.
let broken = false;
function steps(t) {
  return (name, fn) => t.test(name, { skip: broken && 'an earlier step failed' }, async () => {
    try {
      await fn();
    } catch (err) {
      broken = true;
      await shot(`failed-${name.replace(/[^a-z0-9]+/gi, '-')}`).catch(() => {});
      throw err;
    }
  });
}

test('the console', async (t) => {
  const step = steps(t);
  await step('a wrong key is refused with a clear message', async () => {
    await page.goto(url);
    await page.getByLabel('API key').fill('not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That key was refused').waitFor();
    await shot('sign-in-refused');
  });

  await step('sign-in with an admin key opens the summary', async () => {
    await page.getByLabel('API key').fill(adminKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Token usage' }).waitFor();
    await page.getByTestId('tokens-used').waitFor();
  });

  await step('the summary numbers equal the ledger\'s', async () => {
    await page.getByLabel('Range').selectOption('RANGE_PRESET_LAST_12_MONTHS');
    await page.getByTestId('tokens-used').waitFor();
    assert.equal(await number('tokens-remaining'), expected.remaining, 'tokens remaining = the ledger\'s available');
    assert.equal(await number('tokens-used'), expected.used, 'tokens used over 12 months = the ledger\'s used');
    await page.getByRole('img', { name: /Tokens used per day/ }).waitFor();
    await shot('summary');
  });

  await step('one team: the summary follows the team picker', async () => {
    await page.getByLabel('Team').selectOption(expected.team);
    await page.getByTestId('tokens-used').waitFor();
    assert.equal(await number('tokens-remaining'), expected.teamRemaining);
    await page.getByLabel('Team').selectOption('');
    await page.getByTestId('tokens-used').waitFor();
  });

  await step('by product, with a drill-down', async () => {
    await page.getByRole('link', { name: 'By product' }).click();
    const table = page.getByTestId('products-table');
    await table.waitFor();
    assert.equal(await number('products-total'), expected.used);
    await shot('by-product');
    await table.getByRole('link', { name: expected.product, exact: true }).click();
    await page.getByTestId('drill-title').filter({ hasText: expected.product }).waitFor();
    assert.ok(await number('drill-users') > 0, 'the product has users');
    assert.ok(await page.getByTestId('drill-users-table').locator('tbody tr').count() > 0);
    await page.getByRole('img', { name: /Users by tokens spent/ }).waitFor();
    await shot('by-product-drill-down');
  });

  await step('by user, with the double-charge days marked', async () => {
    await page.getByRole('link', { name: 'By user' }).click();
    const table = page.getByTestId('users-table');
    await table.waitFor();
    assert.ok(await table.locator('tbody tr').count() > 0);
    assert.ok(await page.locator('tr.double-row').count() > 0, 'the demo has users opening two products a day');
    // Last use reads as days ago; the other count says it is the range's days without use.
    const headers = await table.locator('thead th').allTextContents();
    assert.ok(headers.includes('Last used') && headers.includes('Days without use in range'), headers.join(' | '));
    assert.ok(!headers.includes('Days inactive'), 'the old, misread column is gone');
    const lastUsed = await table.locator(`tbody td:nth-child(${headers.indexOf('Last used') + 1})`).allInnerTexts();
    assert.ok(lastUsed.length > 0 && lastUsed.every((s) => /^(today|yesterday|\d+ days ago)$/.test(s)), lastUsed.join(', '));
    await shot('by-user');
  });

  await step('by user, page by page', async () => {
    const table = page.getByTestId('users-table');
    const names = async () => table.locator('tbody td:first-child').allInnerTexts();
    const all = await names();
    await page.locator('#user-limit').selectOption('5');
    await page.getByTestId('users-page').filter({ hasText: 'Page 1' }).waitFor();
    const seen = [];
    let last = 1;
    for (let n = 1; ; n++, last++) {
      const rows = await names();
      assert.ok(rows.length <= 5, `page ${n} holds ${rows.length} users`);
      seen.push(...rows);
      const next = page.getByRole('button', { name: 'Next →' });
      if (await next.isDisabled()) break;
      await next.click();
      await page.getByTestId('users-page').filter({ hasText: `Page ${n + 1}` }).waitFor();
    }
    assert.deepEqual(seen, all, 'the pages walk every user once, in order');
    assert.ok(last > 1, 'the demo has more than 5 users');
    await page.getByRole('button', { name: '← Previous' }).click();
    await page.getByTestId('users-page').filter({ hasText: `Page ${last - 1}` }).waitFor();
    await shot('by-user-pages');
    await page.locator('#user-limit').selectOption('50');
  });

  await step('denials: who was refused and why, by reason and a page at a time', async () => {
    await page.getByRole('link', { name: 'Denials' }).click();
    const groups = page.getByTestId('denial-groups');
    await groups.waitFor();
    assert.equal(await number('denials-total'), expected.denials, 'the refusals reporting counts');
    const reasons = await groups.locator('tbody td:first-child').allInnerTexts();
    for (const r of ['insufficient tokens', 'budget exceeded', 'user not assigned', 'product not allowed']) {
      assert.ok(reasons.includes(r), `the demo has a refusal for ${r}: ${reasons.join(', ')}`);
    }
    const list = page.getByTestId('denials-table');
    assert.equal(await list.locator('tbody tr').count(), Math.min(50, expected.denials), 'the first page of refusals');
    await shot('denials');
    await page.locator('#denial-group').selectOption('DENIAL_GROUPING_USER');
    await groups.locator('tbody td').filter({ hasText: /^zoe$/ }).waitFor();
    await shot('denials-by-user');
    if (expected.denials > 50) {
      await page.getByRole('button', { name: 'Next →' }).click();
      await page.getByTestId('denials-page').filter({ hasText: 'Page 2' }).waitFor();
    }
  });

  await step('sessions: open and idle time, who is using what now, peaks, devices, brief charges', async () => {
    await page.getByRole('link', { name: 'Sessions' }).click();
    const open = page.getByTestId('sessions-open-table');
    await open.waitFor();
    assert.equal(await number('sessions-total'), expected.sessions, 'the sessions reporting counts');
    assert.equal(await number('sessions-open-now'), expected.openNow, 'the demo leaves sessions open');
    assert.equal(await number('sessions-peak'), expected.peakUsers, 'the highest peak of concurrent users');
    assert.equal(await number('sessions-brief'), expected.briefCharges, 'charges for a brief use');
    assert.deepEqual((await open.locator('tbody td:first-child').allInnerTexts()).sort(), expected.openUsers, 'who is using what now');
    assert.equal(await page.getByTestId('sessions-products').locator('tbody tr').count(), expected.sessionProducts, 'a row per product');
    assert.ok(await page.getByTestId('sessions-peaks').locator('tbody tr').count() > 1, 'peaks on several days');
    assert.equal(await page.getByTestId('sessions-devices').locator('tbody tr').count(), Math.min(100, expected.devices), 'a row per device');
    assert.equal(await page.getByTestId('sessions-brief-table').locator('tbody tr').count(), Math.min(50, expected.briefCharges), 'the first page of brief charges');
    await shot('sessions');
    if (expected.briefCharges > 50) {
      await page.getByRole('button', { name: 'Next →' }).click();
      await page.getByTestId('sessions-page').filter({ hasText: 'Page 2' }).waitFor();
    }
  });

  await step('money: spend per currency, expired and remaining value', async () => {
    await page.getByRole('link', { name: 'Money' }).click();
    const table = page.getByTestId('spend-table');
    await table.waitFor();
    const currencies = await table.locator('tbody td:nth-child(2)').allInnerTexts();
    assert.deepEqual([...new Set(currencies)].sort(), expected.currencies, 'a row per team and currency, never added');
    assert.match(await page.getByTestId('spend-expired').innerText(), /€[0-9,.]+ [0-9,]+ tokens/, 'the project pack expired with tokens left');
    assert.match(await page.getByTestId('spend-remaining').innerText(), /\$[0-9,.]+ [0-9,]+ tokens/);
    await shot('money');
    await page.locator('#spend-group').selectOption('SPEND_GROUPING_ATTRIBUTE');
    await table.locator('tbody td').filter({ hasText: /^P-100$/ }).first().waitFor();
    await shot('money-by-project');
  });

  await step('balances: a card per pool with the ledger\'s available', async () => {
    await page.getByRole('link', { name: 'Balances' }).click();
    for (const [team, available] of Object.entries(expected.pools)) {
      await page.getByTestId(`pool-${team}`).waitFor();
      assert.equal(await number(`pool-${team}-available`), available, `pool ${team}`);
    }
    await shot('balances');
  });

  await step('capacity: the term, the 20 % status and the usage details', async () => {
    const fmt = (v) => new Intl.NumberFormat('en-US').format(v);
    const id = `capacity-design-${expected.capacity.product}`;
    const card = page.getByTestId(id);
    await card.waitFor();
    assert.equal(await page.getByTestId(`${id}-term`).innerText(), expected.capacity.term);
    assert.match(await card.getAttribute('class'), /green/);
    assert.match(await page.getByTestId(`capacity-design-${expected.capacity.seats}`).getAttribute('class'), /red/,
      '1 of 5 seats left: red at or below 20 %');
    await card.getByRole('button', { name: 'View usage details' }).click();
    const total = page.getByTestId('capacity-usage-total');
    await total.waitFor();
    assert.match(await total.innerText(), new RegExp(`^${fmt(expected.capacity.used)} units used in `));
    await page.getByRole('img', { name: /Units per day/ }).waitFor();
    await shot('capacity-usage-by-day');
    await page.locator('#capacity-bucket').selectOption('CAPACITY_BUCKET_MONTH');
    await page.getByRole('img', { name: /Units per month/ }).waitFor();
    const used = await page.getByTestId('capacity-usage-table').locator('tbody td:nth-child(2)').allTextContents();
    assert.equal(used.reduce((sum, v) => sum + Number(v.replace(/[^0-9]/g, '')), 0), expected.capacity.used, 'the months add up');
    await shot('capacity-usage-by-month');
  });

  await step('history: a team\'s events with who and why, by type and a page at a time', async () => {
    await page.getByRole('link', { name: 'History' }).click();
    await page.locator('#history-team').selectOption(expected.team);
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    const table = page.getByTestId('history-table');
    await table.locator('tr.tx-user_assigned').first().waitFor();
    assert.match(await table.locator('tr.tx-user_assigned').first().innerText(), /assigned to every product/);
    const rows = await table.locator('tbody tr').count();
    assert.equal(rows, 50, 'one page of 50');
    await page.getByTestId('history-more').click();
    await table.locator('tbody tr').nth(50).waitFor();
    await shot('history');

    await page.locator('#history-type').selectOption('budget_set');
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    const budget = table.locator('tr.tx-budget_set').filter({ hasText: 'budget e2e-history' });
    await budget.waitFor();
    assert.match(await budget.innerText(), /admin:/, 'the budget change names its actor');
    assert.equal(await table.locator('tbody tr:not(.tx-budget_set)').count(), 0, 'only budget changes');
    await shot('history-budgets');

    await page.locator('#history-type').selectOption('');
    await page.locator('#history-from').fill('2999-01-01');
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await table.getByText('Nothing in this range.').waitFor();
  });

  await step('forecast and advice', async () => {
    await page.getByRole('link', { name: 'Forecast' }).click();
    await page.getByTestId('run-out').waitFor();
    await page.getByRole('img', { name: /Cumulative tokens used/ }).waitFor();
    await shot('forecast');
    await page.getByRole('link', { name: 'Advice' }).click();
    await page.getByTestId('advice-saving').waitFor();
    await shot('advice');
  });

  await step('planning: the demo plan, an estimate with the run-out with and without it, added and removed', async () => {
    await page.getByRole('link', { name: 'Planning' }).click();
    await page.getByLabel('Team').selectOption('design');
    await page.getByRole('heading', { name: 'design', exact: true }).waitFor();
    const plans = page.getByTestId('plans-table');
    const demoRow = plans.locator('tbody tr').filter({ hasText: expected.plan.name });
    await demoRow.filter({ hasText: expected.plan.tokens.toLocaleString('en-US') }).waitFor();
    const shows = async (testid, text) => {
      const got = await page.getByTestId(testid).innerText();
      assert.equal(got, text, `${testid}`);
    };
    await shows('plan-run-out-with', expected.plan.runOutWith);
    await shows('plan-run-out-without', expected.plan.runOutWithout);
    await shot('planning');

    // 4 users × 2 days a week × the form's 4 weeks from Monday × FUSION's 2.
    await page.getByLabel('Project name').fill('Survey');
    await page.getByLabel('Users').fill('4');
    await page.getByLabel('Days a week (1–7)').fill('2');
    await page.getByLabel('FUSION', { exact: false }).check();
    await page.getByRole('button', { name: 'Estimate' }).click();
    await page.getByTestId('estimate-tokens').waitFor();
    assert.equal(await number('estimate-tokens'), 64);
    assert.equal(await page.getByTestId('estimate-run-out-without').innerText(), expected.plan.runOutWith, 'without it: the forecast with the recorded plans');
    await page.getByTestId('estimate-run-out-with').waitFor();
    await shot('planning-estimate');

    await page.getByRole('button', { name: 'Add to the forecast' }).click();
    await plans.locator('tbody tr').filter({ hasText: 'Survey' }).waitFor();
    await page.getByRole('button', { name: 'Remove Survey' }).click();
    await plans.locator('tbody tr').filter({ hasText: 'Survey' }).waitFor({ state: 'detached' });
    await demoRow.waitFor();
    assert.equal(await page.getByTestId('plan-seasonal').innerText(), 'none yet', 'six weeks of history');

    // A team with a year of history: seasonal, on this page and the forecast's.
    await page.getByLabel('Team').selectOption(expected.plan.seasonalTeam);
    await page.getByTestId('plan-seasonal').filter({ hasText: 'last year’s months' }).waitFor();
    await page.getByRole('link', { name: 'Forecast' }).click();
    await page.getByTestId('forecast-seasonal').filter({ hasText: 'last year’s months' }).waitFor();
    await page.getByRole('table', { name: 'Seasonal factors' }).getByText('Aug').waitFor();
    await shot('forecast-seasonal');
    await page.getByLabel('Team').selectOption(''); // the next steps read every team
  });

  await step('subscriptions: the advice is applied in one step and undone', async () => {
    await page.getByRole('link', { name: 'Subscriptions' }).click();
    await page.getByTestId('subs-launches').waitFor();
    assert.equal(await number('subs-launches'), expected.subscriptionLaunches, 'launches by subscription, apart from token use');
    assert.ok(await number('subs-token-launches') > 0);
    const subs = page.getByTestId('subs-table');
    await subs.locator('tbody td').filter({ hasText: new RegExp(`^${expected.subscribedUser}$`) }).waitFor();
    await page.getByTestId('subs-use-table').locator('tbody td').filter({ hasText: new RegExp(`^${expected.subscribedUser}$`) }).waitFor();
    assert.equal(await subs.locator('tbody td').filter({ hasText: new RegExp(`^${expected.moveUser}$`) }).count(), 0, 'not subscribed yet');
    await shot('subscriptions');

    await page.getByRole('link', { name: 'Advice' }).click();
    await page.getByRole('button', { name: `Move ${expected.moveUser} REVIT` }).click();
    // Granted: the row stays, with its Undo, though advice now leaves the user out.
    await page.getByRole('button', { name: `Undo ${expected.moveUser} REVIT` }).waitFor();
    await shot('advice-applied');
    await page.getByRole('link', { name: 'Subscriptions' }).click();
    await subs.locator('tbody td').filter({ hasText: new RegExp(`^${expected.moveUser}$`) }).waitFor();

    await page.getByRole('link', { name: 'Advice' }).click();
    await page.getByRole('button', { name: `Undo ${expected.moveUser} REVIT` }).click();
    await page.getByRole('button', { name: `Move ${expected.moveUser} REVIT` }).waitFor();
    await page.getByRole('link', { name: 'Subscriptions' }).click();
    await page.getByTestId('subs-launches').waitFor();
    assert.equal(await subs.locator('tbody td').filter({ hasText: new RegExp(`^${expected.moveUser}$`) }).count(), 0, 'undone');
  });

  await step('export: a CSV of usage downloads', async () => {
    await page.getByRole('link', { name: 'Export' }).click();
    await page.getByLabel('Usage: one row per charge').check();
    await page.getByLabel('CSV').check();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download' }).click()]);
    assert.match(download.suggestedFilename(), /^tokenmeter-usage-.*\.csv$/);
    const file = `${shots}/${download.suggestedFilename()}`;
    await download.saveAs(file);
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    assert.match(lines[0], /^day,team_id,user_id,product_code/);
    assert.equal(lines.length - 1, expected.charges, 'one row per charge');
    await page.getByTestId('export-status').getByText('Downloaded').waitFor();
    await shot('export');
  });

  await step('export: XLSX downloads as a workbook', async () => {
    await page.getByLabel('Excel (XLSX)').check();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download' }).click()]);
    assert.match(download.suggestedFilename(), /\.xlsx$/);
    const file = `${shots}/${download.suggestedFilename()}`;
    await download.saveAs(file);
    assert.equal((await readFile(file)).subarray(0, 2).toString(), 'PK', 'an XLSX file is a zip');
  });

  await step('scheduled reports: an admin schedules a usage summary; it arrives by e-mail with its XLSX', async () => {
    await page.getByRole('link', { name: 'Scheduled reports' }).click();
    await page.locator('#schedule-report').selectOption('SCHEDULED_REPORT_USAGE_SUMMARY');
    await page.locator('#schedule-format').selectOption('EXPORT_FORMAT_XLSX');
    await page.locator('#schedule-to').fill('cfo@e2e.test');
    await page.getByRole('button', { name: 'Schedule' }).click();
    const schedules = page.getByTestId('schedules-table');
    await schedules.getByText('cfo@e2e.test').waitFor();
    let mail;
    for (let i = 0; i < 100 && !mail; i++) {
      const list = await (await fetch(`${mailpit}/api/v1/messages`)).json();
      mail = list.messages.find((m) => m.Subject.startsWith('[tokenmeter] usage summary '));
      if (!mail) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(mail, 'the report reached the SMTP server');
    assert.deepEqual(mail.To.map((a) => a.Address), ['cfo@e2e.test']);
    const full = await (await fetch(`${mailpit}/api/v1/message/${mail.ID}`)).json();
    assert.match(full.Attachments[0].FileName, /^tokenmeter-usage-.*\.xlsx$/);
    const file = await (await fetch(`${mailpit}/api/v1/message/${mail.ID}/part/${full.Attachments[0].PartID}`)).arrayBuffer();
    assert.equal(Buffer.from(file).subarray(0, 2).toString(), 'PK', 'the attachment is a workbook');
    await page.getByRole('link', { name: 'Export' }).click();
    await page.getByRole('link', { name: 'Scheduled reports' }).click();
    await schedules.getByText(/: sent$/).waitFor();
    await shot('schedules');
    await schedules.getByRole('button', { name: /^Delete schedule / }).click();
    await schedules.getByText('cfo@e2e.test').waitFor({ state: 'detached' });
  });

  await step('alerts: a new alert appears live, without reloading', async () => {
    await page.getByRole('link', { name: 'Alerts' }).click();
    await page.getByTestId('feed-state').filter({ hasText: 'Live' }).waitFor();
    const marker = await page.evaluate(() => { window.__noReload = true; return true; });
    assert.ok(marker);
    await shot('alerts-before');
    // Remove tokens so the pool drops under 20 %: the ledger appends the
    // adjustment, alerting raises low_balance, the feed brings it here.
    const res = await page.evaluate(async ({ team, tokens, key }) => {
      const r = await fetch('/api/tokenmeter.v1.LedgerService/AdjustBalance', {
        method: 'POST', headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ event_id: `browser-test-${Date.now()}`, team_id: team, kind: 'ADJUSTMENT_KIND_REMOVE', tokens: String(tokens), reason: 'browser test' }),
      });
      return { status: r.status, body: await r.text() };
    }, { team: expected.alertTeam, tokens: expected.removeTokens, key: adminKey });
    assert.equal(res.status, 200, res.body);
    const alert = page.getByTestId('alert-low_balance').filter({ hasText: expected.alertTeam });
    await alert.waitFor({ timeout: 20_000 });
    assert.equal(await page.evaluate(() => window.__noReload), true, 'the page was not reloaded');
    await shot('alerts-live');
    await alert.getByRole('button', { name: 'Acknowledge' }).click();
    await alert.getByText('acknowledged').waitFor();
  });

  await step('directory: every user with assignments and status, names where people are shown, page by page', async () => {
    await page.getByLabel('Team').selectOption('');
    await page.getByRole('link', { name: 'Directory' }).click();
    const table = page.getByTestId('directory-table');
    const ann = table.locator('tbody tr').filter({ hasText: 'Ann Archer' });
    await ann.waitFor();
    assert.match(await ann.innerText(), /^ann\tAnn Archer\tann@example\.com\tassigned\t/);
    await page.locator('#directory-size').selectOption('5');
    await page.getByTestId('directory-page').filter({ hasText: 'Page 1' }).waitFor();
    const seen = [];
    for (let n = 1; ; n++) {
      await page.getByTestId('directory-page').filter({ hasText: `Page ${n}` }).waitFor();
      const rows = await table.locator('tbody tr td:first-child').allInnerTexts();
      assert.ok(rows.length <= 5);
      seen.push(...rows);
      const next = page.getByRole('button', { name: 'Next →' });
      if (await next.isDisabled()) break;
      await next.click();
    }
    assert.equal(seen.length, expected.directoryUsers, 'the pages walk every user once');
    assert.deepEqual(seen, [...seen].sort(), 'sorted by user id');
    const group = page.getByTestId('groups-table').locator('tbody tr').filter({ hasText: 'Drafting office' });
    await group.waitFor();
    assert.match(await group.innerText(), /^design\tDrafting office\tdrafting\tACAD, ACAD-MEP\t2\tann, bob(\t|$)/, 'the demo group, its products and members');
    await shot('directory');
  });

  await step('directory: an admin erases a person\'s personal data with a reason; the row shows the pseudonym, the history says so', async () => {
    // A person of the test's own, so no figure another step checks changes.
    const answers = await page.evaluate(async (key) => {
      const post = async (path, body) => {
        const r = await fetch(`/api/tokenmeter.v1.LedgerService/${path}`, { method: 'POST', body: JSON.stringify(body),
          headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' } });
        return `${r.status} ${await r.text()}`;
      };
      return [
        await post('AssignUser', { team_id: 'design', user_id: 'e2e-leaver', product_codes: ['REVIT'], event_id: `e2e-leaver-${Date.now()}` }),
        await post('SetUserProfile', { user_id: 'e2e-leaver', display_name: 'Lee Leaver', email: 'leaver@example.com', event_id: `e2e-leaver-profile-${Date.now()}` }),
      ];
    }, adminKey);
    for (const a of answers) assert.match(a, /^200 /);
    const table = page.getByTestId('directory-table');
    const leaver = table.locator('tbody tr').filter({ hasText: 'Lee Leaver' });
    for (let i = 0; ; i++) { // once reporting has seen the assignment
      await page.getByRole('link', { name: 'Token usage' }).click();
      await page.getByTestId('tokens-used').waitFor();
      await page.getByRole('link', { name: 'Directory' }).click();
      await page.locator('#directory-size').selectOption('100');
      await page.locator('main .loading').waitFor({ state: 'detached' });
      await table.waitFor();
      if (await leaver.count() === 1) break;
      assert.ok(i < 20, 'the new user is in the directory');
      await page.waitForTimeout(250);
    }
    assert.match(await leaver.innerText(), /^e2e-leaver\tLee Leaver\tleaver@example\.com\t/);
    assert.equal(await table.getByRole('button', { name: /^Erase u_/ }).count(), 0, 'no erase for a pseudonym');
    const erase = leaver.getByRole('button', { name: 'Erase e2e-leaver\'s personal data' });
    await erase.click();
    const dialog = page.getByRole('dialog', { name: 'Erase e2e-leaver\'s personal data?' });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await leaver.count(), 1, 'cancelled: nothing erased');
    await erase.click();
    await dialog.getByRole('button', { name: 'Erase' }).click();
    assert.equal(await dialog.isVisible(), true, 'a reason is required');
    await dialog.getByLabel(/^Reason/).fill('left the company, e2e');
    await shot('directory-erase-dialog');
    await dialog.getByRole('button', { name: 'Erase' }).click();
    const erased = table.locator('tbody tr').filter({ has: page.locator('td:first-child', { hasText: /^u_[0-9a-f]{20}$/ }) });
    await erased.waitFor();
    assert.equal(await erased.count(), 1, 'the erased user, by pseudonym');
    assert.equal(await table.getByText('e2e-leaver').count(), 0);
    assert.equal(await leaver.count(), 0);
    assert.match(await erased.innerText(), /^u_[0-9a-f]{20}\t—\t—\tassigned\t.*design: REVIT/);
    assert.equal(await erased.getByRole('button').count(), 0);
    await shot('directory-erased');

    await page.getByRole('link', { name: 'History' }).click();
    await page.locator('#history-team').selectOption('_org');
    await page.locator('#history-type').selectOption({ label: 'Personal data erased' });
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    const history = page.getByTestId('history-table');
    const row = history.locator('tr.tx-user_erased');
    await row.waitFor();
    assert.match(await row.innerText(), /\tPersonal data erased\t.*\tu_[0-9a-f]{20}\t.*left the company, e2e\tadmin:/);
    await page.locator('#history-type').selectOption({ label: 'Time zone set' });
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await history.locator('tr.tx-time_zone_set').first().waitFor();
    assert.match(await history.locator('tr.tx-time_zone_set').first().innerText(), /\tTime zone set\t.*Europe\/Berlin/);
    await page.locator('#history-type').selectOption('');
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await history.locator('tr.tx-personal_data_set').first().waitFor();
    const labels = await history.locator('tbody tr td:nth-child(2)').allInnerTexts();
    assert.deepEqual(labels.filter((l) => /_/.test(l)), [], 'every event type in words');
    await shot('history-organisation');
  });

  await step('directory: an admin creates a user group, renames it, sets its products and members, and deletes it', async () => {
    await page.getByRole('link', { name: 'Directory' }).click();
    const groups = page.getByTestId('groups-table');
    await groups.waitFor();
    await page.getByRole('button', { name: 'Create group' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Team').selectOption('design');
    await dialog.getByLabel(/^Group id/).fill('e2e-reviewers');
    await dialog.getByLabel('Name').fill('Reviewers');
    await dialog.getByLabel('Products').fill('REVIT');
    await dialog.getByLabel('Members').fill('ann, carla');
    await dialog.getByLabel(/^Reason/).fill('browser test');
    await dialog.getByRole('button', { name: 'Create' }).click();
    const row = groups.locator('tbody tr').filter({ has: page.locator('td', { hasText: /^e2e-reviewers$/ }) });
    await row.waitFor();
    assert.match(await row.innerText(), /^design\tReviewers\te2e-reviewers\tREVIT\t2\tann, carla\t/);

    await row.getByRole('button', { name: 'Rename e2e-reviewers' }).click();
    await dialog.getByLabel('Name').fill('Design reviewers');
    await dialog.getByRole('button', { name: 'Rename' }).click();
    await row.filter({ hasText: 'Design reviewers' }).waitFor();
    await row.getByRole('button', { name: 'Products e2e-reviewers' }).click();
    assert.equal(await dialog.getByLabel('Products').inputValue(), 'REVIT', 'the dialog starts from the group\'s products');
    await dialog.getByLabel('Products').fill('REVIT, ACAD');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await row.filter({ hasText: 'ACAD, REVIT' }).waitFor();
    await row.getByRole('button', { name: 'Members e2e-reviewers' }).click();
    await dialog.getByLabel('Add').fill('bob');
    await dialog.getByLabel('Remove').fill('ann');
    await dialog.getByRole('button', { name: 'Change' }).click();
    await row.filter({ hasText: 'bob, carla' }).waitFor();
    assert.match(await row.innerText(), /^design\tDesign reviewers\te2e-reviewers\tACAD, REVIT\t2\tbob, carla\t/);

    const logged = consoleErrors.length;
    await row.getByRole('button', { name: 'Members e2e-reviewers' }).click();
    await dialog.getByLabel('Remove').fill('zed');
    await dialog.getByRole('button', { name: 'Change' }).click();
    await page.getByTestId('groups-status').getByText(/failed: .*zed is not a member/).waitFor();
    // The refused change's 404, which the browser logs, is this step's own.
    assert.deepEqual(consoleErrors.splice(logged).map((e) => /status of (\d+)/.exec(e)?.[1]), ['404']);
    await shot('directory-groups');

    await row.getByRole('button', { name: 'Delete e2e-reviewers' }).click();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    await groups.locator('tbody tr').filter({ hasText: 'Drafting office' }).waitFor();
    await page.getByRole('link', { name: 'History' }).click();
    await page.locator('#history-team').selectOption('design');
    await page.locator('#history-type').selectOption({ label: 'User group deleted' });
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await page.getByTestId('history-table').locator('tr.tx-user_group_deleted').filter({ hasText: 'e2e-reviewers' }).waitFor();
  });

  await step('settings: an admin sees the personal-data setting but may not change it', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByTestId('personal-data-state').filter({ hasText: 'shown as they are' }).waitFor();
    await page.getByText('Only the organisation\'s owner may change this setting.').waitFor();
    const personal = page.getByRole('region', { name: 'Personal data' });
    assert.equal(await personal.getByRole('button', { name: 'Save' }).count(), 0, 'no change button for an admin');
    await shot('settings-admin');
  });

  await step('settings: an admin sets the time zone, and every page states it', async () => {
    assert.equal(await page.getByTestId('time-zone').innerText(), 'Dates in Europe/Berlin', 'as the demo set it');
    const zone = page.getByRole('region', { name: 'Time zone' });
    assert.equal(await zone.getByLabel(/^Time zone/).inputValue(), 'Europe/Berlin');
    await zone.getByLabel(/^Time zone/).fill('Pacific/Auckland');
    await zone.getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('time-zone').filter({ hasText: 'Dates in Pacific/Auckland' }).waitFor();
    await page.getByTestId('time-zone-state').filter({ hasText: 'dates in Pacific/Auckland' }).waitFor();
    assert.match(await page.getByTestId('time-zone-record').innerText(), /^Set .* by admin:/);
    await shot('settings-time-zone');
    await page.getByRole('link', { name: 'Export' }).click();
    await page.locator('#export-range').selectOption('dates');
    await page.getByText('Dates (inclusive, in Pacific/Auckland)').waitFor();
    assert.equal(await page.getByTestId('time-zone').innerText(), 'Dates in Pacific/Auckland');
    await page.getByRole('link', { name: 'Token usage' }).click();
    await page.getByTestId('tokens-used').waitFor();
    assert.equal(await page.getByTestId('time-zone').innerText(), 'Dates in Pacific/Auckland', 'the zone is stated on every page');
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByTestId('personal-data-state').waitFor();
  });

  await step('settings: the owner switches to pseudonyms, recorded with who and why, and every page follows', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').fill(ownerKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor(); // signed in where it signed out
    await page.getByLabel('As pseudonyms').check();
    await page.getByLabel(/^Reason/).fill('browser test');
    await page.getByRole('region', { name: 'Personal data' }).getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('personal-data-state').filter({ hasText: 'pseudonyms' }).waitFor();
    assert.match(await page.getByTestId('personal-data-record').innerText(), /by owner:.* — browser test$/);
    await shot('settings-owner');
    await page.getByRole('link', { name: 'By user' }).click();
    const first = page.getByTestId('users-table').locator('tbody tr td').first();
    await first.waitFor();
    assert.match(await first.innerText(), /^u_[0-9a-f]{20}$/, 'users are pseudonyms now');
    await shot('by-user-pseudonyms');
    await page.getByRole('link', { name: 'Directory' }).click();
    const dir = page.getByTestId('directory-table');
    await dir.locator('tbody tr').first().waitFor();
    assert.match(await dir.locator('tbody tr td').first().innerText(), /^u_[0-9a-f]{20}$/);
    assert.equal(await dir.getByText('Ann Archer').count(), 0, 'no names where people are pseudonyms');
  });

  await step('no errors in the browser console', () => {
    // A refused sign-in logs the 401 of its request; nothing else may fail.
    const unexpected = consoleErrors.filter((e) => !/401/.test(e));
    assert.deepEqual(unexpected, []);
  });
});
