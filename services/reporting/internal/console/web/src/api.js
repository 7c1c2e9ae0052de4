// The console's only way to the data: the services' gRPC contract through
// the reporting service's HTTP gateway, as the signed-in person: an API key
// typed in (kept in this tab only), or a single sign-on session, whose
// HttpOnly cookie the page never sees and whose CSRF token it holds in memory.

const KEY = 'tokenmeter.apiKey';
const CSRF = 'X-CSRF-Token';

export const session = {
  get key() { return sessionStorage.getItem(KEY) || ''; },
  set key(v) { v ? sessionStorage.setItem(KEY, v) : sessionStorage.removeItem(KEY); },
  // sso is {name, org, role, csrf, expires} while signed in through the provider.
  sso: null,
  get signedIn() { return Boolean(this.sso || this.key); },
};

// loadSession asks the console whether a sign-on session is open; its
// answer's sso says whether sign-on is offered at all.
export async function loadSession() {
  const res = await fetch('/auth/session', { cache: 'no-store' });
  const info = res.ok ? await res.json() : { sso: false, signed_in: false };
  session.sso = info.signed_in ? info : null;
  return info;
}

// signOut ends the server's session (or forgets the key).
export async function signOut() {
  if (session.sso) {
    await fetch('/auth/logout', { method: 'POST', headers: { [CSRF]: session.sso.csrf } }).catch(() => {});
  }
  session.sso = null;
  session.key = '';
}

export class ApiError extends Error {
  constructor(httpStatus, message) {
    super(message);
    this.httpStatus = httpStatus;
  }
  get signedOut() { return this.httpStatus === 401; }
  get notConfigured() { return this.httpStatus === 404 || this.httpStatus === 501; }
}

function headers() {
  if (session.sso) return { 'Content-Type': 'application/json', [CSRF]: session.sso.csrf };
  return { 'Content-Type': 'application/json', Authorization: `Bearer ${session.key}` };
}

async function failure(res) {
  const text = await res.text();
  let message = text || res.statusText;
  try { message = JSON.parse(text).message || message; } catch { /* not JSON: keep the text */ }
  return new ApiError(res.status, message);
}

// call runs one unary RPC: call('LedgerService', 'GetBalance', {team_id: 'design'}).
export async function call(service, method, body = {}, signal) {
  const res = await fetch(`/api/tokenmeter.v1.${service}/${method}`, {
    method: 'POST', headers: headers(), body: JSON.stringify(body), signal,
  });
  if (!res.ok) throw await failure(res);
  return res.json();
}

// stream runs a server-streaming RPC and calls onMessage for each message
// as it arrives (the gateway sends one JSON object per line); it resolves
// when the stream ends and rejects on an error.
export async function stream(service, method, body, onMessage, signal) {
  const res = await fetch(`/api/tokenmeter.v1.${service}/${method}`, {
    method: 'POST', headers: headers(), body: JSON.stringify(body), signal,
  });
  if (!res.ok) throw await failure(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffered += value;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (!line) continue;
      const msg = JSON.parse(line);
      if (msg.error) throw new ApiError(500, msg.error.message || 'stream failed');
      onMessage(msg.result);
    }
  }
}

// download fetches an export and hands it to the browser as a file,
// reporting the bytes received so far.
export async function download(params, onProgress, signal) {
  const res = await fetch(`/api/export?${params}`, { headers: headers(), signal });
  if (!res.ok) throw await failure(res);
  const name = /filename="?([^";]+)"?/.exec(res.headers.get('Content-Disposition') || '')?.[1] || 'export';
  const reader = res.body.getReader();
  const parts = [];
  let received = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parts.push(value);
    received += value.length;
    onProgress(received);
  }
  const blob = new Blob(parts, { type: res.headers.get('Content-Type') || 'application/octet-stream' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
  return { name, bytes: received };
}
