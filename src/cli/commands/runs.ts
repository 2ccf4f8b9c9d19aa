// PLACEHOLDER: replaced by the module that implements `bert-lab runs`.
export const summary = 'List the run history';
export async function main(_argv: string[]): Promise<number> {
  console.error('bert-lab runs: not implemented yet');
  return 2;
}
