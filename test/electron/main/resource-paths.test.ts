import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtInModelsPath, resourcePath } from '../../../electron/main/resource-paths';

describe('resource paths', () => {
  const development = { isPackaged: false, resourcesPath: '/opt/electron/resources', appPath: '/home/me/studio' };
  const installed = { isPackaged: true, resourcesPath: '/opt/Guided Diffusion Studio/resources', appPath: '/opt/Guided Diffusion Studio/resources/app.asar' };

  it('finds shipped folders in the project while developing', () => {
    expect(resourcePath(development, 'models', 'fashion-mnist')).toBe(join('/home/me/studio', 'models', 'fashion-mnist'));
    expect(builtInModelsPath(development)).toBe(join('/home/me/studio', 'models'));
  });

  it('finds them beside app.asar, never inside it, when installed', () => {
    expect(resourcePath(installed, 'models', 'fashion-mnist')).toBe(join('/opt/Guided Diffusion Studio/resources', 'models', 'fashion-mnist'));
    expect(builtInModelsPath(installed)).not.toContain('app.asar');
  });
});
