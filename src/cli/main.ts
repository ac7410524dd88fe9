#!/usr/bin/env node
// The `tidings` command: serve the monitor gateway, tail a channel, publish an event.
import { Command, CommanderError } from 'commander';
import { TidingsError } from '../index.js';
import { bridgeCommand } from './bridge-command.js';
import { CommandFailure, failureLines, readFlagsFromEnvStrictly, UsageError } from './cli-support.js';
import { publishCommand } from './publish-command.js';
import { serveCommand } from './serve-command.js';
import { tailCommand } from './tail-command.js';
import { terminalSafe } from './terminal-text.js';

const commands = [serveCommand(), tailCommand(), publishCommand(), bridgeCommand()];

/** Examples, then every environment variable the commands read with the option it stands for (taken from the options). */
function topLevelHelp(): string {
  const uses = new Map<string, { flag: string; commands: string[] }>();
  const flags = new Set<string>();
  for (const command of commands) {
    for (const option of command.options) {
      if (option.envVar === undefined) continue;
      if (!option.required && !option.optional) flags.add(option.long ?? option.flags);
      const use = uses.get(option.envVar) ?? { flag: option.long ?? option.flags, commands: [] };
      use.commands.push(command.name());
      uses.set(option.envVar, use);
    }
  }
  const width = Math.max(...[...uses.keys()].map((name) => name.length)) + 2;
  const lines = [...uses].map(([name, use]) => `  ${name.padEnd(width)}${use.flag} (${use.commands.join(', ')})`);
  return `
Examples:
  $ tidings serve --demo
  $ tidings tail --redis redis://127.0.0.1:6379 --stream storage

Environment variables (an option given on the command line wins over its variable):
${lines.join('\n')}
  Flags (${[...flags].join(', ')}) read true/false, 1/0 or yes/no from their variable;
  anything else is an error. TIDINGS_INGEST_CHANNEL and TIDINGS_STORAGE_CHANNEL
  also name the channel of tail and publish when --channel is not given.`;
}

const program = new Command('tidings')
  .description("Typed event streams: Enduro's ingest and storage monitor events over Redis, to browsers and terminals")
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .hook('preAction', readFlagsFromEnvStrictly);
for (const command of commands) program.addCommand(command);
program.addHelpText('after', topLevelHelp());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode;
  } else {
    // What the user can act on is the message and its causes, the deepest last; a stack only for a bug of ours.
    const expected = error instanceof UsageError || error instanceof CommandFailure || error instanceof TidingsError;
    const [first, ...causes] = expected
      ? failureLines(error)
      : [error instanceof Error ? (error.stack ?? error.message) : String(error)];
    const text = [`tidings: ${first}`, ...causes.map((cause) => `  cause: ${cause}`)];
    process.stderr.write(`${text.map((line) => (expected ? terminalSafe(line) : line)).join('\n')}\n`);
    process.exitCode = 1;
  }
}
// The command is over once its action returns (its output is written: stdout and stderr are synchronous
// on Linux for files and pipes). A connection to a host that never answered must not hold the terminal.
process.exit();
