// Why this file exists: ensure.sh tries mediasoup's official prebuilt worker before building
// one. mediasoup's own downloader (npm-scripts.mjs) needs node-fetch and tar from its dev
// tooling and writes into node_modules; this does only the download, with a timeout so that
// a host without GitHub access fails fast, using the same URL scheme
// (getWorkerPrebuildTarName / downloadPrebuiltWorker in npm-scripts.mjs).
//
// Usage: node download-prebuilt.mjs <mediasoup-package.json> <output.tgz>
// Exit 0 when the tarball was saved, 1 otherwise (the reason is printed on stderr).

import * as fs from 'node:fs';
import * as os from 'node:os';

const [pkgJsonPath, outPath] = process.argv.slice(2);

if (!pkgJsonPath || !outPath) {
  console.error('usage: download-prebuilt.mjs <mediasoup-package.json> <output.tgz>');
  process.exit(1);
}

// Time allowed to get the response headers, then to receive the body.
const CONNECT_TIMEOUT_MS = Number(process.env.MEETOPIA_WORKER_DOWNLOAD_TIMEOUT_S ?? 15) * 1000;
const BODY_TIMEOUT_MS = 120_000;

const pkg = JSON.parse(fs.readFileSync(pkgJsonPath, 'utf8'));

function prebuildTarName() {
  let name = `mediasoup-worker-${pkg.version}-${os.platform()}-${os.arch()}`;

  if (os.platform() === 'linux') {
    name += `-kernel${Number(os.release().split('.')[0])}`;
  }

  return `${name}.tgz`;
}

const releaseBase =
  process.env.MEDIASOUP_WORKER_PREBUILT_DOWNLOAD_BASE_URL ||
  `${pkg.repository.url.replace(/^git\+/, '').replace(/\.git$/, '')}/releases/download`;
const url = `${releaseBase}/${pkg.version}/${prebuildTarName()}`;

console.error(`[mediasoup-worker] downloading ${url}`);

const controller = new AbortController();
let timer = setTimeout(() => controller.abort(new Error('timed out')), CONNECT_TIMEOUT_MS);

try {
  const res = await fetch(url, { signal: controller.signal, redirect: 'follow' });

  if (!res.ok) {
    throw new Error(`HTTP ${res.status} ${res.statusText}`);
  }

  clearTimeout(timer);
  timer = setTimeout(() => controller.abort(new Error('body timed out')), BODY_TIMEOUT_MS);

  const body = Buffer.from(await res.arrayBuffer());

  fs.writeFileSync(outPath, body);
  console.error(`[mediasoup-worker] downloaded ${body.length} bytes`);
  process.exitCode = 0;
} catch (error) {
  const cause = error?.cause ? ` (${error.cause.code ?? error.cause.message ?? error.cause})` : '';

  console.error(`[mediasoup-worker] prebuilt download failed: ${error?.message ?? error}${cause}`);
  process.exitCode = 1;
} finally {
  clearTimeout(timer);
}
