// Small DOM helpers the views share. h() is the only way views build
// elements: text goes in as text nodes and attributes through setAttribute,
// never through innerHTML, so user data cannot become markup.

export const $ = (id) => document.getElementById(id);

/**
 * h('button', {class: 'x', onclick: fn, 'aria-label': 'Close'}, 'text', child)
 * Props: class, text, dataset, on<event>, and plain attributes (true → "",
 * false/null → absent). Children: nodes or strings (as text).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const keyed = new WeakMap(); // parent → Map(key → {value, stamp, el})

/**
 * Makes parent's children the rendered entries, in order. An entry whose
 * value (compared by identity) and stamp are unchanged keeps its element,
 * so redrawing a long list touches only what changed, and focus, selection
 * and scroll position inside untouched elements survive.
 */
export function reconcile(parent, entries, render) {
  const old = keyed.get(parent) ?? new Map();
  const next = new Map();
  let cursor = parent.firstChild;
  for (const { key, value, stamp } of entries) {
    let rec = old.get(key);
    if (!rec || rec.value !== value || rec.stamp !== stamp) {
      rec = { value, stamp, el: render(value) };
    }
    next.set(key, rec);
    if (rec.el === cursor) cursor = cursor.nextSibling;
    else parent.insertBefore(rec.el, cursor);
  }
  for (const [key, rec] of old) if (next.get(key) !== rec) rec.el.remove();
  keyed.set(parent, next);
}

/** Coalesces redraws: many store changes in a burst draw once. */
export function batched(fn) {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    // rAF does not run in hidden tabs; a timer keeps hidden ones current
    // (the title and notifications depend on it).
    const run = () => {
      queued = false;
      fn();
    };
    if (document.hidden) setTimeout(run, 100);
    else requestAnimationFrame(run);
  };
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export const formatTime = (iso) => timeFmt.format(new Date(iso));
export const formatFull = (iso) => fullFmt.format(new Date(iso));

/** Local calendar day, for date separators. */
export function dayKey(iso) {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

export function dayLabel(iso) {
  const key = dayKey(iso);
  const now = new Date();
  if (key === dayKey(now.toISOString())) return 'Today';
  if (key === dayKey(new Date(now.getTime() - 86_400_000).toISOString())) return 'Yesterday';
  return dayFmt.format(new Date(iso));
}

let toastTimer = null;

/** Shows a short status line (announced politely to screen readers). */
export function toast(text) {
  const el = $('toast');
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    el.hidden = true;
  }, 6000);
}

/** A UUID for client_id; randomUUID needs a secure context, this does not. */
export function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Asks a yes/no question in #confirm-dialog; resolves true for OK. The
 * dialog's form uses method="dialog", so Escape and Cancel both resolve
 * false, and focus returns to where it was.
 */
export function confirmAction(text, okLabel = 'OK') {
  const dialog = $('confirm-dialog');
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = okLabel;
  const opener = document.activeElement;
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => {
        resolve(dialog.returnValue === 'ok');
        opener?.focus?.();
      },
      { once: true },
    );
    dialog.returnValue = '';
    dialog.showModal();
    $('confirm-cancel').focus();
  });
}
