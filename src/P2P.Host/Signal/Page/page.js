// The p2p chat page: a browser peer for `p2p signal`. It joins a room with the signaling JSON of p2p peers
// (join / joined / description / candidate / end-of-candidates / peer-joined / peer-left / error), trickles its
// candidates, and once its data channels are open speaks the chat wire format of docs/CHAT-WIRE.md: lines with
// epochs, numbers and cumulative acks; files offered on "chat" and sent on "file-<id>" as 8-byte offsets + bytes,
// acknowledged by 8-byte counts. No library, no build step: this file is served as it is.
'use strict';

(() => {
  const CHUNK = 16320;                 // bytes of file data per chunk, as p2p sends (p2p.chat.chunk-size)
  const WINDOW = 32 * CHUNK;           // bytes sent and not yet acknowledged (p2p.chat.window)
  const BUFFER_HIGH = 1 << 20;         // stop filling the channel's send buffer past this...
  const BUFFER_LOW = 256 * 1024;       // ...and go on when it drains below this (bufferedAmountLowThreshold)
  const MAX_FRAME = 65536;             // bytes of UTF-8 in one chat frame
  const MAX_LINE = 32768;              // bytes of UTF-8 in one chat line
  const MAX_HELD = 4096;               // lines held while an earlier one is missing
  const REOPEN_MS = 1000;              // a closed channel is opened again by its opener after this (p2p.chat.reopen-delay)
  const FULL_RETRIES = 10;             // after a refresh our old seat may still be taken for a moment

  const $ = id => document.getElementById(id);
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const room = (new URLSearchParams(location.search).get('room') || '').trim();
  // an ICE server for the browser, from the link (as p2p's --stun, --turn, --turn-user, --turn-pass): behind a NAT that
  // maps per destination the only path may be relayed. ?ice= a STUN or TURN URL (RFC 7064, 7065; a bare host:port is
  // taken as TURN), with ice-user and ice-pass for TURN; none by default, so the page asks no server of its own accord
  const iceParams = new URLSearchParams(location.search), ice = (iceParams.get('ice') || '').trim();
  // the signaling server may hand out more in its joined message (iceServers: STUN, and TURN with time-limited credentials)
  const linkIceServers = ice ? [{ urls: /^(stun|turns?):/.test(ice) ? ice : 'turn:' + ice, username: iceParams.get('ice-user') || '', credential: iceParams.get('ice-pass') || '' }] : [];
  let iceServers = linkIceServers;

  // ------------------------------------------------------------------ what survives a refresh (sessionStorage)
  const storageKey = 'p2p-chat:' + room;
  const randomHex = bytes => Array.from(crypto.getRandomValues(new Uint8Array(bytes)), b => b.toString(16).padStart(2, '0')).join('');
  let saved = null;
  try { saved = JSON.parse(sessionStorage.getItem(storageKey) || 'null'); } catch { saved = null; }
  const restored = saved !== null;
  const memory = saved || {
    name: 'browser-' + randomHex(3),
    epoch: randomHex(8),        // our lines are numbered from 1 under this epoch
    next: 1,
    unacked: [],                // [{n, text}] until the peer acknowledges them
    peer: null,                 // {e, expected, held: {n: text}} for the peer's current epoch
    lines: [],                  // what the page showed: [{kind, text, n}]
  };
  const save = () => {
    try { sessionStorage.setItem(storageKey, JSON.stringify(memory)); } catch { /* storage full or off: the chat goes on */ }
  };

  // ------------------------------------------------------------------ the page
  const setState = (state, text) => {
    document.body.dataset.state = state;
    $('state').textContent = text;
  };

  const linesList = $('lines');
  const scroll = () => { linesList.scrollTop = linesList.scrollHeight; };

  function addLine(kind, text, n, remember = true) {
    const li = document.createElement('li');
    li.className = kind;
    const span = document.createElement('span');
    span.className = 'text';
    span.textContent = text;
    li.append(span);
    if (kind === 'me') {
      li.dataset.n = n;
      const mark = document.createElement('span');
      mark.className = 'mark';
      mark.textContent = '…';
      mark.title = 'not yet acknowledged';
      li.append(mark);
    }
    linesList.append(li);
    if (remember) {
      memory.lines.push({ kind, text, n });
      if (memory.lines.length > 500) memory.lines.splice(0, memory.lines.length - 500);
    }
    scroll();
    return li;
  }

  const info = text => addLine('info', text);

  function markDelivered(upTo) {
    for (const li of linesList.querySelectorAll('li.me:not(.delivered)')) {
      if (Number(li.dataset.n) <= upTo) {
        li.classList.add('delivered');
        const mark = li.querySelector('.mark');
        mark.textContent = '✓';
        mark.title = 'delivered';
      }
    }
  }

  const formatBytes = n => n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`;
  const formatTime = s => !isFinite(s) ? '–' : s < 60 ? `${Math.ceil(s)} s` : `${Math.floor(s / 60)} min ${Math.ceil(s % 60)} s`;

  // ------------------------------------------------------------------ signaling
  let ws = null;
  let controlling = false;
  let fullRetries = 0;
  let pc = null;
  let ops = Promise.resolve();          // every change to pc, one after the other
  let remoteSet = false;
  let early = [];                       // their candidates before their description
  let localMid = '0';
  let descriptionSent = false;
  let ourCandidates = [];               // ours before our description went out
  let statsTimer = 0;
  let chat = null;
  let chatOpenedOnce = false;
  let bothInRoomAt = 0;                 // when this page learnt both peers were in the room (for the connect time it shows)
  const queue = op => { ops = ops.then(op).catch(e => console.warn('p2p page:', e)); };

  function signal(message) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
  }

  function connectSignaling() {
    setState('signaling', 'Connecting to the signaling server…');
    ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`);
    ws.onopen = () => signal({ type: 'join', room, name: memory.name });
    ws.onmessage = e => {
      let m;
      try { m = JSON.parse(e.data); } catch { return; }
      onSignal(m);
    };
    ws.onclose = () => {
      if (document.body.dataset.state === 'signaling') setState('failed', 'Cannot reach the signaling server.');
      ws = null;
    };
  }

  function onSignal(m) {
    switch (m.type) {
      case 'joined':
        controlling = !!m.controlling;
        fullRetries = 0;
        iceServers = Array.isArray(m.iceServers) ? linkIceServers.concat(m.iceServers) : linkIceServers;
        setState('waiting', m.peers >= 2 ? 'Joined; the other peer is here. Connecting…' : 'Joined; waiting for the other peer…');
        if (m.peers >= 2) bothInRoomAt = performance.now();
        if (controlling) newPeerConnection();
        break;
      case 'peer-joined':
        info(`${m.name} joined the room.`);
        if (!bothInRoomAt) bothInRoomAt = performance.now();
        if (document.body.dataset.state === 'waiting') setState('connecting', `Connecting to ${m.name}…`);
        break;
      case 'peer-left':
        info(`${m.name} left the room.`);
        bothInRoomAt = 0;
        closePeerConnection();
        setState('waiting', 'The other peer left; waiting for someone to join…');
        if (controlling) newPeerConnection(); // our next offer waits in the room for whoever comes
        break;
      case 'description':
        onRemoteDescription(m.description);
        break;
      case 'candidate':
        onRemoteCandidate(m.candidate);
        break;
      case 'end-of-candidates':
        queue(async () => { if (pc && remoteSet) await pc.addIceCandidate(null).catch(() => {}); });
        break;
      case 'error':
        if (/is full/.test(m.reason) && restored && fullRetries++ < FULL_RETRIES) {
          // after a refresh the server may not have seen our old page go yet: try the seat again shortly
          setTimeout(connectSignaling, 500);
          return;
        }
        if (/is full/.test(m.reason)) setState('full', `Room ${room} is full: two people are already chatting in it.`);
        else setState('failed', `The signaling server says: ${m.reason}`);
        info(m.reason);
        break;
    }
  }

  // ------------------------------------------------------------------ the peer connection
  function newPeerConnection() {
    closePeerConnection();
    pc = new RTCPeerConnection({ iceServers });
    const mine = pc;
    remoteSet = false;
    early = [];
    descriptionSent = false;
    ourCandidates = [];
    pc.onicecandidate = e => {
      if (pc !== mine) return;
      const message = e.candidate
        ? (e.candidate.candidate ? { type: 'candidate', candidate: e.candidate.candidate.replace(/^candidate:/, '') } : null)
        : { type: 'end-of-candidates' };
      if (!message) return;
      if (descriptionSent) signal(message); else ourCandidates.push(message);
    };
    pc.onconnectionstatechange = () => { if (pc === mine) onConnectionState(); };
    pc.ondatachannel = e => {
      if (pc !== mine) return;
      const channel = e.channel;
      if (channel.label === 'chat') attachChat(channel);
      else if (channel.label.startsWith('file-')) attachIncomingFile(channel);
      // other labels (p2p's "p2p" channel) are not the chat's
    };
    if (controlling) {
      attachChat(pc.createDataChannel('chat'));
      queue(async () => {
        await mine.setLocalDescription();
        localMid = midOf(mine.localDescription.sdp);
        sendDescription(mine);
      });
    }
    statsTimer = setInterval(showStats, 1000);
  }

  function closePeerConnection() {
    clearInterval(statsTimer);
    if (!pc) return;
    const old = pc;
    pc = null;
    chat = null;
    remoteSet = false;
    for (const f of outgoing.values()) if (f.channel) f.channel = null;
    for (const f of incoming.values()) if (f.channel) f.channel = null;
    old.close();
    $('ice-state').textContent = 'closed';
  }

  function sendDescription(mine) {
    signal({ type: 'description', description: mine.localDescription.sdp });
    descriptionSent = true;
    for (const c of ourCandidates) signal(c);
    ourCandidates = [];
    showFingerprints();
  }

  const midOf = sdp => (/^a=mid:(\S+)/m.exec(sdp) || [, '0'])[1];

  // A p2p peer sends the ICE part of a description (RFC 8839 attribute lines, IceDescription.Write); a browser needs a
  // whole SDP: the same lines inside one data-channel m-section (RFC 8841), as p2p's WebRtcSdp writes it for WebRTC
  // stacks. A description from another page is SDP already.
  function toSdp(text, mid) {
    if (/^v=0/.test(text.trimStart())) return text;
    const lines = ['v=0', `o=- ${Date.now()} 2 IN IP4 127.0.0.1`, 's=-', 't=0 0', `a=group:BUNDLE ${mid}`,
      'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0', `a=mid:${mid}`, 'a=sctp-port:5000',
      'a=max-message-size:262144'];
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line.startsWith('a=') && !line.startsWith('a=ice-pacing:') && !line.startsWith('a=x-p2p-session:')) lines.push(line);
    }
    return lines.join('\r\n') + '\r\n';
  }

  function onRemoteDescription(text) {
    if (typeof text !== 'string') return;
    queue(async () => {
      if (controlling) {
        if (!pc || pc.signalingState !== 'have-local-offer') {
          // a new description mid-session (p2p restarts ICE after its consent checks failed): not followed here
          console.info('p2p page: ignored a description in state', pc && pc.signalingState);
          return;
        }
        await pc.setRemoteDescription({ type: 'answer', sdp: toSdp(text, localMid) });
      } else {
        if (remoteSet && !/^a=fingerprint:/m.test(text)) {
          // credentials alone: p2p restarting ICE after its consent checks failed, not a new offer; not followed here
          console.info('p2p page: ignored an ICE restart description');
          return;
        }
        if (!pc || remoteSet) newPeerConnection(); // an offer: a new connection (the first, or after the peer came back)
        const mine = pc;
        const offer = toSdp(text, '0');
        await mine.setRemoteDescription({ type: 'offer', sdp: offer });
        await mine.setLocalDescription();
        localMid = midOf(offer);
        sendDescription(mine);
      }
      remoteSet = true;
      for (const c of early) await addCandidate(c);
      early = [];
      showFingerprints();
      if (document.body.dataset.state !== 'connected') setState('connecting', 'Connecting…');
    });
  }

  function onRemoteCandidate(value) {
    if (typeof value !== 'string') return;
    queue(async () => {
      if (!pc || !remoteSet) early.push(value);
      else await addCandidate(value);
    });
  }

  async function addCandidate(value) {
    try {
      await pc.addIceCandidate({ candidate: 'candidate:' + value, sdpMid: localMid, sdpMLineIndex: 0 });
    } catch (e) {
      console.info('p2p page: a candidate the browser did not take:', value, e.message);
    }
  }

  function onConnectionState() {
    const state = pc.connectionState;
    $('ice-state').textContent = state;
    if (state === 'connected') {
      setState('connected', 'Connected.');
      showStats();
    } else if (state === 'failed') {
      setState('failed', 'The connection failed: no path to the other peer worked.');
    } else if (state === 'disconnected') {
      setState('connecting', 'The connection is interrupted; waiting for it to come back…');
    }
  }

  function showFingerprints() {
    const fingerprint = description => {
      const match = description && /^a=fingerprint:(\S+) (\S+)/m.exec(description.sdp);
      return match ? `${match[1]} ${match[2]}` : '–';
    };
    if (!pc) return;
    $('fp-local').textContent = fingerprint(pc.localDescription);
    $('fp-remote').textContent = fingerprint(pc.remoteDescription);
  }

  async function showStats() {
    if (!pc) return;
    const stats = await pc.getStats();
    let pair = null;
    stats.forEach(r => { if (r.type === 'transport' && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId); });
    if (!pair) stats.forEach(r => { if (!pair && r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') pair = r; });
    const element = $('pair');
    if (!pair) { element.textContent = '–'; return; }
    const local = stats.get(pair.localCandidateId), remote = stats.get(pair.remoteCandidateId);
    if (!local || !remote) return;
    // the browser leaves some addresses out of its stats: its own while it hides host candidates behind mDNS names,
    // and a peer-reflexive remote's
    const end = c => `${c.candidateType} ${c.address || c.ip || '(address hidden by the browser)'}:${c.port}`;
    element.textContent = `${end(local)} ⇄ ${end(remote)} (${local.protocol}${local.relayProtocol ? ', relayed over ' + local.relayProtocol : ''})`;
    element.dataset.local = local.candidateType;
    element.dataset.remote = remote.candidateType;
  }

  // ------------------------------------------------------------------ the chat channel and its frames
  function attachChat(channel) {
    chat = channel;
    channel.onopen = () => { if (chat === channel) onChatOpen(); };
    channel.onmessage = e => { if (chat === channel) onFrame(e.data); };
    channel.onclose = () => {
      if (chat !== channel || !pc) return;
      chat = null;
      if (controlling) {
        const mine = pc;
        setTimeout(() => { if (pc === mine && !chat && mine.connectionState === 'connected') attachChat(mine.createDataChannel('chat')); }, REOPEN_MS);
      }
    };
  }

  function sendFrame(frame) {
    if (!chat || chat.readyState !== 'open') return false;
    chat.send(JSON.stringify(frame));
    return true;
  }

  function onChatOpen() {
    if (bothInRoomAt) {
      // as p2p prints it: from knowing both peers were in the room to the chat channel open (bench/run reads it)
      const ms = Math.round(performance.now() - bothInRoomAt);
      document.body.dataset.connectMs = ms;
      info(`Connected ${ms} ms after both peers were in the room.`);
      bothInRoomAt = 0;
    }
    if (restored && !chatOpenedOnce) sendFrame({ t: 'sync' }); // frames of the page before the refresh are lost
    chatOpenedOnce = true;
    resendOurs();
    for (const f of incoming.values()) if (f.state === 'receiving' && f.channel && f.channel.readyState === 'open') sendFrame({ t: 'ready', id: f.id, offset: f.received });
  }

  /** Our unacknowledged lines, in order, and our offers that are not settled. */
  function resendOurs() {
    for (const line of memory.unacked) sendFrame({ t: 'msg', e: memory.epoch, n: line.n, text: line.text });
    for (const f of outgoing.values()) if (f.state === 'offered' || f.state === 'sending') sendFrame(offerFrame(f));
  }

  function say(text) {
    if (encoder.encode(text).length > MAX_LINE) { info(`That line is longer than ${MAX_LINE} bytes; it was not sent.`); return; }
    const n = memory.next++;
    memory.unacked.push({ n, text });
    addLine('me', text, n);
    save();
    sendFrame({ t: 'msg', e: memory.epoch, n, text });
  }

  const isInt = (v, min) => Number.isSafeInteger(v) && v >= min;
  const isString = v => typeof v === 'string';

  function onFrame(data) {
    const text = typeof data === 'string' ? data : decoder.decode(data);
    if (encoder.encode(text).length > MAX_FRAME) return bad('a frame larger than 65,536 bytes');
    let f;
    try { f = JSON.parse(text); } catch { return bad('a frame that is not JSON'); }
    if (!f || typeof f !== 'object' || Array.isArray(f) || !isString(f.t)) return bad('a frame without "t"');
    if (f.v !== undefined && f.v !== null && f.v !== 1) return bad(`a frame of version ${f.v}`);
    switch (f.t) {
      case 'msg':
        if (!isString(f.e) || !isInt(f.n, 1) || !isString(f.text)) return bad('a msg with bad fields');
        return onLine(f.e, f.n, f.text);
      case 'ack':
        if (!isString(f.e) || !isInt(f.n, 0)) return bad('an ack with bad fields');
        if (f.e !== memory.epoch) return; // for an earlier chat of ours
        memory.unacked = memory.unacked.filter(l => l.n > f.n);
        markDelivered(f.n);
        save();
        return;
      case 'sync':
        resendOurs();
        for (const file of incoming.values()) if (file.state === 'receiving' && file.channel && file.channel.readyState === 'open') sendFrame({ t: 'ready', id: file.id, offset: file.received });
        return;
      case 'offer':
        if (!isString(f.id) || !/^[A-Za-z0-9]{1,32}$/.test(f.id) || !isString(f.name) || !isInt(f.size, 0) || !isString(f.sha256) || !/^[0-9a-fA-F]{64}$/.test(f.sha256)) return bad('an offer with bad fields');
        return onOffer(f);
      case 'accept':
      case 'reject':
      case 'ready':
      case 'done': {
        if (!isString(f.id)) return bad(`a ${f.t} without id`);
        const file = outgoing.get(f.id);
        if (!file) return;
        if (f.t === 'accept') return onAccepted(file);
        if (f.t === 'reject') return finishOutgoing(file, false, `declined${isString(f.reason) ? ': ' + f.reason : ''}`);
        if (f.t === 'ready') {
          if (!isInt(f.offset, 0) || f.offset > file.size) return bad('a ready with a bad offset');
          return onReady(file, f.offset);
        }
        if (typeof f.ok !== 'boolean') return bad('a done without ok');
        if (f.ok && isString(f.sha256) && f.sha256.toLowerCase() === file.sha256) return finishOutgoing(file, true, 'delivered; the other side checked its SHA-256');
        return finishOutgoing(file, false, isString(f.reason) ? f.reason : 'the other side did not confirm the SHA-256');
      }
      case 'cancel': {
        const file = isString(f.id) && incoming.get(f.id);
        if (file && file.state === 'receiving') failIncoming(file, `the sender gave up${isString(f.reason) ? ': ' + f.reason : ''}`);
        return;
      }
      default:
        return bad(`a frame of unknown kind "${String(f.t).slice(0, 20)}"`);
    }
  }

  let badFrames = 0;
  function bad(what) {
    badFrames++;
    if (badFrames <= 10 || badFrames % 100 === 0) console.warn(`p2p page: dropped ${what} (${badFrames} so far)`);
  }

  function onLine(e, n, text) {
    let peer = memory.peer;
    if (!peer || peer.e !== e) peer = memory.peer = { e, expected: 1, held: {} };
    if (n === peer.expected) {
      addLine('peer', text);
      peer.expected++;
      while (peer.held[peer.expected] !== undefined) {
        addLine('peer', peer.held[peer.expected]);
        delete peer.held[peer.expected];
        peer.expected++;
      }
    } else if (n > peer.expected && Object.keys(peer.held).length < MAX_HELD) {
      peer.held[n] = text;
    }
    save();
    sendFrame({ t: 'ack', e, n: peer.expected - 1 });
  }

  // ------------------------------------------------------------------ files
  const outgoing = new Map();   // id -> {id, name, size, sha256, bytes, state, next, acked, channel, card}
  const incoming = new Map();   // id -> {id, name, size, sha256, state, parts, received, channel, card}

  const offerFrame = f => ({ t: 'offer', id: f.id, name: f.name, size: f.size, sha256: f.sha256 });

  const hex = buffer => Array.from(new Uint8Array(buffer), b => b.toString(16).padStart(2, '0')).join('');

  function fileCard(f, direction) {
    const li = document.createElement('li');
    li.className = `file ${direction === 'out' ? 'me' : 'peer'}`;
    li.dataset.id = f.id;
    li.dataset.direction = direction;
    const title = document.createElement('div');
    title.className = 'title';
    title.textContent = `${direction === 'out' ? 'Sending' : 'Offered'}: ${f.name} (${formatBytes(f.size)})`;
    const bar = document.createElement('progress');
    bar.max = Math.max(f.size, 1);
    bar.value = 0;
    const detail = document.createElement('div');
    detail.className = 'detail';
    li.append(title, bar, detail);
    linesList.append(li);
    scroll();
    return { li, bar, detail, title };
  }

  function setCard(f, state, text) {
    f.state = state;
    f.card.li.dataset.state = state;
    f.card.detail.textContent = text;
  }

  /** The progress bar with the rate and the time left, at most ten times a second. */
  function progress(f, bytes) {
    const now = performance.now();
    if (f.startedAt === undefined) { f.startedAt = now; f.startBytes = bytes; }
    f.card.bar.value = bytes;
    f.card.li.dataset.bytes = bytes;
    if (bytes < f.size && now - (f.shownAt || 0) < 100) return;
    f.shownAt = now;
    const seconds = (now - f.startedAt) / 1000;
    const rate = seconds > 0 ? (bytes - f.startBytes) / seconds : 0;
    const left = rate > 0 ? (f.size - bytes) / rate : Infinity;
    f.card.detail.textContent = `${formatBytes(bytes)} of ${formatBytes(f.size)} · ${formatBytes(Math.round(rate))}/s · ${formatTime(left)} left`;
  }

  async function offerFile(file) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const sha256 = hex(await crypto.subtle.digest('SHA-256', bytes));
    const f = { id: randomHex(6), name: file.name, size: bytes.length, sha256, bytes, state: 'offered', next: 0, acked: 0, channel: null };
    f.card = fileCard(f, 'out');
    setCard(f, 'offered', 'offered; waiting for the other side to accept');
    outgoing.set(f.id, f);
    sendFrame(offerFrame(f));
  }

  function onAccepted(f) {
    if (f.state !== 'offered' && f.state !== 'sending') return;
    if (f.channel && f.channel.readyState !== 'closed') return; // accepted again: the channel is there
    setCard(f, 'sending', 'accepted; opening its channel…');
    openFileChannel(f);
  }

  function openFileChannel(f) {
    if (!pc) return;
    const channel = pc.createDataChannel('file-' + f.id);
    channel.binaryType = 'arraybuffer';
    channel.bufferedAmountLowThreshold = BUFFER_LOW;
    f.channel = channel;
    channel.onmessage = e => onFileAck(f, e.data);
    channel.onopen = () => pump(f); // the receiver's ready can come before our side of the channel says open
    channel.onbufferedamountlow = () => pump(f);
    channel.onclose = () => {
      if (f.channel !== channel) return;
      f.channel = null;
      f.sending = false;
      const mine = pc;
      if (f.state === 'sending') setTimeout(() => { if (pc === mine && mine && f.state === 'sending' && !f.channel) openFileChannel(f); }, REOPEN_MS);
    };
  }

  function onReady(f, offset) {
    if (f.state !== 'sending' || !f.channel) return;
    f.next = offset;
    f.acked = offset;
    f.sending = true;
    pump(f);
  }

  /** Sends chunks while the window and the channel's buffer allow; acknowledgements and bufferedamountlow call it again. */
  function pump(f) {
    const channel = f.channel;
    if (!f.sending || !channel || channel.readyState !== 'open') return;
    while (f.next < f.size && f.next - f.acked < WINDOW && channel.bufferedAmount < BUFFER_HIGH) {
      const length = Math.min(CHUNK, f.size - f.next);
      const chunk = new Uint8Array(8 + length);
      new DataView(chunk.buffer).setBigUint64(0, BigInt(f.next));
      chunk.set(f.bytes.subarray(f.next, f.next + length), 8);
      channel.send(chunk);
      f.next += length;
    }
  }

  function onFileAck(f, data) {
    if (!(data instanceof ArrayBuffer) || data.byteLength !== 8) return bad('a file acknowledgement that is not 8 bytes');
    const count = Number(new DataView(data).getBigUint64(0));
    if (count <= f.acked || count > f.size) return;
    f.acked = count;
    progress(f, count);
    if (count === f.size) f.card.detail.textContent = `${formatBytes(f.size)} sent; waiting for the other side's SHA-256 check…`;
    pump(f);
  }

  function finishOutgoing(f, ok, text) {
    if (f.state === 'done' || f.state === 'failed') return;
    f.sending = false;
    setCard(f, ok ? 'done' : 'failed', text);
    if (ok) f.card.title.textContent = `Sent: ${f.name} (${formatBytes(f.size)})`;
    f.bytes = null;
    if (f.channel) { f.channel.onclose = null; f.channel.close(); f.channel = null; }
  }

  /** Why a file name from an offer is not one to save (docs/CHAT-WIRE.md, Offer), or null. */
  function badName(name) {
    if (name.length === 0 || name.length > 255) return 'the name is empty or longer than 255 characters';
    if (/[\/\\]/.test(name) || name === '.' || name === '..') return 'the name is not a bare file name';
    if (/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]/.test(name)) return 'the name has control or invisible characters';
    if (name.endsWith('.part')) return 'the name ends in .part';
    return null;
  }

  function onOffer(o) {
    if (!crypto.subtle) {
      sendFrame({ t: 'reject', id: o.id, reason: 'the browser page cannot check a SHA-256 outside a secure context (https or 127.0.0.1)' });
      return;
    }
    const known = incoming.get(o.id);
    if (known) {
      // an offer seen before: the same answer again (deciding: quiet)
      if (known.state === 'rejected') sendFrame({ t: 'reject', id: o.id, reason: known.reason });
      else if (known.state === 'receiving') sendFrame({ t: 'accept', id: o.id });
      else if (known.state === 'done') sendFrame({ t: 'done', id: o.id, ok: true, sha256: known.sha256 });
      else if (known.state === 'failed' && known.doneFrame) sendFrame(known.doneFrame);
      return;
    }
    const f = { id: o.id, name: o.name, size: o.size, sha256: o.sha256.toLowerCase(), state: 'deciding', parts: [], received: 0, channel: null };
    incoming.set(f.id, f);
    f.card = fileCard(f, 'in');
    const why = badName(o.name);
    if (why) {
      f.reason = why;
      setCard(f, 'rejected', `refused: ${why}`);
      sendFrame({ t: 'reject', id: f.id, reason: why });
      return;
    }
    setCard(f, 'deciding', 'the other side offers this file');
    const accept = document.createElement('button');
    accept.className = 'accept';
    accept.textContent = 'Accept';
    const decline = document.createElement('button');
    decline.className = 'decline';
    decline.textContent = 'Decline';
    accept.onclick = () => {
      accept.remove(); decline.remove();
      setCard(f, 'receiving', 'accepted; waiting for the data…');
      sendFrame({ t: 'accept', id: f.id });
    };
    decline.onclick = () => {
      accept.remove(); decline.remove();
      f.reason = 'the peer declined the file';
      setCard(f, 'rejected', 'declined');
      sendFrame({ t: 'reject', id: f.id, reason: f.reason });
    };
    f.card.li.append(accept, decline);
  }

  function attachIncomingFile(channel) {
    const f = incoming.get(channel.label.slice('file-'.length));
    if (!f || f.state !== 'receiving') { channel.close(); return; }
    channel.binaryType = 'arraybuffer';
    f.channel = channel;
    channel.onopen = () => {
      sendFrame({ t: 'ready', id: f.id, offset: f.received });
      if (f.received === f.size) complete(f);
    };
    channel.onmessage = e => onChunk(f, e.data);
    channel.onclose = () => { if (f.channel === channel) f.channel = null; };
    if (channel.readyState === 'open') channel.onopen();
  }

  function ack(f) {
    const message = new Uint8Array(8);
    new DataView(message.buffer).setBigUint64(0, BigInt(f.received));
    if (f.channel && f.channel.readyState === 'open') f.channel.send(message);
  }

  function onChunk(f, data) {
    if (f.state !== 'receiving') return;
    if (!(data instanceof ArrayBuffer) || data.byteLength < 8) return bad('a file chunk shorter than its offset');
    const offset = Number(new DataView(data).getBigUint64(0));
    const length = data.byteLength - 8;
    if (offset === f.received && f.received + length <= f.size) {
      f.parts.push(new Uint8Array(data, 8));
      f.received += length;
    } else if (offset + length > f.received) {
      return bad(`a chunk at ${offset} while ${f.received} bytes are written`);
    }
    ack(f); // every chunk is acknowledged (the wire format allows it), so none waits while no more come
    progress(f, f.received);
    if (f.received === f.size) complete(f);
  }

  async function complete(f) {
    if (f.state !== 'receiving') return;
    f.state = 'checking';
    f.card.detail.textContent = 'checking its SHA-256…';
    const blob = new Blob(f.parts);
    f.parts = [];
    const sha256 = hex(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
    if (sha256 !== f.sha256) {
      f.doneFrame = { t: 'done', id: f.id, ok: false, reason: 'SHA-256 mismatch' };
      sendFrame(f.doneFrame);
      setCard(f, 'failed', `SHA-256 mismatch: got ${sha256}, the offer said ${f.sha256}; discarded`);
      return;
    }
    sendFrame({ t: 'done', id: f.id, ok: true, sha256 });
    const url = URL.createObjectURL(blob);
    const link = document.createElement('a');
    link.href = url;
    link.download = f.name;
    link.textContent = `Save ${f.name}`;
    f.card.title.textContent = `Received: ${f.name} (${formatBytes(f.size)})`;
    setCard(f, 'done', `SHA-256 ${sha256} checked · `);
    f.card.detail.append(link);
    link.click(); // saved through the browser's download
  }

  function failIncoming(f, text) {
    f.parts = [];
    f.received = 0;
    setCard(f, 'failed', text);
  }

  // ------------------------------------------------------------------ start
  function start() {
    if (!room) {
      $('pick-room').hidden = false;
      setState('start', 'Choose a room to join.');
      $('room-form').onsubmit = e => {
        e.preventDefault();
        location.search = '?room=' + encodeURIComponent($('room-input').value.trim());
      };
      return;
    }
    document.title = `p2p chat · ${room}`;
    $('room-name').textContent = `· ${room} · you are ${memory.name}`;
    $('chat').hidden = false;
    for (const line of memory.lines) {
      addLine(line.kind, line.text, line.n, false);
      if (line.kind === 'me' && !memory.unacked.some(u => u.n === line.n)) markDelivered(line.n);
    }
    if (restored) info('Page reloaded: rejoining the room; lines not yet acknowledged are sent again.');
    save();
    $('say').onsubmit = e => {
      e.preventDefault();
      const input = $('text');
      if (input.value.length === 0) return;
      say(input.value);
      input.value = '';
    };
    if (!crypto.subtle) {
      // SubtleCrypto (the files' SHA-256) exists only in a secure context: https://, or http://127.0.0.1 and localhost
      $('file').disabled = true;
      $('file').parentElement.title = 'files need https:// or http://127.0.0.1';
      info('Files cannot be checked on this page: the browser offers SHA-256 only on https:// or http://127.0.0.1 / localhost. Lines work as usual.');
    }
    $('file').onchange = e => {
      const file = e.target.files[0];
      e.target.value = '';
      if (file) offerFile(file).catch(err => info(`Cannot send ${file.name}: ${err.message}`));
    };
    // a closed tab or a refresh: leave the room and end the connection at once, so the other side is told now
    // (SCTP ABORT / DTLS close_notify) instead of finding out through 30 s of failed consent checks
    window.addEventListener('pagehide', () => {
      signal({ type: 'leave' });
      if (pc) pc.close();
    });
    connectSignaling();
  }

  start();
})();
