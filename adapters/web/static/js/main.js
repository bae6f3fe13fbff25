/*
 * The browser client of the chat: boots, decides between the log-in screen
 * and the app (GET /api/me), and wires the socket, the store and the views.
 *
 * Stable hooks for browser tests (ids unless noted; keep them when editing):
 *   Auth        #auth-view, #login-username #login-password #login-submit,
 *               #register-username #register-password #register-submit,
 *               #auth-message (errors and notices; data-kind="error"|"notice")
 *   App         #app-view, #logout, #admin-link, #notify-button, #reconnect-banner
 *               (visible while reconnecting) with #reconnect-now,
 *               #sidebar-toggle (drawer below 768px), #toast (status messages)
 *   Rooms       #room-list > li > a[data-room-id][data-kind] (.active, .not-member)
 *               containing .unread-badge (text = the count) when unread;
 *               #new-room-name, #new-room-kind (public|private), #new-room-submit
 *   People      #people-list [data-user-id] (a button: opens the direct room)
 *               containing .presence-dot (.online when online)
 *   Room        #room-title, #join-room, #leave-room, #add-member → #add-member-dialog
 *               with #add-member-user (select) and #add-member-submit
 *   Messages    #message-list (role=log): messages [data-seq][data-client-id]
 *               [data-message-id], class .own, .pending, .failed, .deleted,
 *               .highlight (a search hit); inside: .message-author,
 *               .message-body, .edited, buttons .edit-message, .delete-message
 *               (then #confirm-ok), .retry, .discard; while editing
 *               .edit-input, .edit-save, .edit-cancel. System lines are
 *               .system-line[data-event-seq] (never [data-seq]); date
 *               separators .day-separator. #load-older, #jump-latest.
 *   Composer    #composer (textarea; Enter sends), #send-button, #typing-indicator
 *   Search      #search-input, #search-results [data-room-id][data-seq]
 *   Admin       #admin-page, rows tr[data-user-id][data-status] with buttons
 *               .approve, .reject, .deactivate (then #confirm-ok); #admin-refresh
 *   Dialogs     #confirm-dialog, #confirm-ok, #confirm-cancel (Escape cancels)
 *
 * Module map: api.js (HTTP), socket.js (WebSocket, reconnect), timeline.js
 * (one room's messages, merge rules), store.js (state), sync.js (rooms,
 * subscriptions, server frames), history.js (paging), outbox.js (sending),
 * typing.js (typing indicator, both ways), actions.js (room actions),
 * attention.js (read markers, title, notifications), router.js (paths),
 * views/* (drawing and input).
 */

import { api, setUnauthorizedHandler } from './api.js';
import { ChatSocket } from './socket.js';
import { store } from './store.js';
import { $ } from './dom.js';
import { navigate, startRouter, applyLocation } from './router.js';
import { initSync, startSync, stopSync, onReady, onFrame, onStatus, refreshRooms, refreshUsers } from './sync.js';
import { initOutbox } from './outbox.js';
import { initTyping } from './typing.js';
import { initAttention, updateTitle } from './attention.js';
import { openRoom } from './actions.js';
import { initLogin, showAuthMessage } from './views/login.js';
import { initSidebar } from './views/sidebar.js';
import { initRoomView } from './views/room.js';
import { initMessages } from './views/messages.js';
import { initComposer, resetComposer } from './views/composer.js';
import { initSearch, clearSearch } from './views/search.js';
import { initAdmin } from './views/admin.js';

const socket = new ChatSocket({
  onReady,
  onFrame,
  onStatus,
  onAuthLost: (code) =>
    signOut(code === 4003 ? 'Your account was deactivated.' : 'Your session ended. Please log in again.'),
  // A handshake refused with 401 looks like any failed connection from
  // here; ask the API whether the session is still good.
  onHandshakeFailed: async () => {
    try {
      await api.me();
    } catch (err) {
      if (err.code === 'unauthorized') signOut('Your session ended. Please log in again.');
    }
  },
});

function showScreen(name) {
  $('loading').hidden = true;
  $('auth-view').hidden = name !== 'auth';
  $('app-view').hidden = name !== 'app';
}

function startApp(user) {
  store.me = user;
  showScreen('app');
  applyLocation();
  store.emit('me');
  socket.start();
  startSync();
  // Over HTTP at once, so the sidebar fills even before the socket is up.
  refreshRooms().catch(() => {});
  refreshUsers().catch(() => {});
}

function signOut(message = '') {
  socket.stop();
  stopSync();
  store.reset();
  resetComposer();
  clearSearch();
  for (const topic of ['me', 'rooms', 'users', 'route', 'typing', 'connection']) store.emit(topic);
  updateTitle();
  $('toast').hidden = true;
  showScreen('auth');
  showAuthMessage(message, 'notice');
  $('login-username').focus();
}

function onRoute() {
  if (!store.me) return;
  const { page, roomId } = store.route;
  if (page === 'admin' && !store.isAdmin()) {
    navigate('/', { replace: true });
    return;
  }
  $('chat-page').hidden = page !== 'chat';
  $('admin-page').hidden = page !== 'admin';
  if (page === 'chat' && roomId) openRoom(roomId);
}

function initApp() {
  store.on('route', onRoute);
  store.on('connection', () => {
    $('reconnect-banner').hidden = store.connection !== 'reconnecting';
  });
  $('reconnect-now').addEventListener('click', () => socket.reconnectNow());
  $('logout').addEventListener('click', async () => {
    // Stopped first, so the 4001 close that log-out causes is expected.
    socket.stop();
    try {
      await api.logout();
    } catch {
      // Signed out locally either way.
    }
    signOut('You are logged out.');
  });
  // Come back quickly after the laptop wakes or the network returns.
  window.addEventListener('online', () => socket.reconnectNow());
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') socket.reconnectNow();
  });
}

async function boot() {
  initSync(socket);
  initOutbox(socket);
  initTyping(socket);
  initAttention(socket);
  setUnauthorizedHandler(() => store.me && signOut('Your session ended. Please log in again.'));
  initLogin(startApp);
  initSidebar();
  initRoomView();
  initMessages();
  initComposer();
  initSearch();
  initAdmin();
  initApp();
  startRouter();

  try {
    const { user } = await api.me();
    startApp(user);
  } catch (err) {
    showScreen('auth');
    if (err.code !== 'unauthorized') showAuthMessage(`${err.message}`, 'error');
    $('login-username').focus();
  }
}

boot();
