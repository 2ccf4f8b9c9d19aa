// PLACEHOLDER: replaced by the module that implements `bert-lab export`.
export const summary = 'Export the run history to CSV or JSON';
export async function main(_argv: string[]): Promise<number> {
  console.error('bert-lab export: not implemented yet');
  return 2;
}
