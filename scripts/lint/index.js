// typescript-eslint resolved from this workspace, where npm installs the TypeScript it needs
// (its peer: the JavaScript compiler API, which the project's TypeScript 7 does not have).
export { default as tseslint } from 'typescript-eslint';
