// PLACEHOLDER: replaced by the module that implements `bert-lab run`.
export const summary = 'Run a problem's experiments (problem1|problem2|problem3|all)';
export async function main(_argv: string[]): Promise<number> {
  console.error('bert-lab run: not implemented yet');
  return 2;
}
