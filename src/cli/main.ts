#!/usr/bin/env node
// The `tidings` command: serve the monitor gateway, tail a channel, publish an event.
import { Command, CommanderError } from 'commander';
import { TidingsError } from '../index.js';
import { UsageError } from './cli-support.js';
import { publishCommand } from './publish-command.js';
import { serveCommand } from './serve-command.js';
import { tailCommand } from './tail-command.js';

const program = new Command('tidings')
  .description("Typed event streams: Enduro's ingest and storage monitor events over Redis, to browsers and terminals")
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .addCommand(serveCommand())
  .addCommand(tailCommand())
  .addCommand(publishCommand())
  .addHelpText(
    'after',
    `
Options can also come from the environment: TIDINGS_REDIS_URL, TIDINGS_TOKENS,
TIDINGS_PORT, TIDINGS_HOST, TIDINGS_INGEST_CHANNEL, TIDINGS_STORAGE_CHANNEL,
TIDINGS_CORS_ORIGINS, TIDINGS_PING_INTERVAL_MS, TIDINGS_LOG_LEVEL.`,
  );

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode;
  } else if (error instanceof UsageError || error instanceof TidingsError) {
    process.stderr.write(`tidings: ${error.message}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`tidings: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
}
