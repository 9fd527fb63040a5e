import { describe, expect, it } from 'vitest';
import { imagePath, imageProtocolScheme } from '../../../common/contract/studio-api';
import { imageRefOfUrl } from '../../../electron/main/image-url';

describe('gallery image URLs', () => {
  it('reads back every reference the renderer writes', () => {
    const refs = [
      { kind: 'sample', sampleId: 12 },
      { kind: 'thumbnail', sampleId: 3 },
      { kind: 'xt', sampleId: 12, step: 0 },
      { kind: 'x0', sampleId: 7, step: 24 },
    ] as const;
    for (const ref of refs) {
      expect(imageRefOfUrl(`${imageProtocolScheme}://images/${imagePath(ref)}`)).toEqual(ref);
    }
  });

  it.each([
    'studio-image://images/../gallery.sqlite',
    'studio-image://images/%2e%2e/gallery.sqlite',
    'studio-image://images/sample/12.png/../../x',
    'studio-image://images/sample/0.png',
    'studio-image://images/sample/12.jpg',
    'studio-image://images/sample/12.png?path=/etc/passwd',
    'studio-image://elsewhere/sample/12.png',
    'studio-image://images/',
    'file:///etc/passwd',
    'no url at all',
  ])('answers nothing for %s', (url) => {
    expect(imageRefOfUrl(url)).toBeNull();
  });
});
