import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

/** Files worth compressing: text, of at least this size. */
const COMPRESSIBLE = /\.(js|css|html|svg|json)$/;
const MIN_COMPRESS_BYTES = 1024;

/**
 * Writes a Brotli (`.br`) and a gzip (`.gz`) copy beside each text file of the build, compressed
 * once at their best: the server sends the one the browser accepts (packages/server/src/http/webUi.ts).
 */
function precompress(): Plugin {
  const brotli = promisify(brotliCompress);
  const gzipped = promisify(gzip);
  return {
    name: 'estate-precompress',
    apply: 'build',
    async writeBundle(options, bundle) {
      const dir = options.dir ?? 'dist';
      await Promise.all(
        Object.keys(bundle)
          .filter((name) => COMPRESSIBLE.test(name))
          .map(async (name) => {
            const file = join(dir, name);
            const content = await readFile(file);
            if (content.length < MIN_COMPRESS_BYTES) return;
            await writeFile(`${file}.br`, await brotli(content, { params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: content.length } }));
            await writeFile(`${file}.gz`, await gzipped(content, { level: constants.Z_BEST_COMPRESSION }));
          }),
      );
    },
  };
}

// The UI is served by the Estate server at `/` (packages/server/src/http/webUi.ts): hashed files go
// to dist/static/, which the server caches for a year; every other path is a UI route.
export default defineConfig({
  plugins: [react(), precompress()],
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
