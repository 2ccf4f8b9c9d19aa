// PLACEHOLDER: replaced by the module that implements `bert-lab answers`.
export const summary = 'Print the graded answer values';
export async function main(_argv: string[]): Promise<number> {
  console.error('bert-lab answers: not implemented yet');
  return 2;
}
