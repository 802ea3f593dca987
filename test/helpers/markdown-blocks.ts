export interface MarkdownBlock {
  lang: string;
  body: string;
}

/** A page's fenced blocks in order, with their language: what a reader types, and what they are told to expect. */
export function markdownBlocks(markdown: string): MarkdownBlock[] {
  return [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)\n```$/gm)].map((m) => ({ lang: m[1]!, body: m[2]! }));
}

/** The file a `ts` block that opens with a `// path.ts` line has the reader write; undefined for any other block. */
export function fileOfBlock({ lang, body }: MarkdownBlock): { path: string; text: string } | undefined {
  const path = /^\/\/ (\S+\.ts)\n/.exec(body)?.[1];
  return lang === 'ts' && path ? { path, text: body.slice(body.indexOf('\n') + 1) + '\n' } : undefined;
}

/** Every file a page has its reader write, in order. */
export function filesOfBlocks(markdown: string): { path: string; text: string }[] {
  return markdownBlocks(markdown).flatMap((block) => fileOfBlock(block) ?? []);
}

/**
 * The first fenced block of `lang` after `heading` in `markdown`, exactly as a reader copies it;
 * throws naming `page`, the heading and the language when there is none.
 */
export function blockUnder(markdown: string, page: string, heading: string, lang: string): string {
  const at = markdown.indexOf(heading);
  const match = at < 0 ? null : new RegExp('```' + lang + '\\n([\\s\\S]*?)\\n```').exec(markdown.slice(at));
  if (!match) throw new Error(`${page} has no \`\`\`${lang} block under "${heading}"`);
  return match[1]!;
}
