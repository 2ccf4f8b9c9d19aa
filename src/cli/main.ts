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

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    console.error(`bert-lab: unknown command "${name}"\n${usage()}`);
    return 2;
  }
  return command.main(rest);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    // One readable line for expected errors; the stack only when asked.
    console.error(`bert-lab: ${err instanceof Error ? err.message : String(err)}`);
    if (process.env.BERT_LAB_DEBUG && err instanceof Error) console.error(err.stack);
    process.exitCode = 1;
  },
);
