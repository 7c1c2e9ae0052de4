// Browser tests of the console's single sign-on: Chromium signs in at a real
// OpenID Connect provider the Go test (../console_sso_test.go) runs in
// process, with the authorization code flow and PKCE.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { chromium } from 'playwright-core';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this through go test in tools/e2e`);
  return v;
};
const url = env('CONSOLE_URL');
const shots = env('SCREENSHOT_DIR');
const expected = JSON.parse(env('EXPECT'));

let browser;
let context;
let page;

before(async () => {
  await mkdir(shots, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  // The console's certificate is the test's own CA's.
  context = await browser.newContext({ viewport: { width: 1366, height: 900 }, ignoreHTTPSErrors: true });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
});

after(async () => { await browser?.close(); });

const shot = (name) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
const number = async (testid) => Number((await page.getByTestId(testid).innerText()).replace(/[^0-9-]/g, ''));
const sessionCookie = async () => (await context.cookies(url)).find((c) => c.name === '__Host-tokenmeter-session');

// signIn goes from the console's sign-in view through the provider's login page.
async function signIn(user, password, p = page) {
  await p.getByRole('link', { name: 'Sign in with your organisation’s account' }).click();
  await p.getByLabel('Username').fill(user);
  await p.getByLabel('Password').fill(password);
  await p.getByRole('button', { name: 'Login' }).click();
}

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

test('single sign-on', async (t) => {
  const step = steps(t);
  await step('a person whose organisation has no grant is refused with a clear page', async () => {
    await page.goto(url);
    await signIn('rex@elsewhere.example', 'rex-password');
    await page.getByRole('heading', { name: 'You may not use this console' }).waitFor();
    await page.getByText('organisation "elsewhere" with role "admin" has no access').waitFor();
    assert.equal(await sessionCookie(), undefined, 'no session for a refused person');
    await shot('sso-refused');
  });

  await step('an admin signs in through the provider and sees the organisation\'s figures', async () => {
    await page.getByRole('link', { name: 'Back to the console\'s sign-in' }).click();
    await signIn('ann@demo.example', 'ann-password');
    await page.getByRole('heading', { name: 'Token usage' }).waitFor();
    assert.equal(await page.getByTestId('signed-in-as').innerText(), 'Ann Admin · demo · admin');
    await page.getByLabel('Range').selectOption('RANGE_PRESET_LAST_12_MONTHS');
    await page.getByTestId('tokens-used').waitFor();
    assert.equal(await number('tokens-used'), expected.used);
    assert.equal(await number('tokens-remaining'), expected.remaining);
    await shot('sso-summary');
    assert.equal(await page.getByRole('link', { name: 'Access keys' }).count(), 0, 'an admin manages no access keys');
    await page.getByRole('link', { name: 'Advice' }).click();
    await page.getByTestId('advice-move-table').waitFor();
    assert.ok(await page.getByTestId('advice-move-table').getByRole('button').count() > 0, 'an admin may apply the advice');
  });

  await step('the session lives in an HttpOnly, Secure, SameSite cookie, not in the page\'s storage', async () => {
    const c = await sessionCookie();
    assert.ok(c, 'the session cookie is set');
    assert.equal(c.httpOnly, true);
    assert.equal(c.secure, true);
    assert.equal(c.sameSite, 'Lax');
    const seen = await page.evaluate(() => ({ cookie: document.cookie, local: localStorage.length,
      key: sessionStorage.getItem('tokenmeter.apiKey') }));
    assert.ok(!seen.cookie.includes('tokenmeter-session'), 'scripts cannot read the session cookie');
    assert.equal(seen.local, 0);
    assert.equal(seen.key, null, 'no API key in the tab');
  });

  await step('sign-out ends the session on the server', async () => {
    const old = await sessionCookie();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You are signed out.').waitFor();
    assert.equal(await sessionCookie(), undefined, 'the cookie is cleared');
    // The old cookie put back is worth nothing: the server forgot it.
    await context.addCookies([old]);
    await page.reload();
    await page.getByRole('link', { name: 'Sign in with your organisation’s account' }).waitFor();
    const info = await page.evaluate(async () => (await fetch('/auth/session')).json());
    assert.equal(info.signed_in, false);
  });

  await step('a viewer sees the reports but no change button anywhere', async () => {
    await signIn('vic@demo.example', 'vic-password');
    await page.getByRole('heading', { name: 'Token usage' }).waitFor();
    assert.equal(await page.getByTestId('signed-in-as').innerText(), 'Vic Viewer · demo · viewer');
    await page.getByTestId('tokens-used').waitFor();
    assert.equal(await number('tokens-used'), expected.used);
    assert.equal(await page.getByRole('link', { name: 'Access keys' }).count(), 0, 'the access keys page is the owner\'s');
    await page.getByRole('link', { name: 'Advice' }).click();
    await page.getByTestId('advice-move-table').waitFor();
    assert.ok(await page.getByTestId('advice-move-table').getByRole('row').count() > 1, 'the viewer reads the advice');
    assert.equal(await page.getByTestId('advice-move-table').getByRole('button').count(), 0, 'no Move or Undo');
    await page.getByRole('link', { name: 'Subscriptions', exact: true }).click();
    await page.getByTestId('subs-table').waitFor();
    assert.ok(await page.getByTestId('subs-table').getByRole('row').count() > 1, 'the viewer reads the subscriptions');
    assert.equal(await page.getByTestId('subs-table').getByRole('button').count(), 0, 'no Revoke');
    await page.getByRole('link', { name: 'Planning' }).click();
    await page.getByTestId('plans-table').waitFor();
    assert.equal(await page.getByTestId('plans-table').getByRole('button').count(), 0, 'no Remove');
    assert.equal(await page.getByRole('button', { name: 'Add to the forecast' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Estimate' }).count(), 1, 'the viewer may still estimate');
    await page.getByRole('link', { name: 'Alerts' }).click();
    await page.getByTestId('feed-state').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Acknowledge' }).count(), 0);
    await page.getByRole('link', { name: 'Directory' }).click();
    await page.getByTestId('groups-table').waitFor();
    for (const table of ['directory-table', 'groups-table']) assert.equal(await page.getByTestId(table).getByRole('button').count(), 0, `no change in ${table}`);
    assert.equal(await page.getByRole('button', { name: 'Create group' }).count(), 0);
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByTestId('personal-data-state').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Save' }).count(), 0);
    await shot('sso-viewer-settings');
  });

  await step('the API refuses a viewer\'s change with PermissionDenied', async () => {
    const answers = await page.evaluate(async () => {
      const { csrf } = await (await fetch('/auth/session')).json();
      const post = async (path, body) => {
        const res = await fetch(`/api/tokenmeter.v1.${path}`, { method: 'POST', body: JSON.stringify(body),
          headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf } });
        return { status: res.status, code: (await res.json()).code };
      };
      return [
        await post('LedgerService/SetPersonalData', { show: false, reason: 'viewer tries', event_id: 'viewer-try-1' }),
        await post('LedgerService/RevokeSubscription', { team_id: 'studio', user_id: 'lee', product_codes: ['REVIT'], reason: 'viewer tries' }),
        await post('IngestionService/CreateAccessKey', { role: 'owner' }),
      ];
    });
    for (const a of answers) assert.deepEqual(a, { status: 403, code: 7 }, 'PermissionDenied');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You are signed out.').waitFor();
  });

  await step('an owner grants a person without a file grant a role on the page; revoking it ends his session', async () => {
    await signIn('olga@demo.example', 'olga-password');
    await page.getByRole('link', { name: 'Access keys' }).click();
    await page.getByTestId('role-grants').waitFor();
    // Each select's label holds its options' text ("Role claim value"): the fields by id.
    await page.locator('#grant-claim').selectOption('GRANT_CLAIM_EMAIL');
    await page.locator('#grant-value').fill('Gus@demo.example');
    await page.locator('#grant-role').selectOption('team-admin');
    assert.ok(await page.locator('#grant-team').isVisible(), 'a team-admin grant asks for its team');
    await page.locator('#grant-role').selectOption('viewer');
    assert.ok(!await page.locator('#grant-team').isVisible(), 'a viewer grant asks for no team');
    assert.ok(!await page.locator('#access-team').isVisible(), 'nor does a viewer key');
    await page.getByRole('button', { name: 'Create grant' }).click();
    const row = page.getByTestId('role-grants').getByRole('row').filter({ hasText: 'gus@demo.example' });
    await row.waitFor();
    assert.match(await row.innerText(), /by sso:olga@demo\.example/, 'the grant names the owner who made it');
    await shot('sso-role-grants');

    const other = await browser.newContext({ viewport: { width: 1366, height: 900 }, ignoreHTTPSErrors: true });
    try {
      const gus = await other.newPage();
      gus.setDefaultTimeout(15_000);
      await gus.goto(url);
      await signIn('gus@demo.example', 'gus-password', gus);
      await gus.getByRole('heading', { name: 'Token usage' }).waitFor();
      assert.equal(await gus.getByTestId('signed-in-as').innerText(), 'Gus Guest · demo · viewer');
      const signedIn = () => gus.evaluate(async () => (await (await fetch('/auth/session')).json()).signed_in);
      assert.equal(await signedIn(), true);

      await row.getByRole('button', { name: /^Revoke grant/ }).click();
      await row.waitFor({ state: 'detached' });
      const deadline = Date.now() + 1000;
      while (await signedIn()) {
        assert.ok(Date.now() < deadline, 'the revoked grant ends his open session within a second');
        await gus.waitForTimeout(50);
      }
      await gus.getByRole('link', { name: 'By product' }).click();
      await gus.getByText('Your session has ended: sign in again.').waitFor();
    } finally {
      await other.close();
    }
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You are signed out.').waitFor();
  });

  await step('a team admin reads its team\'s pages without a change button, and is refused another team', async () => {
    await signIn('tess@demo.example', 'tess-password');
    await page.getByRole('heading', { name: 'Token usage' }).waitFor();
    assert.equal(await page.getByTestId('signed-in-as').innerText(), 'Tess Team · demo · team-admin');
    assert.deepEqual(await page.getByLabel('Team').locator('option').allInnerTexts(), ['design'], 'its one team');
    await page.getByRole('navigation').getByRole('link', { name: 'Directory', exact: true }).click();
    await page.getByTestId('groups-table').waitFor();
    assert.equal(await page.getByTestId('directory-table').getByRole('button').count(), 0, 'erasing is the organisation admins\'');
    await page.getByTestId('groups-table').getByRole('button', { name: 'Rename drafting' }).waitFor(); // its team's groups it changes
    await page.getByRole('button', { name: 'Create group' }).waitFor();
    const links = await page.getByRole('navigation').getByRole('link').allInnerTexts();
    for (const hidden of ['Access keys', 'Export', 'Settings']) assert.ok(!links.includes(hidden), `no ${hidden} page`);
    for (const title of links.map((l) => l.replace(/\d+$/, '').trim())) {
      await page.getByRole('navigation').getByRole('link', { name: title, exact: true }).click();
      await page.getByRole('heading', { name: title, level: 1 }).waitFor();
      await page.locator('main .loading').waitFor({ state: 'detached' });
      assert.equal(await page.locator('main .notice.error').count(), 0, `${title} loads for a team admin`);
    }
    for (const [link, table] of [['Advice', 'advice-move-table'], ['Subscriptions', 'subs-table']]) {
      await page.getByRole('navigation').getByRole('link', { name: link, exact: true }).click();
      await page.getByTestId(table).waitFor();
      assert.equal(await page.getByTestId(table).getByRole('button').count(), 0, `no change on ${link}`);
    }
    const answers = await page.evaluate(async () => {
      const { csrf } = await (await fetch('/auth/session')).json();
      const post = async (path, body) => (await fetch(`/api/tokenmeter.v1.${path}`, { method: 'POST', body: JSON.stringify(body),
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf } })).status;
      return {
        own: await post('LedgerService/GetBalance', { team_id: 'design' }),
        other: await post('LedgerService/GetBalance', { team_id: 'civil' }),
        grant: await post('LedgerService/GrantSubscription', { team_id: 'design', user_id: 'x', product_codes: ['REVIT'], event_id: 'tess-try' }),
      };
    });
    assert.deepEqual(answers, { own: 200, other: 403, grant: 403 });
    await shot('sso-team-admin');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You are signed out.').waitFor();
  });

  await step('an owner creates an access key, sees its secret once, and revokes it', async () => {
    await signIn('olga@demo.example', 'olga-password');
    await page.getByRole('heading', { name: 'Token usage' }).waitFor();
    await page.getByRole('link', { name: 'Access keys' }).click();
    await page.getByTestId('access-keys').waitFor();
    await page.getByRole('group', { name: 'New access key' }).getByLabel('Role').selectOption('viewer');
    await page.getByLabel('Label (whose key').fill('auditor');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = await page.getByTestId('new-key-secret').innerText();
    assert.match(secret, /^tma_/);
    const row = page.getByTestId('access-keys').getByRole('row').filter({ hasText: 'auditor' });
    await row.waitFor();
    assert.match(await row.innerText(), /by sso:olga@demo\.example/, 'the key\'s creator is the person, not a shared key');
    const whoami = (key) => page.evaluate(async (k) => (await fetch('/api/tokenmeter.v1.ReportingService/WhoAmI', {
      method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${k}` } })).status, key);
    assert.equal(await whoami(secret), 200, 'the new key works at once');
    await shot('sso-access-keys');
    await row.getByRole('button', { name: /^Revoke key/ }).click();
    await row.waitFor({ state: 'detached' });
    const deadline = Date.now() + 1000;
    while (await whoami(secret) !== 401) {
      assert.ok(Date.now() < deadline, 'the revoked key is refused within a second');
      await page.waitForTimeout(50);
    }
    await page.reload();
    await page.getByTestId('access-keys').waitFor();
    assert.equal(await page.getByText(secret).count(), 0, 'the secret is not shown again');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You are signed out.').waitFor();
  });

  await step('a session past its lifetime sends the browser back to sign-in', async () => {
    await signIn('ann@demo.example', 'ann-password');
    const signedIn = Date.now();
    await page.getByRole('heading', { name: 'Token usage' }).waitFor();
    await page.waitForTimeout(Math.max(0, signedIn + expected.lifetimeMs + 1000 - Date.now()));
    await page.getByRole('link', { name: 'By product' }).click();
    await page.getByText('Your session has ended: sign in again.').waitFor();
    await page.getByRole('link', { name: 'Sign in with your organisation’s account' }).waitFor();
    await shot('sso-expired');
  });
});
