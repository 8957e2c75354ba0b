#!/usr/bin/env node
// A WebRTC data-channel peer on a third-party stack, driven by line-oriented JSON on stdin/stdout.
// RUN ONLY THROUGH run-isolated.sh (see its header): both stacks try to reach the Internet.
//
//   node peer.mjs --stack wrtc|werift --role offer|answer [--label chat] [--ordered true|false]
//                 [--max-retransmits N] [--max-packet-life-time MS] [--protocol P] [--quiet]
//
// stdout carries ONLY protocol lines, one JSON object each; diagnostics go to stderr.
// See README.md in this folder for the full protocol. In short:
//   out {"type":"description","sdp":..,"sdpType":"offer|answer"}   full SDP after ICE gathering (no trickle)
//   in  {"type":"description","sdp":..,"sdpType":..}                the remote one
//   out {"type":"open","label":..,"id":..,"ordered":..,"maxRetransmits":..,"maxPacketLifeTime":..,"protocol":..,"ms":..}
//   in  send / sendBinary / sendMany / echo / quiet / bulk / count / expect / reset / createChannel / closeChannel / close
//   out message / binary / sendManyDone / bulkDone / count / reset / expectDone / channelClosed / closed / error
import { createRequire } from 'node:module';
import { createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';

const require = createRequire(import.meta.url);
const t0 = performance.now();
const now = () => performance.now();

// ------------------------------------------------------------------ output
function emit(obj) {
    // Synchronous for pipes and files on Linux, so lines never interleave or get lost on exit.
    process.stdout.write(JSON.stringify(obj) + '\n');
}
// Anything a library prints with console.* goes to stderr, never into the protocol stream.
for (const k of ['log', 'info', 'debug', 'warn']) console[k] = (...a) => process.stderr.write(a.map(String).join(' ') + '\n');

let exiting = false;
function fatal(message, code = 1) {
    if (exiting) return;
    exiting = true;
    emit({ type: 'error', message: String(message), fatal: true });
    process.exitCode = code;
    setTimeout(() => process.exit(code), 50);
}
process.on('uncaughtException', e => fatal(`uncaught: ${e?.stack ?? e}`));
process.on('unhandledRejection', e => fatal(`unhandled rejection: ${e?.stack ?? e}`));

// ------------------------------------------------------------------ arguments
function parseArgs(argv) {
    const o = { stack: null, role: null, label: 'chat', ordered: true, maxRetransmits: undefined, maxPacketLifeTime: undefined, protocol: '', quiet: false, gatherTimeoutMs: 10000, turn: null, turnUser: '', turnPass: '' };
    const bool = v => { if (v === 'true' || v === '1') return true; if (v === 'false' || v === '0') return false; throw new Error(`expected true|false, got ${v}`); };
    const int = (n, v) => { const x = Number(v); if (!Number.isInteger(x) || x < 0) throw new Error(`${n}: expected a non-negative integer, got ${v}`); return x; };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const next = () => { if (i + 1 >= argv.length) throw new Error(`${a} needs a value`); return argv[++i]; };
        switch (a) {
            case '--stack': o.stack = next(); break;
            case '--role': o.role = next(); break;
            case '--label': o.label = next(); break;
            case '--ordered': o.ordered = bool(next()); break;
            case '--max-retransmits': o.maxRetransmits = int(a, next()); break;
            case '--max-packet-life-time': o.maxPacketLifeTime = int(a, next()); break;
            case '--protocol': o.protocol = next(); break;
            case '--quiet': o.quiet = true; break;
            case '--gather-timeout-ms': o.gatherTimeoutMs = int(a, next()); break;
            // relay-only through a TURN server on loopback (the data-channel-via-relay benchmark); wrtc only
            case '--turn': o.turn = next(); break;
            case '--turn-user': o.turnUser = next(); break;
            case '--turn-pass': o.turnPass = next(); break;
            case '-h': case '--help':
                process.stderr.write('usage: peer.mjs --stack wrtc|werift --role offer|answer [--label L] [--ordered true|false] [--max-retransmits N] [--max-packet-life-time MS] [--protocol P] [--quiet]\n');
                process.exit(0);
            default: throw new Error(`unknown argument ${a}`);
        }
    }
    if (o.stack !== 'wrtc' && o.stack !== 'werift') throw new Error('--stack wrtc|werift is required');
    if (o.role !== 'offer' && o.role !== 'answer') throw new Error('--role offer|answer is required');
    if (o.turn !== null && o.stack !== 'wrtc') throw new Error('--turn is supported with --stack wrtc only');
    if (o.turn !== null && !/^127\.0\.0\.1:\d+$/.test(o.turn)) throw new Error('--turn must be 127.0.0.1:<port> (loopback only)');
    if (o.maxRetransmits !== undefined && o.maxPacketLifeTime !== undefined) throw new Error('--max-retransmits and --max-packet-life-time exclude each other');
    return o;
}

let opts;
try { opts = parseArgs(process.argv.slice(2)); }
catch (e) { emit({ type: 'error', message: e.message, fatal: true }); process.exit(2); }

// ------------------------------------------------------------------ the two stacks behind one small adapter
// Adapter: createPc(), channel wrapping (onOpen, onMessage(Buffer|string), onClose, send, bufferedAmount, waitLow).
function loadStack(name) {
    if (name === 'wrtc') {
        const wrtc = require('@roamhq/wrtc');
        return {
            name,
            createPc: () => new wrtc.RTCPeerConnection(opts.turn === null ? { iceServers: [] } : {
                iceServers: [{ urls: `turn:${opts.turn}?transport=udp`, username: opts.turnUser, credential: opts.turnPass }],
                iceTransportPolicy: 'relay',
            }),
            wrapChannel(dc) {
                dc.binaryType = 'arraybuffer';
                return {
                    raw: dc,
                    get label() { return dc.label; },
                    get id() { return dc.id; },
                    get ordered() { return dc.ordered; },
                    // libwebrtc reports 65535 for "not set"
                    get maxRetransmits() { return dc.maxRetransmits == null || dc.maxRetransmits === 65535 ? null : dc.maxRetransmits; },
                    get maxPacketLifeTime() { return dc.maxPacketLifeTime == null || dc.maxPacketLifeTime === 65535 ? null : dc.maxPacketLifeTime; },
                    get protocol() { return dc.protocol; },
                    get readyState() { return dc.readyState; },
                    get bufferedAmount() { return dc.bufferedAmount; },
                    onOpen(f) { dc.addEventListener('open', f); },
                    onClose(f) { dc.addEventListener('close', f); },
                    onMessage(f) { dc.addEventListener('message', ev => f(typeof ev.data === 'string' ? ev.data : Buffer.from(ev.data))); },
                    send(d) { dc.send(d); },
                    close() { dc.close(); },
                    // @roamhq/wrtc has no bufferedamountlow event: poll.
                    waitLow(low) {
                        return new Promise((resolve, reject) => {
                            const tick = () => {
                                if (dc.readyState !== 'open') return reject(new Error(`channel ${dc.label} is ${dc.readyState}`));
                                if (dc.bufferedAmount <= low) return resolve();
                                setTimeout(tick, 1);
                            };
                            tick();
                        });
                    },
                };
            },
            onDataChannel(pc, f) { pc.addEventListener('datachannel', ev => f(ev.channel)); },
            async close(pc) { pc.close(); },
        };
    }
    const werift = require('werift'); // CommonJS build: the same classes the peer connection uses internally
    // werift's ICE layer falls back to stun.l.google.com:19302 whenever no STUN server is configured
    // (iceServers: [] included) and would wait up to 5 s for it while gathering. Clear it on every
    // connection just before gathering: host candidates only.
    const Connection = werift.Connection;
    if (Connection?.prototype?.gatherCandidates && !Connection.prototype.__p2pNoStun) {
        const gather = Connection.prototype.gatherCandidates;
        Connection.prototype.gatherCandidates = function (...args) { this.stunServer = undefined; return gather.apply(this, args); };
        Connection.prototype.__p2pNoStun = true;
    } else if (!Connection?.prototype?.gatherCandidates) {
        throw new Error('werift.Connection.prototype.gatherCandidates not found: cannot clear its default STUN server');
    }
    return {
        name,
        createPc: () => new werift.RTCPeerConnection({
            iceServers: [],
            iceAdditionalHostAddresses: ['127.0.0.1'], // werift skips loopback otherwise
            iceUseIpv6: false,
        }),
        wrapChannel(dc) {
            return {
                raw: dc,
                get label() { return dc.label; },
                get id() { return dc.id; },
                get ordered() { return dc.ordered; },
                get maxRetransmits() { return dc.maxRetransmits ?? null; },
                get maxPacketLifeTime() { return dc.maxPacketLifeTime ?? null; },
                get protocol() { return dc.protocol; },
                get readyState() { return dc.readyState; },
                get bufferedAmount() { return dc.bufferedAmount; },
                onOpen(f) { dc.stateChanged.subscribe(s => { if (s === 'open') f(); }); },
                onClose(f) { dc.stateChanged.subscribe(s => { if (s === 'closed') f(); }); },
                onMessage(f) { dc.onMessage.subscribe(d => f(typeof d === 'string' || Buffer.isBuffer(d) ? d : Buffer.from(d))); },
                send(d) { dc.send(d); },
                close() { dc.close(); },
                waitLow(low) {
                    return new Promise((resolve, reject) => {
                        if (dc.bufferedAmount <= low) return resolve();
                        dc.bufferedAmountLowThreshold = low;
                        let done = false;
                        const finish = err => { if (done) return; done = true; clearInterval(timer); sub?.unSubscribe?.(); err ? reject(err) : resolve(); };
                        const sub = dc.bufferedAmountLow.subscribe(() => finish());
                        // belt and braces: also poll (the event only fires on a downward crossing)
                        const timer = setInterval(() => {
                            if (dc.readyState !== 'open') finish(new Error(`channel ${dc.label} is ${dc.readyState}`));
                            else if (dc.bufferedAmount <= low) finish();
                        }, 5);
                    });
                },
            };
        },
        onDataChannel(pc, f) { pc.onDataChannel.subscribe(dc => f(dc)); },
        async close(pc) { await pc.close(); },
    };
}

let stack;
try { stack = loadStack(opts.stack); }
catch (e) { emit({ type: 'error', message: `cannot load ${opts.stack}: ${e.message}`, fatal: true }); process.exit(3); }

// ------------------------------------------------------------------ state
const pc = stack.createPc();
const channels = new Map();          // label -> wrapped channel (latest one with that label)
const received = new Map();          // label -> { messages, bytes, hash, firstAt, lastAt, expect }
let echo = false;
let closed = false;
let remoteAppliedAt = null;          // when the remote description was applied (open "ms" counts from here)

function stats(label) {
    let s = received.get(label);
    if (!s) { s = { messages: 0, bytes: 0, hash: createHash('sha256'), firstAt: null, lastAt: null, expect: null }; received.set(label, s); }
    return s;
}

function digestSoFar(s) { return s.hash.copy().digest('hex'); }

function attach(dc) {
    const ch = stack.wrapChannel(dc);
    let announced = false;
    const announce = () => {
        if (announced) return;
        announced = true;
        channels.set(ch.label, ch);
        emit({
            type: 'open', label: ch.label, id: ch.id, ordered: ch.ordered, maxRetransmits: ch.maxRetransmits,
            maxPacketLifeTime: ch.maxPacketLifeTime, protocol: ch.protocol,
            ms: remoteAppliedAt === null ? null : +(now() - remoteAppliedAt).toFixed(2),
            sinceStartMs: +(now() - t0).toFixed(2),
        });
    };
    ch.onOpen(announce);
    if (ch.readyState === 'open') announce();
    ch.onClose(() => { if (!closed) emit({ type: 'channelClosed', label: ch.label }); });
    ch.onMessage(data => {
        const s = stats(ch.label);
        const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
        const t = now();
        if (s.firstAt === null) s.firstAt = t;
        s.lastAt = t;
        s.messages++;
        s.bytes += bytes.length;
        s.hash.update(bytes);
        if (!opts.quiet) {
            if (typeof data === 'string') emit({ type: 'message', label: ch.label, text: data });
            else emit({ type: 'binary', label: ch.label, length: data.length });
        }
        if (echo && ch.readyState === 'open') {
            try { ch.send(data); } catch (e) { emit({ type: 'error', message: `echo on ${ch.label}: ${e.message}` }); }
        }
        if (s.expect && s.bytes >= s.expect.bytes) {
            const e = s.expect;
            s.expect = null;
            emit({ type: 'expectDone', label: ch.label, messages: s.messages, bytes: s.bytes, sha256: digestSoFar(s), ms: +(t - e.since).toFixed(2), firstToLastMs: +(t - s.firstAt).toFixed(2) });
        }
    });
    return ch;
}

function channelOptions(o) {
    const init = { ordered: o.ordered !== false };
    if (o.maxRetransmits !== undefined && o.maxRetransmits !== null) init.maxRetransmits = o.maxRetransmits;
    if (o.maxPacketLifeTime !== undefined && o.maxPacketLifeTime !== null) init.maxPacketLifeTime = o.maxPacketLifeTime;
    if (o.protocol) init.protocol = o.protocol;
    return init;
}

function waitGatheringComplete() {
    return new Promise((resolve, reject) => {
        const started = now();
        const check = () => {
            if (pc.iceGatheringState === 'complete') return resolve();
            if (now() - started > opts.gatherTimeoutMs) return reject(new Error(`ICE gathering not complete after ${opts.gatherTimeoutMs} ms (state ${pc.iceGatheringState})`));
            setTimeout(check, 2);
        };
        check();
    });
}

async function localDescription(kind) {
    const desc = kind === 'offer' ? await pc.createOffer() : await pc.createAnswer();
    await pc.setLocalDescription(desc);
    await waitGatheringComplete();
    const ld = pc.localDescription;
    emit({ type: 'description', sdp: ld.sdp, sdpType: ld.type });
}

async function applyRemote(msg) {
    if (typeof msg.sdp !== 'string') throw new Error('description without sdp');
    const type = msg.sdpType ?? (opts.role === 'offer' ? 'answer' : 'offer');
    const want = opts.role === 'offer' ? 'answer' : 'offer';
    if (type !== want) throw new Error(`as ${opts.role}er I need an ${want}, got ${type}`);
    remoteAppliedAt = now();
    await pc.setRemoteDescription({ type, sdp: msg.sdp });
}

// ------------------------------------------------------------------ commands
function channelFor(label) {
    const ch = channels.get(label ?? opts.label);
    if (!ch) throw new Error(`no open channel labelled ${JSON.stringify(label ?? opts.label)}`);
    return ch;
}

async function bulk(cmd) {
    const label = cmd.label ?? opts.label;
    const ch = channelFor(label);
    const total = Number(cmd.bytes), chunk = Number(cmd.chunk ?? 16384);
    if (!(total >= 0) || !(chunk > 0)) throw new Error('bulk needs bytes >= 0 and chunk > 0');
    const high = Number(cmd.highWater ?? 1 << 20), low = Number(cmd.lowWater ?? 256 << 10);
    const hash = createHash('sha256');
    // Content: random, chunk by chunk (so reordering or corruption changes the digest).
    const pool = randomBytes(Math.max(chunk, 1 << 20) + chunk);
    let sent = 0, messages = 0, poolAt = 0;
    const started = now();
    while (sent < total) {
        while (sent < total && ch.bufferedAmount < high) {
            const n = Math.min(chunk, total - sent);
            if (poolAt + n > pool.length) poolAt = (poolAt * 7 + 13) % (pool.length - n); // vary offsets
            const data = pool.subarray(poolAt, poolAt + n);
            poolAt += n + 1;
            hash.update(data);
            ch.send(data);
            sent += n;
            messages++;
        }
        if (sent < total) await ch.waitLow(low);
    }
    const queuedMs = now() - started;
    if (cmd.drain !== false) await ch.waitLow(0);
    const ms = now() - started;
    emit({ type: 'bulkDone', label, bytes: sent, messages, chunk, ms: +ms.toFixed(2), queuedMs: +queuedMs.toFixed(2), sha256: hash.digest('hex') });
}

// `count` numbered text messages `${prefix}0`, `${prefix}1`, ... in one go, so a receiver can check that each arrives
// exactly once and in order; bufferedAmount back-pressure keeps the sender's queue bounded.
async function sendMany(cmd) {
    const label = cmd.label ?? opts.label;
    const ch = channelFor(label);
    const count = Number(cmd.count), prefix = String(cmd.prefix ?? 'message ');
    if (!Number.isInteger(count) || count < 0) throw new Error('sendMany needs an integer count >= 0');
    const high = Number(cmd.highWater ?? 256 << 10), low = Number(cmd.lowWater ?? 64 << 10);
    const hash = createHash('sha256');
    for (let i = 0; i < count; i++) {
        if (ch.bufferedAmount >= high) await ch.waitLow(low);
        const text = `${prefix}${i}`;
        hash.update(Buffer.from(text, 'utf8'));
        ch.send(text);
    }
    emit({ type: 'sendManyDone', label, messages: count, sha256: hash.digest('hex') });
}

async function shutdown(code = 0) {
    if (closed) return;
    closed = true;
    try { for (const ch of channels.values()) try { ch.close(); } catch { } await stack.close(pc); } catch (e) { process.stderr.write(`close: ${e}\n`); }
    emit({ type: 'closed' });
    process.exitCode = code;
    setTimeout(() => process.exit(code), 20);
}

let remoteSeen = false;
async function handle(msg) {
    switch (msg.type) {
        case 'description':
            if (remoteSeen) throw new Error('a remote description was already applied');
            remoteSeen = true;
            await applyRemote(msg);
            if (opts.role === 'answer') await localDescription('answer');
            return;
        case 'send': channelFor(msg.label).send(String(msg.text)); return;
        case 'sendBinary': channelFor(msg.label).send(Buffer.from(String(msg.base64), 'base64')); return;
        case 'sendMany': await sendMany(msg); return;
        case 'echo': echo = msg.on !== false; return;
        case 'quiet': opts.quiet = msg.on !== false; return;
        case 'bulk': await bulk(msg); return;
        case 'count': {
            const label = msg.label ?? opts.label, s = stats(label);
            emit({ type: 'count', label, messages: s.messages, bytes: s.bytes, sha256: digestSoFar(s) });
            return;
        }
        case 'expect': { // prints expectDone once `bytes` in total have arrived on the label
            const label = msg.label ?? opts.label, s = stats(label);
            s.expect = { bytes: Number(msg.bytes), since: now() };
            if (s.bytes >= s.expect.bytes) { s.expect = null; emit({ type: 'expectDone', label, messages: s.messages, bytes: s.bytes, sha256: digestSoFar(s), ms: 0, firstToLastMs: s.firstAt === null ? 0 : +(s.lastAt - s.firstAt).toFixed(2) }); }
            return;
        }
        case 'reset': { // answered, so a caller can wait until the count restarts before it sends
            const label = msg.label ?? opts.label;
            received.delete(label);
            emit({ type: 'reset', label });
            return;
        }
        case 'createChannel': {
            if (!msg.label) throw new Error('createChannel needs a label');
            attach(pc.createDataChannel(String(msg.label), channelOptions(msg)));
            return;
        }
        case 'closeChannel': channelFor(msg.label).close(); return;
        case 'close': await shutdown(0); return;
        default: throw new Error(`unknown command type ${JSON.stringify(msg.type)}`);
    }
}

// ------------------------------------------------------------------ main
stack.onDataChannel(pc, dc => attach(dc));
pc.addEventListener?.('connectionstatechange', () => {
    if (!closed && pc.connectionState === 'failed') fatal('peer connection failed');
});
if (opts.stack === 'werift') pc.connectionStateChange?.subscribe?.(s => { if (!closed && s === 'failed') fatal('peer connection failed'); });

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
let queue = Promise.resolve();
rl.on('line', line => {
    line = line.trim();
    if (!line) return;
    let msg;
    try { msg = JSON.parse(line); } catch { emit({ type: 'error', message: `not JSON: ${line.slice(0, 200)}` }); return; }
    // Commands run one after another, except bulk, which runs alongside later commands.
    const run = async () => {
        try { await handle(msg); }
        catch (e) {
            if (msg.type === 'description') fatal(`remote description: ${e.message}`);
            else emit({ type: 'error', message: `${msg.type}: ${e.message}` });
        }
    };
    if (msg.type === 'bulk') run(); else queue = queue.then(run);
});
rl.on('close', () => { queue.then(() => shutdown(0)); });

try {
    if (opts.role === 'offer') {
        attach(pc.createDataChannel(opts.label, channelOptions(opts)));
        await localDescription('offer');
    }
} catch (e) { fatal(`${opts.role}: ${e.stack ?? e.message}`); }
