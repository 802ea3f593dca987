/**
 * Where a parsed JSON value holds text that Postgres cannot store in `jsonb`: a NUL character
 * (`\u0000`) or a lone UTF-16 surrogate (`\ud800`), in a string value or an object key. Valid JSON
 * either way, but refused by Postgres (SQLSTATE 22P05), so it must be refused before it is recorded.
 * Returns the JSON pointer (RFC 6901) of the first such place, or undefined. Walks the value with
 * an explicit stack: a hostile, deeply nested body cannot exhaust the call stack.
 */
export function findUnstorableText(value: unknown): string | undefined {
  const stack: { value: unknown; pointer: string }[] = [{ value, pointer: '' }];
  while (stack.length > 0) {
    const { value: v, pointer } = stack.pop()!;
    if (typeof v === 'string') {
      if (!isStorable(v)) return pointer;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], pointer: `${pointer}/${i}` });
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        const childPointer = `${pointer}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
        if (!isStorable(key)) return childPointer;
        stack.push({ value: child, pointer: childPointer });
      }
    }
  }
  return undefined;
}

function isStorable(text: string): boolean {
  return text.isWellFormed() && !text.includes('\u0000');
}
