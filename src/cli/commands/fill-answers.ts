// PLACEHOLDER: replaced by the module that implements `bert-lab fill-answers`.
export const summary = 'Fill the notebook's answer cells';
export async function main(_argv: string[]): Promise<number> {
  console.error('bert-lab fill-answers: not implemented yet');
  return 2;
}
