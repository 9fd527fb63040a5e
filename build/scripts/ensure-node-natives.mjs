// `npm start` rebuilds better-sqlite3 for Electron's ABI; Node (tests, serve, CLI) needs it built for Node.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
try {
  const Database = require('better-sqlite3');
  new Database(':memory:').close();
} catch (error) {
  if (!String(error?.message).includes('NODE_MODULE_VERSION')) throw error;
  console.log('better-sqlite3 was built for Electron; rebuilding it for Node…');
  execFileSync('npm', ['rebuild', 'better-sqlite3'], { stdio: 'inherit' });
}
