// The `bert-lab` command: dispatches to one module per subcommand (each exports `main(argv)`).
import * as parity from './commands/parity';
import * as tokenize from './commands/tokenize';
import * as split from './commands/split';
import * as run from './commands/run';
import * as runs from './commands/runs';
import * as answers from './commands/answers';
import * as fillAnswers from './commands/fill-answers';
import * as exportRuns from './commands/export';

type Command = { main(argv: string[]): Promise<number>; summary: string };
const commands: Record<string, Command> = {
  run, runs, answers, 'fill-answers': fillAnswers, export: exportRuns, split, tokenize, parity,
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(13)} ${c.summary}`);
  return `usage: bert-lab <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun "bert-lab <command> --help" for a command's options.`;
}

/**
 * One line for any error: a message's lines joined, no stack frame (BERT_LAB_DEBUG=1 adds the stack).
 * Messages name the user's file themselves; the command's name says which command failed.
 */
function errorLine(prefix: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const oneLine = message.split(/\r?\n/).map((l) => l.trim()).filter(Boolean).join(' — ');
  return `${prefix}: ${oneLine || (err instanceof Error ? err.name : 'unknown error')}`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    console.error(`bert-lab: unknown command "${name}" (commands: ${Object.keys(commands).join(', ')}; see bert-lab --help)`);
    return 2;
  }
  prefix = `bert-lab ${name}`;
  return command.main(rest);
}

let prefix = 'bert-lab';
const fail = (err: unknown) => {
  console.error(errorLine(prefix, err));
  if (process.env.BERT_LAB_DEBUG && err instanceof Error) console.error(err.stack);
  // A usage error (unknown option, missing value) exits 2 as the commands' own usage errors do.
  const code = String((err as { code?: unknown } | null)?.code ?? '');
  process.exitCode = code.startsWith('ERR_PARSE_ARGS_') ? 2 : 1;
};
// An error thrown outside the command's promise (an event listener, a timer) is still one line and a
// non-zero exit, never Node's stack trace.
process.on('uncaughtException', (err) => { fail(err); process.exit(); });
process.on('unhandledRejection', (err) => { fail(err); process.exit(); });

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, fail);
