// The HTTP half of PROTOCOL.md. Requests ride on the HttpOnly session
// cookie (credentials: 'same-origin'); the token that login also returns is
// deliberately not kept, so script on the page never holds a credential.
// Browsers add the Origin header to these POSTs, which the server's CSRF
// check requires.

/** An API failure, carrying PROTOCOL.md's error code. */
export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter; // seconds, from Retry-After on 429
  }
}

let onUnauthorized = () => {};

/** Registers what to do when the session turns out to be gone. */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

async function request(method, path, body, { quiet401 = false } = {}) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the server. Check your connection and try again.');
  }
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (res.ok) return data;

  const err = data?.error ?? {};
  const retryAfter = Number.parseInt(res.headers.get('Retry-After') ?? '', 10);
  const e = new ApiError(
    res.status,
    err.code ?? (res.status >= 500 ? 'internal' : 'bad_request'),
    err.message || res.statusText || `HTTP ${res.status}`,
    Number.isFinite(retryAfter) ? retryAfter : null,
  );
  // Log-in answers 401 for a wrong password; that is not a lost session.
  if (e.code === 'unauthorized' && !quiet401) onUnauthorized(e);
  throw e;
}

const get = (path, opts) => request('GET', path, undefined, opts);
const post = (path, body = {}, opts) => request('POST', path, body, opts);
const seg = encodeURIComponent;

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const api = {
  register: (username, password) => post('/api/register', { username, password }, { quiet401: true }),
  login: (username, password) => post('/api/login', { username, password }, { quiet401: true }),
  logout: () => post('/api/logout', undefined, { quiet401: true }),
  me: () => get('/api/me', { quiet401: true }),

  users: () => get('/api/users'),

  rooms: () => get('/api/rooms'),
  room: (id) => get(`/api/rooms/${seg(id)}`),
  createRoom: (name, kind) => post('/api/rooms', { name, kind }),
  join: (id) => post(`/api/rooms/${seg(id)}/join`),
  leave: (id) => post(`/api/rooms/${seg(id)}/leave`),
  addMember: (id, userId) => post(`/api/rooms/${seg(id)}/members`, { user: userId }),
  members: (id) => get(`/api/rooms/${seg(id)}/members`),
  direct: (userId) => post(`/api/direct/${seg(userId)}`),

  /** page: {before} or {after} (not both) and {limit}; oldest first. */
  messages: (id, page = {}) => get(`/api/rooms/${seg(id)}/messages${query(page)}`),
  postMessage: (id, clientId, body) => post(`/api/rooms/${seg(id)}/messages`, { client_id: clientId, body }),
  search: (q, opts = {}) => get(`/api/search${query({ q, ...opts })}`),

  adminUsers: (status) => get(`/api/admin/users${query({ status })}`),
  approve: (id) => post(`/api/admin/users/${seg(id)}/approve`),
  reject: (id) => post(`/api/admin/users/${seg(id)}/reject`),
  deactivate: (id) => post(`/api/admin/users/${seg(id)}/deactivate`),
};

/** A sentence for a person, from any error the API or the socket gave. */
export function explain(err) {
  switch (err?.code) {
    case 'rate_limited':
      return err.retryAfter
        ? `Too many requests. Try again in ${err.retryAfter} s.`
        : 'Too many requests. Wait a moment and try again.';
    case 'forbidden':
      return err.message || 'You are not allowed to do that.';
    case 'not_found':
      return err.message || 'That no longer exists.';
    case 'too_large':
      return 'That is too long to send.';
    case 'internal':
      return 'Something went wrong on the server. Try again.';
    case 'disconnected':
      return 'Not sent: the connection dropped.';
    default:
      return err?.message || 'Something went wrong.';
  }
}
