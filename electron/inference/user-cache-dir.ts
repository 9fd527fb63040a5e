/** The studio's folder in the platform's per-user cache, where what this machine has worked out once is kept for later starts. */
import os from 'node:os';
import path from 'node:path';

export function studioCacheDir(): string {
  const home = os.homedir();
  const userCache =
    process.platform === 'win32'
      ? (process.env.LOCALAPPDATA ?? path.join(home, 'AppData', 'Local'))
      : process.platform === 'darwin'
        ? path.join(home, 'Library', 'Caches')
        : (process.env.XDG_CACHE_HOME ?? path.join(home, '.cache'));
  return path.join(userCache, 'guided-diffusion-studio');
}
