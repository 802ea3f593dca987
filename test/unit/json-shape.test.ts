import { describe, expect, it } from 'vitest';
import { checkJsonShape } from '../../src/json/json-shape.ts';

const limits = { maxDepth: 3, maxNodes: 10 };

describe('checkJsonShape', () => {
  it.each([['{"a":1,"b":[true,null,"x\\"y"]}'], ['[[[]]]'], [' { } '], ['{"a":1E2,"b":-9007199254740991,"c":0.5e-3}']])(
    'passes %s',
    (text) => {
      expect(checkJsonShape(text, limits)).toBeUndefined();
    },
  );

  it.each([
    ['[[[[]]]]', { kind: 'too-deep', pointer: '/0/0/0', limit: 3 }],
    ['[1,2,3,4,5,6,7,8,9,10]', { kind: 'too-complex', pointer: '/9', limit: 10 }],
    ['{"a/b":{"k":1,"k":2}}', { kind: 'duplicate-key', pointer: '/a~1b/k' }],
    ['{"a":1,"\\u0061":2}', { kind: 'duplicate-key', pointer: '/a' }],
    ['[9007199254740992]', { kind: 'number-out-of-range', pointer: '/0', text: '9007199254740992' }],
    ['{"x":-1e400}', { kind: 'number-out-of-range', pointer: '/x', text: '-1e400' }],
  ])('refuses %s', (text, refusal) => {
    expect(checkJsonShape(text, limits)).toEqual(refusal);
  });

  it('leaves malformed text to the parser, and checks only the limits without I-JSON', () => {
    for (const text of ['{"a"', '[1,', '{bad}', '"open']) expect(checkJsonShape(text, limits)).toBeUndefined();
    expect(checkJsonShape('{"k":1,"k":1e400}', limits, { iJson: false })).toBeUndefined();
  });

  it('walks 100,000 levels without running out of stack', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(checkJsonShape(deep, { maxDepth: 1_000_000, maxNodes: 1_000_000 })).toBeUndefined();
    expect(checkJsonShape(deep, { maxDepth: 64, maxNodes: 1_000_000 })?.kind).toBe('too-deep');
  });
});
