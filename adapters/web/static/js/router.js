// Paths the client understands. The server answers index.html for any
// path without a file extension, so these survive a reload and can be
// shared: "/" (chat, no room), "/rooms/<id>", "/admin".

import { store } from './store.js';

export function parse(pathname) {
  const room = /^\/rooms\/([^/]+)\/?$/.exec(pathname);
  if (room) return { page: 'chat', roomId: decodeURIComponent(room[1]) };
  if (/^\/admin\/?$/.test(pathname)) return { page: 'admin', roomId: null };
  return { page: 'chat', roomId: null };
}

export const roomPath = (id) => `/rooms/${encodeURIComponent(id)}`;

/** Moves to path (a history entry unless replace) and announces 'route'. */
export function navigate(path, { replace = false } = {}) {
  if (path !== location.pathname) {
    if (replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
  }
  applyLocation();
}

export function applyLocation() {
  store.route = parse(location.pathname);
  store.emit('route');
}

/**
 * Follows in-app links without reloading. Links opt in with data-nav;
 * modified clicks (new tab, new window) are left to the browser.
 */
export function startRouter() {
  window.addEventListener('popstate', applyLocation);
  document.addEventListener('click', (ev) => {
    const a = ev.target.closest?.('a[data-nav]');
    if (!a || ev.defaultPrevented || ev.button !== 0) return;
    if (ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    ev.preventDefault();
    navigate(a.getAttribute('href'));
  });
}
