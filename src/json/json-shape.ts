/** How big a JSON document may be in structure, besides its size in bytes. */
export interface JsonShapeLimits {
  /** the deepest nesting of objects and arrays: `{}` and `[]` are depth 1 */
  maxDepth: number;
  /** the most values (objects, arrays, strings, numbers, literals) in the document; a key is not one */
  maxNodes: number;
}

/** Why a JSON text was refused: its limits, or a value that I-JSON (RFC 7493) does not allow. */
export type JsonShapeRefusal =
  | { kind: 'too-deep'; pointer: string; limit: number }
  | { kind: 'too-complex'; pointer: string; limit: number }
  | { kind: 'duplicate-key'; pointer: string }
  | { kind: 'number-out-of-range'; pointer: string; text: string };

/** I-JSON's interoperable integers: beyond this a double no longer holds every integer, so `2^53 + 1` would arrive as `2^53`. */
const MAX_EXACT = Number.MAX_SAFE_INTEGER;

interface Frame {
  /** the keys seen so far in an object; undefined for an array */
  keys: Set<string> | undefined;
  index: number;
  /** an object's key whose value comes next */
  key: string | undefined;
}

/**
 * One pass over a JSON text, without building it: refuses a document deeper than `maxDepth` or
 * with more than `maxNodes` values, and what is not I-JSON (RFC 7493): an object with a key twice,
 * a number beyond ±(2^53 − 1) or not finite (`1e400`). Those values would otherwise change on the
 * way (the last duplicate wins, a number is rounded to a double), so the stored, fingerprinted and
 * forwarded body would not be the one the client sent. Returns the first refusal, with the JSON
 * pointer (RFC 6901) of the value, or undefined; malformed text is left to the parser (undefined).
 * Iterative: a hostile depth cannot exhaust the call stack. With `iJson: false` only the limits
 * are checked.
 */
export function checkJsonShape(text: string, limits: JsonShapeLimits, { iJson = true } = {}): JsonShapeRefusal | undefined {
  const stack: Frame[] = [];
  let nodes = 0;
  let i = 0;
  const n = text.length;
  const skipSpace = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i++;
    }
  };
  // built only for a refusal: most values are never named
  const here = (): string => stack.map((f) => `/${f.keys ? escapePointer(f.key ?? '') : f.index}`).join('');
  /** the string starting at `i` (a quote), decoded; undefined when malformed */
  const readString = (): string | undefined => {
    const start = i;
    let escaped = false;
    i++;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) break;
      if (c === 0x5c) {
        escaped = true;
        i += 2;
      } else i++;
    }
    if (i >= n) return undefined;
    i++;
    if (!escaped) return text.slice(start + 1, i - 1);
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      return undefined;
    }
  };

  for (;;) {
    skipSpace();
    if (i >= n) return undefined;
    if (++nodes > limits.maxNodes) return { kind: 'too-complex', pointer: here(), limit: limits.maxNodes };
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) {
      if (stack.length + 1 > limits.maxDepth) return { kind: 'too-deep', pointer: here(), limit: limits.maxDepth };
      i++;
      skipSpace();
      const empty = text.charCodeAt(i) === (c === 0x7b ? 0x7d : 0x5d);
      if (empty) i++;
      else {
        const frame: Frame = { keys: c === 0x7b ? new Set() : undefined, index: 0, key: undefined };
        stack.push(frame);
        if (frame.keys) {
          const refused = readKey(frame);
          if (refused !== true) return refused;
        }
        continue;
      }
    } else if (c === 0x22) {
      if (readString() === undefined) return undefined;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      i++;
      while (i < n && isNumberChar(text.charCodeAt(i))) i++;
      const literal = text.slice(start, i);
      const value = Number(literal);
      if (Number.isNaN(value)) return undefined;
      if (iJson && !(Math.abs(value) <= MAX_EXACT))
        return { kind: 'number-out-of-range', pointer: here(), text: literal.length > 40 ? `${literal.slice(0, 40)}…` : literal };
    } else {
      // true, false, null, or malformed: the parser decides
      while (i < n && text.charCodeAt(i) >= 0x61 && text.charCodeAt(i) <= 0x7a) i++;
    }
    // after a value: close what ends here, then the next key or element
    for (;;) {
      const top = stack[stack.length - 1];
      if (!top) return undefined;
      skipSpace();
      const d = text.charCodeAt(i);
      if (d === 0x2c) {
        i++;
        top.index++;
        if (top.keys) {
          const refused = readKey(top);
          if (refused !== true) return refused;
        }
        break;
      }
      if (d === (top.keys ? 0x7d : 0x5d)) {
        i++;
        stack.pop();
        continue;
      }
      return undefined;
    }
  }

  /** reads `"key":` into the frame; true, a refusal, or undefined when malformed */
  function readKey(frame: Frame): true | JsonShapeRefusal | undefined {
    skipSpace();
    if (text.charCodeAt(i) !== 0x22) return undefined;
    const key = readString();
    if (key === undefined) return undefined;
    frame.key = key;
    if (iJson && frame.keys!.has(key)) return { kind: 'duplicate-key', pointer: here() };
    frame.keys!.add(key);
    skipSpace();
    if (text.charCodeAt(i) !== 0x3a) return undefined;
    i++;
    return true;
  }
}

function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;
}

function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}
