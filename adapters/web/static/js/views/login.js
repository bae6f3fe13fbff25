// The signed-out screen: log in, or register and learn that an
// administrator must approve the account. The server validates; this view
// turns its error codes into sentences.

import { api, explain } from '../api.js';
import { $ } from '../dom.js';

let onSignedIn = () => {};

export function initLogin(signedIn) {
  onSignedIn = signedIn;
  $('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    logIn($('login-username').value.trim(), $('login-password').value);
  });
  $('register-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    register($('register-username').value.trim(), $('register-password').value);
  });
}

/** kind: 'error' or 'notice' (styled differently, both announced). */
export function showAuthMessage(text, kind = 'error') {
  const el = $('auth-message');
  el.textContent = text;
  el.dataset.kind = kind;
  el.hidden = !text;
}

async function logIn(username, password) {
  if (!username || !password) {
    showAuthMessage('Enter your username and password.');
    return;
  }
  await busy('login-submit', async () => {
    try {
      const { user } = await api.login(username, password);
      showAuthMessage('');
      $('login-password').value = '';
      onSignedIn(user);
    } catch (err) {
      showAuthMessage(loginError(err));
      holdOff('login-submit', err);
    }
  });
}

async function register(username, password) {
  if (!username || !password) {
    showAuthMessage('Choose a username and a password.');
    return;
  }
  await busy('register-submit', async () => {
    try {
      const { user } = await api.register(username, password);
      $('register-password').value = '';
      if (user.status === 'approved') {
        // The very first account is the administrator, approved at once.
        showAuthMessage('Account created. You are the administrator; logging you in…', 'notice');
        await logIn(username, password);
        return;
      }
      showAuthMessage(
        `Account “${user.username}” created. An administrator must approve it before you can log in.`,
        'notice',
      );
      $('login-username').value = user.username;
    } catch (err) {
      showAuthMessage(registerError(err));
      holdOff('register-submit', err);
    }
  });
}

function loginError(err) {
  switch (err.code) {
    case 'unauthorized':
      return 'Wrong username or password.';
    case 'pending_approval':
      return 'Your account is waiting for an administrator to approve it. Try again later.';
    case 'rejected':
      return 'This account was rejected or deactivated. Ask an administrator.';
    default:
      return explain(err);
  }
}

function registerError(err) {
  if (err.code === 'conflict') return 'That username is taken. Choose another.';
  return explain(err); // bad_request messages name the field at fault
}

async function busy(buttonId, fn) {
  const b = $(buttonId);
  if (b.disabled) return;
  b.disabled = true;
  try {
    await fn();
  } finally {
    if (!b.dataset.holdUntil) b.disabled = false;
  }
}

// After 429, keep the button disabled until Retry-After has passed.
function holdOff(buttonId, err) {
  if (err.code !== 'rate_limited' || !err.retryAfter) return;
  const b = $(buttonId);
  b.dataset.holdUntil = String(Date.now() + err.retryAfter * 1000);
  b.disabled = true;
  setTimeout(() => {
    delete b.dataset.holdUntil;
    b.disabled = false;
  }, err.retryAfter * 1000);
}
