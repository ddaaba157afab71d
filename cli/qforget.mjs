#!/usr/bin/env node
// The `qforget` command (package.json "bin"): dispatches a subcommand. Today there is one,
// `poc`. Expected failures (bad input: an InputError or a QforgetError) are one line on
// stderr and exit code 1; anything else is a bug and keeps its stack.
import { QforgetError } from '../web/index.js';
import { InputError } from './input_error.mjs';
import { runPoc } from './poc.mjs';

const HELP = `Usage: qforget <command> [options]

Commands:
  poc    a proof of concept of unlearning on your own data: trains, retrains, runs the
         methods and recommends one, in report.json and report.html (qforget poc --help)`;

const [command, ...rest] = process.argv.slice(2);
const fail = (name, message) => {
  process.stderr.write(`${name}: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exit(1);
};

if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
  process.stdout.write(`${HELP}\n`);
} else if (command === 'poc') {
  try {
    process.exitCode = await runPoc(rest);
  } catch (error) {
    if (error instanceof InputError || error instanceof QforgetError) fail('qforget poc', error.message);
    throw error;
  }
  // The engine's worker threads (a threaded build) must not keep the process alive.
  process.exit();
} else {
  fail('qforget', `unknown command '${command}'; the commands are: poc (qforget --help)`);
}
