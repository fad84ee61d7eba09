#!/usr/bin/env node
/**
 * Fallback when /usr/bin/time is missing: runs the CLI's main() in this process and writes the
 * peak resident set size (KiB, process.resourceUsage().maxRSS) to the file named by argv[2].
 *
 *   node bench/lib/cliWithRss.mjs <rss-file> validate --rev HEAD --repo DIR --format json
 */
import { writeFileSync } from 'node:fs';
import { CLI_MAIN } from './paths.mjs';

const [rssFile, ...args] = process.argv.slice(2);
const { main } = await import(CLI_MAIN);
const code = await main(args);
process.on('exit', () => writeFileSync(rssFile, `${process.resourceUsage().maxRSS}\n`));
process.exitCode = code;
