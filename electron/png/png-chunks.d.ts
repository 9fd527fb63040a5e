/** Type declarations for the small PNG chunk libraries, which ship none. */

declare module 'png-chunks-encode' {
  function encodeChunks(chunks: ReadonlyArray<{ name: string; data: Uint8Array }>): Uint8Array;
  export = encodeChunks;
}

declare module 'png-chunk-text' {
  export function encode(keyword: string, text: string): { name: 'tEXt'; data: Uint8Array };
  export function decode(data: Uint8Array | { name: string; data: Uint8Array }): { keyword: string; text: string };
}
