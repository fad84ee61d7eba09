import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The UI is served by the Estate server at `/` (packages/server/src/http/webUi.ts): hashed files go
// to dist/static/, which the server caches for a year; every other path is a UI route.
export default defineConfig({
  plugins: [react()],
  build: {
    assetsDir: 'static',
    sourcemap: false,
    rolldownOptions: {
      onLog(level, log, handler) {
        // @estate/client's index also exports its Node-only config cache, which the UI never
        // imports: the bundle leaves it out, so Node's modules being externalised is expected.
        if (log.message.includes('has been externalized for browser compatibility')) return;
        handler(level, log);
      },
    },
  },
  server: {
    // `npm run dev -w @estate/web` against a server on the default port.
    proxy: { '/api': 'http://127.0.0.1:7780' },
  },
});
