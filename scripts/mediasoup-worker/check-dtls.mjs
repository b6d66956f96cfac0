// Why this file exists: a worker built against Debian's OpenSSL without ensure.sh's
// DtlsTransport.cpp patch crashes on the first DTLS handshake, and only a real handshake
// shows it (PlainTransport/PipeTransport tests don't). This runs one in about a second, no
// browser needed: ICE (a STUN binding request signed with the transport's ICE password), then
// DTLS with `openssl s_client -dtls1_2` as the client, through a UDP relay so that both use
// the same 5-tuple as mediasoup expects.
//
// Usage (from the repo root): node scripts/mediasoup-worker/check-dtls.mjs
// Uses the worker mediasoup would use (MEDIASOUP_WORKER_BIN, else its default path).
// Exit 0 when DTLS connects with an SRTP profile and the worker is still alive.

import { execFileSync, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

const repoDir = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '../..');
const mediasoup = await import(createRequire(path.join(repoDir, 'package.json')).resolve('mediasoup'));
const TIMEOUT_MS = 10_000;

// A throwaway client certificate; mediasoup checks its fingerprint.
const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'check-dtls-'));
const certPath = path.join(tmpDir, 'cert.pem');
const keyPath = path.join(tmpDir, 'key.pem');

execFileSync(
  'openssl',
  [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    '1',
    '-subj',
    '/CN=meetopia-check-dtls',
  ],
  { stdio: 'ignore' },
);

const fingerprint = new crypto.X509Certificate(fs.readFileSync(certPath)).fingerprint256;

function stunAttribute(type, value) {
  const padding = (4 - (value.length % 4)) % 4;
  const attribute = Buffer.alloc(4 + value.length + padding);

  attribute.writeUInt16BE(type, 0);
  attribute.writeUInt16BE(value.length, 2);
  value.copy(attribute, 4);

  return attribute;
}

// RFC 8445 connectivity check from a controlling agent, with MESSAGE-INTEGRITY and FINGERPRINT.
function stunBindingRequest(username, password) {
  const header = Buffer.alloc(20);
  const priority = Buffer.alloc(4);

  header.writeUInt16BE(0x0001, 0);
  header.writeUInt32BE(0x2112a442, 4);
  crypto.randomBytes(12).copy(header, 8);
  priority.writeUInt32BE(0x6e0001ff);

  let body = Buffer.concat([
    stunAttribute(0x0006, Buffer.from(username)), // USERNAME
    stunAttribute(0x0024, priority), // PRIORITY
    stunAttribute(0x802a, crypto.randomBytes(8)), // ICE-CONTROLLING
    stunAttribute(0x0025, Buffer.alloc(0)), // USE-CANDIDATE
  ]);

  header.writeUInt16BE(body.length + 24, 2);
  const integrity = crypto
    .createHmac('sha1', password)
    .update(Buffer.concat([header, body]))
    .digest();

  body = Buffer.concat([body, stunAttribute(0x0008, integrity)]);
  header.writeUInt16BE(body.length + 8, 2);

  const crc = Buffer.alloc(4);

  crc.writeUInt32BE((zlib.crc32(Buffer.concat([header, body])) ^ 0x5354554e) >>> 0);

  return Buffer.concat([header, body, stunAttribute(0x8028, crc)]);
}

const worker = await mediasoup.createWorker({ logLevel: 'warn' });
let workerDied = null;

worker.on('died', (error) => {
  workerDied = error.message;
});

const router = await worker.createRouter({
  mediaCodecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 }],
});
const transport = await router.createWebRtcTransport({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
const serverPort = transport.iceCandidates[0].port;

// mediasoup is the DTLS server; openssl s_client the client.
await transport.connect({
  dtlsParameters: { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: fingerprint }] },
});

const toServer = dgram.createSocket('udp4');
const relay = dgram.createSocket('udp4');
let dtlsClient = null;

await new Promise((resolve) => toServer.bind(0, '127.0.0.1', resolve));
await new Promise((resolve) => relay.bind(0, '127.0.0.1', resolve));

const iceDone = new Promise((resolve) => {
  toServer.on('message', (message) => {
    if (message.length >= 20 && message.readUInt32BE(4) === 0x2112a442) {
      resolve(message.readUInt16BE(0) === 0x0101);
    } else if (dtlsClient) {
      relay.send(message, dtlsClient.port, dtlsClient.address);
    }
  });
});

relay.on('message', (message, remote) => {
  dtlsClient = remote;
  toServer.send(message, serverPort, '127.0.0.1');
});

const { usernameFragment, password } = transport.iceParameters;

toServer.send(stunBindingRequest(`${usernameFragment}:checkdtls`, password), serverPort, '127.0.0.1');

const outcome = { worker: process.env.MEDIASOUP_WORKER_BIN ?? 'mediasoup default path' };

outcome.iceBindingSucceeded = await Promise.race([
  iceDone,
  new Promise((resolve) => setTimeout(() => resolve(false), TIMEOUT_MS)),
]);

let clientOutput = '';
const client = spawn(
  'openssl',
  [
    's_client',
    '-dtls1_2',
    '-connect',
    `127.0.0.1:${relay.address().port}`,
    '-cert',
    certPath,
    '-key',
    keyPath,
    '-use_srtp',
    'SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80',
  ],
  { stdio: ['pipe', 'pipe', 'pipe'] },
);

client.stdout.on('data', (data) => {
  clientOutput += data;
});
client.stderr.on('data', (data) => {
  clientOutput += data;
});

outcome.dtlsState = await new Promise((resolve) => {
  const timer = setTimeout(() => resolve(`timeout (${transport.dtlsState})`), TIMEOUT_MS);
  const finish = (state) => {
    clearTimeout(timer);
    resolve(state);
  };

  transport.on('dtlsstatechange', (state) => {
    if (state === 'connected' || state === 'failed' || state === 'closed') finish(state);
  });
  worker.on('died', () => finish('worker died'));
});

// Let s_client print its session summary.
await new Promise((resolve) => setTimeout(resolve, 300));
outcome.srtpProfile = /SRTP Extension negotiated, profile=(\S+)/.exec(clientOutput)?.[1] ?? null;
outcome.workerDied = workerDied;

client.kill();
toServer.close();
relay.close();
if (!workerDied) worker.close();
fs.rmSync(tmpDir, { recursive: true, force: true });

const ok = outcome.iceBindingSucceeded && outcome.dtlsState === 'connected' && outcome.srtpProfile && !workerDied;

console.log(`[check-dtls] ${ok ? 'OK' : 'FAILED'} ${JSON.stringify(outcome)}`);
process.exit(ok ? 0 : 1);
