import { defineConfig } from 'vitest/config';

const unit = (name: string) => ({
  test: { name, root: `packages/${name}`, include: ['test/**/*.test.ts'] },
});

export default defineConfig({
  test: {
    projects: [
      unit('config'),
      unit('routing'),
      unit('hbone'),
      unit('waypoint'),
      { test: { name: 'e2e', root: 'e2e', include: ['**/*.test.ts'], testTimeout: 30_000, hookTimeout: 30_000 } },
    ],
  },
});
