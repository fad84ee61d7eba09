import { open, rename } from 'node:fs/promises';
import path from 'node:path';

/**
 * Writes a file so that a crash leaves either the old or the new content: write a temporary file,
 * fsync it, rename it over the target, fsync the directory (so the rename itself is on disk).
 */
export async function writeFileDurably(file: string, content: string | Uint8Array): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, file);
  await syncDirectory(path.dirname(file));
}

/** fsyncs a directory, making the entries created, renamed or removed in it durable. */
export async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
