import { fileURLToPath } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';

const protocolSource = fileURLToPath(new URL('./protocol/src/index.ts', import.meta.url));
const alias = { '@meetopia/protocol': protocolSource };

export default defineConfig({
  test: {
    projects: [
      {
        resolve: { alias },
        plugins: [svelte()],
        test: {
          name: 'unit',
          // Projects run in parallel unless ordered: integration and e2e must not overlap
          // (real media on two cores; timing assertions), so each group waits for the one before.
          sequence: { groupOrder: 0 },
          include: ['protocol/src/**/*.test.ts', 'server/src/**/*.test.ts', 'client/src/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'integration',
          sequence: { groupOrder: 1 },
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'e2e',
          sequence: { groupOrder: 2 },
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        resolve: { alias },
        test: {
          // Self-hosting: configure.sh, the Caddy front with Pebble, TURN/TLS, and the composed
          // containers (podman + docker-compose). Image builds make the hooks long.
          name: 'deploy',
          sequence: { groupOrder: 3 },
          include: ['test/deploy/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 900_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
