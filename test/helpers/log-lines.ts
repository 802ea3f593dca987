/** The pino JSON lines of a process's output (other lines are skipped). */
export function logLines(output: string): { level: number; name?: string; msg?: string; pid?: number; [k: string]: unknown }[] {
  return output.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line)];
    } catch {
      return [];
    }
  });
}
