// PLACEHOLDER: replaced by the module that implements `bert-lab split`.
export const summary = 'Write the notebook's train/val/test split indices';
export async function main(_argv: string[]): Promise<number> {
  console.error('bert-lab split: not implemented yet');
  return 2;
}
