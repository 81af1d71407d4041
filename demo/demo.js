/*
 * The resilient-socket demo: a chat room and a shared counter on one ReconnectingWebSocket,
 * loaded from the UMD bundle (global `ResilientSocket`). No framework, no build step.
 *
 * URL parameters (all optional): `room` (default "lobby"), `name`, and backoff knobs for
 * experiments and tests: `initialDelay` (ms, default 500), `maxDelay` (ms, default 10000),
 * `jitter` ("full", "equal" or "none"; default "full"), `heartbeatInterval` and `heartbeatTimeout`
 * (ms, default: the server's).
 *
 * For tests and the curious, `window.demo` exposes the socket and what this page received.
 */
(function () {
  'use strict';

  var RS = window.ResilientSocket;
  var $ = function (id) { return document.querySelector('[data-testid="' + id + '"]'); };

  if (!RS || typeof RS.ReconnectingWebSocket !== 'function') {
    $('status-pill-text').textContent = 'bundle missing';
    $('status-pill').dataset.status = 'closed';
    $('hint').textContent = 'Could not load /resilient-socket.umd.min.js: run `npm run build`, then `npm start`.';
    return;
  }

  var params = new URLSearchParams(location.search);
  var room = /^[A-Za-z0-9_.:@/-]{1,128}$/.test(params.get('room') || '') ? params.get('room') : 'lobby';
  var tab = tabIdentity();
  var scope = 'room:' + room;

  // ---------------------------------------------------------------- "Go offline" (client-side)
  // The socket takes its WebSocket constructor as an option. While "offline", this one refuses to
  // construct (the client counts a failed attempt and backs off) and the live socket is closed:
  // nothing is asked of the server, and sends wait in the offline queue.
  var network = { offline: false, blocked: false, sockets: new Set() };
  var NativeWebSocket = window.WebSocket;
  class DemoWebSocket extends NativeWebSocket {
    constructor(url, protocols) {
      if (network.offline || network.blocked) throw new Error('the demo is offline ("Go offline")');
      super(url, protocols);
      var self = this;
      network.sockets.add(self);
      self.addEventListener('close', function () { network.sockets.delete(self); });
    }
  }

  var storage = new RS.IndexedDBStorage();
  var wsUrl = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/';
  var options = {
    mode: 'protocol',
    WebSocket: DemoWebSocket,
    storage: storage,
    // No sessionKey: the default (from the URL) gives each open tab a slot of its own (Web Locks),
    // and a reloaded tab finds its session again.
    initialReconnectDelay: numberParam('initialDelay', 500),
    maxReconnectDelay: numberParam('maxDelay', 10000),
    jitter: ['full', 'equal', 'none'].indexOf(params.get('jitter')) >= 0 ? params.get('jitter') : 'full',
  };
  // Heartbeats default to what the server announces; a test may shorten them to notice a dead
  // network sooner.
  if (params.has('heartbeatInterval')) options.heartbeatInterval = numberParam('heartbeatInterval', 10000);
  if (params.has('heartbeatTimeout')) options.heartbeatTimeout = numberParam('heartbeatTimeout', 5000);
  var socket = new RS.ReconnectingWebSocket(wsUrl, options);

  var received = [];      // every `message` event of this page instance, in delivery order
  var sent = [];          // ids this page instance sent, in order
  var recoveries = [];    // every `recovered` event
  var events = [];        // every event shown in the log
  var stateChanges = [];  // every shared-state change
  var restored = [];      // ids of messages an earlier instance of this tab left queued
  var retryAt = null;     // when the scheduled retry fires (ms since epoch)
  var lastRecovery = null;
  var counter = { value: null, version: null, confirmed: null };

  window.demo = {
    socket: socket,
    storage: storage,
    room: room,
    scope: scope,
    /** The storage namespace the socket claimed (set once its stored session loaded). */
    get sessionKey() { return socket.sessionKey; },
    received: received,
    sent: sent,
    recoveries: recoveries,
    events: events,
    stateChanges: stateChanges,
    restored: restored,
    /** True once the room join is acknowledged. */
    joined: false,
    counter: counter,
    send: say,
    drop: drop,
    setOffline: setOffline,
    /** Refuse new connections without touching the live one (tests: hold a cut page down). */
    blockConnections: function (blocked) { network.blocked = Boolean(blocked); },
    get offline() { return network.offline; },
  };

  var list = $('messages');
  $('room').textContent = room;
  $('name').textContent = tab.name;
  $('input').placeholder = 'Message #' + room;
  renderHistory();

  // ---------------------------------------------------------------- socket events

  socket.on('status', function (change) {
    if (change.to !== 'reconnecting' && change.to !== 'connecting') retryAt = null;
    log(change.from + ' → ' + change.to + (change.reason ? ' (' + change.reason + ')' : ''), change.to === 'open' ? 'good' : '');
    render();
  });

  socket.on('retry', function (info) {
    retryAt = Date.now() + info.delay;
    log('retry #' + info.attempt + ' in ' + formatMs(info.delay));
    render();
  });

  socket.on('open', function (info) {
    log('open: session ' + short(info.sessionId) + (info.recovered ? ' resumed' : ' (' + (info.reason || 'new') + ')'), 'good');
  });

  socket.on('recovered', function (info) {
    lastRecovery = info;
    recoveries.push({ recovered: info.recovered, reason: info.reason, replayed: info.replayed, gaps: info.gaps.length, sessionId: info.sessionId });
    if (info.recovered) {
      log('recovered: ' + info.replayed + ' missed message' + (info.replayed === 1 ? '' : 's') + ' replayed', 'good');
      if (info.replayed > 0) systemLine(info.replayed + ' missed message' + (info.replayed === 1 ? '' : 's') + ' recovered', 'good');
    } else {
      log('not recovered: ' + (info.reason || 'new session'), info.reason && info.reason !== 'new' ? 'bad' : '');
    }
    render();
  });

  socket.on('message', function (m) {
    var data = m.data && typeof m.data === 'object' ? m.data : { text: String(m.data) };
    var entry = {
      id: m.id,
      text: typeof data.text === 'string' ? data.text : JSON.stringify(m.data),
      name: typeof data.name === 'string' ? data.name : 'someone',
      room: m.room,
      stream: m.stream,
      offset: m.offset,
      self: m.self,
      replayed: m.replayed,
      ts: m.ts,
    };
    received.push(entry);
    remember(entry);
    showMessage(entry);
  });

  socket.on('gap', function (gap) {
    var lost = gap.to !== undefined ? gap.to - gap.from + 1 : null;
    log('gap in ' + gap.stream + ': ' + gap.reason, 'bad');
    systemLine((lost !== null ? lost + ' message' + (lost === 1 ? '' : 's') : 'messages') + ' could not be recovered (' + gap.reason + ')', 'bad');
  });

  socket.on('restored', function (ops) {
    var messages = ops.filter(function (op) { return op.kind === 'message'; });
    log(ops.length + ' queued operation' + (ops.length === 1 ? '' : 's') + ' restored from IndexedDB');
    messages.forEach(function (op) {
      restored.push(op.id);
      var data = op.data && typeof op.data === 'object' ? op.data : {};
      showPending(op.id, typeof data.text === 'string' ? data.text : JSON.stringify(op.data));
    });
  });

  socket.on('sent', function (info) {
    if (info.kind !== 'message' || !info.id) return;
    var el = pendingElement(info.id);
    if (!el) return;
    if (info.error) {
      el.classList.add('failed');
      setTag(el, 'failed', 'not sent: ' + info.error.code);
      log('message refused: ' + info.error.code, 'bad');
    } else if (el.classList.contains('pending')) {
      el.classList.remove('pending');
      setTag(el, '', 'sent');
    }
  });

  socket.on('queuefull', function (info) { log('queue full (' + info.length + ' queued): ' + info.error.code, 'bad'); });
  socket.on('storagefailed', function (err) { log('storage failed, continuing in memory: ' + err.message, 'bad'); });
  socket.on('error', function (err) {
    // Failed attempts while offline are expected; the status line already says so.
    if ((network.offline || network.blocked) && err.code === 'ERR_CONNECT_FAILED') return;
    log(err.code + ': ' + err.message, 'bad');
    if (err.code === 'ERR_SESSION_TAKEN_OVER') {
      // Another client resumed this session (each tab has a slot of its own, so this is rare: a
      // browser without Web Locks, say). Let this tab start a session of its own on its next load.
      try {
        sessionStorage.removeItem('rs-demo-tab');
      } catch (e) {
        // Nothing to forget.
      }
      systemLine('Another tab took over this session. Reload this tab to start a new one.', 'bad');
    }
  });

  // Shared state, when the client supports it (`dispatch` and the `state` event).
  var stateSupported = typeof socket.dispatch === 'function';
  if (stateSupported) {
    socket.on('state', function (change) {
      if (change.scope !== scope) return;
      $('state-card').classList.remove('unavailable');
      $('state-unavailable').hidden = true;
      $('increment').disabled = false;
      $('decrement').disabled = false;
      counter.value = change.value;
      counter.version = change.version;
      counter.confirmed = change.confirmed;
      stateChanges.push({ value: change.value, version: change.version, source: change.source, confirmed: change.confirmed });
      if (change.source !== 'live') log('counter ' + JSON.stringify(change.value) + ' at v' + change.version + ' (' + change.source + (change.confirmed ? '' : ', unconfirmed') + ')');
      renderCounter();
    });
  } else {
    stateUnavailable('This build of the client has no shared state.');
  }

  function stateUnavailable(why) {
    $('state-card').classList.add('unavailable');
    $('state-unavailable').textContent = why;
    $('state-unavailable').hidden = false;
    $('increment').disabled = true;
    $('decrement').disabled = true;
  }

  socket.join(room).then(
    function () {
      window.demo.joined = true;
      log('joined #' + room);
      // The room's state follows the join at once on a server that keeps state.
      if (stateSupported) {
        setTimeout(function () {
          if (counter.version === null) stateUnavailable('No shared state from this server yet: it may have been started without a state reducer (see docs/demo.md).');
        }, 3000);
      }
    },
    function (err) { log('join failed: ' + err.code, 'bad'); },
  );

  // ---------------------------------------------------------------- controls

  $('composer').addEventListener('submit', function (event) {
    event.preventDefault();
    var input = $('input');
    var text = input.value.trim();
    if (!text) return;
    say(text);
    input.value = '';
    input.focus();
  });

  $('drop').addEventListener('click', function () { void drop(); });
  $('offline').addEventListener('click', function () { setOffline(!network.offline); });
  $('increment').addEventListener('click', function () { void bump(1); });
  $('decrement').addEventListener('click', function () { void bump(-1); });

  window.addEventListener('online', function () { log('browser: online'); render(); });
  window.addEventListener('offline', function () { log('browser: offline', 'bad'); render(); });

  /** Send a chat message; returns its id at once (the message waits in the queue if needed). */
  function say(text) {
    var id = pageKey + '-' + nextMessageNumber();
    sent.push(id);
    showPending(id, text);
    socket.send({ text: text, name: tab.name }, { room: room, id: id }).catch(function () {
      // Reported by the `sent` / `error` events.
    });
    return id;
  }

  /** Ask the server to cut this connection (the fault-injection endpoint). */
  function drop() {
    var id = socket.sessionId;
    if (!id || socket.status !== 'open') {
      log('nothing to drop: not connected', 'bad');
      return Promise.resolve(false);
    }
    return fetch('/_faults/disconnect?session=' + encodeURIComponent(id), { method: 'POST' }).then(
      function (res) {
        if (res.status === 204) {
          log('asked the server to cut the connection');
          return true;
        }
        return res.text().then(function (body) {
          var held = /no attached session/.test(body);
          log(res.status === 404 && !held ? 'the server has no fault endpoint (start it with --faults)' : 'drop failed: HTTP ' + res.status + (held ? ' (session not attached)' : ''), 'bad');
          return false;
        });
      },
      function (err) {
        log('drop failed: ' + err.message, 'bad');
        return false;
      },
    );
  }

  /** Client-side offline switch: stop connecting and queue sends, or connect again at once. */
  function setOffline(offline) {
    network.offline = Boolean(offline);
    var button = $('offline');
    button.setAttribute('aria-pressed', String(network.offline));
    button.textContent = network.offline ? 'Go online' : 'Go offline';
    if (network.offline) {
      log('going offline (client-side)');
      network.sockets.forEach(function (s) { s.close(4000, 'demo offline'); });
    } else {
      log('going online');
      socket.reconnect();
    }
    render();
  }

  var pendingSteps = [];

  function bump(by) {
    if (!stateSupported) return Promise.resolve();
    pendingSteps.push(by);
    renderCounter();
    var done = function () {
      pendingSteps.splice(pendingSteps.indexOf(by), 1);
      renderCounter();
    };
    return socket.dispatch(scope, { add: by }).then(done, function (err) {
      done();
      log('counter update refused: ' + (err && err.code), 'bad');
      if (err && err.code === 'ERR_NO_STATE') stateUnavailable('This server keeps no shared state (it was started without a state reducer).');
    });
  }

  // ---------------------------------------------------------------- rendering

  var pill = $('status-pill');

  function displayStatus() {
    if (network.offline && socket.status !== 'open') return 'offline';
    return socket.status;
  }

  function render() {
    var status = displayStatus();
    var stats = socket.stats;
    pill.dataset.status = status;
    var pillText = status;
    if ((status === 'reconnecting' || status === 'connecting') && socket.attempt > 0) pillText += ' · attempt ' + socket.attempt;
    if (status === 'offline' && stats.queueLength > 0) pillText += ' · ' + stats.queueLength + ' queued';
    setText('status-pill-text', pillText);
    setText('status', status);
    var sid = socket.sessionId;
    setText('session-id', sid || '—');
    $('session-id').title = sid || '';
    setText('attempt', String(socket.attempt));
    setText('next-retry', nextRetryText());
    setText('queue', stats.queueLength + (stats.queueLength === 1 ? ' message' : ' messages'));
    setText('reconnects', String(stats.reconnects));
    setText('rtt', stats.rtt === null || stats.rtt === undefined ? '—' : Math.round(stats.rtt) + ' ms');
    var rec = $('recovered');
    if (!lastRecovery) {
      setText('recovered', '—');
      rec.dataset.recovered = '';
    } else if (lastRecovery.recovered) {
      setText('recovered', 'recovered' + (lastRecovery.replayed ? ' · ' + lastRecovery.replayed + ' replayed' : ''));
      rec.dataset.recovered = 'true';
    } else {
      setText('recovered', lastRecovery.reason === 'new' || !lastRecovery.reason ? 'new session' : 'not recovered: ' + lastRecovery.reason);
      rec.dataset.recovered = lastRecovery.reason === 'new' || !lastRecovery.reason ? '' : 'false';
    }
    var net = $('network');
    net.dataset.online = String(navigator.onLine && !network.offline);
    setText('network', network.offline ? 'offline (switch)' : navigator.onLine ? 'network online' : 'browser offline');
  }

  function nextRetryText() {
    var delay = socket.nextRetryDelay;
    if (delay === undefined || delay === null || retryAt === null) {
      return socket.status === 'open' ? '—' : socket.status === 'closed' ? 'stopped' : 'now';
    }
    var left = Math.max(0, retryAt - Date.now());
    return formatMs(left) + ' of ' + formatMs(delay);
  }

  function renderCounter() {
    setText('counter', counter.value === null || counter.value === undefined ? '–' : String(counter.value));
    setText('state-version', counter.version === null ? '—' : String(counter.version));
    var badge = $('state-confirmed');
    badge.dataset.confirmed = counter.confirmed === null ? '' : String(counter.confirmed);
    setText('state-confirmed', counter.confirmed === null ? '—' : counter.confirmed ? 'confirmed' : 'unconfirmed');
    var sum = pendingSteps.reduce(function (a, b) { return a + b; }, 0);
    setText('state-pending', pendingSteps.length === 0 ? '' : (sum >= 0 ? '+' : '') + sum + ' queued');
  }

  // The panel shows live numbers (queue length, countdown): refresh a few times a second.
  setInterval(render, 200);
  render();

  function clearEmpty() {
    var empty = $('empty');
    if (empty) empty.remove();
  }

  function showMessage(entry) {
    clearEmpty();
    var el = entry.self && entry.id ? pendingElement(entry.id) : null;
    if (el) {
      // Our own message came back from the room: it is delivered, and takes its place in the
      // room's order.
      el.classList.remove('pending', 'failed');
      el.dataset.offset = String(entry.offset);
      setTag(el, entry.replayed ? 'replayed' : '', entry.replayed ? 'replayed' : '');
    } else {
      el = messageElement(entry, false);
    }
    // Delivered messages in stream order; what is still queued stays below them.
    var firstPending = list.querySelector('.msg.pending');
    if (firstPending !== el) list.insertBefore(el, firstPending);
    scrollDown();
  }

  function showPending(id, text) {
    clearEmpty();
    if (pendingElement(id)) return;
    var el = messageElement({ id: id, text: text, name: tab.name, self: true, replayed: false }, false);
    el.classList.add('pending');
    setTag(el, 'queued', 'queued');
    list.appendChild(el);
    scrollDown();
  }

  function messageElement(entry, earlier) {
    var li = document.createElement('li');
    li.className = 'msg' + (entry.self ? ' mine' : '') + (earlier ? ' earlier' : '');
    li.dataset.testid = earlier ? 'earlier-message' : 'message';
    if (entry.id) li.dataset.id = entry.id;
    if (entry.offset !== undefined) li.dataset.offset = String(entry.offset);
    var meta = document.createElement('div');
    meta.className = 'meta';
    var who = document.createElement('span');
    who.className = 'who';
    who.textContent = entry.self ? 'you' : entry.name;
    who.style.color = entry.self ? '' : colorFor(entry.name);
    var time = document.createElement('time');
    time.textContent = clock(entry.ts ? new Date(entry.ts) : new Date());
    var tag = document.createElement('span');
    tag.className = 'tag';
    tag.hidden = true;
    meta.append(who, time, tag);
    var bubble = document.createElement('div');
    bubble.className = 'bubble';
    bubble.textContent = entry.text;
    li.append(meta, bubble);
    if (entry.replayed) setTag(li, 'replayed', 'replayed');
    return li;
  }

  function setTag(el, kind, text) {
    var tag = el.querySelector('.tag');
    tag.className = 'tag' + (kind && kind !== 'replayed' ? ' ' + kind : '');
    tag.textContent = text;
    tag.hidden = !text;
  }

  function pendingElement(id) {
    return list.querySelector('li.msg:not(.earlier)[data-id="' + CSS.escape(id) + '"]');
  }

  function systemLine(text, kind) {
    clearEmpty();
    var li = document.createElement('li');
    li.className = 'system' + (kind ? ' ' + kind : '');
    li.textContent = text;
    list.insertBefore(li, list.querySelector('.msg.pending'));
    scrollDown();
  }

  function scrollDown() {
    list.scrollTop = list.scrollHeight;
  }

  function log(text, kind) {
    var at = new Date();
    events.push({ at: at.getTime(), text: text });
    var ol = $('events');
    var li = document.createElement('li');
    var time = document.createElement('time');
    time.textContent = clock(at);
    var span = document.createElement('span');
    span.textContent = text;
    if (kind) span.className = kind;
    li.append(time, span);
    ol.prepend(li);
    while (ol.children.length > 60) ol.lastChild.remove();
  }

  function setText(id, text) {
    var el = $(id);
    if (el.textContent !== text) el.textContent = text;
  }

  // ---------------------------------------------------------------- this tab

  /** A per-tab identity kept in sessionStorage, so a reload keeps its session and name. */
  function tabIdentity() {
    var saved = null;
    try {
      saved = JSON.parse(sessionStorage.getItem('rs-demo-tab') || 'null');
    } catch (e) {
      saved = null;
    }
    if (!saved || typeof saved.key !== 'string') {
      var key = randomId();
      saved = { key: key, name: 'guest-' + key.slice(0, 4) };
    }
    var name = params.get('name');
    if (name) saved.name = name.slice(0, 40);
    try {
      sessionStorage.setItem('rs-demo-tab', JSON.stringify(saved));
    } catch (e) {
      // Private mode: this tab just gets a new session on reload.
    }
    return saved;
  }

  /**
   * Message ids: a key drawn for this page load plus a counter. Not kept in sessionStorage: a
   * duplicated tab copies sessionStorage, and would then send the same ids as its original.
   */
  var pageKey = randomId();
  var messageNumber = 0;
  function nextMessageNumber() {
    messageNumber += 1;
    return messageNumber;
  }

  /** The transcript survives a reload (sessionStorage, last 100 lines) so the chat is not blank. */
  function remember(entry) {
    try {
      var history = JSON.parse(sessionStorage.getItem('rs-demo-history:' + room) || '[]');
      history.push({ id: entry.id, text: entry.text, name: entry.name, self: entry.self, offset: entry.offset, ts: entry.ts });
      sessionStorage.setItem('rs-demo-history:' + room, JSON.stringify(history.slice(-100)));
    } catch (e) {
      // Only the transcript is lost.
    }
  }

  function renderHistory() {
    var history;
    try {
      history = JSON.parse(sessionStorage.getItem('rs-demo-history:' + room) || '[]');
    } catch (e) {
      history = [];
    }
    if (!Array.isArray(history) || history.length === 0) return;
    clearEmpty();
    history.forEach(function (entry) { list.appendChild(messageElement(entry, true)); });
    systemLine('before the reload');
  }

  // ---------------------------------------------------------------- small helpers

  function numberParam(name, fallback) {
    var value = Number(params.get(name));
    return params.has(name) && Number.isFinite(value) && value >= 0 ? value : fallback;
  }

  function randomId() {
    var bytes = new Uint8Array(8);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, '0'); }).join('');
  }

  function formatMs(ms) {
    return ms < 1000 ? Math.round(ms) + ' ms' : (ms / 1000).toFixed(1) + ' s';
  }

  function clock(date) {
    return date.toTimeString().slice(0, 8);
  }

  function short(id) {
    return id ? id.slice(0, 8) + '…' : '?';
  }

  function colorFor(name) {
    var hash = 0;
    for (var i = 0; i < name.length; i++) hash = (hash * 31 + name.charCodeAt(i)) | 0;
    return 'hsl(' + (Math.abs(hash) % 360) + ' 55% 45%)';
  }
})();
