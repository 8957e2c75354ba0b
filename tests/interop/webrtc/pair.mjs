#!/usr/bin/env node
// Runs TWO peer.mjs instances side by side in this process's network namespace and multiplexes
// their stdio, so one isolated process (run-isolated.sh node pair.mjs ...) holds a whole pair:
// two separate `unshare -n` namespaces cannot reach each other.
//
//   run-isolated.sh node pair.mjs --a "<peer.mjs args>" --b "<peer.mjs args>"
//   e.g. --a "--stack wrtc --role offer --label chat" --b "--stack werift --role answer"
//
// Arguments inside --a/--b are split on whitespace (no quoting; labels without spaces).
// stdout: every line a peer prints, with "peer":"a"|"b" added to its JSON object;
//         {"peer":"x","type":"exit","code":N} when one exits; non-JSON output as {"peer":"x","type":"stdout","line":..}.
// stdin:  {"peer":"a"|"b", ...command} goes to that peer without the "peer" field.
// stderr: the peers' stderr, each line prefixed "a| " / "b| ".
// Ends when both peers have exited (exit code 0 iff both exited 0); stdin EOF closes both peers' stdin.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import readline from 'node:readline';

const here = path.dirname(fileURLToPath(import.meta.url));
const emit = obj => process.stdout.write(JSON.stringify(obj) + '\n');

const specs = {};
{
    const a = process.argv.slice(2);
    for (let i = 0; i < a.length; i++) {
        if ((a[i] === '--a' || a[i] === '--b') && i + 1 < a.length) specs[a[i].slice(2)] = a[++i].split(/\s+/).filter(Boolean);
        else { emit({ type: 'error', message: `pair.mjs: unknown argument ${a[i]}`, fatal: true }); process.exit(2); }
    }
    if (!specs.a || !specs.b) { emit({ type: 'error', message: 'pair.mjs: --a and --b are required', fatal: true }); process.exit(2); }
}

const peers = {};
const codes = {};
for (const name of ['a', 'b']) {
    const p = spawn(process.execPath, [path.join(here, 'peer.mjs'), ...specs[name]], { stdio: ['pipe', 'pipe', 'pipe'] });
    p.stdin.on('error', () => { });
    peers[name] = p;
    readline.createInterface({ input: p.stdout, crlfDelay: Infinity }).on('line', line => {
        let m;
        try { m = JSON.parse(line); } catch { m = null; }
        if (m && typeof m === 'object' && !Array.isArray(m)) emit({ peer: name, ...m });
        else emit({ peer: name, type: 'stdout', line });
    });
    readline.createInterface({ input: p.stderr, crlfDelay: Infinity }).on('line', line => process.stderr.write(`${name}| ${line}\n`));
    // 'close' (not 'exit'): all of its stdout has been read by then.
    p.on('close', (code, signal) => {
        codes[name] = code ?? 128;
        emit({ peer: name, type: 'exit', code: code ?? null, signal: signal ?? null });
        if ('a' in codes && 'b' in codes) process.exit(codes.a === 0 && codes.b === 0 ? 0 : 1);
    });
}

readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
    .on('line', line => {
        if (!line.trim()) return;
        let m;
        try { m = JSON.parse(line); } catch { emit({ type: 'error', message: `pair.mjs: not JSON: ${line.slice(0, 200)}` }); return; }
        const target = peers[m?.peer];
        if (!target) { emit({ type: 'error', message: `pair.mjs: "peer" must be "a" or "b": ${line.slice(0, 200)}` }); return; }
        const { peer, ...command } = m;
        target.stdin.write(JSON.stringify(command) + '\n');
    })
    .on('close', () => { for (const p of Object.values(peers)) p.stdin.end(); });

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'])
    process.on(sig, () => { for (const p of Object.values(peers)) p.kill('SIGKILL'); process.exit(1); });
