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
async function signIn(user, password) {
  await page.getByRole('link', { name: 'Sign in with your organisation’s account' }).click();
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Login' }).click();
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
