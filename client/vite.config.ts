import { fileURLToPath } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [svelte()],
  resolve: {
    // Use the protocol's sources directly: one build step less, and edits show up at once.
    alias: { '@meetopia/protocol': fileURLToPath(new URL('../protocol/src/index.ts', import.meta.url)) },
  },
  server: {
    proxy: { '/ws': { target: 'ws://127.0.0.1:3003', ws: true }, '/status': 'http://127.0.0.1:3003' },
  },
  build: { target: 'es2022', sourcemap: true },
});
