import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { isRealRoot, readRootFile } from './readRootFile.js';

const execFileAsync = promisify(execFile);

/** A systemd unit name (systemd.unit(5)): no slashes, no leading dash (it would read as an option). */
const UNIT_NAME = /^[A-Za-z0-9:_.\\@-]+$/;

/**
 * The `ActiveState` of each declared unit (`active`, `inactive`, `failed`, …). On the real root:
 * `systemctl show -p ActiveState --value <unit>` (systemd answers `inactive` for unknown units).
 * On a fake root (tests): the test hook `<root>/run/estate-agent/units/<unit>` holds the state;
 * a missing file reads as `inactive`, like systemd.
 */
export async function collectServices(root: string, units: readonly string[]): Promise<Record<string, string>> {
  const states: Record<string, string> = {};
  for (const unit of units) {
    if (!UNIT_NAME.test(unit) || unit.startsWith('-')) throw new Error(`'${unit}' is not a systemd unit name`);
    states[unit] = isRealRoot(root) ? await systemctlActiveState(unit) : ((await readRootFile(root, `/run/estate-agent/units/${unit}`))?.trim() || 'inactive');
  }
  return states;
}

async function systemctlActiveState(unit: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync('systemctl', ['show', '-p', 'ActiveState', '--value', '--', unit], { timeout: 10_000 });
    return stdout.trim() || 'unknown';
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(`systemctl show ${unit} failed: ${stderr.split('\n')[0] || (error as Error).message}`, { cause: error });
  }
}
